"""Speech output: from ``speak()`` to the first sound, and from ``stop()`` to silence, beside two peers.

A private PulseAudio (own socket, a null sink as the loudspeaker) is recorded with ``parecord`` at 10 ms
latency by a reader thread that timestamps every chunk; "first sound" is the arrival of the first 10 ms
window louder than -50 dBFS after the call, "silence" the first quiet window after ``stop()``. The
recorder's own delay is in every figure alike, so the rows compare.

Variants, alternating run by run:
- ``Speaker`` — the kiosk's ``espeak-ng --stdout | paplay`` pipeline (plays while synthesising);
- synthesise, then play — ``synthesise()`` to WAV bytes, then ``paplay`` of the whole WAV (what a player
  that needs the complete clip, such as QSoundEffect or QAudioSink over a buffer, would do);
- ``espeak-ng`` alone — the engine's own PulseAudio output (pcaudiolib), the floor of this engine.

Run: ``.venv/bin/python bench/bench_speech.py [--runs N]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk import i18n
from kiosk.speech import Pcm, Speaker, espeak_argv, pulse_sink_present, synthesise

RATE = 16000
WINDOW = RATE // 100  # 10 ms
LOUD = 10 ** (-50 / 20)


class Recorder:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["parecord", "--device=loudspeaker.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--latency-msec=10"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        self.lock = threading.Lock()
        self.windows: list[tuple[float, bool]] = []  # (arrival time, loud)
        self._pending = b""
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            with self.lock:
                if len(self.windows) > 20:
                    break
            time.sleep(0.01)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 4096):
            now = time.perf_counter()
            data = self._pending + chunk
            usable = len(data) // (2 * WINDOW) * 2 * WINDOW
            self._pending = data[usable:]
            samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float64) / 32768.0
            with self.lock:
                for w in samples.reshape(-1, WINDOW):
                    self.windows.append((now, float(np.sqrt(np.mean(w**2))) > LOUD))

    def first(self, after: float, loud: bool, timeout: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                for t, is_loud in self.windows:
                    if t > after and is_loud == loud:
                        return t - after
            time.sleep(0.002)
        raise TimeoutError("no such window")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def _kill(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _feed(p: subprocess.Popen[bytes], data: bytes) -> None:
    assert p.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        p.stdin.write(data)
        p.stdin.close()


def _pct(xs: list[float], q: int) -> float:
    """The q-th percentile (10, 90) in ms."""
    return statistics.quantiles(xs, n=10)[q // 10 - 1] * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument(
        "--latency-ms", type=int, default=None, help="paplay latency for the kiosk row (default: the Speaker's)"
    )
    args = ap.parse_args()
    for program in ("pulseaudio", "paplay", "parecord", "espeak-ng"):
        if shutil.which(program) is None:
            print(f"{program} is not installed (scripts/setup.sh installs it)", file=sys.stderr)
            return 2
    texts = {
        "one sentence": i18n.text("intro", "fi"),
        "a whole screen": " ".join(
            i18n.text(k, "fi", host="library")  # a library's words, as the sample point
            for k in ("welcome", "intro", "choose_language", "out_of_service_help", "no_next_opening")
        ),
    }
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp:
        base = Path(tmp)
        (base / "run").mkdir(mode=0o700)
        script = base / "default.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={base}/native\n"
            "load-module module-null-sink sink_name=loudspeaker rate=48000\nset-default-sink loudspeaker\n"
        )
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "XDG_RUNTIME_DIR": f"{tmp}/run",
               "PULSE_RUNTIME_PATH": f"{tmp}/run", "PULSE_SERVER": f"unix:{base}/native"}  # fmt: skip
        server = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             "--disable-shm=yes"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 15
            while not pulse_sink_present("loudspeaker", env):
                if time.monotonic() > deadline or server.poll() is not None:
                    print("private pulseaudio did not start", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            rec = Recorder(env)
            speaker = Speaker(
                loudspeaker="loudspeaker", env=env, **({"latency_ms": args.latency_ms} if args.latency_ms else {})
            )
            espeak_env = {**os.environ, **env}

            def pipeline(text: str) -> Callable[[], None]:
                speaker.speak(text, "fi")
                return speaker.stop

            def synth_then_play(text: str) -> Callable[[], None]:
                wav = synthesise(text, "fi")
                p = subprocess.Popen(["paplay", "--device=loudspeaker"], stdin=subprocess.PIPE, env=env)
                threading.Thread(target=_feed, args=(p, wav), daemon=True).start()
                return lambda: _kill([p])

            def espeak_alone(text: str) -> Callable[[], None]:
                argv = [a for a in espeak_argv("fi") if a != "--stdout"]
                p = subprocess.Popen(argv, stdin=subprocess.PIPE, env=espeak_env, stderr=subprocess.DEVNULL)
                assert p.stdin is not None
                p.stdin.write(text.encode())
                p.stdin.close()
                return lambda: _kill([p])

            results: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
            synth: dict[str, list[float]] = {}
            for label, text in texts.items():
                variants = {
                    "Speaker: espeak-ng | paplay (kiosk)": pipeline,
                    "synthesise() then paplay (peer)": synth_then_play,
                    "espeak-ng own output (peer)": espeak_alone,
                }
                results[label] = {k: ([], []) for k in variants}
                synth[label] = []
                for run in range(args.runs + 1):
                    for name, variant in variants.items():
                        t0 = time.perf_counter()
                        stop = variant(text)
                        first = rec.first(t0, loud=True)
                        time.sleep(0.4)
                        t1 = time.perf_counter()
                        stop()
                        quiet = rec.first(t1, loud=False)
                        time.sleep(0.3)
                        if run:  # the first round warms caches up
                            results[label][name][0].append(first)
                            results[label][name][1].append(quiet)
                    t = time.perf_counter()
                    synthesise(text, "fi")
                    if run:
                        synth[label].append(time.perf_counter() - t)
            rec.close()
        finally:
            server.terminate()
            server.wait(10)

    print(f"{args.runs} runs each, alternating; Finnish; ms")
    pcm = Pcm.from_wav(synthesise(texts["one sentence"], "fi"))
    n = pcm.rate // 100
    loud = np.sqrt((pcm.samples[: len(pcm.samples) // n * n].reshape(-1, n) ** 2).mean(axis=1)) > LOUD
    print(f"the voice's own leading silence (in the WAV, before any playback): {int(np.argmax(loud)) * 10} ms")
    for label, text in texts.items():
        print(f"\n{label}: {len(text)} characters; synthesise() alone {statistics.median(synth[label]) * 1000:.1f} ms")
        print(f"  {'':38} {'call → first sound':>26} {'stop → silence':>18}")
        print(f"  {'':38} {'median (p10–p90)':>26} {'median (p90)':>18}")
        for name, (starts, quiets) in results[label].items():
            print(
                f"  {name:38} {statistics.median(starts) * 1000:12.0f} ({_pct(starts, 10):.0f}–{_pct(starts, 90):.0f})"
                f" {statistics.median(quiets) * 1000:11.0f} ({_pct(quiets, 90):.0f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
