"""The journey controller: connects the session (the model) with the call engine and the devices.

Plain asyncio, no Qt. The session decides what is possible; this module carries out what needs I/O:

- it **watches the session's transitions** and tells the call engine (notice → queue asks for a place,
  queue → back cancels it, the customer's End hangs up, any wipe ends what is running);
- it **turns engine events into session events** (queue position, answered, real-time text, the agent's
  identify / scan / print requests, interpreter, call ended);
- it **runs the devices' work** on their own threads: the card's proof with the PIN the customer typed,
  the scanner's pages and PDF, the printer's job and its progress, reporting each step to the agent;
- at **every wipe** it clears what lives outside the session: the scan in memory, the print queue, the
  identification request; the card itself is unpowered by the driver after every use.

Devices are optional (a point without a scanner still serves customers); a missing one is reported as
unavailable and its sub-flow fails with a message instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.errors import DeviceError
from kiosk.session import Session, SessionRecord, Snapshot, State
from provisioning.schema import Text

log = logging.getLogger(__name__)


class Engine(Protocol):
    """The part of :class:`kiosk.call.CallEngine` the journey uses."""

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]: ...
    def request_call(self, producer_id: str, language: str = "fi", queue: str | None = None) -> None: ...
    def cancel_queue(self) -> None: ...
    def hang_up(self) -> Any: ...
    def send_rtt(self, text: str, final: bool = False) -> bool: ...
    def send_document(self, pdf: bytes, kind: Any = "scan", name: str = "", request: str | None = None) -> Any: ...
    def send_proof(self, request: str, token: Any) -> None: ...
    def abort_identity(self, request: str, reason: str) -> None: ...
    def report_identity_status(self, request: str, state: str, reason: str | None = None) -> bool: ...
    def report_scan_status(self, request: str, state: str, pages: int | None = None,
                           reason: str | None = None) -> bool: ...
    def report_print_progress(self, transfer: str, state: str, pages: int | None = None,
                              pages_done: int | None = None, reason: str | None = None) -> bool: ...


def error_code(exc: BaseException) -> str:
    """A device error's code for the agent and the statistics: ``OutOfPaper`` → ``out_of_paper``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def customer_text(exc: BaseException) -> Text | None:
    """The driver's own customer message in the three languages (no personal data by contract)."""
    if isinstance(exc, DeviceError):
        return Text(fi=exc.customer_message("fi"), sv=exc.customer_message("sv"), en=exc.customer_message("en"))
    return None


@dataclass
class _Identify:
    request: str
    nonce: str
    origin: str


class Journey:
    """One per kiosk; lives as long as the app."""

    def __init__(
        self,
        session: Session,
        engine: Engine | None,
        *,
        card_reader: Any | None = None,
        scanner: Any | None = None,
        printer: Any | None = None,
        records: Callable[[SessionRecord], None] | None = None,
    ) -> None:
        self.session = session
        self.engine = engine
        self.card_reader = card_reader
        self.scanner = scanner
        self.printer = printer
        self._previous: Snapshot = session.snapshot
        self._engine_ended = False
        self._identify: _Identify | None = None
        self._scan_request: str | None = None
        self._scan_job: Any | None = None
        self._scan_result: Any | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        session.subscribe(self._on_snapshot)
        session.on_wipe(self._on_wipe)
        if records is not None:
            session.on_record(records)
        if engine is not None:
            engine.subscribe(self.on_engine_event)

    # -- helpers ---------------------------------------------------------------------------------------

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the journey keeps (and :meth:`idle` waits for)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("journey task failed: %s", type(task.exception()).__name__)

    async def idle(self) -> None:
        """Wait until every device task started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- session → engine ----------------------------------------------------------------------------

    def _on_snapshot(self, snap: Snapshot) -> None:
        before, self._previous = self._previous.state, snap
        after = snap.state
        if before is after:
            return
        if self.engine is None:
            if before is State.NOTICE and after is State.QUEUE:
                # No switchboard link at all (no credential): say so at once instead of a silent wait.
                self.session.queue_left("unavailable")
            return
        if before is State.NOTICE and after is State.QUEUE and snap.selected is not None:
            self._engine_ended = False
            self.engine.request_call(snap.selected.id, snap.language)
        elif before is State.QUEUE and after is not State.CALL and not self._engine_ended:
            self.engine.cancel_queue()
        elif before is State.CALL and not self._engine_ended:
            self.engine.hang_up()

    def _on_wipe(self) -> None:
        """The customer's session ended: nothing of theirs may stay in the devices or here."""
        self._identify = None
        self._scan_request = None
        self._drop_scan()
        if self.scanner is not None:
            self.scanner.end_session()
        if self.printer is not None:
            try:
                self.printer.purge()
            except DeviceError as exc:
                log.warning("printer purge at session end failed: %s", error_code(exc))

    # -- engine → session ----------------------------------------------------------------------------

    def on_engine_event(self, event: Any) -> None:
        from kiosk import call as c

        s = self.session
        match event:
            case c.QueuePosition(position=position, estimate_s=estimate):
                s.queue_update(position, estimate)
            case c.SwitchboardStatus(connected=connected):
                s.queue_connection(connected)
            case c.QueueLeft(reason=reason) if reason != "cancelled":
                self._engine_ended = True
                s.queue_left(reason)
            case c.QueueRefused(code=code):
                self._engine_ended = True
                s.queue_left("closed" if code == "queue_closed" else "unavailable")
            case c.CallAnswered():
                s.call_answered()
            case c.RttReceived(text=text, final=final):
                if s.state is State.CALL:
                    s.remote_text(text, final)
            case c.IdentifyRequested(request=request, nonce=nonce, origin=origin):
                self.spawn(self._identify_requested(_Identify(request, nonce, origin)))
            case c.ScanRequested(request=request):
                if s.state is State.CALL:
                    self._scan_request = request
                    if self.scanner is not None:
                        # The worker loads while the paper is being placed (only a head start if it fails).
                        _attempt("scanner prepare", self.scanner.prepare)
                    s.scan_requested()
                    self.engine.report_scan_status(request, "waiting_customer")  # type: ignore[union-attr]
            case c.PrintRequested(transfer=transfer, pdf=pdf):
                self.spawn(self._print(transfer, pdf))
            case c.CallTrouble(kind="reconnecting"):
                s.connection_trouble("reconnecting")
            case c.CallTrouble(kind="recovered") | c.CallConnected(recovered=True):
                s.connection_trouble(None)
            case c.InterpreterJoined():
                if s.state is State.CALL:
                    s.interpreter_changed(True)
            case c.InterpreterLeft():
                if s.state is State.CALL:
                    s.interpreter_changed(False)
            case c.CallEnded(reason=reason, by=by):
                self._engine_ended = True
                mapped = "hangup" if reason == "hangup" else ("network" if reason == "network_lost" else "other")
                if by == "point":
                    return
                s.call_ended(mapped)
            case _:
                pass

    # -- identification --------------------------------------------------------------------------------

    async def _identify_requested(self, req: _Identify) -> None:
        s = self.session
        if s.state is not State.CALL:
            return
        self._identify = req
        reader = self.card_reader
        present = reader is not None and bool(_attempt("card reader status", lambda: any(reader.status().values())))
        s.identify_requested(card_present=present)
        self._report_identity("enter_pin" if present else "insert_card")
        if present:
            await self.card_inserted()

    def _report_identity(self, state: str, reason: str | None = None) -> None:
        if self._identify is not None and self.engine is not None:
            self.engine.report_identity_status(self._identify.request, state, reason)

    async def card_inserted(self) -> None:
        """The card monitor saw a card: read PIN1's tries left before the PIN pad is shown."""
        from drivers.carderrors import CardError, PinBlocked

        s = self.session
        call = s.snapshot.call
        if self._identify is None or call is None or call.identify is None or self.card_reader is None:
            return
        try:
            tries = await self.card_reader.pin1_tries_left_async()
        except PinBlocked:
            self._identify_failed("pin_blocked")
            return
        except CardError as exc:
            self._identify_failed("not_fineid" if error_code(exc) == "not_a_finnish_id_card" else "card_error")
            return
        if s.state is State.CALL:
            s.card_inserted(tries)
            self._report_identity("enter_pin")

    def card_removed(self) -> None:
        if self.session.state is State.CALL:
            self.session.card_removed()

    def _identify_failed(self, key: str, tries_left: int | None = None) -> None:
        s = self.session
        if s.state is not State.CALL:
            return
        s.identify_failed(key, tries_left)
        ident = s.snapshot.call.identify if s.snapshot.call else None
        if ident is not None and ident.step == "failed" and self._identify is not None and self.engine is not None:
            self.engine.abort_identity(self._identify.request, key)
            self._identify = None

    async def _prove(self, pin: bytearray) -> None:
        from drivers.carderrors import CardError, CardRemoved, PinBlocked, WrongPin

        req = self._identify
        s = self.session
        try:
            if req is None or self.card_reader is None or self.engine is None:
                return
            s.pin_submitted()
            self._report_identity("signing")
            try:
                token = await self.card_reader.prove_async(req.origin, req.nonce, pin)
            except WrongPin as exc:
                self._identify_failed("wrong_pin", exc.tries_left)
                return
            except PinBlocked:
                self._identify_failed("pin_blocked", 0)
                return
            except CardRemoved:
                if s.state is State.CALL:
                    s.card_removed()
                    self._report_identity("insert_card", "card_removed")
                return
            except CardError:
                self._identify_failed("card_error")
                return
            self.engine.send_proof(req.request, token.to_dict())
            self._identify = None
            if s.state is State.CALL:
                s.identify_done()
        finally:
            for i in range(len(pin)):
                pin[i] = 0

    # -- JourneyActions (what the screens ask) --------------------------------------------------------------

    def submit_pin(self, pin: bytearray) -> None:
        self.spawn(self._prove(pin))

    def send_text(self, text: str, final: bool) -> None:
        if self.engine is not None:
            self.engine.send_rtt(text, final)

    def start_scan(self) -> None:
        s = self.session
        if self.scanner is None:
            s.scan_failed("scanner_unavailable")
            self._report_scan("failed", reason="scanner_unavailable")
            return
        loop = asyncio.get_running_loop()
        s.scan_started()
        self._report_scan("scanning")

        def on_event(event: Any) -> None:
            loop.call_soon_threadsafe(self._scan_event, event)

        try:
            self._scan_job = self.scanner.scan(on_event)
        except DeviceError as exc:
            s.scan_failed(error_code(exc), customer_text(exc))
            self._report_scan("failed", reason=error_code(exc))

    def _scan_event(self, event: Any) -> None:
        from drivers import scanner as sc

        s = self.session
        if s.state is not State.CALL or s.snapshot.call is None or s.snapshot.call.scan is None:
            if isinstance(event, sc.ScanFinished):
                event.result.discard()  # the customer left meanwhile: drop the pages at once
            return
        if isinstance(event, sc.PagePreview):
            s.scan_progress(event.page, 0.5, _jpeg(event.image))
        elif isinstance(event, sc.PageProgress):
            s.scan_progress(event.page, event.fraction)
        elif isinstance(event, sc.ScanFinished):
            self._scan_result = event.result
            pages = event.result.pages
            preview = _jpeg(pages[0].preview) if pages else None
            s.scan_ready(len(pages), preview, blank=len(event.result.blank_pages()))
            self._report_scan("preview", pages=len(pages))
        elif isinstance(event, sc.ScanFailed):
            s.scan_failed(error_code(event.error), customer_text(event.error))
            self._report_scan("failed", reason=error_code(event.error))

    def _report_scan(self, state: str, pages: int | None = None, reason: str | None = None) -> None:
        if self._scan_request is not None and self.engine is not None:
            self.engine.report_scan_status(self._scan_request, state, pages, reason)

    def send_scan(self) -> None:
        self.spawn(self._send_scan())

    async def _send_scan(self) -> None:
        from kiosk.transfer import TransferFailed

        s = self.session
        result, request = self._scan_result, self._scan_request
        if result is None or self.engine is None:
            return
        s.scan_sending()
        # The PDF leaves the pages' memory at once (deliver wipes them); blank pages are left out, as
        # the preview told the customer before they pressed Send.
        pdf = result.deliver(skip=result.blank_pages())
        self._scan_result = None
        try:
            await self.engine.send_document(pdf, "scan", "skannaus.pdf", request)
        except TransferFailed as exc:
            if s.state is State.CALL:
                s.scan_failed(f"transfer_{exc.reason}")
            return
        finally:
            del pdf
        if s.state is State.CALL:
            s.scan_sent()

    def _drop_scan(self) -> None:
        """Stop a running scan and wipe its pages (declined, or the session ended)."""
        if self._scan_job is not None:
            _attempt("scan cancel", self._scan_job.cancel)
        self._scan_job = None
        if self._scan_result is not None:
            self._scan_result.discard()
        self._scan_result = None

    def decline_scan(self) -> None:
        self._drop_scan()
        self._report_scan("declined")
        self._scan_request = None
        self.session.close_scan()

    # -- printing ------------------------------------------------------------------------------------------

    async def _print(self, transfer: str, pdf: bytes) -> None:
        from drivers.pdfcheck import check_pdf

        s = self.session
        engine = self.engine
        if engine is None or s.state is not State.CALL:
            return
        if self.printer is None:
            engine.report_print_progress(transfer, "failed", reason="printer_unavailable")
            s.print_failed("printer_unavailable")
            return
        try:
            pages = check_pdf(pdf, max_pages=s.config.devices.printer.max_pages,
                              max_bytes=s.config.devices.printer.max_bytes).pages
        except DeviceError as exc:
            engine.report_print_progress(transfer, "failed", reason=error_code(exc))
            s.print_failed(error_code(exc), customer_text(exc))
            return
        s.print_started(pages)
        engine.report_print_progress(transfer, "received", pages=pages, pages_done=0)

        def progress(event: Any) -> None:
            if s.state is not State.CALL:
                return
            if event.kind in ("processing", "progress", "resumed"):
                s.print_progress(event.pages_done)
                engine.report_print_progress(transfer, "printing", pages=pages, pages_done=event.pages_done)
            elif event.kind == "stalled" and event.condition is not None:
                # Out of paper, jammed…: both ends learn it now, not when the job is finally given up.
                exc = event.condition.as_error()
                s.print_stalled(error_code(exc), customer_text(exc))
                engine.report_print_progress(transfer, "printing", pages=pages, pages_done=event.pages_done,
                                             reason=error_code(exc))

        limit = float(self.printer.config.job_timeout_s)
        try:
            await self.printer.print_pdf_async(pdf, listener=progress, timeout_s=limit, stall_grace_s=limit)
        except DeviceError as exc:
            engine.report_print_progress(transfer, "failed", pages=pages, reason=error_code(exc))
            if s.state is State.CALL:
                s.print_failed(error_code(exc), customer_text(exc))
            return
        engine.report_print_progress(transfer, "done", pages=pages, pages_done=pages)
        if s.state is State.CALL:
            s.print_done()


def _attempt(what: str, action: Callable[[], Any]) -> Any:
    """Run a best-effort device call; a failure is logged (its type only: no data) and gives ``None``."""
    try:
        return action()
    except Exception as exc:
        log.warning("%s failed: %s", what, type(exc).__name__)
        return None


def _jpeg(image: Any) -> bytes:
    """A PIL preview image as JPEG bytes for the screen (kept in memory only)."""
    import io

    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
