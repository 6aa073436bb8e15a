"""Speech output (EN 301 549 5.1.3): the kiosk reads its screens aloud in the screen's language.

Engine: ``espeak-ng`` (voices ``fi``, ``sv``, ``en-gb``; no daemon, ~20–40 ms per sentence). Playback:
``paplay`` to PulseAudio. Why not Qt audio: QtMultimedia is not in PySide6-Essentials (only in Addons,
~200 MB more, which also carries the GPL-only Virtual Keyboard); ``QTextToSpeech`` needs the Addons and
speech-dispatcher. A ``espeak-ng --stdout | paplay`` pipeline joined by the kernel needs no Python thread,
starts playing while the rest of the sentence is still being synthesised, is interrupted by killing
two pids, and routes to a named sink (loudspeaker or headset) with ``--device``. The figures are in
``bench/bench_speech.py``.

Privacy: the text goes to espeak-ng on its stdin, never on its command line (any local user can read
``/proc/*/cmdline``), and no audio touches the disk. Text marked ``private`` (PIN digits, names, the
identity number) is spoken only when a headset is connected, through the headset; without one the
``fallback`` (e.g. "digit entered") is spoken instead, or nothing. Whether a headset is there is asked
every time (``headset_present``, injectable; by default: the configured headset sink exists), so pulling
the plug between two words is safe. :meth:`Speaker.forget` is the session wipe: it stops and drops the
last utterance kept for "repeat".

:func:`synthesise` is the plain engine (text → WAV bytes) for tests, the staff's speaker test and caches.
"""

from __future__ import annotations

import enum
import io
import math
import os
import shutil
import struct
import subprocess
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from drivers.errors import DeviceError
from etapiste.codes import SpeechCode
from etapiste.language import LANGUAGES, Language

#: espeak-ng voice per screen language; ``en-gb`` is the British voice (closest to what Finns learn).
VOICES: dict[Language, str] = {"fi": "fi", "sv": "sv", "en": "en-gb"}

#: Words per minute. espeak-ng's default is 175; a little slower is easier for older listeners.
DEFAULT_RATE_WPM = 150

#: A screen's text is a few sentences; anything much longer is a bug, not something to read aloud.
MAX_CHARS = 2000

_SYNTH_TIMEOUT_S = 20

#: paplay's requested buffer. With PulseAudio's default (a ~2 s target) a long text started ~40 ms later;
#: 100 ms starts as early as 20 ms did and leaves room for a busy CPU (bench/bench_speech.py --latency-ms).
PLAYER_LATENCY_MS: int | None = 100


class SpeechError(DeviceError):
    """Speech output failed (engine or sound server missing or broken)."""

    code: ClassVar[SpeechCode] = "speech_error"


def _check(text: str, language: str) -> None:
    if language not in VOICES:
        raise ValueError(f"no voice for language {language!r}; use one of {', '.join(LANGUAGES)}")
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    if len(text) > MAX_CHARS:
        raise ValueError(f"text of {len(text)} characters is longer than {MAX_CHARS}; speak a screen, not a book")


def espeak_argv(language: Language, rate_wpm: int = DEFAULT_RATE_WPM) -> list[str]:
    """espeak-ng writing a WAV of UTF-8 text read from stdin to stdout. The text is not an argument."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise SpeechError("espeak-ng is not installed")
    return [program, "-v", VOICES[language], "-s", str(rate_wpm), "-b", "1", "--stdout"]


def _fix_wav_header(data: bytes) -> bytes:
    """espeak-ng streaming to a pipe cannot seek back, so its RIFF and data sizes are placeholders
    (0x7FFFF000). Rewrite both from the real length so any WAV reader accepts the bytes."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError("espeak-ng did not produce a WAV stream")
    out = bytearray(data)
    pos = 12
    while pos + 8 <= len(out):
        chunk, size = out[pos : pos + 4], struct.unpack_from("<I", out, pos + 4)[0]
        if chunk == b"data":
            struct.pack_into("<I", out, pos + 4, len(out) - pos - 8)
            struct.pack_into("<I", out, 4, len(out) - 8)
            return bytes(out)
        pos += 8 + size + (size & 1)
    raise SpeechError("espeak-ng's WAV stream has no data chunk")


def synthesise(text: str, language: Language, *, rate_wpm: int = DEFAULT_RATE_WPM) -> bytes:
    """``text`` spoken in ``language`` as a mono 16-bit WAV (22 050 Hz)."""
    _check(text, language)
    try:
        done = subprocess.run(
            espeak_argv(language, rate_wpm),
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=_SYNTH_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise SpeechError(f"espeak-ng did not finish in {_SYNTH_TIMEOUT_S} s") from e
    if done.returncode != 0:
        raise SpeechError(f"espeak-ng exited with {done.returncode}: {done.stderr.decode(errors='replace')[-200:]}")
    return _fix_wav_header(done.stdout)


@dataclass(frozen=True)
class Pcm:
    """Samples of a WAV as floats in -1…1 (mono: channels averaged)."""

    rate: int
    samples: np.ndarray

    @classmethod
    def from_wav(cls, wav: bytes) -> Pcm:
        with wave.open(io.BytesIO(wav)) as w:
            if w.getsampwidth() != 2:
                raise ValueError("only 16-bit PCM WAV is read here")
            frames = w.readframes(w.getnframes())
            raw = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
            if w.getnchannels() > 1:
                raw = raw.reshape(-1, w.getnchannels()).mean(axis=1)
            return cls(w.getframerate(), raw)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def rms_dbfs(self) -> float:
        """Loudness over the whole clip in dB relative to full scale (digital silence is -inf)."""
        if len(self.samples) == 0:
            return -math.inf
        rms = float(np.sqrt(np.mean(self.samples**2)))
        return 20 * math.log10(rms) if rms > 0 else -math.inf

    def audible_seconds(self, threshold_dbfs: float = -50.0, window_s: float = 0.02) -> float:
        """How long something could be heard: the total of 20 ms windows louder than ``threshold_dbfs``."""
        n = max(1, int(self.rate * window_s))
        usable = len(self.samples) // n * n
        if usable == 0:
            return 0.0
        windows = self.samples[:usable].reshape(-1, n)
        rms = np.sqrt(np.mean(windows**2, axis=1))
        loud = rms > 10 ** (threshold_dbfs / 20)
        return float(np.count_nonzero(loud)) * n / self.rate


def pulse_sink_present(sink: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether PulseAudio has a sink of that name now (a USB headset's sink appears when it is plugged)."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return False
    try:
        out = subprocess.run(
            [pactl, "list", "short", "sinks"], capture_output=True, timeout=5, check=False, env=dict(env or os.environ)
        )
    except subprocess.TimeoutExpired:
        return False
    return any(line.split("\t")[1:2] == [sink] for line in out.stdout.decode(errors="replace").splitlines())


class Spoken(enum.Enum):
    """What :meth:`Speaker.speak` did, so a screen can show a visual cue when nothing was heard."""

    SPOKEN = "spoken"
    FALLBACK = "fallback"  # the private text was replaced by its public fallback
    REFUSED = "refused"  # private text, no headset, no fallback: silence
    OFF = "off"  # speech output is switched off
    NOTHING = "nothing"  # repeat with nothing to repeat


@dataclass(frozen=True)
class _Utterance:
    text: str
    language: Language
    private: bool
    fallback: str | None


class Speaker:
    """Says one thing at a time; a new utterance cuts the previous one off.

    ``loudspeaker`` and ``headset`` are PulseAudio sink names (None: the server's default sink for the
    loudspeaker; no headset). ``headset_present`` is asked before every utterance; by default it is true
    when the headset sink exists. ``env`` is the environment of the child processes (``PULSE_SERVER``).
    """

    def __init__(
        self,
        *,
        loudspeaker: str | None = None,
        headset: str | None = None,
        headset_present: Callable[[], bool] | None = None,
        rate_wpm: int = DEFAULT_RATE_WPM,
        enabled: bool = True,
        env: Mapping[str, str] | None = None,
        latency_ms: int | None = PLAYER_LATENCY_MS,
    ) -> None:
        self.loudspeaker = loudspeaker
        self.headset = headset
        self._env = dict(env) if env is not None else None
        if headset_present is None:
            headset_present = (lambda: pulse_sink_present(headset, self._env)) if headset else (lambda: False)
        self._headset_present = headset_present
        self.rate_wpm = rate_wpm
        self.latency_ms = latency_ms
        self._enabled = enabled
        self._last: _Utterance | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        paplay = shutil.which("paplay")
        if paplay is None:
            raise SpeechError("paplay is not installed")
        self._paplay = paplay

    # -- switches -----------------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, on: bool) -> None:
        """Speech on or off; off also silences what is being said."""
        self._enabled = on
        if not on:
            self.stop()

    # -- speaking -----------------------------------------------------------------------------------------
    def speak(self, text: str, language: Language, *, private: bool = False, fallback: str | None = None) -> Spoken:
        """Say ``text`` now, cutting off anything still being said. Private text needs a headset; without
        one ``fallback`` is said instead (a public paraphrase such as "digit entered"), or nothing."""
        _check(text, language)
        if fallback is not None:
            _check(fallback, language)
        utterance = _Utterance(text, language, private, fallback)
        self._last = utterance
        return self._say(utterance)

    def repeat(self) -> Spoken:
        """Say the last utterance again (the privacy rule is checked again: the headset may be gone)."""
        if self._last is None:
            return Spoken.NOTHING
        return self._say(self._last)

    def stop(self) -> None:
        """Silence now: the player and the engine are killed (by pid) and reaped."""
        procs, self._procs = self._procs, []
        for proc in reversed(procs):  # the player first: it is the one making sound
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait()

    def forget(self) -> None:
        """The session wipe: silence, and nothing of the customer's last utterance kept for repeat."""
        self.stop()
        self._last = None

    def available(self) -> bool:
        """Whether speech can be heard now: the sound server answers and the loudspeaker sink exists (for
        the staff's device health; ``speak`` itself cannot tell, as the player runs on its own)."""
        pactl = shutil.which("pactl")
        if pactl is None or shutil.which("espeak-ng") is None:
            return False
        try:
            info = subprocess.run([pactl, "info"], capture_output=True, timeout=5, check=False, env=self._env)
        except subprocess.TimeoutExpired:
            return False
        if info.returncode != 0:
            return False
        return self.loudspeaker is None or pulse_sink_present(self.loudspeaker, self._env)

    @property
    def speaking(self) -> bool:
        return any(p.poll() is None for p in self._procs)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current utterance has been played out; False if ``timeout`` came first."""
        try:
            for proc in self._procs:
                proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    @property
    def pids(self) -> list[int]:
        """Pids of the engine and player of the current utterance (for tests and diagnostics)."""
        return [p.pid for p in self._procs]

    # -- internals ----------------------------------------------------------------------------------------
    def _say(self, u: _Utterance) -> Spoken:
        self.stop()
        if not self._enabled:
            return Spoken.OFF
        if u.private:
            if self.headset is not None and self._headset_present():
                self._play(u.text, u.language, self.headset)
                return Spoken.SPOKEN
            if u.fallback is None:
                return Spoken.REFUSED
            self._play(u.fallback, u.language, self.loudspeaker)
            return Spoken.FALLBACK
        headset = self.headset is not None and self._headset_present()
        self._play(u.text, u.language, self.headset if headset else self.loudspeaker)
        return Spoken.SPOKEN

    def _play(self, text: str, language: Language, sink: str | None) -> None:
        player_argv = [self._paplay, "--client-name=etapiste-kiosk", "--stream-name=speech"]
        if sink is not None:
            player_argv.append(f"--device={sink}")
        if self.latency_ms is not None:
            player_argv.append(f"--latency-msec={self.latency_ms}")
        try:
            engine = subprocess.Popen(
                espeak_argv(language, self.rate_wpm),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self._env,
            )
        except OSError as e:
            raise SpeechError(f"espeak-ng could not start: {e}") from e
        assert engine.stdin is not None and engine.stdout is not None
        try:
            player = subprocess.Popen(
                player_argv, stdin=engine.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self._env
            )
        except OSError as e:
            engine.kill()
            engine.wait()
            raise SpeechError(f"paplay could not start: {e}") from e
        finally:
            engine.stdout.close()  # the player holds the pipe now; EOF reaches it when the engine ends
        self._procs = [engine, player]
        try:
            # A screen's text is far below the pipe buffer (64 KiB): this write never blocks.
            engine.stdin.write(text.encode("utf-8"))
            engine.stdin.close()
        except BrokenPipeError:
            pass

    def close(self) -> None:
        self.forget()
