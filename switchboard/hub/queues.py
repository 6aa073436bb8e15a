"""Producer queues: a point takes a ticket, waits with its position and an estimate, and leaves it
(cancelled, timed out, closed, answered); agents see their producers' queues as snapshots, coalesced per
burst of changes."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets

from etapiste import protocol as p
from switchboard.config import QueueConfig
from switchboard.hub.core import HubCore
from switchboard.hub.participant import Participant
from switchboard.state import Ticket

log = logging.getLogger("switchboard")

#: Seconds an agent's answer is expected to take once a customer is first in line with free agents.
ANSWER_ESTIMATE_S = 30


class Queues(HubCore):
    """Queue requests, positions, estimates and the agents' snapshots."""

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
        self.metrics.left.labels(ticket.queue, "abandoned" if reason == "cancelled" else reason).inc()
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
        """Positions go out once the current burst is handled (a customer sees their place at once, and
        only when it changed); the agents' snapshots at most every ``snapshot_interval_s``, so a point
        looping request and cancel cannot make every desk re-render thousands of times."""
        await asyncio.sleep(0)  # let frames already received change the queues first
        while self._dirty:
            queues, self._dirty = self._dirty, set()
            for queue in queues:
                await self._send_positions(queue)
            self._stale_snapshots |= {self._queues[q][0] for q in queues}
            if self._snapshotter is None or self._snapshotter.done():
                self._snapshotter = asyncio.get_running_loop().create_task(self._send_snapshots())

    async def _send_snapshots(self) -> None:
        loop = asyncio.get_running_loop()
        while self._stale_snapshots:
            wait = self._last_snapshots + self.config.connections.snapshot_interval_s - loop.time()
            await asyncio.sleep(max(0.0, wait))  # the first change after a quiet spell goes out at once
            producers, self._stale_snapshots = self._stale_snapshots, set()
            self._last_snapshots = loop.time()
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
                seen = (point.conn, ticket.id, position, estimate, online)  # a new connection gets it anew
                if self._positions_sent.get(point.id) == seen:
                    continue
                self._positions_sent[point.id] = seen
                await point.send(
                    p.QueuePosition(ticket=ticket.id, position=position, estimate_s=estimate, agents_online=online)
                )

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
