"""The printer monitor tells the room's screens when the printer changes, between jobs too."""

from __future__ import annotations

import threading

from drivers.printer import Printer, PrinterStatus
from drivers.printer_monitor import PrinterMonitor
from etapiste.config.point import PrinterConfig
from simulation.services.common import wait_until
from simulation.services.cups import PrivateCupsd


class Seen:
    def __init__(self) -> None:
        self.statuses: list[PrinterStatus] = []
        self.lock = threading.Lock()

    def __call__(self, status: PrinterStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def states(self) -> list[tuple[str, tuple[str, ...]]]:
        with self.lock:
            return [(s.state, tuple(c.code for c in s.conditions)) for s in self.statuses]

    def latest(self) -> PrinterStatus:
        with self.lock:
            return self.statuses[-1]


def test_staff_screen_hears_of_pause_refusal_cupsd_loss_and_recovery(own_cupsd: PrivateCupsd) -> None:
    queue = own_cupsd.add_file_queue()
    printer = Printer(PrinterConfig(queue=queue.name), server=own_cupsd.socket)
    conn = own_cupsd.connection()
    seen = Seen()

    def step(action: object, expected: tuple[str, tuple[str, ...]]) -> None:
        """One thing happens to the printer; wait until the monitor has reported it."""
        if callable(action):
            action()
        wait_until(lambda: seen.states()[-1:] == [expected], 10, f"the monitor to report {expected}")

    with PrinterMonitor(printer, seen, interval_s=0.05):
        step(None, ("idle", ()))
        step(lambda: conn.disablePrinter(queue.name), ("stopped", ("paused",)))
        step(lambda: conn.rejectJobs(queue.name), ("stopped", ("not_accepting", "paused")))
        step(lambda: conn.enablePrinter(queue.name), ("idle", ("not_accepting",)))
        step(lambda: conn.acceptJobs(queue.name), ("idle", ()))
        step(own_cupsd.stop, ("unreachable", ("print_service_down",)))
        # the host's sentence is the kiosk's to fill (etapiste.host): the driver does not know the host
        assert seen.latest().customer_message("en") == "Printing is not available right now. {staff_told}"
        step(own_cupsd.start, ("idle", ()))

    # Only changes are reported: each situation once, however many checks ran.
    assert seen.states() == [
        ("idle", ()),
        ("stopped", ("paused",)),
        ("stopped", ("not_accepting", "paused")),
        ("idle", ("not_accepting",)),
        ("idle", ()),
        ("unreachable", ("print_service_down",)),
        ("idle", ()),
    ]


def test_monitor_stops_cleanly_and_its_listener_errors_do_not_stop_it(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    printer = Printer(PrinterConfig(queue=queue.name), server=cupsd.socket)
    calls: list[PrinterStatus] = []

    def broken(status: PrinterStatus) -> None:
        calls.append(status)
        raise RuntimeError("a screen bug")

    monitor = PrinterMonitor(printer, broken, interval_s=0.05).start()
    try:
        wait_until(lambda: len(calls) == 1, 10, "the first status")
        cupsd.connection().disablePrinter(queue.name)
        wait_until(lambda: len(calls) == 2, 10, "the change after a listener error")
    finally:
        monitor.stop()
    assert not any(t.name == "printer-monitor" for t in threading.enumerate())
