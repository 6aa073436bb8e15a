"""Speech output as a customer hears it: real espeak-ng voices in fi/sv/en, played through a private
PulseAudio whose loudspeaker and headset are null sinks recorded with parecord. Private text (a PIN, a
name) must never come out of the loudspeaker."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from etapiste.language import LANGUAGES, Language
from kiosk import i18n
from kiosk.speech import Pcm, Speaker, SpeechError, Spoken, espeak_argv, pulse_sink_present, synthesise
from kiosk.views.keyboard import PinPad
from simulation.services import watchdog
from simulation.services.common import Service, require_program, running, wait_until

LONG = {
    "fi": "Tämä on pitkä lause, jota ei ehditä lukea loppuun, koska asiakas painaa toista painiketta kesken kaiken. "
    "Sen jälkeen puhe alkaa alusta uudella tekstillä, eikä vanha teksti jatku enää.",
}


# -- the engine -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_is_synthesised_to_audible_speech(language: Language) -> None:
    wav = synthesise(i18n.text("intro", language), language)
    pcm = Pcm.from_wav(wav)  # the header is valid: the frame count matches the data
    assert pcm.rate == 22050
    assert 1.5 < pcm.seconds < 15
    assert pcm.rms_dbfs() > -35  # speech, not silence (digital silence is -inf)
    assert pcm.audible_seconds() > 1.0
    # an independent reader agrees: sox measures the same loudness
    sox = require_program("sox")
    out = subprocess.run([sox, "-t", "wav", "-", "-n", "stat"], input=wav, capture_output=True, check=True)
    rms = float(
        next(line for line in out.stderr.decode().splitlines() if line.startswith("RMS     amplitude")).split()[-1]
    )
    assert 20 * np.log10(rms) == pytest.approx(pcm.rms_dbfs(), abs=0.5)


def test_the_voice_follows_the_screen_language() -> None:
    finnish = Pcm.from_wav(synthesise("Tervetuloa palvelupisteeseen", "fi"))
    english = Pcm.from_wav(synthesise("Tervetuloa palvelupisteeseen", "en"))
    assert finnish.seconds != english.seconds or not np.array_equal(finnish.samples, english.samples)


def test_empty_overlong_or_unknown_language_text_gets_a_clear_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        synthesise("   ", "fi")
    with pytest.raises(ValueError, match="longer than"):
        synthesise("a" * 5000, "fi")
    with pytest.raises(ValueError, match="no voice"):
        synthesise("hei", "de")  # type: ignore[arg-type]


def test_text_never_appears_on_the_engines_command_line() -> None:
    argv = espeak_argv("fi")
    assert not any("1234" in a for a in argv)
    # a text that looks like an option is read as words, not as a flag
    assert Pcm.from_wav(synthesise("--help", "en")).audible_seconds() > 0.2


def test_speech_error_tells_customer_and_staff_in_every_language() -> None:
    err = SpeechError("x")
    for lang in LANGUAGES:
        assert err.customer_message(lang) and err.staff_message(lang)


# -- a private sound server -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Pulse:
    env: dict[str, str]

    def record(self, sink: str) -> Recording:
        return Recording(self, sink)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    """A PulseAudio of this test run only (its own socket, no D-Bus, no hardware) with two null sinks:
    ``loudspeaker`` (the default) and ``headset``."""
    program = require_program("pulseaudio")
    require_program("paplay")
    require_program("parecord")
    require_program("espeak-ng")
    base = tmp_path_factory.mktemp("pulse")
    runtime = base / "run"
    runtime.mkdir(mode=0o700)
    socket_path = base / "native"
    script = base / "default.pa"
    script.write_text(
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={socket_path}\n"
        "load-module module-null-sink sink_name=loudspeaker rate=48000\n"
        "load-module module-null-sink sink_name=headset rate=48000\n"
        "set-default-sink loudspeaker\n"
    )
    # A clean environment for the sound server and its players, but with the run's watchdog marker, so
    # a killed test run leaves no recorder or speaker behind either.
    env = (
        watchdog.marked(
            {
                "PATH": "/usr/bin:/bin",
                "HOME": str(base),
                "XDG_RUNTIME_DIR": str(runtime),
                "PULSE_RUNTIME_PATH": str(runtime),
                "PULSE_SERVER": f"unix:{socket_path}",
            }
        )
        or {}
    )
    argv = [program, "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
            "--disable-shm=yes", "--log-target=stderr"]  # fmt: skip
    service = Service("pulseaudio", argv, base / "pulseaudio.log", env=env)
    with running(service, lambda: pulse_sink_present("headset", env)):
        yield Pulse(env)


class Recording:
    """parecord of a sink's monitor into memory (16 kHz mono), started before and stopped after speech."""

    RATE = 16000

    def __init__(self, pulse: Pulse, sink: str) -> None:
        self._proc = subprocess.Popen(
            ["parecord", f"--device={sink}.monitor", "--raw", "--format=s16le", f"--rate={self.RATE}",
             "--channels=1", "--latency-msec=20"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=pulse.env,
        )  # fmt: skip
        self._data = bytearray()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_until(lambda: len(self._data) >= self.RATE // 5, 10, "parecord")  # 0.1 s of the monitor arrived

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read1(4096):
            self._data += chunk

    def stop(self) -> Pcm:
        time.sleep(0.3)  # the monitor lags the sink by its latency
        self._proc.terminate()
        self._proc.wait(5)
        self._thread.join(5)
        usable = len(self._data) // 2 * 2
        return Pcm(self.RATE, np.frombuffer(bytes(self._data[:usable]), dtype="<i2").astype(np.float64) / 32768.0)

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


@contextlib.contextmanager
def recording(pulse: Pulse, *sinks: str) -> Iterator[dict[str, Recording]]:
    recs = {s: pulse.record(s) for s in sinks}
    try:
        yield recs
    finally:
        for r in recs.values():
            r.kill()


@pytest.fixture
def speaker(pulse: Pulse) -> Iterator[Speaker]:
    s = Speaker(loudspeaker="loudspeaker", headset="headset", headset_present=lambda: False, env=pulse.env)
    yield s
    s.close()


def _speaker(pulse: Pulse, headset: bool) -> Speaker:
    return Speaker(loudspeaker="loudspeaker", headset="headset", headset_present=lambda: headset, env=pulse.env)


# -- playback, end to end -------------------------------------------------------------------------------
def test_speech_comes_out_of_the_loudspeaker_in_each_language(pulse: Pulse, speaker: Speaker) -> None:
    for language in LANGUAGES:
        with recording(pulse, "loudspeaker", "headset") as rec:
            assert speaker.speak(i18n.text("choose_language", language), language) is Spoken.SPOKEN
            assert speaker.wait(30)
            loud, head = rec["loudspeaker"].stop(), rec["headset"].stop()
        assert loud.audible_seconds() > 0.8, language
        assert head.audible_seconds() == 0


def test_a_pin_is_never_spoken_on_the_loudspeaker_without_a_headset(pulse: Pulse, speaker: Speaker) -> None:
    with recording(pulse, "loudspeaker", "headset") as rec:
        assert speaker.speak("1 2 3 4", "fi", private=True) is Spoken.REFUSED
        assert speaker.pids == []  # not even synthesised
        time.sleep(0.5)
        assert rec["loudspeaker"].stop().audible_seconds() == 0
        assert rec["headset"].stop().audible_seconds() == 0


def test_without_a_headset_the_public_fallback_is_said_instead(pulse: Pulse, speaker: Speaker) -> None:
    with recording(pulse, "loudspeaker") as rec:
        assert speaker.speak("1 2 3 4", "fi", private=True, fallback="Numero annettu") is Spoken.FALLBACK
        assert speaker.wait(30)
        heard = rec["loudspeaker"].stop()
    assert heard.audible_seconds() > 0.3
    # and repeat does not leak it either: still only the fallback on the loudspeaker
    assert speaker.repeat() is Spoken.FALLBACK


def test_with_a_headset_private_text_goes_to_the_headset_only(pulse: Pulse) -> None:
    plugged = True
    s = Speaker(loudspeaker="loudspeaker", headset="headset", headset_present=lambda: plugged, env=pulse.env)
    try:
        with recording(pulse, "loudspeaker", "headset") as rec:
            assert s.speak("Henkilötunnus 010101-123N", "fi", private=True) is Spoken.SPOKEN
            assert s.wait(30)
            loud, head = rec["loudspeaker"].stop(), rec["headset"].stop()
        assert head.audible_seconds() > 1.0
        assert loud.audible_seconds() == 0
        # the headset is pulled out: repeating the same private text is refused
        plugged = False
        assert s.repeat() is Spoken.REFUSED
    finally:
        s.close()


def test_default_headset_check_follows_the_headset_sink(pulse: Pulse) -> None:
    present = Speaker(loudspeaker="loudspeaker", headset="headset", env=pulse.env)
    absent = Speaker(loudspeaker="loudspeaker", headset="usb-handset", env=pulse.env)
    nobody = Speaker(env=pulse.env)
    try:
        assert present._headset_present() is True
        assert absent._headset_present() is False
        assert nobody.speak("0000", "fi", private=True) is Spoken.REFUSED
    finally:
        for s in (present, absent, nobody):
            s.close()


def test_a_new_utterance_cuts_the_previous_one_off(pulse: Pulse, speaker: Speaker) -> None:
    full = Pcm.from_wav(synthesise(LONG["fi"], "fi")).audible_seconds()
    assert full > 6
    with recording(pulse, "loudspeaker") as rec:
        speaker.speak(LONG["fi"], "fi")
        first = list(speaker.pids)
        time.sleep(0.8)
        speaker.speak("Suomi", "fi")
        assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in first)
        assert speaker.wait(30)
        heard = rec["loudspeaker"].stop()
    assert 0.3 < heard.audible_seconds() < full / 2


def test_stop_and_speech_off_silence_at_once(pulse: Pulse, speaker: Speaker) -> None:
    with recording(pulse, "loudspeaker") as rec:
        speaker.speak(LONG["fi"], "fi")
        time.sleep(0.5)
        speaker.set_enabled(False)
        assert not speaker.speaking
        assert speaker.speak("Tervetuloa", "fi") is Spoken.OFF
        assert speaker.repeat() is Spoken.OFF
        heard = rec["loudspeaker"].stop()
    assert heard.audible_seconds() < 3


def test_repeat_says_the_last_thing_again_until_the_session_is_wiped(pulse: Pulse, speaker: Speaker) -> None:
    assert speaker.repeat() is Spoken.NOTHING
    speaker.speak("Valitse palvelu", "fi")
    assert speaker.wait(30)
    with recording(pulse, "loudspeaker") as rec:
        assert speaker.repeat() is Spoken.SPOKEN
        assert speaker.wait(30)
        assert rec["loudspeaker"].stop().audible_seconds() > 0.5
    speaker.forget()
    assert speaker.repeat() is Spoken.NOTHING


def test_spoken_text_is_not_on_any_command_line(pulse: Pulse, speaker: Speaker) -> None:
    speaker.speak(LONG["fi"], "fi")
    try:
        for pid in speaker.pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            assert "pitkä" not in cmdline
    finally:
        speaker.stop()


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    return True


def test_pin_pad_with_speech_says_the_count_aloud_and_never_a_digit(
    pulse: Pulse, speaker: Speaker, qtbot: QtBot
) -> None:
    pad = PinPad("fi")
    qtbot.addWidget(pad)
    pad.show()
    qtbot.waitExposed(pad)
    pad.activateWindow()
    qtbot.waitUntil(pad.isActiveWindow)
    said: list[tuple[str, bool, Spoken]] = []
    pad.announce.connect(lambda text, private: said.append((text, private, speaker.speak(text, "fi", private=private))))
    with recording(pulse, "loudspeaker") as rec:
        pad.focus_home()  # "5" under the finger: private
        for key in (Qt.Key.Key_Up, Qt.Key.Key_Space, Qt.Key.Key_Down, Qt.Key.Key_Space):  # 2, 5 by arrows
            qtbot.keyClick(pad.focusWidget(), key)
        assert speaker.wait(30)
        heard = rec["loudspeaker"].stop()
    assert [s for s in said if s[1]] == [("5", True, Spoken.REFUSED), ("2", True, Spoken.REFUSED),
                                         ("5", True, Spoken.REFUSED)]  # fmt: skip
    assert [s[0] for s in said if not s[1]] == ["Numeroita annettu: 1", "Numeroita annettu: 2"]
    assert heard.audible_seconds() > 0.5  # the counts were heard


def test_staff_see_whether_speech_can_be_heard(pulse: Pulse, tmp_path: Path) -> None:
    working = Speaker(loudspeaker="loudspeaker", env=pulse.env)
    wrong_sink = Speaker(loudspeaker="hdmi-out", env=pulse.env)
    no_server = Speaker(env={**pulse.env, "PULSE_SERVER": f"unix:{tmp_path}/nothing-here"})
    assert working.available()
    assert not wrong_sink.available()
    assert not no_server.available()
