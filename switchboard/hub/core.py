"""What every part of the hub shares: the configuration, the state behind its one interface, the live
participants (this instance's, and the other instances' through the relay), and the small helpers every
handler uses (refusing a frame, naming a peer, finding the sender's call, finding a participant wherever it
is connected, telling a participant who is in the call it joins, closing a socket without waiting for it)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, cast

from etapiste import protocol as p
from etapiste.webeid.certificate import Holder
from switchboard.config import QueueConfig, SwitchboardConfig, User
from switchboard.hub.participant import Clock, Connection, Participant, RemoteParticipant, elsewhere
from switchboard.identity import ProofValidator
from switchboard.metrics import Metrics
from switchboard.relay import LocalRelay, Member, Relay
from switchboard.state import Call, MemoryState, StateStore
from switchboard.tasks import stop_task
from switchboard.turn import ice_servers

log = logging.getLogger("switchboard")


@dataclass(frozen=True)
class Proven:
    """An identity verified in ``call`` for the agent (participant id) who asked."""

    call: str
    agent: str
    holder: Holder


class HubCore:
    """The hub's shared state; the concerns (queues, calls, …) are mixins built on it."""

    def __init__(
        self,
        config: SwitchboardConfig,
        state: StateStore | None = None,
        clock: Clock = time.time,
        validator: ProofValidator | None = None,
        relay: Relay | None = None,
    ):
        self.config = config
        self.state: StateStore = state or MemoryState()
        self.clock = clock
        self.validator = validator
        self.relay: Relay = relay or LocalRelay()
        """The other instances (:mod:`switchboard.relay`); one instance alone: :class:`LocalRelay`."""
        self.participants: dict[str, Participant] = {}
        """Connected to this instance (or held for it while away)."""
        self.points: dict[str, Participant] = {}
        self.remote: dict[str, RemoteParticipant] = {}
        """Connected to other instances, as their records last said (kept current by the relay's events)."""
        self._queues: dict[str, tuple[str, QueueConfig]] = {
            q.id: (prod.id, q) for prod in config.producers for q in prod.queues
        }
        self._point_places = {pt.id: pt.place for pt in config.points}
        self._point_hashes = {pt.id: pt.credential_hash for pt in config.points}
        self.users: dict[str, User] = {u.username: u for u in config.users}
        self._dirty: set[str] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._stale_snapshots: set[str] = set()
        """Producers whose agents' snapshots are out of date; sent at most every ``snapshot_interval_s``."""
        self._snapshotter: asyncio.Task[None] | None = None
        self._last_snapshots = -math.inf
        self._positions_sent: dict[str, tuple[Connection, str, int, int | None, int, int]] = {}
        """The last ``queue.position`` each point got, so an unchanged one is not sent again."""
        self.metrics = Metrics()
        self._closers: set[asyncio.Task[None]] = set()
        self._proven: dict[str, Proven] = {}
        """Verified identities by request, while their call lasts, so the customer can agree on the kiosk to
        show one to another agent of a joint call (``identity.share``). In this instance's memory only (never
        the shared state, never a log); forgotten when the call ends (:meth:`_forget_proofs`)."""

    async def _error(self, part: Participant, msg: Any, code: str, message: str) -> None:
        log.info("%s %s: %s refused: %s", part.role, part.id, msg.type, code)
        await part.send(p.Error.model_validate({"code": code, "message": message, "ref": msg.ref}))

    def _peer(self, pid: str, call: Call | None = None) -> p.Peer:
        """``pid`` as the others in ``call`` see it; an agent who joined it (a joint call) with the producer they
        serve the customer for. The answering agent's is the call's own: left out, so an older point, which
        refuses the field, still takes every call that is not a joint one."""
        part = self._find(pid)
        if part is None:
            raise KeyError(pid)
        producer = call.joined_producers.get(pid) if call is not None else None
        return p.Peer(id=pid, role=part.role, name=part.name, producer=producer)

    def _find(self, pid: str) -> Participant | None:
        """A participant wherever it is connected (``send`` relays to another instance)."""
        return self.participants.get(pid) or self.remote.get(pid)

    def _point(self, point: str) -> Participant | None:
        """A point by its id, wherever it is connected."""
        return self.points.get(point) or self.remote.get(f"point-{point}")

    def _everyone(self) -> list[Participant]:
        return [*self.participants.values(), *self.remote.values()]

    def _member(self, part: Participant) -> Member:
        return Member(
            id=part.id,
            role=part.role,
            name=part.name,
            principal=part.principal,
            instance=self.relay.instance,
            producers=sorted(part.producers),
            languages=sorted(part.languages),
            features=sorted(part.features),
            call=part.call,
            away_since=part.away_since,
        )

    def _remote(self, member: Member) -> RemoteParticipant:
        return RemoteParticipant(
            id=member.id,
            role=cast(p.Role, member.role),  # written by a hub from a Participant's role
            name=member.name,
            principal=member.principal,
            conn=elsewhere(),
            producers=frozenset(member.producers),
            languages=frozenset(member.languages),
            features=frozenset(member.features),
            call=member.call,
            away_since=member.away_since,
            instance=member.instance,
            forward=self._forward,
        )

    async def _forward(self, instance: str, pid: str, text: str) -> None:
        self.metrics.relayed.labels("out").inc()
        await self.relay.send(instance, {"op": "frame", "to": pid, "text": text})

    def _publish(self, part: Participant) -> None:
        """Tell the other instances what ``part`` (ours) is doing now: connected, away, in which call. Not
        waited for (the relay sends it in order with what follows; Redis down: the next tick's refresh says
        it again), so no frame waits for a record: nor the answer's ``call.start``, nor, in the relay's
        listener, every other instance's frame behind a ``call.start`` or ``call.ended`` delivered here."""
        if self.participants.get(part.id) is part:
            self.relay.publish_member(self._member(part))

    def _adopt(self, part: Participant) -> None:
        """``part`` is connected here from now on."""
        part.held_frames = self.relay
        self.participants[part.id] = part
        if part.role == "point":
            self.points[part.principal] = part
        self.remote.pop(part.id, None)
        self._publish(part)

    async def _forget(self, part: Participant) -> None:
        """``part`` has gone for good (it was ours): its record and its held frames go too."""
        try:
            await self.relay.forget_member(part.id)
        except Exception as exc:
            log.warning("could not forget %s %s: %s", part.role, part.id, type(exc).__name__)

    async def _take_over(self, part: Participant, conn: Connection) -> Participant:
        """A participant held by another instance came back here (on ``conn``): it is ours from now on, with
        its id, call and held frames; that instance lets go of it without ending anything."""
        if not isinstance(part, RemoteParticipant):
            return part
        ours = Participant(
            id=part.id,
            role=part.role,
            name=part.name,
            principal=part.principal,
            conn=conn,
            producers=part.producers,
            languages=part.languages,
            call=part.call,
            away_since=part.away_since if part.away_since is not None else self.clock(),
        )
        self._adopt(ours)
        await self.relay.send(part.instance, {"op": "moved", "pid": part.id, "to": self.relay.instance})
        log.info("%s %s moved here from instance %s", part.role, part.id, part.instance)
        return ours

    async def _in_call(self, part: Participant, msg: Any, *, known: bool = False) -> Call | None:
        """The call ``msg`` names if ``part`` is in it (else refused: ``not_in_call``). ``known``: as this
        instance knows it (:meth:`~switchboard.state.StateStore.known_call`), for a check that changes
        nothing; by default read afresh, for whatever changes the call."""
        call = None
        if part.call == msg.call:
            call = await (self.state.known_call(msg.call) if known else self.state.get_call(msg.call))
        if call is None:
            await self._error(part, msg, "not_in_call", f"you are not in call {msg.call}")
        return call

    def _forget_proofs(self, call: str) -> None:
        """The call ended: nobody else may be shown its verified identities."""
        for request in [r for r, proven in self._proven.items() if proven.call == call]:
            del self._proven[request]

    def _away(self, point: str) -> bool:
        part = self._point(point)
        return part is not None and part.away_since is not None

    def _close_later(self, conn: Connection) -> None:
        """Close a connection without waiting for it: a half-open socket's closing handshake can take
        seconds, and nobody else's frames should wait for that."""
        task = asyncio.get_running_loop().create_task(conn.close())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def close(self) -> None:
        for task in [self._flusher, self._snapshotter, *self._closers]:
            if task is not None:
                await stop_task(task)  # a Redis call in flight may swallow one cancellation
        await self.relay.close()

    async def _send_call_start(self, call: Call, part: Participant) -> None:
        order = call.participants
        peers = [self._peer(pid, call) for pid in order if pid != part.id and self._find(pid) is not None]
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
