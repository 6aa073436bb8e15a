"""Cold start of ``etapiste kiosk`` until the idle screen is painted, beside a bare PySide6 window.

Both are started as fresh processes on the same private Xvfb in the same run, alternating, and timed
from ``Popen`` to the line each prints after its first paint. The reference peer is the least any
PySide6 kiosk can cost on this machine (interpreter + Qt + one painted widget), so the difference is
what the product itself adds (configuration loading, validation, screens, style).

Run: ``.venv/bin/python bench/bench_kiosk_start.py [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

_BARE_QT = """
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
w = QLabel("Tervetuloa"); w.setStyleSheet("font-size: 60px"); w.resize(1280, 1024)
class F(QObject):
    done = False
    def eventFilter(self, o, e):
        if not self.done and e.type() == QEvent.Type.Paint:
            self.done = True
            QTimer.singleShot(0, lambda: (print("painted", flush=True), app.quit()))
        return False
f = F(); w.installEventFilter(f); w.show(); app.exec()
"""


def _time_to_paint(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    elapsed = time.perf_counter() - start
    proc.terminate()
    proc.wait(30)
    if line != "painted":
        raise RuntimeError(f"{argv[:4]} did not report a painted screen")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("Xvfb is not installed (scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    n = next(n for n in range(150, 250) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = subprocess.Popen([xvfb, f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            time.sleep(0.05)
        env = {**os.environ, "DISPLAY": f":{n}", "QT_QPA_PLATFORM": "xcb"}
        kiosk = [sys.executable, "-m", "etapiste", "kiosk", "--at", "2026-11-30T12:00", "--report-painted"]
        bare = [sys.executable, "-c", _BARE_QT]
        _time_to_paint(kiosk, env)  # warm the page cache once; cold start means a new process
        _time_to_paint(bare, env)
        k: list[float] = []
        b: list[float] = []
        for _ in range(args.runs):
            k.append(_time_to_paint(kiosk, env))
            b.append(_time_to_paint(bare, env))
    finally:
        server.terminate()
        server.wait(10)

    def row(name: str, xs: list[float]) -> str:
        q = statistics.quantiles(xs, n=10)
        med = statistics.median(xs) * 1000
        return f"{name:<28} median {med:7.0f} ms   p10 {q[0] * 1000:5.0f}   p90 {q[-1] * 1000:5.0f}"

    print(f"cold start → first paint, {args.runs} runs each, Xvfb 1280×1024, alternating")
    print(row("etapiste kiosk (idle)", k))
    print(row("bare PySide6 label (ref)", b))
    print(f"product overhead over bare Qt: {(statistics.median(k) - statistics.median(b)) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
