"""The switchboard's logic: who is connected, queues, calls and their signalling relay, interpreters, identity.

Independent of aiohttp: a connection is anything with ``send(text)`` and ``close()``, so the protocol can be
driven in tests and benchmarks without sockets. Every frame goes through :meth:`Hub.handle`, which validates
it with :mod:`etapiste.protocol`, checks that the sender's role may send it, and answers anything wrong with
an ``error`` frame and a log line — never an exception out of the connection's loop.

Logs carry ids, types and codes only: never a name, SATU, token or SDP (which holds addresses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from etapiste import protocol as p
from switchboard.config import QueueConfig, SwitchboardConfig, User
from switchboard.credentials import verify_point_credential
from switchboard.identity import Holder, ProofRejected, ProofValidator, new_nonce
from switchboard.state import Call, Invite, MemoryState, Nonce, State, Ticket
from switchboard.turn import ice_servers

log = logging.getLogger("switchboard")

Clock = Callable[[], float]
#: Seconds an agent's answer is expected to take once a customer is first in line with free agents.
ANSWER_ESTIMATE_S = 30
#: A call whose point and agent have not exchanged offer and answer by then is ended (``setup_failed``),
#: so neither side waits for ever on a peer that crashed between accepting and offering.
CALL_SETUP_TIMEOUT_S = 45
#: Frames kept for a participant whose connection dropped mid-call (offers, answers, ICE, identity…), sent
#: when it comes back. A call's signalling is a few dozen frames; the cap bounds a peer that never returns.
MAX_HELD_FRAMES = 256


class Connection(Protocol):
    async def send(self, text: str) -> None: ...
    async def close(self) -> None: ...


@dataclass(eq=False)
class Participant:
    """One live connection: a point, or a desk (agent, interpreter, organiser)."""

    id: str
    role: p.Role
    name: str
    principal: str
    """The point's id or the desk user's username (for logs and rate-limits; never shown to customers)."""
    conn: Connection
    session: str | None = None
    producers: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    call: str | None = None
    sent: int = field(default=0)
    away_since: float | None = None
    """When this participant's connection dropped mid-call; the call is held for it until the grace ends."""
    held: list[str] = field(default_factory=list)
    """Frames for it while away, delivered in order when it comes back."""

    async def send(self, message: BaseModel) -> None:
        await self.send_text(p.encode(message))

    async def send_text(self, text: str) -> None:
        if self.away_since is not None:
            if len(self.held) < MAX_HELD_FRAMES:
                self.held.append(text)
            elif len(self.held) == MAX_HELD_FRAMES:
                log.warning("%s %s is away and %d frames wait for it: later ones are dropped", self.role, self.id,
                            MAX_HELD_FRAMES)
                self.held.append("")  # marks the warning as given; skipped on delivery
            return
        try:
            await self.conn.send(text)
            self.sent += 1
        except Exception as exc:  # a peer that vanished mid-send is cleaned up by its own loop
            log.info("send to %s failed: %s", self.id, type(exc).__name__)


class Hub:
    def __init__(
        self,
        config: SwitchboardConfig,
        state: State | None = None,
        clock: Clock = time.time,
        validator: ProofValidator | None = None,
    ):
        self.config = config
        self.state: State = state or MemoryState()
        self.clock = clock
        self.validator = validator
        self.participants: dict[str, Participant] = {}
        self.points: dict[str, Participant] = {}
        self._queues: dict[str, tuple[str, QueueConfig]] = {
            q.id: (prod.id, q) for prod in config.producers for q in prod.queues
        }
        self._point_places = {pt.id: pt.place for pt in config.points}
        self._point_hashes = {pt.id: pt.credential_hash for pt in config.points}
        self.users: dict[str, User] = {u.username: u for u in config.users}
        self._dirty: set[str] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[Participant, Any], Awaitable[None]]] = {
            "queue.request": self._queue_request,
            "queue.cancel": self._queue_cancel,
            "queue.accept": self._queue_accept,
            "signal.offer": self._relay,
            "signal.answer": self._relay,
            "signal.ice": self._relay,
            "call.hangup": self._hangup,
            "interpreter.invite": self._interpreter_invite,
            "interpreter.accept": self._interpreter_accept,
            "identity.start": self._identity_start,
            "identity.proof": self._identity_proof,
            "identity.abort": self._identity_abort,
        }

    # ---------------------------------------------------------------------------------------------- connect

    async def connect_point(self, hello: p.PointHello, conn: Connection) -> Participant | p.Error:
        if hello.protocol not in p.SUPPORTED_VERSIONS:
            return p.Error(code="unsupported_version", message=f"protocol {hello.protocol} is not spoken here")
        stored = self._point_hashes.get(hello.point)
        if stored is None or not verify_point_credential(hello.credential, stored):
            log.warning("point hello refused: unknown point or wrong credential (claimed %s)", hello.point)
            return p.Error(code="unauthorised", message="unknown point or wrong credential")
        old = self.points.get(hello.point)
        if old is not None:
            if await self._point_may_resume(old, hello):
                return await self._resume(old, conn)
            log.info("point %s reconnected; the old connection is closed", hello.point)
            await old.send(p.Error(code="not_allowed", message="replaced by a newer connection of this point"))
            await self.disconnect(old, hold=False)
            self._close_later(old.conn)
        part = Participant(
            id=f"point-{hello.point}",
            role="point",
            name=self._point_places.get(hello.point, hello.point),
            principal=hello.point,
            conn=conn,
        )
        self.participants[part.id] = part
        self.points[hello.point] = part
        await part.send(self._welcome(part))
        log.info("point %s online", hello.point)
        return part

    async def connect_desk(self, hello: p.DeskHello, token: str | None, conn: Connection) -> Participant | p.Error:
        if hello.protocol not in p.SUPPORTED_VERSIONS:
            return p.Error(code="unsupported_version", message=f"protocol {hello.protocol} is not spoken here")
        user = await self.session_user(token or hello.session)
        if user is None:
            return p.Error(code="session_expired", message="log in again")
        held = self.participants.get(hello.resume) if hello.resume else None
        if held is not None and held.role != "point" and held.principal == user.username:
            if hello.call is not None and held.call == hello.call and await self.state.get_call(hello.call):
                held.session = token or hello.session
                part = await self._resume(held, conn)
                if part.role == "agent":
                    await part.send(await self._snapshot(part))
                return part
            if held.away_since is not None:  # it came back without the call it was held for
                await self.disconnect(held, hold=False)
        part = Participant(
            id=f"desk-{secrets.token_hex(6)}",
            role=user.role,
            name=user.name,
            principal=user.username,
            conn=conn,
            session=token or hello.session,
            producers=frozenset(user.producers),
            languages=frozenset(user.languages),
        )
        self.participants[part.id] = part
        await part.send(self._welcome(part))
        if part.role == "agent":
            await part.send(await self._snapshot(part))
            await self._agents_changed(part)
        log.info("desk %s online as %s", part.id, part.role)
        return part

    async def _point_may_resume(self, old: Participant, hello: p.PointHello) -> bool:
        """Whether ``hello`` comes back to what the switchboard holds for this point: its call, or its place
        in the queue — or the call an agent answered that place with while the point was away."""
        if hello.call is not None and old.call == hello.call:
            return await self.state.get_call(hello.call) is not None
        if hello.ticket is None:
            return False
        ticket = await self.state.ticket_of_point(old.principal)
        if ticket is not None:
            return ticket.id == hello.ticket
        call = await self.state.get_call(old.call) if old.call is not None else None
        return call is not None and call.ticket == hello.ticket

    def _welcome(self, part: Participant, ticket: str | None = None) -> p.Welcome:
        servers, ttl = ice_servers(self.config, part.id, self.clock(), role=part.role)
        return p.Welcome(
            role=part.role,
            you=part.id,
            name=part.name,
            ice_servers=servers,
            ice_ttl_s=ttl,
            origin=self.config.origin,
            call=part.call,
            ticket=ticket,
            rejoin_grace_s=self.config.rejoin_grace_s,
            server_time=self.clock(),
        )

    async def _resume(self, part: Participant, conn: Connection) -> Participant:
        """``part`` came back on ``conn`` into the call it is still in: same participant id, so the other
        participants' peer connections and their signalling stay addressed to it; held frames follow."""
        previous, part.conn = part.conn, conn
        was_away, part.away_since = part.away_since is not None, None
        held, part.held = part.held, []
        if not was_away:
            # The old socket still looked alive here (its heartbeat had not run out) but the participant
            # has given up on it; closing it later is harmless because it is no longer ``part.conn``.
            self._close_later(previous)
        ticket = await self.state.ticket_of_point(part.principal) if part.role == "point" else None
        await part.send(self._welcome(part, ticket.id if ticket else None))
        for text in held:
            if text:
                await part.send_text(text)
        if ticket is not None:
            await self._queue_changed(ticket.queue)  # its position again, and agents see it is back
        log.info("%s %s came back (call %s, queued %s, %d held frames)", part.role, part.id, part.call,
                 ticket is not None, len(held))
        return part

    def _close_later(self, conn: Connection) -> None:
        """Close a connection without waiting for it: a half-open socket's closing handshake can take
        seconds, and nobody else's frames should wait for that."""
        task = asyncio.get_running_loop().create_task(conn.close())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def session_user(self, token: str | None) -> User | None:
        if not token:
            return None
        session = await self.state.get_session(token)
        if session is None:
            return None
        if session.expires <= self.clock():
            await self.state.drop_session(token)
            return None
        return self.users.get(session.username)

    async def disconnect(self, part: Participant, conn: Connection | None = None, *, hold: bool = True) -> None:
        """``part``'s connection (``conn``, when given) is gone. A participant in a call, or a point in a
        queue, is held for ``rejoin_grace_s`` first (``hold``), so a network cut neither ends the call nor
        costs the customer their place; the sweep lets go of them if they do not come back in time."""
        if self.participants.get(part.id) is not part:
            return
        if conn is not None and part.conn is not conn:
            return  # an old connection closing after the participant came back on a new one
        ticket = await self.state.ticket_of_point(part.principal) if part.role == "point" else None
        if hold and (part.call or ticket) and part.away_since is None and self.config.rejoin_grace_s > 0:
            part.away_since = self.clock()
            log.info("%s %s lost its connection (call %s, queued %s); holding them %d s for it",
                     part.role, part.id, part.call, ticket is not None, self.config.rejoin_grace_s)
            if ticket is not None:
                await self._queue_changed(ticket.queue)  # agents see the customer's point reconnecting
            return
        del self.participants[part.id]
        if part.role == "point" and self.points.get(part.principal) is part:
            del self.points[part.principal]
            if ticket is not None:
                await self.state.take_ticket(ticket.id)
                await self._queue_changed(ticket.queue)
        if part.call is not None:
            call = await self.state.get_call(part.call)
            if call is not None:
                if part.role == "interpreter":
                    await self._interpreter_leaves(call, part)
                else:
                    await self._end_call(call, "point_gone" if part.role == "point" else "agent_gone", part.role)
        if part.role == "agent":
            await self._agents_changed(part)
        log.info("%s %s offline", part.role, part.id)

    # ---------------------------------------------------------------------------------------------- frames

    async def handle(self, part: Participant, raw: str | bytes) -> None:
        """Validate and act on one frame from ``part``; every failure becomes an ``error`` reply."""
        try:
            await self._handle(part, raw)
        except Exception:  # a bug must cost one frame, never the connection or the service
            log.exception("frame from %s could not be handled", part.id)
            await part.send(p.Error(code="internal", message="the switchboard failed; try again"))

    async def _handle(self, part: Participant, raw: str | bytes) -> None:
        try:
            msg = p.parse_signal(raw)
        except p.ProtocolError as exc:
            log.warning("%s %s sent a bad frame: %s", part.role, part.id, exc.code)
            await part.send(exc.reply())
            return
        if msg.type not in p.SENDS[part.role]:
            log.warning("%s %s sent %s, which its role may not send", part.role, part.id, msg.type)
            await part.send(p.Error(code="not_allowed", message=f"a {part.role} may not send {msg.type}", ref=msg.ref))
            return
        handler = self._handlers.get(msg.type)
        if handler is None:  # a second hello
            await part.send(p.Error(code="not_allowed", message="already said hello", ref=msg.ref))
            return
        try:
            await handler(part, msg)
        except Exception:
            log.exception("handling %s from %s failed", msg.type, part.id)
            await part.send(p.Error(code="internal", message="the switchboard failed; try again", ref=msg.ref))

    async def _error(self, part: Participant, msg: Any, code: str, message: str) -> None:
        log.info("%s %s: %s refused: %s", part.role, part.id, msg.type, code)
        await part.send(p.Error.model_validate({"code": code, "message": message, "ref": msg.ref}))

    # ---------------------------------------------------------------------------------------------- queues

    def queue_open(self, queue: QueueConfig) -> bool:
        return queue.service_hours.is_open(self.config.local(self.clock()))

    async def _queue_request(self, part: Participant, msg: p.QueueRequest) -> None:
        entry = self._queues.get(msg.queue)
        if entry is None or entry[0] != msg.producer:
            return await self._error(part, msg, "unknown_queue", f"no queue {msg.queue} of {msg.producer}")
        if part.call is not None or await self.state.ticket_of_point(part.principal) is not None:
            return await self._error(part, msg, "already_queued", "this point is already queued or in a call")
        if not self.queue_open(entry[1]):
            return await self._error(part, msg, "queue_closed", f"{msg.queue} is outside its service hours")
        ticket = Ticket(
            id=f"t-{secrets.token_hex(6)}",
            point=part.principal,
            producer=msg.producer,
            queue=msg.queue,
            language=msg.language,
            since=self.clock(),
        )
        await self.state.enqueue(ticket)
        log.info("point %s queued in %s as %s", part.principal, msg.queue, ticket.id)
        await self._queue_changed(msg.queue)

    async def _queue_cancel(self, part: Participant, msg: p.QueueCancel) -> None:
        ticket = await self.state.ticket_of_point(part.principal)
        if ticket is None:
            return await self._error(part, msg, "ticket_gone", "this point is not queued")
        await self._leave_queue(ticket, "cancelled")

    async def _leave_queue(self, ticket: Ticket, reason: str) -> None:
        if await self.state.take_ticket(ticket.id) is None:
            return
        point = self.points.get(ticket.point)
        if point is not None:
            await point.send(p.QueueLeft.model_validate({"ticket": ticket.id, "reason": reason}))
        log.info("ticket %s left %s: %s", ticket.id, ticket.queue, reason)
        await self._queue_changed(ticket.queue)

    def _agents(self, producer: str) -> list[Participant]:
        return [a for a in self.participants.values() if a.role == "agent" and producer in a.producers]

    async def estimate(self, queue: str, position: int) -> tuple[int | None, int]:
        """Seconds until ``position`` is likely answered, and the agents online (``None`` if none)."""
        producer, qconf = self._queues[queue]
        agents = self._agents(producer)
        if not agents:
            return None, 0
        free = sum(1 for a in agents if a.call is None)
        if position <= free:
            return ANSWER_ESTIMATE_S, len(agents)
        average = await self.state.average_call_s(queue) or qconf.average_call_s
        return int(math.ceil((position - free) / len(agents)) * average), len(agents)

    async def _queue_changed(self, queue: str) -> None:
        """Mark ``queue`` changed; its points and agents are told once the current burst has been handled.

        Coalescing matters under load: 500 points asking at once would otherwise push 500 snapshots to each
        agent and 500 position updates to each waiting point (quadratic); the benchmark shows the difference.
        """
        self._dirty.add(queue)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let frames already received change the queues first
        while self._dirty:
            queues, self._dirty = self._dirty, set()
            for queue in queues:
                await self._send_positions(queue)
            producers = {self._queues[q][0] for q in queues}
            snapshots: dict[frozenset[str], str] = {}
            agents = [a for a in self.participants.values() if a.role == "agent" and a.producers & producers]
            for agent in [a for a in agents if a.away_since is None]:  # a returning agent gets a fresh one
                if agent.producers not in snapshots:
                    snapshots[agent.producers] = p.encode(await self._snapshot(agent))
                await agent.send_text(snapshots[agent.producers])

    async def _send_positions(self, queue: str) -> None:
        tickets = await self.state.tickets(queue)
        for position, ticket in enumerate(tickets, start=1):
            point = self.points.get(ticket.point)
            if point is not None and point.away_since is None:  # one that is away gets it on return
                estimate, online = await self.estimate(queue, position)
                await point.send(
                    p.QueuePosition(ticket=ticket.id, position=position, estimate_s=estimate, agents_online=online)
                )

    async def close(self) -> None:
        for task in [self._flusher, *self._closers]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _agents_changed(self, agent: Participant) -> None:
        """An agent came or went: the estimates of the queues they serve change."""
        for qid, (producer, _) in self._queues.items():
            if producer in agent.producers and await self.state.tickets(qid):
                await self._queue_changed(qid)

    async def _snapshot(self, agent: Participant) -> p.QueueSnapshot:
        now = self.clock()
        views = []
        for qid, (producer, qconf) in self._queues.items():
            if producer not in agent.producers:
                continue
            entries = [
                p.QueueEntry(
                    ticket=t.id,
                    point=t.point,
                    place=self._point_places.get(t.point, t.point),
                    language=t.language,
                    waited_s=max(0, int(now - t.since)),
                    reconnecting=self._away(t.point),
                )
                for t in await self.state.tickets(qid)
            ]
            views.append(p.QueueView(queue=qid, producer=producer, open=self.queue_open(qconf), entries=entries))
        return p.QueueSnapshot(queues=views)

    async def _queue_accept(self, agent: Participant, msg: p.QueueAccept) -> None:
        if agent.call is not None:
            return await self._error(agent, msg, "not_allowed", "end the current call first")
        tickets = await self.state.all_tickets()
        ticket = next((t for t in tickets if t.id == msg.ticket), None)
        if ticket is None or ticket.producer not in agent.producers:
            return await self._error(agent, msg, "ticket_gone", "someone else answered, or the customer left")
        point = self.points.get(ticket.point)
        if point is None or await self.state.take_ticket(ticket.id) is None:
            return await self._error(agent, msg, "ticket_gone", "someone else answered, or the customer left")
        call = Call(
            id=f"c-{secrets.token_hex(8)}",
            point=point.id,
            agent=agent.id,
            producer=ticket.producer,
            queue=ticket.queue,
            language=ticket.language,
            started=self.clock(),
            ticket=ticket.id,
        )
        await self.state.put_call(call)
        point.call = agent.call = call.id
        log.info("call %s: agent %s answered ticket %s", call.id, agent.id, ticket.id)
        await self._send_call_start(call, point)
        await self._send_call_start(call, agent)
        await self._queue_changed(ticket.queue)

    async def _send_call_start(self, call: Call, part: Participant) -> None:
        order = call.participants
        peers = [self._peer(pid) for pid in order if pid != part.id and pid in self.participants]
        later = order[order.index(part.id) + 1 :]
        servers, _ = ice_servers(self.config, part.id, self.clock(), role=part.role)
        await part.send(
            p.CallStart(
                call=call.id,
                you=part.id,
                peers=peers,
                offer_to=later,
                ice_servers=servers,
                producer=call.producer,
                language=call.language,
            )
        )

    def _peer(self, pid: str) -> p.Peer:
        part = self.participants[pid]
        return p.Peer(id=pid, role=part.role, name=part.name)

    # ---------------------------------------------------------------------------------------------- calls

    async def _in_call(self, part: Participant, msg: Any) -> Call | None:
        call = await self.state.get_call(msg.call) if part.call == msg.call else None
        if call is None:
            await self._error(part, msg, "not_in_call", f"you are not in call {msg.call}")
        return call

    async def _relay(self, part: Participant, msg: p.Offer | p.Answer | p.Ice) -> None:
        call = await self._in_call(part, msg)
        if call is None:
            return
        target = self.participants.get(msg.peer)
        if target is None or msg.peer not in call.participants or msg.peer == part.id:
            return await self._error(part, msg, "not_in_call", f"{msg.peer} is not in call {call.id}")
        if msg.type == "signal.offer" and not self._offer_allowed(call, part.id, msg.peer):
            return await self._error(
                part, msg, "not_allowed", f"a {part.role} does not send an offer to {msg.peer}; that side offers"
            )
        await target.send(msg.model_copy(update={"peer": part.id, "ref": None}))
        if msg.type == "signal.answer" and not call.connected and {part.id, target.id} == {call.point, call.agent}:
            call.connected = True
            await self.state.put_call(call)

    @staticmethod
    def _offer_allowed(call: Call, sender: str, target: str) -> bool:
        """Earlier participants offer to later ones: the point to everyone (it alone opens the data channel),
        the agent to interpreters. An offer the other way is how an interpreter would push its own data
        channel onto the agent's desk (forged scans and texts, the agent's print jobs): never relayed."""
        order = call.participants
        return order.index(sender) < order.index(target)

    async def _hangup(self, part: Participant, msg: p.Hangup) -> None:
        call = await self._in_call(part, msg)
        if call is None:
            return
        if part.role == "interpreter":
            await self._interpreter_leaves(call, part)
        else:
            await self._end_call(call, "hangup", part.role)

    async def _end_call(self, call: Call, reason: str, by: p.Role) -> None:
        if await self.state.drop_call(call.id) is None:
            return
        await self.state.record_call_duration(call.queue, self.clock() - call.started)
        await self.state.drop_call_nonces(call.id)
        for pid in call.participants:
            part = self.participants.get(pid)
            if part is not None and part.call == call.id:
                part.call = None
                await part.send(p.CallEnded.model_validate({"call": call.id, "reason": reason, "by": by}))
        for invite in await self.state.invites():
            if invite.call == call.id:
                await self._withdraw_invite(invite)
        log.info("call %s ended: %s by %s", call.id, reason, by)
        await self._queue_changed(call.queue)  # a free agent changes the estimates

    # ---------------------------------------------------------------------------------------------- interpreters

    async def _interpreter_invite(self, agent: Participant, msg: p.InterpreterInvite) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        wanted = msg.language
        fitting = [
            i
            for i in self.participants.values()
            if i.role == "interpreter" and i.call is None and (wanted is None or wanted in i.languages)
        ]
        if not fitting:
            return await self._error(agent, msg, "no_interpreter", "no interpreter for that language is online")
        invite = Invite(
            id=f"i-{secrets.token_hex(6)}", call=call.id, language=wanted, interpreters=[i.id for i in fitting]
        )
        await self.state.put_invite(invite)
        for interpreter in fitting:
            await interpreter.send(
                p.InterpreterInvited(
                    invite=invite.id, call=call.id, producer=call.producer, language=wanted, agent=agent.name
                )
            )

    async def _interpreter_accept(self, interpreter: Participant, msg: p.InterpreterAccept) -> None:
        pending = next((i for i in await self.state.invites() if i.id == msg.invite), None)
        if pending is not None and interpreter.id not in pending.interpreters:
            # Only the interpreters the invitation went to may take it (a leaked or guessed id is not enough);
            # the invitation stays open for them.
            log.warning("interpreter %s tried to accept invitation %s, which was not sent to it", interpreter.id,
                        msg.invite)
            return await self._error(interpreter, msg, "not_allowed", "you were not invited to this call")
        invite = await self.state.take_invite(msg.invite)
        call = await self.state.get_call(invite.call) if invite else None
        if invite is None or call is None or interpreter.call is not None:
            return await self._error(interpreter, msg, "invite_gone", "the invitation is no longer open")
        call.interpreters.append(interpreter.id)
        await self.state.put_call(call)
        interpreter.call = call.id
        for pid in invite.interpreters:
            other = self.participants.get(pid)
            if other is not None and other is not interpreter:
                await other.send(p.InterpreterInviteGone(invite=invite.id))
        peer = self._peer(interpreter.id)
        for pid in call.participants[:-1]:
            part = self.participants.get(pid)
            if part is not None:
                await part.send(p.PeerJoined(call=call.id, peer=peer, offer=True))
        await self._send_call_start(call, interpreter)
        log.info("call %s: interpreter %s joined", call.id, interpreter.id)

    async def _withdraw_invite(self, invite: Invite) -> None:
        if await self.state.take_invite(invite.id) is None:
            return
        for pid in invite.interpreters:
            part = self.participants.get(pid)
            if part is not None:
                await part.send(p.InterpreterInviteGone(invite=invite.id))

    async def _interpreter_leaves(self, call: Call, interpreter: Participant) -> None:
        if interpreter.id in call.interpreters:
            call.interpreters.remove(interpreter.id)
            await self.state.put_call(call)
        interpreter.call = None
        await interpreter.send(p.CallEnded(call=call.id, reason="hangup", by="interpreter"))
        for pid in call.participants:
            part = self.participants.get(pid)
            if part is not None:
                await part.send(p.PeerLeft(call=call.id, peer=interpreter.id))

    # ---------------------------------------------------------------------------------------------- identity

    async def _identity_start(self, agent: Participant, msg: p.IdentityStart) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        if agent.id != call.agent:
            return await self._error(agent, msg, "not_allowed", "only the answering agent identifies")
        nonce = Nonce(
            value=new_nonce(),
            request=f"r-{secrets.token_hex(8)}",
            call=call.id,
            agent=agent.id,
            expires=self.clock() + p.NONCE_TTL_S,
        )
        await self.state.put_nonce(nonce)
        point = self.participants.get(call.point)
        if point is not None:
            await point.send(
                p.IdentityRequest(call=call.id, request=nonce.request, nonce=nonce.value, origin=self.config.origin)
            )
        log.info("call %s: identity request %s issued", call.id, nonce.request)

    async def _identity_proof(self, point: Participant, msg: p.IdentityProof) -> None:
        call = await self._in_call(point, msg)
        if call is None:
            return
        nonce = await self.state.take_nonce(msg.request)
        if nonce is None or nonce.call != call.id:
            # Unknown, already used, or another call's: the same answer for all, so nothing leaks.
            return await self._identity_result(call, msg.request, None, "nonce_reused", "the request is not open")
        if nonce.expires < self.clock():
            return await self._identity_result(call, msg.request, None, "nonce_expired", "the request expired")
        if self.validator is None:
            return await self._identity_result(
                call, msg.request, None, "unavailable", "identity verification is not configured"
            )
        loop = asyncio.get_running_loop()
        try:
            holder = await loop.run_in_executor(
                None, self.validator, msg.token, nonce.value, self.config.origin, self.clock()
            )
        except ProofRejected as exc:
            return await self._identity_result(call, msg.request, None, exc.reason, str(exc))
        await self._identity_result(call, msg.request, holder, None, "")

    async def _identity_abort(self, point: Participant, msg: p.IdentityAbort) -> None:
        call = await self._in_call(point, msg)
        if call is None:
            return
        if await self.state.take_nonce(msg.request) is None:
            return await self._error(point, msg, "not_allowed", "no such identity request")
        await self._identity_result(call, msg.request, None, msg.reason, "")

    async def _identity_result(
        self, call: Call, request: str, holder: Holder | None, reason: str | None, message: str
    ) -> None:
        log.info("call %s: identity request %s %s", call.id, request, "verified" if holder else f"failed: {reason}")
        agent = self.participants.get(call.agent)
        if agent is not None:
            await agent.send(
                p.IdentityResult(
                    call=call.id,
                    request=request,
                    ok=holder is not None,
                    given_name=holder.given_name if holder else None,
                    surname=holder.surname if holder else None,
                    satu=holder.satu if holder else None,
                    reason=reason,
                    message=message[:500],
                )
            )
        point = self.participants.get(call.point)
        if point is not None:
            await point.send(p.IdentityResult(call=call.id, request=request, ok=holder is not None, reason=reason))

    # ---------------------------------------------------------------------------------------------- upkeep

    async def sweep(self) -> None:
        """Time-based upkeep, run every second: queue timeouts and closing hours, expired sessions and nonces."""
        now = self.clock()
        for ticket in await self.state.all_tickets():
            _, qconf = self._queues[ticket.queue]
            if now - ticket.since >= qconf.timeout_s:
                await self._leave_queue(ticket, "timeout")
            elif not self.queue_open(qconf):
                await self._leave_queue(ticket, "closed")
        for call in await self.state.calls():
            if not call.connected and now - call.started >= CALL_SETUP_TIMEOUT_S:
                await self._end_call(call, "setup_failed", "point")
        for session in await self.state.sessions():
            if session.expires <= now:
                await self.state.drop_session(session.token)
        for part in list(self.participants.values()):
            if part.away_since is not None and now - part.away_since >= self.config.rejoin_grace_s:
                log.info("%s %s did not come back within %d s", part.role, part.id, self.config.rejoin_grace_s)
                await self.disconnect(part, hold=False)
            elif part.session is not None and await self.session_user(part.session) is None:
                await part.send(p.Error(code="session_expired", message="the login expired; log in again"))
                await self.disconnect(part, hold=False)
                self._close_later(part.conn)
        await self.state.drop_expired_nonces(now)

    def _away(self, point: str) -> bool:
        part = self.points.get(point)
        return part is not None and part.away_since is not None

    def _point_presence(self, point: str, in_call: set[str], queued: dict[str, str]) -> dict[str, Any]:
        part = self.points.get(point)
        if part is None:
            return {"online": False, "state": "offline"}
        if part.away_since is not None:
            return {"online": False, "state": "reconnecting"}
        state = "in_call" if part.id in in_call else "queued" if point in queued else "idle"
        return {"online": True, "state": state}

    async def overview(self) -> dict[str, Any]:
        """The organiser's view: points online, queue lengths, calls in progress. No personal data."""
        now = self.clock()
        calls = await self.state.calls()
        in_call = {c.point for c in calls}
        queued = {t.point: t.queue for t in await self.state.all_tickets()}
        queues = []
        for qid, (producer, qconf) in self._queues.items():
            tickets = await self.state.tickets(qid)
            agents = self._agents(producer)
            queues.append(
                {
                    "queue": qid,
                    "producer": producer,
                    "open": self.queue_open(qconf),
                    "waiting": len(tickets),
                    "longest_wait_s": int(now - tickets[0].since) if tickets else 0,
                    "agents_online": len(agents),
                    "agents_in_call": sum(1 for a in agents if a.call),
                }
            )
        return {
            "points": [
                {"point": pt.id, "place": pt.place, **self._point_presence(pt.id, in_call, queued)}
                for pt in self.config.points
            ],
            "queues": queues,
            "calls": [
                {
                    "call": c.id,
                    "producer": c.producer,
                    "queue": c.queue,
                    "duration_s": int(now - c.started),
                    "participants": len(c.participants),
                }
                for c in calls
            ],
        }
