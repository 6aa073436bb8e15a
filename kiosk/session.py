"""The session state machine: what the kiosk shows and what a customer can do next.

Plain Python, no Qt and no I/O: views subscribe to :class:`Session`, render the :class:`Snapshot` they are
given, and call intent methods when a person acts; the journey controller (:mod:`kiosk.journey`) calls the
event methods when the call engine or a device reports something. Every transition is testable without a
screen, and time is injected so tests can stand at any moment of the week.

The journey::

    IDLE ─language─▶ SERVICE_CHOICE ─producer─▶ NOTICE ─continue─▶ QUEUE ─answered─▶ CALL ─ended─▶ SURVEY ─▶ (wipe) IDLE
                         ▲   back ◀───────────────┘        cancel ──┘                    (identify, scan, print,
                         └──────────────────────────────────────────────────────────────  interpreter, text)

``CLOSED`` (outside the host's opening hours) and ``OUT_OF_SERVICE`` (staff or ops) replace ``IDLE`` only:
a customer already on their way is never cut off by the clock or by an out-of-service order. ``STAFF_LOGIN``
and ``STAFF`` are the host staff's mode behind a PIN.

Time limits (WCAG 2.2.1): on the screens where a customer may simply walk away (service choice, notice,
survey, staff mode) the session ends after ``ui.idle_timeout_s`` without a touch; ``ui.timeout_warning_s``
before that, the snapshot carries ``timeout_warning`` and :meth:`Session.extend_time` gives the full time
again, as often as the customer wants. Waiting in the queue and being in a call never time out here.

Every end of a customer's session goes through :meth:`Session._wipe`: language, text size, contrast,
transcript, scan previews, identification state and the survey are forgotten, and wipe listeners (the
controller: scanner files, print jobs, card reset) are told to clear what lives outside this object.

Just before that, the session's anonymous :class:`SessionRecord` goes to the record listeners (the agent
link, and through it the organiser's statistics, docs/statistics.md): exactly one per visit, with an
explicit :class:`Outcome` set where the session's course is decided (a call answered, the queue left and
why, the visitor gone before choosing), never derived from a message key or a class name afterwards.
A visit *chose a producer* once the customer confirmed the notice and joined the queue; one who read a
producer's notice and went back had not. A visit that gave up one queue and joined another is one
session, counted by its last queue.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from etapiste.config.point import PointConfig, Producer
from etapiste.host import HostKind
from etapiste.hours import TimeRange
from etapiste.language import Language, Text
from etapiste.staffpin import verify_pin
from kiosk import opening
from kiosk.staff_lockout import FIRST_LOCKOUT_S, TRIES, StaffLockout
from kiosk.stats import CallSummary

Clock = Callable[[], dt.datetime]
Listener = Callable[["Snapshot"], None]

#: Wrong staff PINs in a row before staff mode locks, and how long the first lockout lasts (each following
#: one twice as long until the right PIN; kiosk/staff_lockout.py).
STAFF_PIN_TRIES = TRIES
STAFF_LOCKOUT_S = FIRST_LOCKOUT_S


class State(enum.Enum):
    IDLE = "idle"
    CLOSED = "closed"
    OUT_OF_SERVICE = "out_of_service"
    SERVICE_CHOICE = "service_choice"
    NOTICE = "notice"
    QUEUE = "queue"
    CALL = "call"
    SURVEY = "survey"
    STAFF_LOGIN = "staff_login"
    STAFF = "staff"
    APPOINTMENT = "appointment"
    """The customer types the check-in code of a booked appointment (issue 22) on the keypad."""


#: States a customer may walk away from; the inactivity limit applies only here.
TIMED_STATES = frozenset({State.SERVICE_CHOICE, State.NOTICE, State.SURVEY, State.STAFF_LOGIN, State.STAFF,
                          State.APPOINTMENT})
#: States in which a customer's session is under way (an out-of-service order waits until it ends).
CUSTOMER_STATES = frozenset({State.SERVICE_CHOICE, State.NOTICE, State.QUEUE, State.CALL, State.SURVEY,
                             State.APPOINTMENT})


class LargeText(enum.Enum):
    """Text-size mode (EN 301 549 5.1.4); reset to normal after each customer."""

    NORMAL = 1.0
    LARGE = 1.4


@dataclass(frozen=True)
class ProducerOption:
    """A producer as the service choice shows it."""

    producer: Producer
    hours_today: tuple[TimeRange, ...]
    available: bool
    next_opening: opening.Opening | None
    """When an unavailable producer's agents answer next."""
    estimate_s: int | None = None
    """The switchboard's wait estimate, when known."""
    agents_online: int | None = None
    """Agents of its queue online, as the switchboard last said (``None``: not heard yet)."""


@dataclass(frozen=True)
class RttLine:
    """One line of the real-time text conversation; ``final`` once its writer pressed Enter."""

    who: Literal["customer", "agent"]
    text: str
    final: bool


IdentifyStep = Literal["insert_card", "enter_pin", "checking", "done", "failed", "remove_card"]
ScanStep = Literal["place_paper", "scanning", "preview", "sending", "sent", "failed"]
PrintStep = Literal["printing", "done", "failed"]


@dataclass(frozen=True)
class Identify:
    step: IdentifyStep
    tries_left: int | None = None
    error: str | None = None
    """Message key of the last problem (``wrong_pin``, ``pin_blocked``, ``not_fineid``, ``card_removed``…)."""


@dataclass(frozen=True)
class Scan:
    step: ScanStep
    pages: int = 0
    progress: float = 0.0
    preview: bytes | None = None
    """Encoded image (PNG/JPEG) of the last page, for the screen only."""
    blank: int = 0
    """Pages found blank, which are left out of what is sent (the customer is told before sending)."""
    error: str | None = None
    message: Text | None = None
    """The device's own customer message for ``error``, when it has one."""


@dataclass(frozen=True)
class Print:
    step: PrintStep
    pages: int = 0
    pages_done: int = 0
    error: str | None = None
    message: Text | None = None


@dataclass(frozen=True)
class ShareIdentity:
    """A joint call's question (issue 22): the customer proved their identity to one agent; may the agent of
    ``producer`` see it too? Nothing is shown to them unless the customer says yes."""

    producer: Text


@dataclass(frozen=True)
class Call:
    """The call in progress and its sub-flows (at most one of identify / scan / print shown at a time)."""

    producer: Producer
    identify: Identify | None = None
    scan: Scan | None = None
    print_: Print | None = None
    interpreter: bool = False
    transcript: tuple[RttLine, ...] = ()
    customer_typing: str = ""
    agent_typing: str = ""
    trouble: str | None = None
    """A connection problem being worked on (``reconnecting``), shown to the customer until it clears."""
    share_identity: ShareIdentity | None = None
    """The consent question of a joint call, while it waits for the customer's yes or no."""
    joined_agent: Text | None = None
    """The producer whose agent joined the call (a joint call), shown while they are in it."""


HelpRequest = Literal["sending", "told", "coming", "failed"]

#: Digits of an appointment's check-in code (the switchboard's ``switchboard.appointments.CODE_DIGITS``).
APPOINTMENT_CODE_DIGITS = 6

AppointmentStep = Literal["typing", "checking", "refused"]


@dataclass(frozen=True)
class Appointment:
    """The check-in of a booked appointment (issue 22): the code typed so far, and what the switchboard said."""

    code: str = ""
    step: AppointmentStep = "typing"
    refusal: str | None = None
    """Why the code was not accepted: an ``appointment`` code (``wrong_code``, ``too_early``, ``expired``…) or
    ``unavailable`` (the switchboard could not be asked)."""
    opens_at: dt.datetime | None = None
    """With ``too_early``: when check-in opens (host-local)."""
    start: dt.datetime | None = None
    """The booked time (host-local), once known (too early, or checked in)."""


@dataclass(frozen=True)
class BookedSlot:
    """One of the day's bookings as the staff mode lists them: time and producer only, never who."""

    start: dt.datetime
    producer: str
    checked_in: bool = False


PrintoutStep = Literal["printing", "printed", "failed"]
"""Where a printout the kiosk makes itself (the privacy information) is."""


@dataclass(frozen=True)
class Snapshot:
    """Everything a view needs to draw the current state; immutable, compared to skip redraws."""

    state: State
    language: Language
    today: dt.date
    host_name: Text
    hours_today: tuple[TimeRange, ...]
    next_opening: opening.Opening | None = None
    host_kind: HostKind = "other"
    """What the host is (``host.kind``): the words that name its staff (:mod:`etapiste.host`)."""
    out_of_service_message: Text | str | None = None
    text_size: LargeText = LargeText.NORMAL
    high_contrast: bool = False
    speech: bool = False
    """Speech output: every screen read aloud in its language (EN 301 549 5.1.3)."""
    unavailable_devices: tuple[str, ...] = field(default_factory=tuple)
    """Device keys (``printer``, ``scanner``…) that are missing or faulty."""
    producers: tuple[ProducerOption, ...] = ()
    interpreter_need: str | None = None
    """The interpreter language the customer asked for before queueing (``fi-sign``, ``ar``…), told to the
    agent with the queue request; forgotten at the wipe."""
    interpreter_question: bool = False
    """The service choice shows its interpreter question (a screen of its own: speech reads it out)."""
    selected: Producer | None = None
    privacy_printout: PrintoutStep | None = None
    """The privacy information on paper, asked for on the notice screen: printing, printed or failed."""
    queue_position: int | None = None
    queue_estimate_s: int | None = None
    queue_language_agents: int | None = None
    """Agents online who speak the customer's language, while queued (``None``: the switchboard did not say)."""
    queue_interrupted: bool = False
    """The connection to the switchboard dropped while queued: the place is held for a minute, and the
    customer is told to stay rather than left looking at a position that no longer moves."""
    transferred: bool = False
    """The agent transferred the customer to ``selected``'s queue (issue 22): the queue screen says "you are
    being transferred to …" instead of "you are waiting for …"."""
    call: Call | None = None
    end_reason: str | None = None
    """Why the call ended, as a message key (``hangup``, ``network``, ``queue_timeout``…)."""
    survey_rating: int | None = None
    timeout_warning: int | None = None
    """Seconds left before an inactive session ends; ``None`` when no warning is due."""
    staff_error: str | None = None
    staff_locked: bool = False
    sessions_today: int = 0
    help_request: HelpRequest | None = None
    """The customer's "ask for help": ``sending`` until the organiser's notifier accepted it (``told``: only then
    are they told the staff know) or it did not get through (``failed``: ask the staff yourself)."""
    staff_told: tuple[str, ...] = ()
    appointment: Appointment | None = None
    """The appointment check-in under way (the code screen), and after it the booked time shown while queued."""
    bookings_today: tuple[BookedSlot, ...] | None = None
    """The day's bookings at this point for the staff mode (``None``: not heard from the switchboard)."""
    """Devices whose fault the notifier accepted an alert of (the host's staff were mailed)."""


class Outcome(enum.Enum):
    """How a customer's session ended, for the statistics (docs/statistics.md, "Outcomes")."""

    SERVED = "served"
    """A call with an agent happened (however it ended)."""
    ABANDONED = "abandoned"
    """The customer left the queue themselves."""
    QUEUE_TIMEOUT = "queue_timeout"
    """The queue's own wait limit ended it."""
    CLOSED = "closed"
    """The producer's service hours ended it."""
    CONNECTION_LOST = "connection_lost"
    """The network or the switchboard lost it before an answer."""
    TECHNICAL_FAILURE = "technical_failure"
    """The point could not place the call at all (or stopped while the customer waited)."""
    LEFT_BEFORE_CHOOSING = "left_before_choosing"
    """The visitor touched the screen and left, or was timed out, before joining a queue."""


#: Why the queue ended without a call (:meth:`Session.queue_left`'s reason, or a call end while queued)
#: → the outcome. A reason not listed is a failure of the point's, never silently "served".
QUEUE_END_OUTCOMES: dict[str, Outcome] = {
    "cancelled": Outcome.ABANDONED,
    "timeout": Outcome.QUEUE_TIMEOUT,
    "closed": Outcome.CLOSED,
    "network_lost": Outcome.CONNECTION_LOST,
    "network": Outcome.CONNECTION_LOST,
    "unavailable": Outcome.TECHNICAL_FAILURE,
}


@dataclass(frozen=True)
class Usage:
    """What a session used, as yes/no and counts: never what was typed, scanned, printed or read."""

    language: Language | None = None
    """The language chosen at the start."""
    identify_asked: bool = False
    identify_succeeded: bool = False
    """The switchboard verified the customer's proof (at least once in the session)."""
    identify_failed: bool = False
    """An attempt failed (blocked PIN, card error, refused proof…) and none succeeded; a customer who
    cancelled was asked but neither succeeded nor failed."""
    scans: int = 0
    """Scanned documents sent to the agent."""
    scan_pages: int = 0
    prints: int = 0
    """Documents printed to the end."""
    print_pages: int = 0
    interpreter_joined: bool = False
    text_used: bool = False
    """Real-time text was written, by the customer or the agent."""
    speech_used: bool = False
    large_text_used: bool = False


@dataclass(frozen=True)
class SessionRecord:
    """Anonymous statistics of one finished session: no personal data, no free text. ``started`` is
    host-local and is passed on only as its day and hour."""

    outcome: Outcome
    started: dt.datetime
    producer: str | None
    queue: str | None
    """The switchboard queue of the producer chosen (``None``: left before choosing)."""
    waited_s: int | None
    """Queue join → answer or end of waiting; ``None`` when no queue was joined."""
    call_s: int | None
    """Answer → hang-up (not the survey); served sessions only."""
    rating: int | None
    """Served sessions only; ``None`` when the survey was skipped."""
    usage: Usage
    quality: CallSummary | None = None
    """The call's quality summary (served sessions, when the call engine had one)."""


class Session:
    """The kiosk's state, driven by the clock, by staff/ops, by devices and by the customer's intents."""

    def __init__(
        self,
        config: PointConfig,
        clock: Clock | None = None,
        monotonic: Callable[[], float] | None = None,
        staff_lockout: StaffLockout | None = None,
    ):
        self._config = config
        zone = config.host.zone
        self._clock: Clock = clock or (lambda: dt.datetime.now(zone).replace(tzinfo=None))
        self._monotonic = monotonic or time.monotonic
        self._listeners: list[Listener] = []
        self._wipe_listeners: list[Callable[[], None]] = []
        self._record_listeners: list[Callable[[SessionRecord], None]] = []
        self._out_of_service_on = False
        self._out_of_service: Text | str | None = None
        self._estimates: dict[str, int | None] = {}
        self._agents_online: dict[str, int] = {}
        self._closed_now: frozenset[str] = frozenset()
        self._last_touch = self._monotonic()
        self._queued_at: float | None = None
        self._answered_at: float | None = None
        # The statistics of the visit under way (see SessionRecord), forgotten at the wipe.
        self._started: dt.datetime | None = None
        self._usage = Usage()
        self._outcome: Outcome | None = None
        self._attempt: Producer | None = None
        self._waited_s: float | None = None
        self._call_ended_at: float | None = None
        self._quality: CallSummary | None = None
        self._identify_ok = False
        self._identify_failed = False
        self._staff_lockout = staff_lockout or StaffLockout(None, clock=self._monotonic)
        self._sessions_day = self._clock().date()
        now = self._clock()
        self._snapshot = self._derive(
            Snapshot(
                state=State.IDLE,
                language=config.ui.default_language,
                today=now.date(),
                host_name=config.host.name,
                host_kind=config.host.kind,
                hours_today=(),
            ),
            now,
        )

    # -- observing -------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def state(self) -> State:
        return self._snapshot.state

    @property
    def config(self) -> PointConfig:
        return self._config

    def now(self) -> dt.datetime:
        """The host's local time (its zone, ``host.timezone``): the statistics' days and hours are the host's,
        not the machine's."""
        return self._clock()

    @property
    def out_of_service(self) -> bool:
        """Whether staff or ops ordered the point out of use (it shows once no customer is served)."""
        return self._out_of_service_on

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every new snapshot (and once now); returns the unsubscribe function."""
        self._listeners.append(listener)
        listener(self._snapshot)
        return lambda: self._listeners.remove(listener)

    def on_wipe(self, listener: Callable[[], None]) -> None:
        """``listener`` runs at every session end to clear what lives outside the session (files, jobs, card)."""
        self._wipe_listeners.append(listener)

    def on_record(self, listener: Callable[[SessionRecord], None]) -> None:
        """``listener`` receives the anonymous statistics of each finished customer session."""
        self._record_listeners.append(listener)

    # -- the clock ---------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Follow the clock: opening, closing and the inactivity limit happen here."""
        snap = self._snapshot
        if snap.state in TIMED_STATES:
            idle_for = self._monotonic() - self._last_touch
            limit = self._config.ui.idle_timeout_s
            if idle_for >= limit:
                self._end_session("timeout")
                return
            left = limit - idle_for
            warning = int(left + 0.999) if left <= self._config.ui.timeout_warning_s else None
            snap = replace(snap, timeout_warning=warning)
        self._publish(self._derive(snap, self._clock()))

    def touch(self) -> None:
        """Any press on the screen: the customer is still there."""
        self._last_touch = self._monotonic()
        if self._snapshot.timeout_warning is not None:
            self._publish(replace(self._snapshot, timeout_warning=None))

    def extend_time(self) -> None:
        """The customer asked for more time after the warning (as often as they want)."""
        self.touch()

    # -- customer intents ----------------------------------------------------------------------------

    def choose_language(self, language: Language) -> None:
        """A language button on the idle screen: the journey starts in that language."""
        self.set_language(language)
        if self.state is State.IDLE:
            snap = self._snapshot
            self._started = self._clock()
            self._usage = Usage(language=language, speech_used=snap.speech,
                                large_text_used=snap.text_size is not LargeText.NORMAL)  # fmt: skip
            self._publish(self._derive(replace(self._snapshot, state=State.SERVICE_CHOICE), self._clock()))

    def set_language(self, language: Language) -> None:
        """Switch the language on any screen without moving on."""
        if language not in self._config.ui.languages:
            raise ValueError(f"language {language!r} is not offered at this point")
        self.touch()
        self._publish(replace(self._snapshot, language=language))

    def set_text_size(self, size: LargeText) -> None:
        self.touch()
        if size is not LargeText.NORMAL:
            self._use(large_text_used=True)
        self._publish(replace(self._snapshot, text_size=size))

    def set_high_contrast(self, on: bool) -> None:
        self.touch()
        self._publish(replace(self._snapshot, high_contrast=on))

    def set_speech(self, on: bool) -> None:
        self.touch()
        if on:
            self._use(speech_used=True)
        self._publish(replace(self._snapshot, speech=on))

    def choose_producer(self, producer_id: str) -> None:
        """The customer picked a producer on the service choice; an unavailable one is refused."""
        self._require(State.SERVICE_CHOICE)
        option = next((o for o in self._snapshot.producers if o.producer.id == producer_id), None)
        if option is None:
            raise ValueError(f"producer {producer_id!r} is not offered at this point")
        if not option.available:
            raise ValueError(f"producer {producer_id!r} is not answering now")
        self.touch()
        self._publish(replace(self._snapshot, state=State.NOTICE, selected=option.producer, privacy_printout=None))

    def back(self) -> None:
        """Back one step: notice → service choice → idle (which ends the session)."""
        self.touch()
        if self.state is State.APPOINTMENT:
            self._publish(replace(self._snapshot, state=State.SERVICE_CHOICE, appointment=None))
        elif self.state is State.NOTICE:
            self._publish(replace(self._snapshot, state=State.SERVICE_CHOICE, selected=None))
        elif self.state is State.SERVICE_CHOICE:
            self._end_session("back")

    def privacy_printout(self, step: PrintoutStep) -> None:
        """The privacy information's printout the customer asked for on the notice screen (the controller
        prints it): under way, out, or failed. Shown only while the notice is."""
        if self.state is State.NOTICE:
            self.touch()
            self._publish(replace(self._snapshot, privacy_printout=step))

    def set_interpreter_need(self, language: str | None) -> None:
        """The customer needs an interpreter of ``language`` (one of ``ui.interpreter_languages``), or none."""
        self._require(State.SERVICE_CHOICE, State.NOTICE)
        if language is not None and language not in self._config.ui.interpreter_languages:
            raise ValueError(f"interpreter language {language!r} is not offered at this point")
        self.touch()
        self._publish(replace(self._snapshot, interpreter_need=language, interpreter_question=False))

    def ask_interpreter(self, shown: bool) -> None:
        """The customer opened (``True``) or left the interpreter question on the service choice."""
        self._require(State.SERVICE_CHOICE)
        self.touch()
        self._publish(replace(self._snapshot, interpreter_question=shown))

    def accept_notice(self) -> None:
        """The customer read what happens next; the controller now asks the switchboard for a place."""
        self._require(State.NOTICE)
        self._queued_at = self._monotonic()
        # Joining a queue is choosing the producer: from now on the visit has an outcome under its queue
        # (a new queue after giving up one replaces it: one visit, one outcome).
        self._attempt = self._snapshot.selected
        self._outcome, self._waited_s, self._answered_at = None, None, None
        self._publish(replace(self._snapshot, state=State.QUEUE, queue_position=None, queue_estimate_s=None,
                              queue_interrupted=False, transferred=False))

    def open_appointment(self) -> None:
        """"I have an appointment" on the service choice: the code screen with its keypad."""
        self._require(State.SERVICE_CHOICE)
        self.touch()
        self._publish(replace(self._snapshot, state=State.APPOINTMENT, appointment=Appointment(),
                              interpreter_question=False))

    def appointment_key(self, key: str) -> None:
        """A keypad press on the code screen: a digit, ``erase`` (the last digit) or ``clear``."""
        self._require(State.APPOINTMENT)
        self.touch()
        current = self._snapshot.appointment or Appointment()
        if current.step == "checking":
            return
        code = "" if current.step == "refused" else current.code  # a new try starts afresh
        if key == "erase":
            code = code[:-1]
        elif key == "clear":
            code = ""
        elif key.isdigit() and len(key) == 1 and len(code) < APPOINTMENT_CODE_DIGITS:
            code += key
        self._publish(replace(self._snapshot, appointment=Appointment(code=code)))

    def submit_appointment(self) -> None:
        """The customer confirmed the code: the controller asks the switchboard (:meth:`appointment_checked_in`
        or :meth:`appointment_refused` follows)."""
        self._require(State.APPOINTMENT)
        current = self._snapshot.appointment
        if current is None or current.step != "typing" or len(current.code) != APPOINTMENT_CODE_DIGITS:
            return
        self.touch()
        self._publish(replace(self._snapshot, appointment=replace(current, step="checking")))

    def appointment_checked_in(self, producer: Producer, start: dt.datetime) -> None:
        """The switchboard accepted the code: the customer waits, first in line, for ``producer``'s agent (the
        booked one when online). The notice was read when booking; the visit counts under that queue."""
        if self.state is not State.APPOINTMENT:
            return
        self._queued_at = self._monotonic()
        self._attempt = producer
        self._outcome, self._waited_s, self._answered_at = None, None, None
        self._publish(replace(self._snapshot, state=State.QUEUE, selected=producer, queue_position=None,
                              queue_estimate_s=None, queue_interrupted=False,
                              appointment=Appointment(step="checking", start=start)))

    def appointment_refused(self, reason: str, opens_at: dt.datetime | None = None,
                            start: dt.datetime | None = None) -> None:
        """The code was not accepted (``reason``): the screen says why and what to do; the customer may try again,
        go back to queue as a walk-in, or leave."""
        if self.state is State.APPOINTMENT:
            self._publish(replace(self._snapshot, appointment=Appointment(step="refused", refusal=reason,
                                                                          opens_at=opens_at, start=start)))

    def set_bookings_today(self, bookings: tuple[BookedSlot, ...]) -> None:
        """The day's bookings at this point, for the staff mode (time and producer only)."""
        self._publish(replace(self._snapshot, bookings_today=tuple(sorted(bookings, key=lambda b: b.start))))

    def cancel_queue(self) -> None:
        """The customer stopped waiting: back to the service choice (the controller tells the switchboard)."""
        self._require(State.QUEUE)
        self.touch()
        self._queue_ended("cancelled")
        self._publish(replace(self._snapshot, state=State.SERVICE_CHOICE, selected=None, queue_position=None,
                              appointment=None))

    def hang_up(self) -> None:
        """The customer pressed End; the controller hangs up the call and the survey follows."""
        self._require(State.CALL)
        self._call_over("hangup")

    def type_text(self, text: str, final: bool = False) -> None:
        """The customer's real-time text line as typed so far; ``final`` when they press Enter."""
        call = self._call()
        if text:
            self._use(text_used=True)
        if final:
            line = RttLine("customer", text, True)
            call = replace(call, transcript=(*call.transcript, line), customer_typing="")
        else:
            call = replace(call, customer_typing=text)
        self._publish(replace(self._snapshot, call=call))

    def rate(self, rating: int | None) -> None:
        """Survey answer 1–5, or ``None`` to skip; either way the session ends and is wiped."""
        self._require(State.SURVEY)
        if rating is not None and not 1 <= rating <= 5:
            raise ValueError("a rating is 1 to 5")
        self._snapshot = replace(self._snapshot, survey_rating=rating)
        self._end_session("hangup")

    # -- identification sub-flow (agent asks; customer inserts the card and types PIN1) -------------

    def identify_requested(self, card_present: bool) -> None:
        self._set_call(identify=Identify("enter_pin" if card_present else "insert_card"))
        self._use(identify_asked=True)

    def identity_result(self, ok: bool, reason: str | None) -> None:
        """The switchboard's verdict on the proof (or on the attempt the point ended): counted only. A
        customer who cancelled did not fail; anything else not accepted did."""
        if self._started is None or self.state not in (State.CALL, State.SURVEY):
            return
        if ok:
            self._identify_ok = True
        elif reason != "cancelled":
            self._identify_failed = True

    def card_inserted(self, tries_left: int | None) -> None:
        ident = self._call().identify
        if ident is None:
            return
        if ident.step in ("insert_card", "failed") and ident.error != "pin_blocked":
            self._set_call(identify=Identify("enter_pin", tries_left=tries_left))
        elif ident.step == "enter_pin":
            self._set_call(identify=replace(ident, tries_left=tries_left))

    def card_removed(self) -> None:
        ident = self._call().identify if self._snapshot.call else None
        if ident is None:
            return
        if ident.step in ("remove_card", "done"):
            self._set_call(identify=None)
        elif ident.step in ("enter_pin", "checking"):
            self._set_call(identify=Identify("insert_card", error="card_removed"))

    def pin_submitted(self) -> None:
        """The PIN went to the card (the controller holds it only for the APDU)."""
        ident = self._call().identify
        if ident is not None and ident.step == "enter_pin":
            self._set_call(identify=replace(ident, step="checking", error=None))

    def identify_failed(self, error: str, tries_left: int | None = None) -> None:
        """``wrong_pin`` lets the customer try again; anything else ends the attempt with a message."""
        ident = self._call().identify
        if ident is None:
            return
        step: IdentifyStep = "enter_pin" if error == "wrong_pin" and (tries_left or 0) > 0 else "failed"
        self._set_call(identify=Identify(step, tries_left=tries_left, error=error))
        if step == "failed":
            self._identify_failed = True

    def identify_done(self) -> None:
        self._set_call(identify=Identify("remove_card"))

    def cancel_identify(self) -> None:
        self._set_call(identify=None)

    # -- scan sub-flow ------------------------------------------------------------------------------------

    def scan_requested(self) -> None:
        self._set_call(scan=Scan("place_paper"))

    def scan_started(self) -> None:
        self._set_call(scan=Scan("scanning"))

    def scan_progress(self, pages: int, progress: float, preview: bytes | None = None) -> None:
        scan = self._call().scan or Scan("scanning")
        self._set_call(scan=replace(scan, step="scanning", pages=pages, progress=progress,
                                    preview=preview or scan.preview))

    def scan_ready(self, pages: int, preview: bytes | None, blank: int = 0) -> None:
        self._set_call(scan=Scan("preview", pages=pages, progress=1.0, preview=preview, blank=blank))

    def scan_sending(self) -> None:
        scan = self._call().scan
        if scan is not None:
            self._set_call(scan=replace(scan, step="sending"))

    def scan_sent(self) -> None:
        scan = self._call().scan
        self._set_call(scan=Scan("sent", pages=scan.pages if scan else 0))
        sent = (scan.pages - scan.blank) if scan else 0  # blank pages are left out of what is sent
        if sent > 0:
            self._use(scans=self._usage.scans + 1, scan_pages=self._usage.scan_pages + sent)

    def scan_failed(self, error: str, message: Text | None = None) -> None:
        scan = self._call().scan
        self._set_call(scan=Scan("failed", pages=scan.pages if scan else 0, error=error, message=message))

    def close_scan(self) -> None:
        self._set_call(scan=None)

    # -- print sub-flow --------------------------------------------------------------------------------

    def print_started(self, pages: int) -> None:
        scan = self._call().scan
        if scan is not None and scan.step in ("sent", "failed"):
            # A finished scan's notice gives way, so the customer sees the printout coming.
            self._set_call(scan=None)
        self._set_call(print_=Print("printing", pages=pages))

    def print_progress(self, pages_done: int) -> None:
        job = self._call().print_
        if job is not None:
            self._set_call(print_=replace(job, pages_done=pages_done))

    def print_stalled(self, error: str, message: Text | None = None) -> None:
        """The printer stopped with a fault (out of paper…); the job waits for the staff to fix it."""
        job = self._call().print_
        if job is not None:
            self._set_call(print_=replace(job, error=error, message=message))

    def print_done(self) -> None:
        job = self._call().print_
        self._set_call(print_=Print("done", pages=job.pages if job else 0, pages_done=job.pages if job else 0))
        if job is not None and job.pages > 0:
            self._use(prints=self._usage.prints + 1, print_pages=self._usage.print_pages + job.pages)

    def print_failed(self, error: str, message: Text | None = None) -> None:
        job = self._call().print_
        self._set_call(print_=Print("failed", pages=job.pages if job else 0, error=error, message=message))

    def close_print(self) -> None:
        self._set_call(print_=None)

    # -- events from the call engine -------------------------------------------------------------------

    def queue_update(self, position: int, estimate_s: int | None, language_agents: int | None = None) -> None:
        if self.state is State.QUEUE:
            self._publish(replace(self._snapshot, queue_position=position, queue_estimate_s=estimate_s,
                                  queue_language_agents=language_agents, queue_interrupted=False))

    def queue_connection(self, connected: bool) -> None:
        """The switchboard connection dropped (``False``) or is back while the customer waits."""
        if self.state is State.QUEUE and self._snapshot.queue_interrupted == connected:
            self._publish(replace(self._snapshot, queue_interrupted=not connected))

    def queue_left(self, reason: str) -> None:
        """The switchboard took the point out of the queue without a call (timeout, service closed)."""
        if self.state is State.QUEUE:
            self._queue_ended(reason)
            self._publish(replace(self._snapshot, state=State.SURVEY, end_reason=f"queue_{reason}",
                                  queue_position=None))
            self.touch()

    def call_answered(self) -> None:
        if self.state is State.QUEUE and self._snapshot.selected is not None:
            self._answered_at = self._monotonic()
            self._outcome = Outcome.SERVED
            self._waited_s = self._answered_at - self._queued_at if self._queued_at is not None else 0.0
            self._publish(replace(self._snapshot, state=State.CALL, call=Call(self._snapshot.selected)))

    def remote_text(self, text: str, final: bool) -> None:
        call = self._call()
        if text:
            self._use(text_used=True)
        if final:
            call = replace(call, transcript=(*call.transcript, RttLine("agent", text, True)), agent_typing="")
        else:
            call = replace(call, agent_typing=text)
        self._publish(replace(self._snapshot, call=call))

    def connection_trouble(self, trouble: str | None) -> None:
        """The call's media path broke and is being recovered (``reconnecting``), or is back (``None``)."""
        if self.state is State.CALL:
            self._set_call(trouble=trouble)

    def ask_share_identity(self, producer: Text) -> None:
        """A joint call: ask whether the identity the customer proved may be shown to ``producer``'s agent too."""
        if self.state is State.CALL:
            self._set_call(share_identity=ShareIdentity(producer))

    def agent_joined(self, producer: Text | None) -> None:
        """Another producer's agent joined the call (``None``: they left)."""
        if self.state is State.CALL:
            self._set_call(joined_agent=producer)

    def share_identity_answered(self) -> None:
        """The customer answered (the controller tells the switchboard only a yes), or the agent left."""
        if self.state is State.CALL and self._call().share_identity is not None:
            self._set_call(share_identity=None)

    def interpreter_changed(self, present: bool) -> None:
        self._set_call(interpreter=present)
        if present:
            self._use(interpreter_joined=True)

    def call_quality(self, summary: CallSummary | None) -> None:
        """The call's quality summary from the call engine, when the call is over (kept for the record)."""
        if summary is not None and self._outcome is Outcome.SERVED and self.state in (State.CALL, State.SURVEY):
            self._quality = summary

    def transferred(self, producer: Producer) -> None:
        """The agent transferred the customer to ``producer``'s queue: back to waiting, without choosing or
        reading a notice again; the switchboard placed them by when they first queued. The visit stays one
        session, counted by its last queue (as after giving up one queue for another)."""
        if self.state is not State.CALL:
            return
        self._attempt, self._queued_at = producer, self._monotonic()
        self._publish(replace(self._snapshot, state=State.QUEUE, selected=producer, call=None, transferred=True,
                              queue_position=None, queue_estimate_s=None, queue_language_agents=None,
                              queue_interrupted=False))

    def call_ended(self, reason: str) -> None:
        """The agent hung up, or the network could not be recovered (``reason`` is a message key)."""
        if self.state is State.CALL:
            self._call_over(reason)
        elif self.state is State.QUEUE:
            self.queue_left(reason)

    def set_producer_estimates(
        self,
        estimates: dict[str, int | None],
        agents_online: dict[str, int] | None = None,
        closed: frozenset[str] = frozenset(),
    ) -> None:
        """The switchboard's word per producer (``queue.estimates``): the expected wait, agents online, and
        the producers whose queue is closed now although the point's configuration says open."""
        self._estimates = dict(estimates)
        self._agents_online = dict(agents_online or {})
        self._closed_now = closed
        self._publish(self._derive(self._snapshot, self._clock()))

    # -- staff and ops -----------------------------------------------------------------------------------

    def open_staff_login(self) -> None:
        """The hidden staff gesture (or the staff key) on a screen without a customer."""
        if self.state in CUSTOMER_STATES:
            return
        self.touch()
        locked = self._staff_lockout.remaining() > 0
        error = "staff_locked" if locked else None
        self._publish(replace(self._snapshot, state=State.STAFF_LOGIN, staff_error=error, staff_locked=locked))

    @property
    def staff_locked_until(self) -> dt.datetime | None:
        """When (host-local) staff mode unlocks, or ``None`` when it is not locked."""
        left = self._staff_lockout.remaining()
        return self._clock() + dt.timedelta(seconds=left) if left > 0 else None

    def staff_pin(self, pin: str) -> bool:
        """Check the staff PIN; five wrong in a row lock staff mode, each lockout longer (staff_lockout.py)."""
        self._require(State.STAFF_LOGIN)
        self.touch()
        if self._staff_lockout.remaining() > 0:
            self._publish(replace(self._snapshot, staff_locked=True, staff_error="staff_locked"))
            return False
        if verify_pin(pin, self._config.staff.pin_hash):
            self._staff_lockout.succeeded()
            self._publish(replace(self._snapshot, state=State.STAFF, staff_error=None, staff_locked=False))
            return True
        if self._staff_lockout.failed() > 0:
            self._publish(replace(self._snapshot, staff_locked=True, staff_error="staff_locked"))
        else:
            self._publish(replace(self._snapshot, staff_error="staff_wrong_pin"))
        return False

    def leave_staff(self) -> None:
        if self.state in (State.STAFF, State.STAFF_LOGIN):
            self._publish(self._derive(replace(self._snapshot, state=State.IDLE, staff_error=None), self._clock()))

    def set_out_of_service(self, message: Text | str | None = None) -> None:
        """Staff or ops put the point out of use; a customer already being served finishes first."""
        self._out_of_service_on = True
        self._out_of_service = message
        self._publish(self._derive(self._snapshot, self._clock()))

    def back_in_service(self) -> None:
        self._out_of_service_on = False
        self._out_of_service = None
        self._publish(self._derive(self._snapshot, self._clock()))

    @property
    def out_of_service_text(self) -> Text | str | None:
        """The out-of-service message (``None`` when in service or set without one)."""
        return self._out_of_service if self._out_of_service_on else None

    def ask_for_help(self) -> None:
        """The customer pressed "ask for help" (any customer screen): the agent link passes it on."""
        self.touch()
        if self._snapshot.help_request != "sending":
            self._publish(replace(self._snapshot, help_request="sending"))

    def help_answered(self, told: bool) -> None:
        """The notifier accepted the help request (``told``), or it could not be passed on."""
        if self._snapshot.help_request == "sending" or (told and self._snapshot.help_request == "failed"):
            self._publish(replace(self._snapshot, help_request="told" if told else "failed"))

    def staff_coming(self) -> None:
        """A host's staff member pressed "I'm on it" in the host view: someone is on the way to the customer
        (a no-op without a request; a later acknowledgement of the e-mail does not take it back)."""
        if self._snapshot.help_request not in (None, "coming"):
            self._publish(replace(self._snapshot, help_request="coming"))

    def set_staff_told(self, devices: tuple[str, ...]) -> None:
        """Devices whose fault the host's staff were told of (the notifier accepted the alert)."""
        self._publish(replace(self._snapshot, staff_told=tuple(sorted(devices))))

    def set_unavailable_devices(self, devices: tuple[str, ...]) -> None:
        """Device health changed: these devices cannot be used now (shown to customers as such)."""
        self._publish(replace(self._snapshot, unavailable_devices=tuple(sorted(devices))))

    def reset(self) -> None:
        """End the customer's session now (staff, crash recovery): wipe and back to idle."""
        self._end_session("reset")

    # -- internals -------------------------------------------------------------------------------------

    def _require(self, *states: State) -> None:
        if self.state not in states:
            wanted = " or ".join(s.value for s in states)
            raise RuntimeError(f"not possible in state {self.state.value} (only in {wanted})")

    def _call(self) -> Call:
        call = self._snapshot.call
        if self.state is not State.CALL or call is None:
            raise RuntimeError(f"no call in progress (state {self.state.value})")
        return call

    def _set_call(self, **changes: object) -> None:
        self._publish(replace(self._snapshot, call=replace(self._call(), **changes)))  # type: ignore[arg-type]

    def _call_over(self, reason: str) -> None:
        self.touch()
        self._call_ended_at = self._monotonic()
        self._publish(replace(self._snapshot, state=State.SURVEY, end_reason=reason))

    def _use(self, **used: object) -> None:
        """Note what the visit under way used (nothing outside a visit: the idle screen's settings are
        taken when the visit starts)."""
        if self._started is not None:
            self._usage = replace(self._usage, **used)  # type: ignore[arg-type]

    def _queue_ended(self, reason: str) -> None:
        """The queue ended without a call: the outcome, and how long the customer had waited."""
        self._outcome = QUEUE_END_OUTCOMES.get(reason, Outcome.TECHNICAL_FAILURE)
        self._waited_s = self._monotonic() - self._queued_at if self._queued_at is not None else 0.0
        self._queued_at = None

    def _record(self) -> None:
        """The visit's one record, to the record listeners (at its end, before the wipe)."""
        now = self._monotonic()
        started = self._started or self._clock()
        attempt, outcome = self._attempt, self._outcome
        if attempt is not None and outcome is None:
            # Still queued when the visit ended (the app stopping, staff's reset): the point's failure.
            self._queue_ended("unavailable")
            outcome = self._outcome
        if attempt is None or outcome is None:
            record = SessionRecord(Outcome.LEFT_BEFORE_CHOOSING, started, None, None, None, None, None, self._usage)
        else:
            served = outcome is Outcome.SERVED
            call_s = None
            if served and self._answered_at is not None:
                call_s = round((self._call_ended_at or now) - self._answered_at)
            usage = replace(self._usage, identify_succeeded=self._identify_ok,
                            identify_failed=self._identify_failed and not self._identify_ok)  # fmt: skip
            record = SessionRecord(
                outcome=outcome,
                started=started,
                producer=attempt.id,
                queue=attempt.queue,
                waited_s=round(self._waited_s or 0.0),
                call_s=call_s,
                rating=self._snapshot.survey_rating if served else None,
                usage=usage,
                quality=self._quality if served else None,
            )
        for listener in list(self._record_listeners):
            listener(record)

    def _end_session(self, reason: str) -> None:
        if self._snapshot.state in CUSTOMER_STATES:
            self._record()
            self._count_session()
        self._wipe()

    def _count_session(self) -> None:
        today = self._clock().date()
        count = self._snapshot.sessions_today if today == self._sessions_day else 0
        self._sessions_day = today
        self._snapshot = replace(self._snapshot, sessions_today=count + 1)

    def _wipe(self) -> None:
        """Forget everything of the customer's; tell the wipe listeners to clear the rest."""
        self._queued_at = None
        self._answered_at = None
        self._started, self._usage, self._outcome, self._attempt = None, Usage(), None, None
        self._waited_s, self._call_ended_at, self._quality = None, None, None
        self._identify_ok = self._identify_failed = False
        self._snapshot = replace(
            self._snapshot,
            state=State.IDLE,
            language=self._config.ui.default_language,
            text_size=LargeText.NORMAL,
            high_contrast=False,
            speech=False,
            selected=None,
            queue_position=None,
            queue_estimate_s=None,
            queue_language_agents=None,
            interpreter_need=None,
            interpreter_question=False,
            queue_interrupted=False,
            transferred=False,
            appointment=None,
            call=None,
            end_reason=None,
            survey_rating=None,
            timeout_warning=None,
            staff_error=None,
            help_request=None,
        )
        for listener in list(self._wipe_listeners):
            listener()
        self._publish(self._derive(self._snapshot, self._clock()), force=True)

    def _producer_options(self, now: dt.datetime) -> tuple[ProducerOption, ...]:
        options = []
        for p in self._config.producers:
            available = p.service_hours.is_open(now) and p.id not in self._closed_now
            options.append(
                ProducerOption(
                    producer=p,
                    hours_today=tuple(opening.periods_on(p.service_hours, now.date())),
                    available=available,
                    next_opening=None if available else opening.next_opening(p.service_hours, now),
                    estimate_s=self._estimates.get(p.id),
                    agents_online=self._agents_online.get(p.id),
                )
            )
        return tuple(options)

    def _derive(self, snap: Snapshot, now: dt.datetime) -> Snapshot:
        schedule = self._config.host.opening_hours
        state = snap.state
        if state in (State.IDLE, State.CLOSED, State.OUT_OF_SERVICE):
            if self._out_of_service_on:
                state = State.OUT_OF_SERVICE
            elif not opening.is_open(schedule, now):
                state = State.CLOSED
            else:
                state = State.IDLE
        return replace(
            snap,
            state=state,
            today=now.date(),
            hours_today=tuple(opening.periods_on(schedule, now.date())),
            next_opening=opening.next_opening(schedule, now) if state is State.CLOSED else None,
            out_of_service_message=self._out_of_service if self._out_of_service_on else None,
            producers=self._producer_options(now),
            timeout_warning=snap.timeout_warning if state in TIMED_STATES else None,
        )

    def _publish(self, snap: Snapshot, force: bool = False) -> None:
        if snap == self._snapshot and not force:
            return
        self._snapshot = snap
        for listener in list(self._listeners):
            listener(snap)
