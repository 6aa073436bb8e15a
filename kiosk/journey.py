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

**No failure leaves a customer stuck.** The drivers' own errors end a sub-flow with their own message; any
other exception in identification, scanning or printing ends it the same way with ``internal_error``: the
customer reads that it did not work and that the agent knows, the agent gets the failure on the usual
report (``identity.abort`` / ``scan.status`` / ``print.status``), and the call goes on. Every waiting step
can also be left by the customer (:meth:`Journey.cancel_identify`, :meth:`Journey.decline_scan`,
:meth:`Journey.cancel_print`). Logs name the step, a code and a message that holds nothing of the
customer (:func:`describe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, TypeAlias

from drivers.errors import DeviceError
from etapiste.codes import DeviceErrorCode, IdentityAbortCode, PointFailureCode, PrintFailureCode, ScanFailureCode
from etapiste.config.point import Producer
from etapiste.language import Text
from etapiste.webeid.origin import ProofInputError
from kiosk.logsafe import where
from kiosk.session import BookedSlot, Session, SessionRecord, Snapshot, State

log = logging.getLogger(__name__)

#: The code of a failure that is no device's and no customer's doing (a software fault, a configuration the
#: card cannot sign for): reported to the agent, shown to the customer as "it did not work; the agent knows".
INTERNAL_ERROR: Final = "internal_error"

IdentifyProblem: TypeAlias = Literal["wrong_pin", "pin_blocked", "not_fineid", "card_error", "internal_error"]
"""An identification failure as the customer reads it: the key of its text in the catalogue
(``kiosk.error_<problem>``), which :attr:`kiosk.session.Identify.error` holds. Not a protocol code: the
card's ``not_a_finnish_id_card`` is shown as ``not_fineid`` and reported as ``card_error``."""

#: Each identification failure the customer sees as the ``identity.abort`` reason the switchboard takes
#: (a cancel is reported where it happens, with ``cancelled``).
ABORT_REASONS: dict[IdentifyProblem, IdentityAbortCode] = {
    "wrong_pin": "pin_blocked",  # the last try went wrong: the PIN is blocked now
    "pin_blocked": "pin_blocked",
    "not_fineid": "card_error",
    "card_error": "card_error",
    "internal_error": "internal_error",
}


class Engine(Protocol):
    """The part of :class:`kiosk.call.CallEngine` the journey uses."""

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]: ...
    def request_call(
        self, producer_id: str, language: str = "fi", queue: str | None = None, interpreter: str | None = None
    ) -> None: ...
    def cancel_queue(self) -> None: ...
    def check_in(self, code: str, language: str = ...) -> None: ...
    def request_bookings_today(self) -> None: ...
    def hang_up(self) -> Any: ...
    def cancel_document(self) -> None: ...
    def send_rtt(self, text: str, final: bool = False) -> bool: ...
    def send_document(self, pdf: bytes, kind: Any = "scan", name: str = "", request: str | None = None) -> Any: ...
    def send_proof(self, request: str, token: Any) -> None: ...
    def abort_identity(self, request: str, reason: str) -> None: ...
    def call_quality(self) -> Any: ...
    def report_identity_status(self, request: str, state: str, reason: str | None = None) -> bool: ...
    def report_scan_status(self, request: str, state: str, pages: int | None = None,
                           reason: ScanFailureCode | None = None) -> bool: ...
    def report_print_progress(self, transfer: str, state: str, pages: int | None = None,
                              pages_done: int | None = None, reason: PrintFailureCode | None = None) -> bool: ...
    def share_identity(self, request: str, peer: str) -> None: ...


def error_code(exc: DeviceError) -> DeviceErrorCode:
    """A device error's code for the agent and the statistics: the error's own explicit ``code``
    (:mod:`etapiste.codes`), never derived from its class's name."""
    return exc.code


def failure_code(exc: BaseException) -> DeviceErrorCode | PointFailureCode:
    """The code the agent and the customer's message key get: a device error's own, else ``internal_error``."""
    return error_code(exc) if isinstance(exc, DeviceError) else INTERNAL_ERROR


def customer_text(exc: BaseException) -> Text | None:
    """The driver's own customer message in the three languages (no personal data by contract)."""
    if isinstance(exc, DeviceError):
        return Text(fi=exc.customer_message("fi"), sv=exc.customer_message("sv"), en=exc.customer_message("en"))
    return None


def describe(exc: BaseException) -> str:
    """What a log line may say about a failure: its code and a message that holds nothing of a customer.

    Our own errors carry messages written to be logged: a device error's staff message (no personal data by
    the drivers' contract), the proof input check's (it names the switchboard's origin, never a customer).
    Any other exception's message may quote whatever it was handed — a PIN buffer, a name read from the
    card, a document's bytes — so only its type and where it was raised are named (enough to find the bug).
    """
    if isinstance(exc, DeviceError):
        return f"{error_code(exc)} ({type(exc).__name__}: {exc.staff_message('en')})"
    if isinstance(exc, ProofInputError):
        return f"{INTERNAL_ERROR} ({type(exc).__name__}: {exc})"
    return f"{INTERNAL_ERROR} ({where(exc)})"


@dataclass
class _Identify:
    request: str
    nonce: str
    origin: str


@dataclass(frozen=True)
class _ShareAsk:
    """One consent question of a joint call: show ``request``'s identity to agent ``peer`` (of ``producer``)?"""

    request: str
    peer: str
    producer: Text


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
        self._call_id: str | None = None
        """The call the session is in (an end of another, earlier call is not this customer's)."""
        self._identify: _Identify | None = None
        self._scan_request: str | None = None
        self._scan_job: Any | None = None
        self._scan_result: Any | None = None
        self._print_task: asyncio.Task[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._share_asks: list[_ShareAsk] = []
        """A joint call's consent questions, the one on screen first (asked one at a time)."""
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
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            # Each step handles its own failures; reaching this is a bug, and the log says where.
            log.error("journey task failed: %s", describe(exc))

    async def idle(self) -> None:
        """Wait until every device task started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- session → engine ----------------------------------------------------------------------------

    def _on_snapshot(self, snap: Snapshot) -> None:
        previous, self._previous = self._previous, snap
        before, after = previous.state, snap.state
        if after is State.APPOINTMENT and snap.appointment is not None and snap.appointment.step == "checking" and (
            previous.appointment is None or previous.appointment.step != "checking"
        ):
            self._check_in(snap.appointment.code, snap.language)
        if after is State.STAFF and before is not State.STAFF and self.engine is not None:
            self.engine.request_bookings_today()
        if before is after:
            return
        if before is State.CALL and self.engine is not None:
            # The call is over (either side hung up): its quality summary goes into the session's record.
            self.session.call_quality(self.engine.call_quality())
        if self.engine is None:
            if before is State.NOTICE and after is State.QUEUE:
                # No switchboard link at all (no credential): say so at once instead of a silent wait.
                self.session.queue_left("unavailable")
            return
        if before is State.NOTICE and after is State.QUEUE and snap.selected is not None:
            self._engine_ended = False
            self.engine.request_call(snap.selected.id, snap.language, interpreter=snap.interpreter_need)
        elif before is State.QUEUE and after is not State.CALL and not self._engine_ended:
            self.engine.cancel_queue()
        elif before is State.CALL and not self._engine_ended:
            self.engine.hang_up()

    def _check_in(self, code: str, language: str) -> None:
        """The customer confirmed an appointment code: the switchboard decides (events follow)."""
        if self.engine is None:
            self.session.appointment_refused("unavailable")
            return
        self._engine_ended = False
        self.engine.check_in(code, language)

    def _local(self, epoch: float | None) -> dt.datetime | None:
        """Epoch seconds as the host's wall-clock time (the session's clock)."""
        if epoch is None:
            return None
        return dt.datetime.fromtimestamp(epoch, self.session.config.host.zone).replace(tzinfo=None)

    def _on_wipe(self) -> None:
        """The customer's session ended: nothing of theirs may stay in the devices or here."""
        self._identify = None
        self._share_asks.clear()
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

    def _producer_estimates(self, queues: dict[str, tuple[bool, int | None, int]]) -> None:
        """The switchboard's per-queue estimates, as the service choice shows them per producer."""
        known = {prod.id: queues[prod.queue] for prod in self.session.config.producers if prod.queue in queues}
        self.session.set_producer_estimates(
            {pid: wait for pid, (_, wait, _) in known.items()},
            {pid: online for pid, (_, _, online) in known.items()},
            frozenset(pid for pid, (is_open, _, _) in known.items() if not is_open),
        )

    def _transfer_target(self, producer: str, queue: str, name: dict[str, str] | None) -> Producer:
        """The producer a transfer goes to, as this point's configuration has it; one the point does not
        offer gets the name the switchboard sent (its id when none) on the current producer's other settings."""
        known = next((prod for prod in self.session.config.producers if prod.id == producer), None)
        if known is not None:
            return known
        current = self.session.snapshot.selected or self.session.config.producers[0]
        text = Text.model_validate(name) if name else Text(fi=producer, sv=producer, en=producer)
        return current.model_copy(update={"id": producer, "name": text, "queue": queue, "description": None,
                                          "privacy_url": None})

    def on_engine_event(self, event: Any) -> None:
        from kiosk import call as c

        s = self.session
        match event:
            case c.QueuePosition(position=position, estimate_s=estimate, language_agents=speakers):
                s.queue_update(position, estimate, speakers)
            case c.QueueEstimates(queues=queues):
                self._producer_estimates(queues)
            case c.SwitchboardStatus(connected=connected):
                s.queue_connection(connected)
            case c.QueueLeft(reason=reason) if reason != "cancelled":
                self._engine_ended = True
                s.queue_left(reason)
            case c.QueueTransferred(producer=producer, queue=queue, producer_name=name):
                if s.state is State.CALL:
                    target = self._transfer_target(producer, queue, name)
                    self._engine_ended = True  # the switchboard ended the call: nothing to hang up
                    s.transferred(target)
                    self._engine_ended = False  # waiting again: leaving now cancels the new place
            case c.AppointmentCheckedIn(producer=producer, queue=queue, start=start):
                if s.state is State.APPOINTMENT:
                    s.appointment_checked_in(self._transfer_target(producer, queue, None),
                                             self._local(start) or s.now())
                else:  # the customer left the code screen meanwhile: give the place up
                    self.engine.cancel_queue()  # type: ignore[union-attr]
            case c.AppointmentRefused(reason=reason, start=start, opens_at=opens_at):
                s.appointment_refused(reason, self._local(opens_at), self._local(start))
            case c.BookingsToday(bookings=bookings):
                s.set_bookings_today(tuple(BookedSlot(self._local(at) or s.now(), producer, done)
                                           for at, producer, done in bookings))
            case c.QueueRefused(code=code):
                self._engine_ended = True
                s.queue_left("closed" if code == "queue_closed" else "unavailable")
            case c.CallAnswered(call=call):
                self._call_id = call
                self._share_asks.clear()  # a question of an earlier call (before a transfer) is not this one's
                s.call_answered()
            case c.IdentityResult(ok=ok, reason=reason):
                s.identity_result(ok, reason)  # counted for the statistics; the agent sees the verdict
            case c.RttReceived(text=text, final=final):
                if s.state is State.CALL:
                    s.remote_text(text, final)
            case c.IdentifyRequested(request=request, nonce=nonce, origin=origin):
                self.spawn(self._identify_requested(_Identify(request, nonce, origin)))
            case c.IdentifyRefused():
                # The point would not sign for the origin the switchboard named. The engine has told the
                # agent (origin_mismatch); the customer reads that identification did not work, rather
                # than waiting for a card request that never comes.
                if s.state is State.CALL:
                    s.identify_requested(card_present=False)
                    s.identify_failed(INTERNAL_ERROR)
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
            case c.CallTrouble(kind="recovered"):  # the engine says so once no participant is cut off
                s.connection_trouble(None)
            case c.InterpreterJoined():
                if s.state is State.CALL:
                    s.interpreter_changed(True)
            case c.InterpreterLeft():
                if s.state is State.CALL:
                    s.interpreter_changed(False)
            case c.ShareIdentityAsked(request=request, peer=peer, producer=producer):
                if s.state is State.CALL:
                    self._share_asks.append(_ShareAsk(request, peer, self._producer_name(producer)))
                    if len(self._share_asks) == 1:
                        s.ask_share_identity(self._share_asks[0].producer)
            case c.AgentJoined(producer=producer):
                if s.state is State.CALL:
                    s.agent_joined(self._producer_name(producer))
            case c.AgentLeft(peer=peer):
                if s.state is State.CALL:
                    s.agent_joined(None)
                # A question about an agent who has gone is moot: it is withdrawn, unanswered.
                asked = self._share_asks[0] if self._share_asks else None
                self._share_asks = [ask for ask in self._share_asks if ask.peer != peer]
                if asked is not None and asked.peer == peer:
                    self._next_share_ask()
            case c.CallEnded(call=call, reason=reason):
                if call != self._call_id or s.state is not State.CALL:
                    # The session left this call already (the customer's own hang-up), or it is an earlier
                    # customer's call ending late: it must not mark the next customer's queue as ended.
                    return
                self._engine_ended = True
                mapped = "hangup" if reason == "hangup" else ("network" if reason == "network_lost" else "other")
                s.call_ended(mapped)
            case _:
                pass

    # -- a joint call's consent (issue 22) ------------------------------------------------------------------

    def _producer_name(self, producer: str | None) -> Text:
        """A producer as the customer knows it: this point's name for it, else its id."""
        known = next((prod for prod in self.session.config.producers if prod.id == producer), None)
        if known is not None:
            return known.name
        return Text(fi=producer or "", sv=producer or "", en=producer or "")

    def answer_share_identity(self, yes: bool) -> None:
        """The customer answered "Show your identification to … too?"; only a yes reaches the switchboard."""
        if not self._share_asks:
            self.session.share_identity_answered()
            return
        ask = self._share_asks[0]
        if yes and self.engine is not None:
            self.engine.share_identity(ask.request, ask.peer)
        self._share_asks.pop(0)
        self._next_share_ask()

    def _next_share_ask(self) -> None:
        self.session.share_identity_answered()
        if self._share_asks:
            self.session.ask_share_identity(self._share_asks[0].producer)

    # -- identification --------------------------------------------------------------------------------

    async def _identify_requested(self, req: _Identify) -> None:
        s = self.session
        if s.state is not State.CALL:
            return
        self._identify = req
        try:
            reader = self.card_reader
            present = reader is not None and bool(
                _attempt("card reader status", lambda: any(reader.status().values())))
            s.identify_requested(card_present=present)
            self._report_identity("enter_pin" if present else "insert_card")
        except Exception as exc:
            self._identify_unexpected(req, "identification start", exc)
            return
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
        req = self._identify
        if req is None or call is None or call.identify is None or self.card_reader is None:
            return
        try:
            tries = await self.card_reader.pin1_tries_left_async()
        except Exception as exc:
            if self._identify is not req:
                return  # cancelled meanwhile: the agent has been told already
            if isinstance(exc, PinBlocked):
                self._identify_failed("pin_blocked")
            elif isinstance(exc, CardError):
                log.warning("card read failed: %s", describe(exc))
                self._identify_failed("not_fineid" if error_code(exc) == "not_a_finnish_id_card" else "card_error")
            else:
                self._identify_unexpected(req, "card read", exc)
            return
        if s.state is State.CALL and self._identify is req:
            s.card_inserted(tries)
            self._report_identity("enter_pin")

    def card_removed(self) -> None:
        if self.session.state is State.CALL:
            self.session.card_removed()

    def _identify_failed(self, problem: IdentifyProblem, tries_left: int | None = None) -> None:
        s = self.session
        if s.state is not State.CALL:
            return
        s.identify_failed(problem, tries_left)
        ident = s.snapshot.call.identify if s.snapshot.call else None
        if ident is not None and ident.step == "failed" and self._identify is not None and self.engine is not None:
            request, self._identify = self._identify.request, None
            self.engine.abort_identity(request, ABORT_REASONS[problem])

    def _identify_unexpected(self, req: _Identify, step: str, exc: Exception) -> None:
        """A failure no driver foresaw: the customer reads that it did not work, the agent gets
        ``internal_error`` and may ask again; the call goes on."""
        log.error("%s failed: %s", step, describe(exc))
        if self._identify is not req:
            return
        s = self.session
        if s.state is State.CALL and s.snapshot.call is not None and s.snapshot.call.identify is None:
            s.identify_requested(card_present=False)  # failed before the panel was shown: show it to say so
        self._identify_failed(INTERNAL_ERROR)
        if self._identify is req and self.engine is not None:  # the session was not in a call any more
            self._identify = None
            self.engine.abort_identity(req.request, INTERNAL_ERROR)

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
            except Exception as exc:
                if self._identify is not req or s.state is not State.CALL:
                    return  # the customer cancelled or left meanwhile; the agent has been told
                if isinstance(exc, WrongPin):
                    self._identify_failed("wrong_pin", exc.tries_left)
                elif isinstance(exc, PinBlocked):
                    self._identify_failed("pin_blocked", 0)
                elif isinstance(exc, CardRemoved):
                    s.card_removed()
                    self._report_identity("insert_card", "card_removed")
                elif isinstance(exc, CardError):
                    log.warning("identification failed: %s", describe(exc))
                    self._identify_failed("card_error")
                else:
                    self._identify_unexpected(req, "identification", exc)
                return
            if self._identify is not req or s.state is not State.CALL:
                return  # cancelled while the card signed: the proof is dropped, never sent
            self.engine.send_proof(req.request, token.to_dict())
            self._identify = None
            s.identify_done()
        except Exception as exc:
            if req is not None:
                self._identify_unexpected(req, "identification", exc)
        finally:
            for i in range(len(pin)):
                pin[i] = 0

    # -- JourneyActions (what the screens ask) --------------------------------------------------------------

    def submit_pin(self, pin: bytearray) -> None:
        self.spawn(self._prove(pin))

    def cancel_identify(self) -> None:
        """The customer pressed Cancel, also while the card checks the PIN (a card that does not answer
        must not hold them): the agent is told at once, and a proof the card still makes is dropped."""
        req, self._identify = self._identify, None
        s = self.session
        if s.state is not State.CALL:
            return
        if req is not None and self.engine is not None:
            self.engine.abort_identity(req.request, "cancelled")
        s.cancel_identify()

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
        except Exception as exc:
            self._scan_failed("scan start", exc)

    def _scan_open(self) -> bool:
        s = self.session
        return s.state is State.CALL and s.snapshot.call is not None and s.snapshot.call.scan is not None

    def _scan_failed(self, step: str, exc: Exception) -> None:
        """End the scan with the driver's message, or with ``internal_error`` for anything else."""
        if isinstance(exc, DeviceError):
            log.warning("%s failed: %s", step, describe(exc))
        else:
            log.error("%s failed: %s", step, describe(exc))
        code = failure_code(exc)
        if self._scan_open():
            self.session.scan_failed(code, customer_text(exc))
        self._report_scan("failed", reason=code)

    def _scan_event(self, event: Any) -> None:
        from drivers import scanner as sc

        if not self._scan_open():
            if isinstance(event, sc.ScanFinished):
                event.result.discard()  # the customer left meanwhile: drop the pages at once
            return
        try:
            self._on_scan_event(event)
        except Exception as exc:
            if isinstance(event, sc.ScanFinished) and self._scan_result is not event.result:
                with contextlib.suppress(Exception):
                    event.result.discard()
            self._drop_scan()
            self._scan_failed("scan", exc)

    def _on_scan_event(self, event: Any) -> None:
        from drivers import scanner as sc

        s = self.session
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
            self._scan_job = None
            self._scan_failed("scan", event.error)

    def _report_scan(self, state: str, pages: int | None = None, reason: ScanFailureCode | None = None) -> None:
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
        self._scan_result = None
        pdf = b""
        try:
            # The PDF leaves the pages' memory at once (deliver wipes them); blank pages are left out, as
            # the preview told the customer before they pressed Send.
            pdf = result.deliver(skip=result.blank_pages())
            await self.engine.send_document(pdf, "scan", "skannaus.pdf", request)
        except TransferFailed as exc:
            # The engine has told the agent (scan.status failed with the transfer's reason).
            log.warning("scan transfer failed: transfer_%s", exc.reason)
            if self._scan_sending():
                s.scan_failed(f"transfer_{exc.reason}")
            return
        except Exception as exc:
            with contextlib.suppress(Exception):
                result.discard()
            if self._scan_sending():
                self._scan_failed("scan sending", exc)
            else:
                log.error("scan sending failed: %s", describe(exc))
            return
        finally:
            del pdf
        if self._scan_sending():
            s.scan_sent()

    def _scan_sending(self) -> bool:
        """Whether the customer still waits for the scan to go (not cancelled, not left)."""
        call = self.session.snapshot.call
        return self._scan_open() and call is not None and call.scan is not None and call.scan.step == "sending"

    def _drop_scan(self) -> None:
        """Stop a running scan and wipe its pages (declined, or the session ended)."""
        if self._scan_job is not None:
            _attempt("scan cancel", self._scan_job.cancel)
        self._scan_job = None
        if self._scan_result is not None:
            self._scan_result.discard()
        self._scan_result = None

    def decline_scan(self) -> None:
        """The customer does not want it sent: before scanning, while scanning, at the preview, or while it
        is being sent (the transfer is cancelled; the agent gets nothing but the refusal)."""
        call = self.session.snapshot.call
        sending = call is not None and call.scan is not None and call.scan.step == "sending"
        self._drop_scan()
        if sending and self.engine is not None:
            self.engine.cancel_document()  # the engine reports the transfer's end to the agent
        else:
            self._report_scan("declined")
        self._scan_request = None
        if self._scan_open():
            self.session.close_scan()

    # -- printing ------------------------------------------------------------------------------------------

    async def _print(self, transfer: str, pdf: bytes) -> None:
        s = self.session
        engine = self.engine
        if engine is None or s.state is not State.CALL:
            return
        task = asyncio.current_task()
        self._print_task = task
        try:
            await self._print_job(engine, transfer, pdf)
        except asyncio.CancelledError:
            # The customer pressed Cancel: print_pdf_async has taken the job out of CUPS before this.
            engine.report_print_progress(transfer, "cancelled")
            raise
        except Exception as exc:
            log.error("printing failed: %s", describe(exc))
            engine.report_print_progress(transfer, "failed", reason=INTERNAL_ERROR)
            if s.state is State.CALL:
                s.print_failed(INTERNAL_ERROR)
        finally:
            if self._print_task is task:
                self._print_task = None

    def cancel_print(self) -> None:
        """The customer stops waiting for a printout (a jammed printer, a long job): the job is cancelled
        in CUPS, the agent sees ``cancelled``, and the call screen comes back."""
        task = self._print_task
        if task is not None and not task.done():
            task.cancel()
        s = self.session
        if s.state is State.CALL and s.snapshot.call is not None and s.snapshot.call.print_ is not None:
            s.close_print()

    def print_privacy_notice(self) -> None:
        """The customer asked for the privacy information on paper (the notice screen, before the call): one
        page in their language, through the same printer; the screen follows it (printing, printed, failed)."""
        from kiosk.privacy_notice import printout, privacy_notice

        s, printer = self.session, self.printer
        producer = s.snapshot.selected
        if printer is None or s.state is not State.NOTICE or producer is None:
            return
        if s.snapshot.privacy_printout == "printing":
            return  # one at a time: a second press does not print the page twice
        pdf = printout(privacy_notice(s.config, producer, s.snapshot.language))
        s.privacy_printout("printing")

        async def go() -> None:
            try:
                await asyncio.to_thread(printer.print_pdf, pdf, timeout_s=float(printer.config.job_timeout_s))
            except Exception as exc:
                log.warning("privacy information printout failed: %s", describe(exc))
                s.privacy_printout("failed")
                return
            s.privacy_printout("printed")

        self.spawn(go())

    async def _print_job(self, engine: Engine, transfer: str, pdf: bytes) -> None:
        from drivers.pdfcheck import check_pdf

        s = self.session
        if self.printer is None:
            engine.report_print_progress(transfer, "failed", reason="printer_unavailable")
            s.print_failed("printer_unavailable")
            return
        try:
            # The gate parses in a confined worker process; waiting for it off the event loop keeps the
            # call's video and the screen moving while a large document is checked.
            pages = (await asyncio.to_thread(check_pdf, pdf, max_pages=s.config.devices.printer.max_pages,
                                             max_bytes=s.config.devices.printer.max_bytes)).pages
        except DeviceError as exc:
            log.warning("print check failed: %s", describe(exc))
            engine.report_print_progress(transfer, "failed", reason=error_code(exc))
            s.print_failed(error_code(exc), customer_text(exc))
            return
        s.print_started(pages)
        engine.report_print_progress(transfer, "received", pages=pages, pages_done=0)

        def progress(event: Any) -> None:
            if s.state is not State.CALL or s.snapshot.call is None or s.snapshot.call.print_ is None:
                return  # the customer cancelled or left: nothing more to show or report
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
            log.warning("printing failed: %s", describe(exc))
            engine.report_print_progress(transfer, "failed", pages=pages, reason=error_code(exc))
            if s.state is State.CALL:
                s.print_failed(error_code(exc), customer_text(exc))
            return
        engine.report_print_progress(transfer, "done", pages=pages, pages_done=pages)
        if s.state is State.CALL:
            s.print_done()


def _attempt(what: str, action: Callable[[], Any]) -> Any:
    """Run a best-effort device call; a failure is logged (code and a message without data, see
    :func:`describe`) and gives ``None``."""
    try:
        return action()
    except Exception as exc:
        log.warning("%s failed: %s", what, describe(exc))
        return None


def _jpeg(image: Any) -> bytes:
    """A PIL preview image as JPEG bytes for the screen (kept in memory only)."""
    import io

    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
