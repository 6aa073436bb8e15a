"""Watching the printer between jobs, so the staff's "room at a glance" and the customer's notice change
when the printer does — paper running out at night, the queue paused, cupsd gone — not only when
someone tries to print.

Why polling :meth:`Printer.status` and not a CUPS subscription: the monitor must also notice cupsd
disappearing and coming back (a subscription dies with cupsd), and one status query is two small IPP
requests on a local socket (well under a millisecond). Listeners hear only *changes*.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from drivers.printer import Printer, PrinterStatus

log = logging.getLogger(__name__)

StatusListener = Callable[[PrinterStatus], None]


def status_key(status: PrinterStatus) -> tuple[object, ...]:
    """What makes two statuses different for a person (not the time they were taken)."""
    return (
        status.state,
        status.accepting,
        tuple((c.keyword, c.severity, c.stale) for c in status.conditions),
    )


class PrinterMonitor:
    """Calls ``listener`` with the printer's status at start and whenever it changes.

    The listener runs on the monitor's own thread; the kiosk hands it to its loop with
    ``loop.call_soon_threadsafe`` (see :func:`drivers.printer.threadsafe`, which works for any callable).
    """

    def __init__(self, printer: Printer, listener: StatusListener, *, interval_s: float = 1.0) -> None:
        self.printer = printer
        self.listener = listener
        self.interval_s = interval_s
        self.last: PrinterStatus | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PrinterMonitor:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="printer-monitor", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> PrinterMonitor:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def check(self) -> PrinterStatus:
        """Take the status now, and tell the listener if it changed (also used by the thread)."""
        status = self.printer.status()
        if self.last is None or status_key(status) != status_key(self.last):
            self.last = status
            try:
                self.listener(status)
            except Exception:  # a broken screen must not stop the watching
                log.exception("printer status listener failed")
        return status

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # status() maps CUPS trouble to states; anything else is a bug to log
                log.exception("printer status check failed")
            self._stop.wait(self.interval_s)
