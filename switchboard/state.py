"""The switchboard's shared state behind one interface: queues, calls, desk sessions, nonces, login failures.

Live WebSocket connections belong to one process and stay in :mod:`switchboard.hub`; everything another
instance behind a load balancer would need to see goes through :class:`StateStore`. :class:`MemoryState` is the
embedded default; a Redis implementation (sorted sets for queues, ``SET NX`` for taking a ticket and a
nonce, key expiry for sessions) fits the same methods. Methods are ``async`` for that reason even though
the memory implementation never waits — which also makes each of its methods atomic in one event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from etapiste.codes import CallTransferReasonCode
from etapiste.language import Language
from switchboard.appointments import BookingStore, MemoryBookings
from switchboard.rooms_state import MemoryRooms, RoomStore


@dataclass
class Ticket:
    """A point waiting in a queue. Holds no personal data: the customer is only "someone at this point"."""

    id: str
    point: str
    producer: str
    queue: str
    language: Language
    since: float
    interpreter: str | None = None
    """The interpreter language the customer said they need before queueing (``fi-sign``, ``ar``…)."""
    appointment_start: float | None = None
    """The booked time of the appointment this customer checked in for (:mod:`switchboard.appointments`):
    they wait at the front of the queue."""
    reserved_for: str | None = None
    """The username of the booked agent, while online: only their desk is offered the ticket."""
    transferred_from: str | None = None
    """The producer whose agent transferred the customer here (issue 22); ``since`` is then when they first
    queued there, so the transfer keeps their priority."""
    transfer_reason: CallTransferReasonCode | None = None
    """Why, from the fixed list (never free text)."""
    joined: float | None = None
    """When the ticket joined this queue, if later than ``since`` (a transfer): the queue's timeout counts
    from here, not from the customer's first queueing."""

    @property
    def in_queue_since(self) -> float:
        """When this queue's wait began (its timeout counts from here)."""
        return self.since if self.joined is None else self.joined


@dataclass
class Call:
    id: str
    point: str
    agent: str
    """Participant id of the answering agent's desk connection."""
    producer: str
    queue: str
    language: Language
    started: float
    interpreters: list[str] = field(default_factory=list)
    """Who joined after the answer, in joining order: interpreters and, in a joint call (issue 22), agents of
    another producer. They leave alone; the point or the answering agent ends the call."""
    joined_producers: dict[str, str] = field(default_factory=dict)
    """For each agent who joined (a joint call): the producer they serve the customer for."""
    ticket: str | None = None
    """The queue ticket the call was answered from (a point that was away when answered resumes by it)."""
    connected: bool = False
    """Whether the agent has answered the point's offer; a call that never gets there is ended by the sweep."""
    queued_since: float | None = None
    """When the customer first queued (the answered ticket's ``since``): a transfer places them by it."""
    interpreter: str | None = None
    """The interpreter need the customer gave before queueing (the answered ticket's): a transfer carries it
    on, so the receiving agents know it too without asking the customer again."""

    def producer_of(self, agent: str) -> str:
        """The producer the agent (participant id) serves the customer for: a joint call's joined agent their
        own, the answering agent the call's. What an agent sends out in the call names this one."""
        return self.joined_producers.get(agent, self.producer)

    @property
    def participants(self) -> list[str]:
        """In joining order: the point, the agent, then those who joined (earlier ones offer to later ones)."""
        return [self.point, self.agent, *self.interpreters]


@dataclass
class DeskSession:
    """An agent's login at the desk (the cookie's token), not a customer's visit (:class:`kiosk.session.Session`)."""

    token: str
    username: str
    expires: float


@dataclass
class Nonce:
    """A Web eID challenge: single use, bound to one call and one request, dead after ``expires``."""

    value: str
    request: str
    call: str
    agent: str
    expires: float


@dataclass
class LoginRecord:
    """What the switchboard remembers of logins for one key: a (username, address) pair or an address."""

    attempts: list[float] = field(default_factory=list)
    """Times of recent attempts not known to have succeeded: failures, and those still being checked."""
    locked_until: float = 0.0
    strikes: int = 0
    """Locks so far; the next one lasts twice as long as the last (growing back-off)."""


@dataclass
class Invite:
    """An open invitation into a call: to interpreters, or to another producer's agents (a joint call)."""

    id: str
    call: str
    language: str | None
    interpreters: list[str]
    """The participant ids it was sent to: only they may accept (interpreters, or agents for a joint call)."""
    producer: str | None = None
    """The invited producer for an agent invitation (issue 22); ``None`` for an interpreter invitation."""


class StateStore(BookingStore, RoomStore, Protocol):
    """Where the switchboard keeps what every instance must see; not the kiosk's journey steps
    (:class:`kiosk.session.State`)."""

    # queues
    async def enqueue(self, ticket: Ticket) -> None: ...
    async def take_ticket(self, ticket_id: str) -> Ticket | None:
        """Remove and return the ticket; ``None`` when gone (two agents accepting: exactly one gets it)."""
        ...

    async def ticket_of_point(self, point: str) -> Ticket | None: ...
    async def ticket(self, ticket_id: str) -> Ticket | None:
        """One waiting ticket, without reading the others (an agent answering reads only this one)."""
        ...

    async def tickets(self, queue: str) -> list[Ticket]:
        """Oldest first."""
        ...

    async def all_tickets(self) -> list[Ticket]: ...
    # calls
    async def put_call(self, call: Call) -> None: ...
    async def get_call(self, call_id: str) -> Call | None: ...
    async def known_call(self, call_id: str) -> Call | None:
        """The call as this instance knows it, for checks made on every relayed signalling frame: without a
        round trip to Redis while no instance has changed it (:mod:`switchboard.known_calls`). Whatever
        changes the call reads it with :meth:`get_call`."""
        ...

    async def mark_connected(self, call_id: str) -> None:
        """The agent has answered the point's offer: the call is connected. Read and written in one step, so
        whoever joined or left meanwhile is kept (and in one round trip: every call does it once)."""
        ...

    async def drop_call(self, call_id: str) -> Call | None: ...
    async def end_call(self, call: Call, at: float) -> Call | None:
        """End ``call`` once (:meth:`drop_call`) and, if this was the end, count its length (``at`` less its
        start) for its queue's estimate in the same step: whoever ends it counts it, exactly once. Returns the
        call as stored when it ended; ``None`` if it had ended already."""
        ...

    async def calls(self) -> list[Call]: ...
    async def record_call_duration(self, queue: str, seconds: float) -> None: ...
    async def average_call_s(self, queue: str) -> float | None: ...
    # desk sessions
    async def put_session(self, session: DeskSession) -> None: ...
    async def get_session(self, token: str) -> DeskSession | None: ...
    async def drop_session(self, token: str) -> None: ...
    async def sessions(self) -> list[DeskSession]: ...
    # identity nonces
    async def put_nonce(self, nonce: Nonce) -> None: ...
    async def take_nonce(self, request: str) -> Nonce | None:
        """Remove and return: a nonce can be used once, whatever the outcome."""
        ...

    async def drop_expired_nonces(self, now: float) -> None: ...
    async def drop_call_nonces(self, call: str) -> None: ...
    # interpreter invitations
    async def put_invite(self, invite: Invite) -> None: ...
    async def take_invite(self, invite_id: str) -> Invite | None: ...
    async def invites(self) -> list[Invite]: ...
    # login rate-limiting: every attempt is counted *before* its password is checked, so concurrent
    # attempts cannot all slip under the limit; each method is atomic (a Lua script in Redis).
    async def login_attempt(self, key: str, at: float, since: float) -> LoginRecord:
        """Unless ``key`` is locked at ``at``, record an attempt at ``at``; forget attempts before ``since``.
        Returns a copy of the record as it then is (a locked key's ``locked_until`` is after ``at``)."""
        ...

    async def forget_login_attempt(self, key: str, at: float) -> None:
        """Drop the attempt recorded at ``at``: it succeeded, or it was never checked."""
        ...

    async def lock_login(self, key: str, at: float, first_s: float, max_s: float, forget_s: float) -> float:
        """Lock ``key`` from ``at`` and forget its attempts. The first lock lasts ``first_s``, each further
        one twice the one before, at most ``max_s``; strikes older than ``forget_s`` after the last lock
        ended are forgotten. Returns when the lock ends."""
        ...

    async def clear_login_failures(self, key: str) -> None:
        """Forget everything about ``key`` (a successful login of that name from that address)."""
        ...

    async def drop_idle_logins(self, since: float, strikes_since: float) -> None:
        """Forget keys with no attempt since ``since`` and no lock ending after ``strikes_since``, so
        guesses at made-up names do not fill memory (Redis: key expiry)."""
        ...


class MemoryState(MemoryBookings, MemoryRooms):
    """:class:`StateStore` in this process's memory: the default for one switchboard instance."""

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._calls: dict[str, Call] = {}
        self._durations: dict[str, list[float]] = {}
        self._sessions: dict[str, DeskSession] = {}
        self._nonces: dict[str, Nonce] = {}
        self._invites: dict[str, Invite] = {}
        self._logins: dict[str, LoginRecord] = {}

    async def enqueue(self, ticket: Ticket) -> None:
        self._tickets[ticket.id] = ticket

    async def take_ticket(self, ticket_id: str) -> Ticket | None:
        return self._tickets.pop(ticket_id, None)

    async def ticket_of_point(self, point: str) -> Ticket | None:
        return next((t for t in self._tickets.values() if t.point == point), None)

    async def ticket(self, ticket_id: str) -> Ticket | None:
        return self._tickets.get(ticket_id)

    async def tickets(self, queue: str) -> list[Ticket]:
        return sorted((t for t in self._tickets.values() if t.queue == queue), key=lambda t: t.since)

    async def all_tickets(self) -> list[Ticket]:
        return sorted(self._tickets.values(), key=lambda t: t.since)

    async def put_call(self, call: Call) -> None:
        self._calls[call.id] = call

    async def get_call(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    async def known_call(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    async def mark_connected(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            call.connected = True

    async def drop_call(self, call_id: str) -> Call | None:
        return self._calls.pop(call_id, None)

    async def end_call(self, call: Call, at: float) -> Call | None:
        ended = self._calls.pop(call.id, None)
        if ended is not None:
            await self.record_call_duration(ended.queue, at - ended.started)
        return ended

    async def calls(self) -> list[Call]:
        return list(self._calls.values())

    async def record_call_duration(self, queue: str, seconds: float) -> None:
        recent = self._durations.setdefault(queue, [])
        recent.append(seconds)
        del recent[:-20]

    async def average_call_s(self, queue: str) -> float | None:
        recent = self._durations.get(queue)
        return sum(recent) / len(recent) if recent else None

    async def put_session(self, session: DeskSession) -> None:
        self._sessions[session.token] = session

    async def get_session(self, token: str) -> DeskSession | None:
        return self._sessions.get(token)

    async def drop_session(self, token: str) -> None:
        self._sessions.pop(token, None)

    async def sessions(self) -> list[DeskSession]:
        return list(self._sessions.values())

    async def put_nonce(self, nonce: Nonce) -> None:
        self._nonces[nonce.request] = nonce

    async def take_nonce(self, request: str) -> Nonce | None:
        return self._nonces.pop(request, None)

    async def drop_expired_nonces(self, now: float) -> None:
        for key in [k for k, n in self._nonces.items() if n.expires < now]:
            del self._nonces[key]

    async def drop_call_nonces(self, call: str) -> None:
        for key in [k for k, n in self._nonces.items() if n.call == call]:
            del self._nonces[key]

    async def put_invite(self, invite: Invite) -> None:
        self._invites[invite.id] = invite

    async def take_invite(self, invite_id: str) -> Invite | None:
        return self._invites.pop(invite_id, None)

    async def invites(self) -> list[Invite]:
        return list(self._invites.values())

    async def login_attempt(self, key: str, at: float, since: float) -> LoginRecord:
        record = self._logins.setdefault(key, LoginRecord())
        record.attempts = [t for t in record.attempts if t >= since]
        if record.locked_until <= at:
            record.attempts.append(at)
        return LoginRecord(list(record.attempts), record.locked_until, record.strikes)

    async def forget_login_attempt(self, key: str, at: float) -> None:
        record = self._logins.get(key)
        if record is not None and at in record.attempts:
            record.attempts.remove(at)

    async def lock_login(self, key: str, at: float, first_s: float, max_s: float, forget_s: float) -> float:
        record = self._logins.setdefault(key, LoginRecord())
        if record.strikes and at - record.locked_until > forget_s:
            record.strikes = 0
        record.strikes += 1
        record.locked_until = max(record.locked_until, at + min(max_s, first_s * 2 ** (record.strikes - 1)))
        record.attempts = []
        return record.locked_until

    async def clear_login_failures(self, key: str) -> None:
        self._logins.pop(key, None)

    async def drop_idle_logins(self, since: float, strikes_since: float) -> None:
        for key in [
            k
            for k, r in self._logins.items()
            if all(t < since for t in r.attempts) and (r.strikes == 0 or r.locked_until < strikes_since)
        ]:
            del self._logins[key]
