"""What every part of the hub shares: the configuration, the state behind its one interface, the live
participants, and the small helpers every handler uses (refusing a frame, naming a peer, finding the
sender's call, telling a participant who is in the call it joins, closing a socket without waiting for it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

from etapiste import protocol as p
from switchboard.config import QueueConfig, SwitchboardConfig, User
from switchboard.hub.participant import Clock, Connection, Participant
from switchboard.identity import ProofValidator
from switchboard.metrics import Metrics
from switchboard.state import Call, MemoryState, StateStore
from switchboard.turn import ice_servers

log = logging.getLogger("switchboard")


class HubCore:
    """The hub's shared state; the concerns (queues, calls, …) are mixins built on it."""

    def __init__(
        self,
        config: SwitchboardConfig,
        state: StateStore | None = None,
        clock: Clock = time.time,
        validator: ProofValidator | None = None,
    ):
        self.config = config
        self.state: StateStore = state or MemoryState()
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
        self._stale_snapshots: set[str] = set()
        """Producers whose agents' snapshots are out of date; sent at most every ``snapshot_interval_s``."""
        self._snapshotter: asyncio.Task[None] | None = None
        self._last_snapshots = -math.inf
        self._positions_sent: dict[str, tuple[Connection, str, int, int | None, int, int]] = {}
        """The last ``queue.position`` each point got, so an unchanged one is not sent again."""
        self.metrics = Metrics()
        self._closers: set[asyncio.Task[None]] = set()

    async def _error(self, part: Participant, msg: Any, code: str, message: str) -> None:
        log.info("%s %s: %s refused: %s", part.role, part.id, msg.type, code)
        await part.send(p.Error.model_validate({"code": code, "message": message, "ref": msg.ref}))

    def _peer(self, pid: str) -> p.Peer:
        part = self.participants[pid]
        return p.Peer(id=pid, role=part.role, name=part.name)

    async def _in_call(self, part: Participant, msg: Any) -> Call | None:
        call = await self.state.get_call(msg.call) if part.call == msg.call else None
        if call is None:
            await self._error(part, msg, "not_in_call", f"you are not in call {msg.call}")
        return call

    def _away(self, point: str) -> bool:
        part = self.points.get(point)
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
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

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
