"""The kiosk app: one asyncio loop driving Qt (qasync), the session, and the window.

qasync is used because aiortc's sockets need a real asyncio loop in the UI thread (PySide6's own
QtAsyncio cannot run them). The app follows the clock with a timer, quits cleanly on SIGTERM/SIGINT
(systemd stops it that way), and can save a screenshot of its first screen for docs and tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from kiosk.session import Clock, Session
from kiosk.views.window import KioskWindow
from provisioning.schema import Language, PointConfig

log = logging.getLogger(__name__)

#: How often the session follows the clock (opening and closing happen on a tick).
TICK_MS = 15_000


@dataclass(frozen=True)
class Options:
    """How this run of the kiosk is started (from the command line)."""

    kiosk_mode: bool = True
    """Full screen and frameless; the window cannot be closed by the keyboard."""
    language: Language | None = None
    at: dt.datetime | None = None
    """Start the clock at this host-local moment (demos and screenshots); it then runs normally."""
    screenshot: Path | None = None
    """Save a PNG of the first screen and quit."""
    report_painted: bool = False
    """Print ``painted`` on stdout when the first screen has been drawn (for the cold-start benchmark)."""
    size: tuple[int, int] = (1280, 1024)
    """Window size when not in kiosk mode."""


def _clock_from(at: dt.datetime) -> Clock:
    started = time.monotonic()
    return lambda: at + dt.timedelta(seconds=time.monotonic() - started)


class _SignalBridge:
    """Turns SIGTERM/SIGINT into a clean quit: Python signal handlers only run when Python code
    runs, so the signal is written to a socket that Qt watches."""

    def __init__(self, quit_: Callable[[], None]) -> None:
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        signal.set_wakeup_fd(self._wsock.fileno())
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        self._notifier = QSocketNotifier(self._rsock.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._on_signal)
        self._quit = quit_

    def _on_signal(self) -> None:
        try:
            self._rsock.recv(64)
        except BlockingIOError:
            return
        log.info("stopping on signal")
        self._quit()

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._notifier.setEnabled(False)
        self._rsock.close()
        self._wsock.close()


def run(config: PointConfig, options: Options) -> int:
    """Run the kiosk until it is told to stop; returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("etapiste")
    import qasync  # imported here: it binds to the Qt binding already loaded

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    session = Session(config, _clock_from(options.at) if options.at else None)
    if options.language:
        session.set_language(options.language)
    window = KioskWindow(session, kiosk_mode=options.kiosk_mode)

    def quit_app() -> None:
        # Qt 6 cancels quit() when a window refuses to close, and the kiosk window refuses the
        # keyboard's close: let it close first.
        window.allow_close()
        app.quit()

    bridge = _SignalBridge(quit_app)

    ticker = QTimer()
    ticker.timeout.connect(session.tick)
    ticker.start(TICK_MS)

    def on_first_paint() -> None:
        if options.report_painted:
            print("painted", flush=True)
        if options.screenshot is not None:
            options.screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(options.screenshot)):
                log.error("could not save the screenshot to %s", options.screenshot)
            quit_app()

    window.first_painted.connect(on_first_paint)
    if options.kiosk_mode:
        # Take the whole screen from the first frame, also where no window manager enforces it.
        window.setGeometry(app.primaryScreen().geometry())
        window.showFullScreen()
    else:
        window.resize(*options.size)
        window.show()

    with loop:
        closing = asyncio.Event()
        app.aboutToQuit.connect(closing.set)
        loop.run_until_complete(closing.wait())
    ticker.stop()
    window.close()
    bridge.close()
    return 0
