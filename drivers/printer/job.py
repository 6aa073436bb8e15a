"""A print job followed to its end by CUPS notifications, not by polling the job.

The point's cupsd keeps no job history (``PreserveJobHistory No``), so a finished job vanishes at
once and "not found" could mean completed *or* cancelled. A pull subscription (``ippget``) on the
queue, opened before the job is created, records every state change with the job's final state, so
the outcome is never guessed. A job that does not complete ends in a
:class:`~drivers.printer_errors.PrinterError` — never silently — and is gone from CUPS afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import cups

from drivers.pdfcheck import PdfInfo
from drivers.printer.conditions import Condition, conditions_from_reasons, listify
from drivers.printer.ipp import (
    JOB_ABORTED,
    JOB_CANCELED,
    JOB_COMPLETED,
    JOB_HELD,
    JOB_PENDING,
    JOB_PROCESSING,
    JOB_STOPPED,
    PRINTER_STOPPED,
)
from drivers.printer_errors import (
    JobCancelled,
    JobFailed,
    JobHeld,
    JobStopped,
    JobTimeout,
    PrinterError,
    PrintServiceDown,
)

if TYPE_CHECKING:
    from drivers.printer.client import Printer

log = logging.getLogger(__name__)

EventKind = Literal["accepted", "processing", "progress", "stalled", "resumed", "completed", "failed"]


@dataclass(frozen=True)
class PrintEvent:
    """Progress of one job, for the customer's screen and the agent's desk (no personal data)."""

    kind: EventKind
    job_id: int
    pages_done: int
    pages_total: int
    condition: Condition | None = None
    """Why the job is ``stalled`` (e.g. out of paper)."""
    error: PrinterError | None = None
    """Why the job ``failed``."""


Listener = Callable[[PrintEvent], None]


@dataclass(frozen=True)
class PrintResult:
    """A job that completed: every page went to the printer."""

    job_id: int
    pages: int
    seconds: float


class PrintJob:
    """A submitted job: follow it with :meth:`wait`, stop it with :meth:`cancel` (any thread)."""

    def __init__(
        self,
        printer: Printer,
        conn: cups.Connection,
        subscription: int,
        job_id: int,
        info: PdfInfo,
        listeners: list[Listener],
        started: float,
        baseline: set[str] | None = None,
    ) -> None:
        self.printer = printer
        self.job_id = job_id
        self.info = info
        self._conn = conn
        self._subscription = subscription
        self._listeners = listeners
        self._started = started
        self._cancel = threading.Event()
        self._seq = 0
        self._pages_done = 0
        self._processing = False
        self._stall: Condition | None = None
        self._stalled_at = 0.0
        self._grace: float | None = None
        #: Fault codes CUPS still lists from before (stale); only a stop or a new fault is a stall.
        self._baseline: set[str] = set(baseline or ())

    def cancel(self) -> None:
        """Ask for the job to be cancelled; :meth:`wait` then raises :class:`JobCancelled`."""
        self._cancel.set()

    def _emit(self, kind: EventKind, **extra: Any) -> None:
        event = PrintEvent(kind, self.job_id, self._pages_done, self.info.pages, **extra)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken screen must not lose the job's outcome
                log.exception("print listener failed on %s", kind)

    def wait(self, timeout_s: float | None = None, stall_grace_s: float | None = None) -> PrintResult:
        """Follow the job to its end. Whatever happens, the job is gone from CUPS afterwards.

        ``timeout_s`` bounds the whole job (default: the configuration's ``job_timeout_s``);
        ``stall_grace_s`` bounds how long a job stalled by a fault (out of paper…) waits for the staff
        to fix it before it is given up (default: until the timeout).
        """
        timeout = float(timeout_s if timeout_s is not None else self.printer.config.job_timeout_s)
        deadline = time.monotonic() + timeout
        self._grace = stall_grace_s
        try:
            result = self._follow(deadline, timeout)
            self._emit("completed")
            return result
        except PrinterError as exc:
            exc.job_id = self.job_id
            self._emit("failed", error=exc)
            raise
        finally:
            self._finish()

    def _follow(self, deadline: float, timeout: float) -> PrintResult:
        poll = 0.01
        while True:
            try:
                reply = self._conn.getNotifications([self._subscription], sequence_numbers=[self._seq + 1])
            except (RuntimeError, cups.IPPError):
                raise PrintServiceDown(not_printed=True) from None
            for event in reply.get("events", []):
                self._seq = max(self._seq, int(event.get("notify-sequence-number", 0)))
                result = self._handle(event)
                if result is not None:
                    return result
            if self._cancel.is_set():
                self._cancel_in_cups()
                raise JobCancelled(detail="cancelled-at-point")
            now = time.monotonic()
            stalled_too_long = (
                self._stall is not None and self._grace is not None and now - self._stalled_at >= self._grace
            )
            if now >= deadline or stalled_too_long:
                self._cancel_in_cups()
                if self._stall is not None:
                    # The customer hears the real reason (out of paper), plus that nothing was printed.
                    raise self._stall.as_error(not_printed=True)
                raise JobTimeout(timeout_s=round(timeout), detail="timeout")
            time.sleep(poll)
            # Quick polls while a job normally finishes (a small IPP request on a local socket costs
            # ~0.2 ms), then gentler ones for a job that waits on paper or a slow printer.
            if time.monotonic() - self._started > 2.0:
                poll = min(poll * 1.25, 0.1)

    def _handle(self, event: dict[str, Any]) -> PrintResult | None:
        kind = event.get("notify-subscribed-event")
        errors = [
            c for c in conditions_from_reasons(listify(event.get("printer-state-reasons"))) if c.severity == "error"
        ]
        stopped = event.get("printer-state") == PRINTER_STOPPED
        if event.get("notify-job-id") == self.job_id:
            state = int(event.get("job-state", 0))
            reasons = listify(event.get("job-state-reasons"))
            done = min(int(event.get("job-impressions-completed", 0) or 0), self.info.pages)
            if done > self._pages_done:
                self._pages_done = done
                self._emit("progress")
            if state == JOB_COMPLETED:
                self._pages_done = self.info.pages
                return PrintResult(self.job_id, self.info.pages, time.monotonic() - self._started)
            if state == JOB_ABORTED:
                raise JobFailed(detail=",".join(reasons) or "aborted", not_printed=True)
            if state == JOB_CANCELED:
                if self._cancel.is_set():
                    raise JobCancelled(detail="cancelled-at-point")
                # Cancelled by the printer system (a backend gave up), not by anyone here.
                raise JobFailed(detail=",".join(reasons) or "canceled", not_printed=True)
            if state == JOB_HELD and kind != "job-created":
                raise JobHeld(detail=",".join(reasons) or "held")
            if state == JOB_STOPPED:
                # cupsd stopped the job itself (it could not open a file: device's output, start a
                # filter or the backend, or a filter failed). CUPS starts only pending jobs again, so a
                # stopped one would sit until the timeout: end it now, in cupsd's own words.
                raise JobStopped(
                    detail=",".join(reasons) or "job-stopped", message=self._cupsd_says(event), not_printed=True
                )
            if state == JOB_PROCESSING and not self._processing:
                self._processing = True
                if self._stall is not None:
                    # Printing again after a stop: the reasons CUPS still lists are stale until the
                    # backend clears them; only a new stop or a new fault stalls the job again.
                    self._baseline |= {c.keyword for c in errors}
                    self._stall = None
                    self._emit("resumed")
                else:
                    self._emit("processing")
            elif state == JOB_PENDING:
                self._processing = False
        if self._stall is None:
            fresh = [c for c in errors if c.keyword not in self._baseline]
            if errors and (stopped or fresh):
                self._stall, self._stalled_at = (fresh or errors)[0], time.monotonic()
                self._emit("stalled", condition=self._stall)
        elif not errors and not stopped:
            self._stall = None
            self._emit("resumed")
        return None

    def _cupsd_says(self, event: dict[str, Any]) -> str:
        """Why cupsd stopped the job: the notification's text ("Stopping job because the scheduler
        could not open the output file."), and the job's printer-state message where a filter or
        backend left its own error line there (a stopped job is still in cupsd, so it can be asked)."""
        said = [str(event.get("notify-text") or "").strip()]
        with contextlib.suppress(RuntimeError, cups.IPPError):
            attrs = self._conn.getJobAttributes(self.job_id, requested_attributes=["job-printer-state-message"])
            said.append(str(attrs.get("job-printer-state-message") or "").strip())
        words = " ".join(dict.fromkeys(w if w.endswith(".") else f"{w}." for w in said if w))
        return words[:300] or "cupsd gave no reason."

    def _cancel_in_cups(self) -> None:
        with contextlib.suppress(RuntimeError, cups.IPPError):
            self._conn.cancelJob(self.job_id, purge_job=True)

    def _finish(self) -> None:
        """Drop the subscription and purge the job (removes history where a cupsd keeps it)."""
        with contextlib.suppress(RuntimeError, cups.IPPError):
            self._conn.cancelSubscription(self._subscription)
        self._cancel_in_cups()


def threadsafe(loop: asyncio.AbstractEventLoop, listener: Listener) -> Listener:
    """A listener that hands each event to ``listener`` on ``loop`` (from whatever thread it fires)."""

    def relay(event: PrintEvent) -> None:
        loop.call_soon_threadsafe(listener, event)

    return relay


def relay_cancel(cancel: threading.Event, job: PrintJob) -> None:
    """Pass an outside cancel request to the job (ends when either is set)."""
    while not job._cancel.is_set():
        if cancel.wait(0.05):
            job.cancel()
            return
