"""Producer queues: a point takes a ticket, waits with its position and an estimate, and leaves it
(cancelled, timed out, closed, answered); agents see their producers' queues as snapshots, coalesced per
burst of changes; every point sees every queue's estimate before its customer chooses.

Language routing: a ticket is offered first only to the queue's agents online who speak its language, for
the queue's ``language_wait_s``, then to every agent of the queue (at once when no speaker is online). An
agent who does not speak it neither sees the entry nor may answer it meanwhile."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import statistics
from collections import Counter, deque
from typing import Any

from etapiste import protocol as p
from switchboard.config import QueueConfig
from switchboard.hub.core import HubCore
from switchboard.hub.participant import Connection, Participant
from switchboard.state import Ticket

log = logging.getLogger("switchboard")

#: Seconds an agent's answer is expected to take once a customer is first in line with free agents.
ANSWER_ESTIMATE_S = 30
#: How many recent answers, and from how far back, correct a queue's published estimate.
RECENT_ANSWERS = 20
RECENT_ANSWER_WINDOW_S = 3600
#: Points get the queues' estimates at most this often (the first change after a quiet spell at once): a
#: burst of queue changes is one message, and the service choice needs no faster news.
ESTIMATES_INTERVAL_S = 1.0


def speaks(agent: Participant, language: str) -> bool:
    """Whether ``agent`` serves customers in ``language`` (an agent who declared none speaks Finnish)."""
    return language in agent.languages if agent.languages else language == "fi"


class Queues(HubCore):
    """Queue requests, positions, estimates and the agents' snapshots."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answer_waits: dict[str, deque[tuple[float, float]]] = {}
        """Per queue: (when, seconds waited) of its latest answers, for the published estimates."""
        self._language_held: set[str] = set()
        """Tickets held for their language's speakers in the last snapshots; the sweep releases them."""
        self._estimates_sent: dict[str, tuple[Connection, str]] = {}
        """The last ``queue.estimates`` each point got, so an unchanged one is not sent again."""
        self._estimates_task: asyncio.Task[None] | None = None
        self._estimates_stale = False
        self._last_estimates = -math.inf
        self._estimates_text: str | None = None
        """The latest ``queue.estimates`` computed, for a point that connects; dropped at every change."""

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
            interpreter=msg.interpreter,
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
        point = self._point(ticket.point)  # on this instance or another
        if point is not None:
            await point.send(p.QueueLeft.model_validate({"ticket": ticket.id, "reason": reason}))
        log.info("ticket %s left %s: %s", ticket.id, ticket.queue, reason)
        self.metrics.left.labels(ticket.queue, "abandoned" if reason == "cancelled" else reason).inc()
        await self._queue_changed(ticket.queue)

    def _agents(self, producer: str) -> list[Participant]:
        return [a for a in self.participants.values() if a.role == "agent" and producer in a.producers]

    def language_first_until(self, ticket: Ticket) -> float | None:
        """Until when ``ticket`` is offered only to agents speaking its language; ``None``: to every agent."""
        _, qconf = self._queues[ticket.queue]
        until = ticket.in_queue_since + qconf.language_wait_s  # a transferred ticket: from its transfer
        if until <= self.clock() or not any(speaks(a, ticket.language) for a in self._agents(ticket.producer)):
            return None
        return until

    def offered_to(self, agent: Participant, ticket: Ticket) -> bool:
        """Whether ``agent`` may see and answer ``ticket`` now (language routing, appointments)."""
        if self.reserved_elsewhere(agent, ticket):
            return False
        return speaks(agent, ticket.language) or self.language_first_until(ticket) is None

    def reserved_elsewhere(self, agent: Participant, ticket: Ticket) -> bool:
        """Whether ``ticket`` is a checked-in appointment waiting for another agent, its booked one, who is
        online (switchboard/hub/appointments.py), for at most ``appointments.reserve_s`` after the check-in;
        when they are not online, or that time has run out, every agent of the producer gets it."""
        return ticket.reserved_for != agent.principal and self._reserved(ticket)

    def _reserved(self, ticket: Ticket) -> bool:
        booked = ticket.reserved_for
        if booked is None or self.clock() - ticket.in_queue_since >= self.config.appointments.reserve_s:
            return False
        return any(a.role == "agent" and a.principal == booked for a in self._everyone())

    async def release_language_holds(self) -> None:
        """Run by the sweep: a ticket whose language-first time ran out now goes to every agent's desk."""
        tickets = await self.state.all_tickets()
        self._language_held &= {t.id for t in tickets}  # answered or gone meanwhile: nothing to release
        for ticket in tickets:
            lapsed = self.language_first_until(ticket) is None and not self._reserved(ticket)
            if ticket.id in self._language_held and lapsed:
                self._language_held.discard(ticket.id)
                await self._queue_changed(ticket.queue)

    def record_answer(self, ticket: Ticket) -> None:
        """An agent answered ``ticket``: its wait feeds the queue's published estimate."""
        now = self.clock()
        waits = self._answer_waits.setdefault(ticket.queue, deque(maxlen=RECENT_ANSWERS))
        waits.append((now, max(0.0, now - ticket.since)))

    async def queue_estimate(self, queue: str, waiting: int) -> p.QueueEstimate:
        """What a customer queueing now in ``queue``, where ``waiting`` customers wait, can expect; method in
        docs/switchboard.md ("Wait estimates"): the capacity model of :meth:`estimate` for the place after
        everyone waiting, raised to the median wait of the queue's recent answers (last hour) when those
        waited longer."""
        producer, qconf = self._queues[queue]
        estimate, online = await self.estimate(queue, waiting + 1)
        horizon = self.clock() - RECENT_ANSWER_WINDOW_S
        recent = [w for at, w in self._answer_waits.get(queue, ()) if at >= horizon]
        if estimate is not None and recent:
            estimate = max(estimate, int(statistics.median(recent)))
        return p.QueueEstimate(queue=queue, producer=producer, open=self.queue_open(qconf), estimate_s=estimate,
                               agents_online=online, waiting=waiting)

    def _estimates_soon(self) -> None:
        """The estimates may have changed: every point is sent them within ``ESTIMATES_INTERVAL_S``."""
        self._estimates_stale = True
        self._estimates_text = None
        if self._estimates_task is None or self._estimates_task.done():
            self._estimates_task = asyncio.get_running_loop().create_task(self._publish_estimates())
            self._closers.add(self._estimates_task)  # cancelled when the hub closes
            self._estimates_task.add_done_callback(self._closers.discard)

    async def _publish_estimates(self) -> None:
        loop = asyncio.get_running_loop()
        while self._estimates_stale:
            await asyncio.sleep(max(0.0, self._last_estimates + ESTIMATES_INTERVAL_S - loop.time()))
            self._estimates_stale, self._last_estimates = False, loop.time()
            await self.send_estimates()

    async def send_estimates(self, only: Participant | None = None) -> None:
        """Every point (or ``only``) gets the queues' estimates when they changed since it last got them."""
        targets = [only] if only is not None else list(self.points.values())
        if not targets:
            return
        text = self._estimates_text if only is not None else None
        if text is None:
            text = self._estimates_text = await self._render_estimates()
        for point in targets:
            if point.away_since is not None or self._estimates_sent.get(point.id) == (point.conn, text):
                continue
            if only is None and self._estimates_sent.get(point.id, (None, ""))[0] is not point.conn:
                # Connected but not yet welcomed on this connection (its welcome and first estimates are
                # being sent): ``queue.estimates`` must never arrive before ``welcome``.
                continue
            self._estimates_sent[point.id] = (point.conn, text)
            await point.send_text(text)

    async def _render_estimates(self) -> str:
        """Every queue's estimate from one read of the waiting tickets. A point that connects is sent the
        latest rendering while nothing changed: with Redis, reading every ticket once per queue per connecting
        point made 500 points reconnecting at once quadratic (bench_switchboard.py --instances 2's profile:
        three quarters of an instance's time)."""
        waiting = Counter(t.queue for t in await self.state.all_tickets())
        return p.encode(p.QueueEstimates(queues=[await self.queue_estimate(q, waiting[q]) for q in self._queues]))

    async def estimate(
        self,
        queue: str,
        position: int,
        agents: list[Participant] | None = None,
        averages: dict[str, float] | None = None,
    ) -> tuple[int | None, int]:
        """Seconds until ``position`` is likely answered, and the agents online (``None`` if none).

        ``agents`` (the queue's producer's, from :meth:`_agents`) and ``averages`` (a memo of the queues' average
        call lengths) let a caller estimating every place of a queue read them once: per place they cost a scan
        of every agent and, with Redis, a round trip each."""
        producer, qconf = self._queues[queue]
        if agents is None:
            agents = self._agents(producer)
        if not agents:
            return None, 0
        free = sum(1 for a in agents if a.call is None)
        if position <= free:
            return ANSWER_ESTIMATE_S, len(agents)
        averages = {} if averages is None else averages
        if queue not in averages:
            averages[queue] = await self.state.average_call_s(queue) or qconf.average_call_s
        return int(math.ceil((position - free) / len(agents)) * averages[queue]), len(agents)

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
            waiting = await self._waiting_by_queue()
            for queue in queues:
                await self._send_positions(queue, waiting.get(queue, []))
            self._stale_snapshots |= {self._queues[q][0] for q in queues}
            if self._snapshotter is None or self._snapshotter.done():
                self._snapshotter = asyncio.get_running_loop().create_task(self._send_snapshots())
        self._estimates_soon()

    async def _send_snapshots(self) -> None:
        loop = asyncio.get_running_loop()
        while self._stale_snapshots:
            wait = self._last_snapshots + self.config.connections.snapshot_interval_s - loop.time()
            await asyncio.sleep(max(0.0, wait))  # the first change after a quiet spell goes out at once
            producers, self._stale_snapshots = self._stale_snapshots, set()
            self._last_snapshots = loop.time()
            snapshots: dict[tuple[frozenset[str], frozenset[str], str | None], str] = {}
            agents = [a for a in self.participants.values() if a.role == "agent" and a.producers & producers]
            waiting = await self._waiting_by_queue()
            reserved = {t.reserved_for for ts in waiting.values() for t in ts if t.reserved_for is not None}
            for agent in [a for a in agents if a.away_since is None]:  # a returning agent gets a fresh one
                # Language routing and appointments reserved for one agent: what each sees may differ.
                key = (agent.producers, agent.languages, agent.principal if agent.principal in reserved else None)
                if key not in snapshots:
                    snapshots[key] = p.encode(await self._snapshot(agent, waiting))
                await agent.send_text(snapshots[key])

    async def _waiting_by_queue(self) -> dict[str, list[Ticket]]:
        """Every waiting ticket, by queue, in queue order, from one read of the state: with Redis a read per
        queue (and per agent's snapshot) reads every ticket each time, which made a burst quadratic."""
        waiting: dict[str, list[Ticket]] = {}
        for ticket in await self.state.all_tickets():
            waiting.setdefault(ticket.queue, []).append(ticket)
        return waiting

    async def _send_positions(self, queue: str, tickets: list[Ticket]) -> None:
        agents = self._agents(self._queues[queue][0])
        averages: dict[str, float] = {}
        for position, ticket in enumerate(tickets, start=1):
            point = self.points.get(ticket.point)
            if point is not None and point.away_since is None:  # one that is away gets it on return
                estimate, online = await self.estimate(queue, position, agents, averages)
                speakers = sum(1 for a in agents if speaks(a, ticket.language))
                seen = (point.conn, ticket.id, position, estimate, online, speakers)  # a new connection: anew
                if self._positions_sent.get(point.id) == seen:
                    continue
                self._positions_sent[point.id] = seen
                await point.send(
                    p.QueuePosition(ticket=ticket.id, position=position, estimate_s=estimate, agents_online=online,
                                    language_agents=speakers)
                )

    async def _agents_changed(self, agent: Participant) -> None:
        """An agent came or went: the estimates of the queues they serve change, waiting or not. Their
        queues are marked changed without reading the tickets here: the flush reads them once per burst
        (200 desks logging in read every ticket 200 times), and a queue nobody waits in sends nothing."""
        for qid, (producer, _) in self._queues.items():
            if producer in agent.producers:
                await self._queue_changed(qid)
        self._estimates_soon()

    async def _snapshot(self, agent: Participant, waiting: dict[str, list[Ticket]] | None = None) -> p.QueueSnapshot:
        """What ``agent`` sees of its producers' queues; ``waiting`` is :meth:`_waiting_by_queue` when the
        caller has read it already."""
        now = self.clock()
        if waiting is None:
            waiting = await self._waiting_by_queue()
        views = []
        for qid, (producer, qconf) in self._queues.items():
            if producer not in agent.producers:
                continue
            entries = []
            for t in waiting.get(qid, []):
                if self.reserved_elsewhere(agent, t):
                    self._language_held.add(t.id)  # the sweep shows it to everyone when the reservation ends
                    continue
                until = self.language_first_until(t)
                if until is not None:
                    self._language_held.add(t.id)
                    if not speaks(agent, t.language):
                        continue
                entries.append(p.QueueEntry(
                    ticket=t.id,
                    point=t.point,
                    place=self._point_places.get(t.point, t.point),
                    language=t.language,
                    waited_s=max(0, int(now - t.since)),
                    reconnecting=self._away(t.point),
                    interpreter=t.interpreter,
                    language_first_s=None if until is None else max(0, math.ceil(until - now)),
                    transferred_from=t.transferred_from,
                    transfer_reason=t.transfer_reason,
                    appointment_start=t.appointment_start,
                ))
            views.append(p.QueueView(queue=qid, producer=producer, open=self.queue_open(qconf), entries=entries))
        return p.QueueSnapshot(queues=views)
