"""The CUPS client: the configured queue's state, submitting a job, and leaving nothing behind.

The PDF goes to cupsd from memory (Create-Job + Send-Document), never through a file of ours; its
title is a random token, not the document's name; after every job and at session end the queue's
jobs are cancelled and purged, which also removes history where a cupsd keeps it. A printer that is
not ready refuses the job up front, so a document is not left waiting in a queue that cannot print.

Thread use: every call opens its own connection, so a :class:`Printer` may be used from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import threading
import time

import cups

from drivers.pdfcheck import PdfInfo, check_pdf
from drivers.printer.conditions import Condition, PrinterStatus, State, conditions_from_reasons, listify, rank
from drivers.printer.ipp import (
    IPP_NOT_ACCEPTING,
    IPP_NOT_FOUND,
    IPP_REFUSED,
    PRINTER_IDLE,
    PRINTER_PROCESSING,
    PRINTER_STOPPED,
)
from drivers.printer.job import Listener, PrintJob, PrintResult, relay_cancel, threadsafe
from drivers.printer_errors import (
    JobFailed,
    NoPrinter,
    NotAccepting,
    NotAllowed,
    Paused,
    PrinterError,
    PrintServiceDown,
)
from etapiste.config.point import PrinterConfig

_EVENTS = ["job-state-changed", "job-progress", "job-completed", "printer-state-changed"]
_PRINTER_ATTRS = [
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
]


class Printer:
    """The configured CUPS queue. ``server`` is a cupsd address or socket path (default: CUPS_SERVER)."""

    def __init__(self, config: PrinterConfig, *, server: str | None = None) -> None:
        self.config = config
        self.server = server

    @property
    def queue(self) -> str | None:
        return self.config.queue

    def connect(self) -> cups.Connection:
        """A new connection (pycups connections are not shared between threads)."""
        host, port = _server_address(self.server or os.environ.get("CUPS_SERVER") or "")
        try:
            if not host:
                return cups.Connection()
            return cups.Connection(host=host, port=port) if port else cups.Connection(host=host)
        except RuntimeError:
            raise PrintServiceDown() from None

    # -- state -----------------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        """The queue's state now. Never raises for printer conditions: they are the answer."""
        if self.queue is None:
            cond = Condition("no-queue", "error", NoPrinter, params={"queue": "-"})
            return PrinterStatus(None, "not-configured", False, (), (cond,))
        try:
            attrs = self.connect().getPrinterAttributes(self.queue, requested_attributes=_PRINTER_ATTRS)
        except PrintServiceDown:
            cond = Condition("cupsd-unreachable", "error", PrintServiceDown)
            return PrinterStatus(self.queue, "unreachable", False, (), (cond,))
        except cups.IPPError as exc:
            if exc.args and exc.args[0] == IPP_NOT_FOUND:
                cond = Condition("no-queue", "error", NoPrinter, params={"queue": self.queue})
                return PrinterStatus(self.queue, "missing", False, (), (cond,))
            cond = Condition("cupsd-unreachable", "error", PrintServiceDown)
            return PrinterStatus(self.queue, "unreachable", False, (), (cond,))
        except RuntimeError:
            cond = Condition("cupsd-unreachable", "error", PrintServiceDown)
            return PrinterStatus(self.queue, "unreachable", False, (), (cond,))
        reasons = tuple(r for r in listify(attrs.get("printer-state-reasons")) if r != "none")
        conditions = conditions_from_reasons(reasons)
        state_num = int(attrs.get("printer-state", PRINTER_IDLE))
        state: State = {PRINTER_PROCESSING: "processing", PRINTER_STOPPED: "stopped"}.get(state_num, "idle")  # type: ignore[assignment]
        if state == "idle":
            conditions = [
                Condition(c.keyword, "warning", c.error, None, c.params, stale=True) if c.severity == "error" else c
                for c in conditions
            ]
        if state == "stopped" and not any(c.keyword == "paused" for c in conditions):
            conditions.append(Condition("paused", "error", Paused, params={"detail": "paused"}))
        accepting = bool(attrs.get("printer-is-accepting-jobs", True))
        if not accepting:
            conditions.append(Condition("not-accepting-jobs", "error", NotAccepting))
        conditions.sort(key=rank)
        return PrinterStatus(
            self.queue,
            state,
            accepting,
            reasons,
            tuple(conditions),
            str(attrs.get("printer-state-message", "") or ""),
        )

    # -- printing --------------------------------------------------------------------------------

    def check(self, data: bytes) -> PdfInfo:
        """The document gate (:func:`drivers.pdfcheck.check_pdf`) with this point's limits."""
        return check_pdf(data, max_pages=self.config.max_pages, max_bytes=self.config.max_bytes)

    def submit(self, data: bytes, *, listener: Listener | None = None) -> PrintJob:
        """Check ``data``, check the printer can print now, and hand the job to CUPS.

        Raises :class:`InvalidDocument` (nothing queued), the printer's current fault (e.g.
        :class:`OutOfPaper`, :class:`Paused`, :class:`NotAccepting` — a document is not left waiting
        in a queue that cannot print it), :class:`PrintServiceDown` or :class:`NoPrinter`.
        """
        started = time.monotonic()
        info = self.check(data)
        status = self.status()
        fault = status.error()
        if fault is not None:
            raise fault
        assert self.queue is not None  # status() reported "not-configured" otherwise
        conn = self.connect()
        listeners = [listener] if listener else []
        try:
            subscription = conn.createSubscription(
                f"ipp://localhost/printers/{self.queue}",
                events=_EVENTS,
                lease_duration=int(self.config.job_timeout_s) + 300,
            )
        except cups.IPPError as exc:
            raise self._ipp_error(exc) from None
        except RuntimeError:
            raise PrintServiceDown() from None
        job_id = 0
        try:
            # A random title: nothing in CUPS (job list, logs, the printer's PJL header) names the
            # document or the customer.
            job_id = conn.createJob(self.queue, f"etapiste {secrets.token_hex(4)}", {})
            conn.startDocument(self.queue, job_id, "document", "application/pdf", 1)
            conn.writeRequestData(data, len(data))
            if conn.finishDocument(self.queue) != 0:
                raise JobFailed(detail="send-document-failed", not_printed=True)
        except (cups.IPPError, RuntimeError, PrinterError) as exc:
            with contextlib.suppress(RuntimeError, cups.IPPError):
                if job_id:
                    conn.cancelJob(job_id, purge_job=True)
                conn.cancelSubscription(subscription)
            if isinstance(exc, PrinterError):
                raise
            if isinstance(exc, RuntimeError):
                raise PrintServiceDown(not_printed=True) from None
            raise self._ipp_error(exc) from None
        baseline = {c.keyword for c in status.conditions if c.stale}
        job = PrintJob(self, conn, subscription, job_id, info, listeners, started, baseline)
        job._emit("accepted")
        return job

    def _ipp_error(self, exc: cups.IPPError) -> PrinterError:
        code = exc.args[0] if exc.args else 0
        if code == IPP_NOT_FOUND:
            return NoPrinter(queue=self.queue)
        if code == IPP_NOT_ACCEPTING:
            return NotAccepting()
        if code in IPP_REFUSED:
            return NotAllowed(detail=str(exc.args[1]) if len(exc.args) > 1 else "not-authorized")
        detail = str(exc.args[1]) if len(exc.args) > 1 else "ipp-error"
        return JobFailed(detail=detail[:80], not_printed=True)

    def print_pdf(
        self,
        data: bytes,
        *,
        listener: Listener | None = None,
        timeout_s: float | None = None,
        stall_grace_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> PrintResult:
        """Print ``data`` and follow the job to its end (blocking; run it in a worker thread).

        ``timeout_s`` and ``stall_grace_s`` as for :meth:`PrintJob.wait`. ``cancel`` lets another
        thread stop the job (the customer pressed *Cancel*, the session ended). Returns only when
        every page went to the printer; otherwise raises a :class:`PrinterError` whose texts say
        what happened.
        """
        job = self.submit(data, listener=listener)
        if cancel is not None:
            watcher = threading.Thread(target=relay_cancel, args=(cancel, job), daemon=True)
            watcher.start()
        try:
            return job.wait(timeout_s, stall_grace_s)
        finally:
            if cancel is not None:
                job._cancel.set()  # also ends the watcher

    async def print_pdf_async(
        self,
        data: bytes,
        *,
        listener: Listener | None = None,
        timeout_s: float | None = None,
        stall_grace_s: float | None = None,
    ) -> PrintResult:
        """:meth:`print_pdf` for the kiosk's event loop: the job runs on a worker thread, ``listener``
        is called on the loop, and cancelling the awaiting task cancels the job (and waits until it is
        gone from CUPS, so a cancelled document cannot come out later)."""
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        relay = threadsafe(loop, listener) if listener else None
        work = functools.partial(
            self.print_pdf, data, listener=relay, timeout_s=timeout_s, stall_grace_s=stall_grace_s, cancel=cancel
        )
        future = loop.run_in_executor(None, work)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            with contextlib.suppress(PrinterError):
                await future
            raise

    async def status_async(self) -> PrinterStatus:
        return await asyncio.to_thread(self.status)

    async def purge_async(self) -> None:
        await asyncio.to_thread(self.purge)

    # -- staff and session end -------------------------------------------------------------------

    def resume(self) -> PrinterStatus:
        """Staff: after fixing the fault, let the queue print and accept jobs again."""
        if self.queue is None:
            raise NoPrinter(queue="-")
        conn = self.connect()
        try:
            conn.enablePrinter(self.queue)
            conn.acceptJobs(self.queue)
        except cups.IPPError as exc:
            raise self._ipp_error(exc) from None
        return self.status()

    def purge(self) -> None:
        """Cancel every job on the queue and purge them with their files and history.

        Called after each job and at session end; safe to call when there is nothing to purge.
        """
        if self.queue is None:
            return
        conn = self.connect()
        try:
            conn.cancelAllJobs(name=self.queue, my_jobs=False, purge_jobs=True)
        except cups.IPPError as exc:
            if exc.args and exc.args[0] == IPP_NOT_FOUND:
                return
            raise self._ipp_error(exc) from None

    def leftovers(self) -> list[int]:
        """Ids of every job cupsd still knows on this queue — pending, active or completed history.

        The session's wipe check: must be empty after :meth:`purge`.
        """
        if self.queue is None:
            return []
        conn = self.connect()
        try:
            # "job-id" must be asked for: pycups keys the reply by it and silently drops every job
            # that lacks it, which made this list always empty.
            jobs = conn.getJobs(which_jobs="all", my_jobs=False, requested_attributes=["job-id", "job-printer-uri"])
        except (cups.IPPError, RuntimeError):
            raise PrintServiceDown() from None
        suffix = f"/printers/{self.queue}"
        return sorted(j for j, a in jobs.items() if str(a.get("job-printer-uri", "")).endswith(suffix))


def _server_address(server: str) -> tuple[str, int | None]:
    """``/run/cups.sock`` → (path, None); ``host:631`` → (host, 631). libcups reads CUPS_SERVER only
    once per process, so the driver reads it itself each time (tests and ops tools switch it)."""
    if server.startswith("/") or ":" not in server or server.startswith("["):
        return server, None
    host, _, port = server.rpartition(":")
    return (host, int(port)) if port.isdigit() else (server, None)


def print_test_page(
    printer: Printer, *, listener: Listener | None = None, timeout_s: float | None = None
) -> PrintResult:
    """Staff: print the test page (host name, date, device status) and follow it to the end."""
    from drivers.testpage import make_test_page

    status = printer.status()
    lines = [f"{status.state}, {'ready' if status.ready else 'NOT READY'}"]
    lines += status.staff_messages("en")
    if status.message:
        lines.append(f"message: {status.message[:80]}")
    data = make_test_page(queue=printer.queue, status_lines=lines)
    return printer.print_pdf(data, listener=listener, timeout_s=timeout_s)
