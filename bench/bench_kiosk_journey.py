"""Screen-to-screen transition time and memory over 100 simulated journeys, offscreen.

A journey: language → service choice → notice → queue → call (text, a scan preview, a print) → survey
→ wipe → idle, driven through the session's intents exactly as the screens and the controller drive it,
with the real window rendering each snapshot. Each intent is timed from the call until Qt has processed
the resulting events (the new screen is laid out and painted into the backing store).

Reference peer (same run): a bare QStackedWidget switching between pages holding the same number of
labels, which is the floor any Qt screen change costs on this machine.

Memory: resident set size after journey 1 and after journey 100; growth means something of a customer
is being kept (the privacy wipe is also a memory wipe).

Run: ``.venv/bin/python bench/bench_kiosk_journey.py [--journeys 100]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QLabel, QStackedWidget, QVBoxLayout, QWidget

from etapiste.config.point import load_point_config
from kiosk.session import Session
from kiosk.views.window import KioskWindow
from simulation.heap import rss_mb


def _preview() -> bytes:
    """An A4 preview as the scanner driver hands it over (JPEG, screen size)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (620, 877), "white")
    ImageDraw.Draw(image).rectangle((40, 40, 580, 110), outline="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


PREVIEW = _preview()


def timed(app: QApplication, action: Callable[[], object], out: list[float]) -> None:
    start = time.perf_counter()
    action()
    app.processEvents()
    out.append(time.perf_counter() - start)


def journey(app: QApplication, s: Session, out: list[float]) -> None:
    preview = PREVIEW
    steps: list[Callable[[], object]] = [
        lambda: s.choose_language("sv"),
        lambda: s.choose_producer("kela"),
        s.accept_notice,
        lambda: s.queue_update(1, 60),
        s.call_answered,
        lambda: s.remote_text("Hej!", True),
        lambda: s.type_text("Hej, jag behöver hjälp", True),
        s.scan_requested,
        lambda: s.scan_ready(1, preview),
        s.close_scan,
        lambda: s.print_started(2),
        s.print_done,
        s.close_print,
        s.hang_up,
        lambda: s.rate(5),
    ]
    for step in steps:
        timed(app, step, out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=100)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    config = load_point_config()
    session = Session(config, lambda: dt.datetime(2026, 11, 30, 12, 0))
    window = KioskWindow(session, kiosk_mode=False)
    window.resize(1280, 1024)
    window.show()
    app.processEvents()

    kiosk_times: list[float] = []
    journey(app, session, [])  # warm-up
    rss_first = rss_mb()
    for _ in range(args.journeys):
        journey(app, session, kiosk_times)
    rss_last = rss_mb()

    # Reference: a bare stack of pages with as many labels as a kiosk screen.
    stack = QStackedWidget()
    for _ in range(10):
        page = QWidget()
        layout = QVBoxLayout(page)
        for i in range(12):
            layout.addWidget(QLabel(f"label {i}"))
        stack.addWidget(page)
    stack.resize(1280, 1024)
    stack.show()
    app.processEvents()
    bare: list[float] = []
    for n in range(args.journeys * 15):
        timed(app, lambda n=n: stack.setCurrentIndex(n % 10), bare)

    def ms(xs: list[float]) -> str:
        q = statistics.quantiles(xs, n=100)
        return f"median {statistics.median(xs) * 1000:6.2f} ms  p99 {q[98] * 1000:6.2f} ms"

    print(f"{args.journeys} journeys × 15 steps, offscreen 1280×1024")
    print(f"kiosk screen change (session → window)   {ms(kiosk_times)}")
    print(f"bare QStackedWidget page switch (ref)    {ms(bare)}")
    print(f"RSS after journey 1: {rss_first:.1f} MB, after journey {args.journeys + 1}: {rss_last:.1f} MB "
          f"(growth {rss_last - rss_first:+.1f} MB)")
    window.allow_close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
