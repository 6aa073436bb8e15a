"""The switchboard's logic: who is connected, queues, calls and their signalling relay, interpreters, identity.

Independent of aiohttp: a connection is anything with ``send(text)`` and ``close()``, so the protocol can be
driven in tests and benchmarks without sockets. Every frame goes through :meth:`Hub.handle`, which validates
it with :mod:`etapiste.protocol`, checks that the sender's role may send it, and answers anything wrong with
an ``error`` frame and a log line — never an exception out of the connection's loop.

Logs carry ids, types and codes only: never a name, SATU, token or SDP (which holds addresses).

The package holds one concept per module — :mod:`~switchboard.hub.presence`, :mod:`~switchboard.hub.queues`,
:mod:`~switchboard.hub.calls`, :mod:`~switchboard.hub.invitations` (shared by
:mod:`~switchboard.hub.interpreters` and :mod:`~switchboard.hub.joint`), :mod:`~switchboard.hub.identity`,
:mod:`~switchboard.hub.instances` (the other instances, through :mod:`switchboard.relay`),
:mod:`~switchboard.hub.sweep`, :mod:`~switchboard.hub.transfer` — as mixins over
:class:`~switchboard.hub.core.HubCore` (the shared state).
:class:`Hub` composes them and dispatches frames. Mixins rather than collaborator objects because the
concerns act on one shared set of participants and one state, and call into each other both ways (a
disconnect ends a call, ending a call withdraws an interpreter invitation and moves the queue's
estimates): collaborators would each need the others and that state passed around, for no isolation
gained. Each mixin's base says what it builds on; callers import from ``switchboard.hub``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from etapiste import protocol as p
from switchboard.config import SwitchboardConfig
from switchboard.hub.appointments import Appointments
from switchboard.hub.calls import CALL_SETUP_TIMEOUT_S
from switchboard.hub.identity import Identity
from switchboard.hub.participant import MAX_HELD_FRAMES, Clock, Connection, Participant, RemoteParticipant
from switchboard.hub.queues import ANSWER_ESTIMATE_S
from switchboard.hub.rooms import Rooms
from switchboard.hub.sweep import Sweep
from switchboard.hub.transfer import Transfers
from switchboard.identity import ProofValidator
from switchboard.relay import Relay
from switchboard.state import StateStore

log = logging.getLogger("switchboard")

#: How long a check of the shared state (Redis) waits for its answer before calling it unreachable.
STATE_CHECK_TIMEOUT_S = 2.0
UNAVAILABLE = "the switchboard cannot reach its shared state; calls go on, try again in a moment"

__all__ = [
    "ANSWER_ESTIMATE_S",
    "CALL_SETUP_TIMEOUT_S",
    "MAX_HELD_FRAMES",
    "Clock",
    "Connection",
    "Hub",
    "Participant",
    "RemoteParticipant",
]


class Hub(Sweep, Identity, Transfers, Appointments, Rooms):
    """The switchboard's logic behind one object: the web layer connects participants and hands it frames."""

    def __init__(
        self,
        config: SwitchboardConfig,
        state: StateStore | None = None,
        clock: Clock = time.time,
        validator: ProofValidator | None = None,
        relay: Relay | None = None,
    ):
        super().__init__(config, state, clock, validator, relay)
        self._state_was_reachable = True
        self._handlers: dict[str, Callable[[Participant, Any], Awaitable[None]]] = {
            "queue.request": self._queue_request,
            "queue.cancel": self._queue_cancel,
            "queue.accept": self._queue_accept,
            "signal.offer": self._relay,
            "signal.answer": self._relay,
            "signal.ice": self._relay,
            "call.hangup": self._hangup,
            "call.transfer": self._call_transfer,
            "appointment.check_in": self._appointment_check_in,
            "appointment.day_request": self._appointment_day,
            "interpreter.invite": self._interpreter_invite,
            "interpreter.accept": self._interpreter_accept,
            "agent.invite": self._agent_invite,
            "agent.accept": self._agent_accept,
            "identity.share": self._identity_share,
            "identity.start": self._identity_start,
            "identity.proof": self._identity_proof,
            "identity.abort": self._identity_abort,
            "room.status": self._room_status,
            "room.help": self._room_help,
        }

    async def handle(self, part: Participant, raw: str | bytes) -> None:
        """Validate and act on one frame from ``part``; every failure becomes an ``error`` reply."""
        try:
            await self._handle(part, raw)
        except Exception:  # a bug must cost one frame, never the connection or the service
            log.exception("frame from %s could not be handled", part.id)
            await part.send(await self._failed(None))

    async def state_reachable(self) -> bool:
        """Whether the shared state answers: always in memory, Redis's ``PING`` within a bound otherwise."""
        ping = getattr(self.state, "ping", None)
        if ping is None:
            return True
        try:
            return bool(await asyncio.wait_for(ping(), STATE_CHECK_TIMEOUT_S))
        except Exception:
            return False

    async def _failed(self, ref: str | None) -> p.Error:
        """The reply to a frame whose handling failed: ``unavailable`` while the shared state is out of reach
        (nothing the sender can do but wait; a desk says so), else ``internal``."""
        if not await self.state_reachable():
            return p.Error(code="unavailable", message=UNAVAILABLE, ref=ref)
        return p.Error(code="internal", message="the switchboard failed; try again", ref=ref)

    async def watch_state(self) -> None:
        """Once a tick: when the shared state becomes unreachable, this instance's desks are told once (new
        customers cannot queue and nobody can be answered; running calls go on). When it is back they get
        fresh snapshots (the relay's resubscription), which clear the notice."""
        reachable = await self.state_reachable()
        if reachable == self._state_was_reachable:
            return
        self._state_was_reachable = reachable
        if reachable:
            log.info("shared state reachable again")
            return
        log.warning("shared state unreachable: desks told, new work refused with 'unavailable'")
        for part in list(self.participants.values()):
            if part.role != "point":
                await part.send(p.Error(code="unavailable", message=UNAVAILABLE))

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
            await part.send(await self._failed(msg.ref))
