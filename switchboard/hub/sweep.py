"""Time-based upkeep and the organiser's overview: queue timeouts and closing hours, calls that never got
connected, expired logins and nonces, participants that did not come back in time.

With several instances the shared part (queues, calls, sessions, nonces) runs on one of them per tick, the
holder of the sweep lease (:meth:`switchboard.relay.Relay.sweep_lease`), which asks before each effect
whether the lease is still its own (a holder paused past its lease acts no more; and every effect is an
atomic take in the state, so even one paused between asking and acting cannot double it). What it does is
told to the participants wherever they are connected. Each instance looks after its own sockets (a
participant held past its rejoin grace, an expired desk login)."""

from __future__ import annotations

import logging
from typing import Any

from etapiste import protocol as p
from switchboard.hub.calls import CALL_SETUP_TIMEOUT_S
from switchboard.hub.instances import Instances

log = logging.getLogger("switchboard")


class Sweep(Instances):
    """The once-a-second sweep and the overview."""

    async def sweep(self) -> bool:
        """Time-based upkeep, run every second on every instance; returns whether this instance did the
        shared part (it holds the sweep lease)."""
        now = self.clock()
        await self.refresh_members()
        shared = await self.relay.sweep_lease()
        if shared:
            await self._sweep_shared(now)
        for part in list(self.participants.values()):
            if part.away_since is not None and now - part.away_since >= self.config.rejoin_grace_s:
                log.info("%s %s did not come back within %d s", part.role, part.id, self.config.rejoin_grace_s)
                await self.disconnect(part, hold=False)
            elif part.session is not None and await self.session_user(part.session) is None:
                await part.send(p.Error(code="session_expired", message="the login expired; log in again"))
                await self.disconnect(part, hold=False)
                self._close_later(part.conn)
        await self.release_language_holds()
        await self.send_estimates()  # service hours open and close with time alone
        return shared

    async def _gone(self, pid: str) -> bool:
        """Whether ``pid`` is connected nowhere, nor held anywhere (asked of Redis itself, not our copy)."""
        return self._find(pid) is None and await self.relay.member(pid) is None

    async def _sweep_shared(self, now: float) -> None:
        """Queue timeouts and closing hours, calls never connected, and what a dead instance left: tickets
        and calls of participants no instance holds any more. Expired sessions and nonces."""
        fence = self.relay.holds_lease
        for ticket in await self.state.all_tickets():
            _, qconf = self._queues[ticket.queue]
            if now - ticket.in_queue_since >= qconf.timeout_s:
                reason = "timeout"
            elif not self.queue_open(qconf):
                reason = "closed"
            elif await self._gone(f"point-{ticket.point}"):
                reason = "cancelled"
            else:
                continue
            if not await fence():
                return
            await self._leave_queue(ticket, reason)
        for call in await self.state.calls():
            by: p.Role
            if not call.connected and now - call.started >= CALL_SETUP_TIMEOUT_S:
                reason, by = "setup_failed", "point"
            elif await self._gone(call.point):
                reason, by = "point_gone", "point"
            elif await self._gone(call.agent):
                reason, by = "agent_gone", "agent"
            else:
                continue
            if not await fence():
                return
            await self._end_call(call, reason, by)
        for session in await self.state.sessions():
            if session.expires <= now:
                await self.state.drop_session(session.token)
        await self.state.drop_expired_nonces(now)

    def _point_presence(self, point: str, in_call: set[str], queued: dict[str, str]) -> dict[str, Any]:
        part = self._point(point)  # on this instance or another
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
