"""The point's printer, through CUPS: its state in words people understand, and print jobs that are
followed to the end and leave nothing behind.

Why it is built this way:

* **State is two vocabularies.** CUPS speaks in ``printer-state-reasons`` keywords
  (``media-empty-error``, ``paused``…). The customer needs one plain sentence ("The printer is out of
  paper. The library staff have been told."); the host staff need the keyword and the fix. Both come
  from :mod:`drivers.printer_errors`, in fi/sv/en. cupsd not answering and the queue missing are
  states too, not crashes.
* **A job is followed by notifications, not by polling the job.** The point's cupsd keeps no job
  history (``PreserveJobHistory No``), so a finished job vanishes at once and "not found" could mean
  completed *or* cancelled. A pull subscription (``ippget``) on the queue, opened before the job is
  created, records every state change with the job's final state, so the outcome is never guessed.
* **A job that does not complete is never dropped silently.** Completed, failed, held, stopped by
  cupsd, cancelled or timed out — each ends in a :class:`PrintResult` or a
  :class:`~drivers.printer_errors.PrinterError` with texts for the customer and the agent. A job cupsd
  stops itself (it cannot open the output, a filter fails) never resumes, so it ends at once in
  cupsd's own words rather than after the timeout. A job stuck behind a fault (out of paper) is reported
  at once as *stalled*, waits up to the timeout for the staff to fix it, and is then cancelled: a
  document must never come out later, in front of the next customer.
* **Nothing is kept.** The PDF goes to cupsd from memory (Create-Job + Send-Document), never through
  a file of ours; its title is a random token, not the document's name; after every job and at session
  end the queue's jobs are cancelled and purged, which also removes history where a cupsd keeps it.

Thread use: every call opens its own connection, so a :class:`Printer` may be used from any thread;
listeners are called on the thread running :meth:`Printer.print_pdf` (the kiosk runs it in a worker
thread and hops to its event loop with ``call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import cups

from drivers.errors import Language, Messages
from drivers.pdfcheck import PdfInfo, check_pdf
from drivers.printer_errors import (
    DoorOpen,
    EmptyDocument,
    EncryptedPdf,
    InvalidDocument,
    Jammed,
    JobCancelled,
    JobFailed,
    JobHeld,
    JobStopped,
    JobTimeout,
    MalformedPdf,
    NoPages,
    NoPrinter,
    NotAccepting,
    NotAllowed,
    NotAPdf,
    Offline,
    OutOfPaper,
    OutOfToner,
    Paused,
    PrinterError,
    PrintServiceDown,
    TooLarge,
    TooManyPages,
)
from provisioning.schema import PrinterConfig

__all__ = [
    "Condition",
    "DoorOpen",
    "EmptyDocument",
    "EncryptedPdf",
    "InvalidDocument",
    "Jammed",
    "JobCancelled",
    "JobFailed",
    "JobHeld",
    "JobStopped",
    "JobTimeout",
    "MalformedPdf",
    "NoPages",
    "NoPrinter",
    "NotAPdf",
    "NotAccepting",
    "NotAllowed",
    "Offline",
    "OutOfPaper",
    "OutOfToner",
    "Paused",
    "PdfInfo",
    "PrintEvent",
    "PrintJob",
    "PrintResult",
    "PrintServiceDown",
    "Printer",
    "PrinterError",
    "PrinterStatus",
    "TooLarge",
    "TooManyPages",
    "print_test_page",
    "threadsafe",
]

log = logging.getLogger(__name__)

# IPP enums (RFC 8011), named here because pycups exposes them under long names.
_JOB_PENDING, _JOB_HELD, _JOB_PROCESSING, _JOB_STOPPED = 3, 4, 5, 6
_JOB_CANCELED, _JOB_ABORTED, _JOB_COMPLETED = 7, 8, 9
_PRINTER_IDLE, _PRINTER_PROCESSING, _PRINTER_STOPPED = 3, 4, 5
_IPP_NOT_FOUND = 0x0406
_IPP_NOT_ACCEPTING = 0x0506
_IPP_REFUSED = {0x0401, 0x0402, 0x0403}  # forbidden, not-authenticated, not-authorized

_EVENTS = ["job-state-changed", "job-progress", "job-completed", "printer-state-changed"]
_PRINTER_ATTRS = [
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
]

Severity = Literal["error", "warning"]
State = Literal["idle", "processing", "stopped", "unreachable", "missing", "not-configured"]


# -- state: CUPS reasons → conditions in two vocabularies ------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One thing the printer reports, with what the customer and the staff are told about it."""

    code: str
    """Our stable keyword: ``media-empty``, ``media-jam``, ``door-open``, ``toner-low``, ``offline``,
    ``paused``, ``not-accepting-jobs``, ``cupsd-unreachable``, ``no-queue``, or a CUPS keyword."""
    severity: Severity
    """``error`` stops printing; ``warning`` is for the staff only (e.g. toner low)."""
    error: type[PrinterError] | None = None
    staff_texts: Messages | None = None
    """For warnings, which have no error class."""
    params: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
    """A device fault still listed by CUPS on an idle queue: reasons stick until the next job's
    backend clears them, so after the staff fixed the printer it may only be *last reported*. It
    does not stop printing (the next job re-checks it) and the customer is not told."""

    def as_error(self, **extra: Any) -> PrinterError:
        cls = self.error or PrinterError
        return cls(**{**self.params, **extra})

    def customer_message(self, language: Language) -> str | None:
        """``None`` for warnings: printing still works, the customer need not worry."""
        if self.severity != "error":
            return None
        return self.as_error().customer_message(language)

    def staff_message(self, language: Language) -> str:
        if self.staff_texts is not None:
            return self.staff_texts[language].format_map({"detail": self.code, **self.params})
        text = self.as_error().staff_message(language)
        return f"{text} {_STALE[language]}" if self.stale else text


_TONER_LOW: Messages = {
    "fi": "Väriaine vähissä (toner-low): pidä uusi värikasetti valmiina.",
    "sv": "Tonern håller på att ta slut (toner-low): ha en ny tonerkassett till hands.",
    "en": "Toner low (toner-low): have a new toner cartridge ready.",
}
_MEDIA_LOW: Messages = {
    "fi": "Paperi vähissä (media-low): lisää paperia pian.",
    "sv": "Lite papper kvar (media-low): fyll på papper snart.",
    "en": "Paper low (media-low): add paper soon.",
}
_STALE: Messages = {
    "fi": "(viimeksi ilmoitettu; tarkistetaan uudelleen seuraavassa tulostuksessa)",
    "sv": "(senast rapporterat; kontrolleras igen vid nästa utskrift)",
    "en": "(last reported; checked again at the next print)",
}
_OTHER_WARNING: Messages = {
    "fi": "Tulostimen varoitus ({detail}).",
    "sv": "Varning från skrivaren ({detail}).",
    "en": "Printer warning ({detail}).",
}

#: CUPS/IPP reason keyword (without its -error/-warning/-report suffix) → our code and error class.
_REASONS: dict[str, tuple[str, type[PrinterError] | None, Messages | None]] = {
    "media-empty": ("media-empty", OutOfPaper, None),
    "media-needed": ("media-empty", OutOfPaper, None),
    "media-jam": ("media-jam", Jammed, None),
    "door-open": ("door-open", DoorOpen, None),
    "cover-open": ("door-open", DoorOpen, None),
    "interlock-open": ("door-open", DoorOpen, None),
    "toner-empty": ("toner-empty", OutOfToner, None),
    "marker-supply-empty": ("toner-empty", OutOfToner, None),
    "offline": ("offline", Offline, None),
    "connecting-to-device": ("offline", Offline, None),
    "timed-out": ("offline", Offline, None),
    "shutdown": ("offline", Offline, None),
    "paused": ("paused", Paused, None),
    "toner-low": ("toner-low", None, _TONER_LOW),
    "marker-supply-low": ("toner-low", None, _TONER_LOW),
    "media-low": ("media-low", None, _MEDIA_LOW),
}
#: Reasons that are always only warnings, whatever their suffix.
_ALWAYS_WARNING = {"toner-low", "media-low"}
#: Which error the customer hears about first when several are reported (the most specific first).
_PRIORITY = [
    "media-jam",
    "door-open",
    "media-empty",
    "toner-empty",
    "offline",
    "cupsd-unreachable",
    "no-queue",
    "not-accepting-jobs",
    "paused",
]


def conditions_from_reasons(reasons: Iterable[str]) -> list[Condition]:
    """Map ``printer-state-reasons`` to conditions; informational reasons are dropped."""
    found: dict[str, Condition] = {}
    for raw in reasons:
        if raw == "offline-report":
            # What CUPS backends say while the printer does not answer and they keep retrying: the
            # job makes no progress, so it is an error for everyone waiting on it.
            raw = "offline-error"
        if not raw or raw == "none" or raw.startswith(("cups-", "com.apple.")) or raw.endswith("-report"):
            continue
        base, severity = raw, "error"
        for suffix, sev in (("-error", "error"), ("-warning", "warning")):
            if raw.endswith(suffix):
                base, severity = raw[: -len(suffix)], sev
        code, error, staff_texts = _REASONS.get(base, (base, PrinterError, None))
        if code in _ALWAYS_WARNING:
            severity = "warning"
        if severity == "warning" and staff_texts is None:
            staff_texts = _OTHER_WARNING
        cond = Condition(
            code=code,
            severity="error" if severity == "error" else "warning",
            error=error if severity == "error" else None,
            staff_texts=staff_texts if severity == "warning" else None,
            params={"detail": base},
        )
        if code not in found or found[code].severity == "warning":
            found[code] = cond
    return sorted(found.values(), key=_rank)


def _rank(cond: Condition) -> tuple[int, int]:
    order = _PRIORITY.index(cond.code) if cond.code in _PRIORITY else len(_PRIORITY) - 2
    return (0 if cond.severity == "error" else 1, order)


@dataclass(frozen=True)
class PrinterStatus:
    """The configured queue as the customer, the staff and ops see it at one moment."""

    queue: str | None
    state: State
    accepting: bool
    reasons: tuple[str, ...]
    """The raw CUPS keywords, for ops."""
    conditions: tuple[Condition, ...]
    message: str = ""
    """``printer-state-message`` from the driver/backend (staff only; never shown to customers)."""
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def ready(self) -> bool:
        """A job sent now would print (warnings such as toner-low do not stop printing)."""
        return not any(c.severity == "error" for c in self.conditions)

    @property
    def errors(self) -> list[Condition]:
        return [c for c in self.conditions if c.severity == "error"]

    def error(self) -> PrinterError | None:
        """The most important error as an exception to raise, or ``None`` when ready."""
        errors = self.errors
        return errors[0].as_error() if errors else None

    def customer_message(self, language: Language) -> str | None:
        """One sentence for the customer, or ``None`` when printing works."""
        errors = self.errors
        return errors[0].customer_message(language) if errors else None

    def staff_messages(self, language: Language) -> list[str]:
        return [c.staff_message(language) for c in self.conditions]

    def to_json(self) -> dict[str, Any]:
        langs: tuple[Language, ...] = ("fi", "sv", "en")
        return {
            "queue": self.queue,
            "state": self.state,
            "ready": self.ready,
            "accepting_jobs": self.accepting,
            "reasons": list(self.reasons),
            "message": self.message,
            "conditions": [
                {
                    "code": c.code,
                    "severity": c.severity,
                    "customer": {lang: c.customer_message(lang) for lang in langs},
                    "staff": {lang: c.staff_message(lang) for lang in langs},
                }
                for c in self.conditions
            ],
            "customer": {lang: self.customer_message(lang) for lang in langs},
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
        }


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


# -- jobs ------------------------------------------------------------------------------------------

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
            c for c in conditions_from_reasons(_listify(event.get("printer-state-reasons"))) if c.severity == "error"
        ]
        stopped = event.get("printer-state") == _PRINTER_STOPPED
        if event.get("notify-job-id") == self.job_id:
            state = int(event.get("job-state", 0))
            reasons = _listify(event.get("job-state-reasons"))
            done = min(int(event.get("job-impressions-completed", 0) or 0), self.info.pages)
            if done > self._pages_done:
                self._pages_done = done
                self._emit("progress")
            if state == _JOB_COMPLETED:
                self._pages_done = self.info.pages
                return PrintResult(self.job_id, self.info.pages, time.monotonic() - self._started)
            if state == _JOB_ABORTED:
                raise JobFailed(detail=",".join(reasons) or "aborted", not_printed=True)
            if state == _JOB_CANCELED:
                if self._cancel.is_set():
                    raise JobCancelled(detail="cancelled-at-point")
                # Cancelled by the printer system (a backend gave up), not by anyone here.
                raise JobFailed(detail=",".join(reasons) or "canceled", not_printed=True)
            if state == _JOB_HELD and kind != "job-created":
                raise JobHeld(detail=",".join(reasons) or "held")
            if state == _JOB_STOPPED:
                # cupsd stopped the job itself (it could not open a file: device's output, start a
                # filter or the backend, or a filter failed). CUPS starts only pending jobs again, so a
                # stopped one would sit until the timeout: end it now, in cupsd's own words.
                raise JobStopped(
                    detail=",".join(reasons) or "job-stopped", message=self._cupsd_says(event), not_printed=True
                )
            if state == _JOB_PROCESSING and not self._processing:
                self._processing = True
                if self._stall is not None:
                    # Printing again after a stop: the reasons CUPS still lists are stale until the
                    # backend clears them; only a new stop or a new fault stalls the job again.
                    self._baseline |= {c.code for c in errors}
                    self._stall = None
                    self._emit("resumed")
                else:
                    self._emit("processing")
            elif state == _JOB_PENDING:
                self._processing = False
        if self._stall is None:
            fresh = [c for c in errors if c.code not in self._baseline]
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
            if exc.args and exc.args[0] == _IPP_NOT_FOUND:
                cond = Condition("no-queue", "error", NoPrinter, params={"queue": self.queue})
                return PrinterStatus(self.queue, "missing", False, (), (cond,))
            cond = Condition("cupsd-unreachable", "error", PrintServiceDown)
            return PrinterStatus(self.queue, "unreachable", False, (), (cond,))
        except RuntimeError:
            cond = Condition("cupsd-unreachable", "error", PrintServiceDown)
            return PrinterStatus(self.queue, "unreachable", False, (), (cond,))
        reasons = tuple(r for r in _listify(attrs.get("printer-state-reasons")) if r != "none")
        conditions = conditions_from_reasons(reasons)
        state_num = int(attrs.get("printer-state", _PRINTER_IDLE))
        state: State = {_PRINTER_PROCESSING: "processing", _PRINTER_STOPPED: "stopped"}.get(state_num, "idle")  # type: ignore[assignment]
        if state == "idle":
            conditions = [
                Condition(c.code, "warning", c.error, None, c.params, stale=True) if c.severity == "error" else c
                for c in conditions
            ]
        if state == "stopped" and not any(c.code == "paused" for c in conditions):
            conditions.append(Condition("paused", "error", Paused, params={"detail": "paused"}))
        accepting = bool(attrs.get("printer-is-accepting-jobs", True))
        if not accepting:
            conditions.append(Condition("not-accepting-jobs", "error", NotAccepting))
        conditions.sort(key=_rank)
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
        baseline = {c.code for c in status.conditions if c.stale}
        job = PrintJob(self, conn, subscription, job_id, info, listeners, started, baseline)
        job._emit("accepted")
        return job

    def _ipp_error(self, exc: cups.IPPError) -> PrinterError:
        code = exc.args[0] if exc.args else 0
        if code == _IPP_NOT_FOUND:
            return NoPrinter(queue=self.queue)
        if code == _IPP_NOT_ACCEPTING:
            return NotAccepting()
        if code in _IPP_REFUSED:
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
            watcher = threading.Thread(target=_relay_cancel, args=(cancel, job), daemon=True)
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
            if exc.args and exc.args[0] == _IPP_NOT_FOUND:
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


def threadsafe(loop: asyncio.AbstractEventLoop, listener: Listener) -> Listener:
    """A listener that hands each event to ``listener`` on ``loop`` (from whatever thread it fires)."""

    def relay(event: PrintEvent) -> None:
        loop.call_soon_threadsafe(listener, event)

    return relay


def _server_address(server: str) -> tuple[str, int | None]:
    """``/run/cups.sock`` → (path, None); ``host:631`` → (host, 631). libcups reads CUPS_SERVER only
    once per process, so the driver reads it itself each time (tests and ops tools switch it)."""
    if server.startswith("/") or ":" not in server or server.startswith("["):
        return server, None
    host, _, port = server.rpartition(":")
    return (host, int(port)) if port.isdigit() else (server, None)


def _relay_cancel(cancel: threading.Event, job: PrintJob) -> None:
    """Pass an outside cancel request to the job (ends when either is set)."""
    while not job._cancel.is_set():
        if cancel.wait(0.05):
            job.cancel()
            return


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
