"""The switchboard's figures for ops, in Prometheus's text format (``/metrics`` on ``metrics_listen``).

Counters are counted where things happen (frames, aborts, rate-limited frames, login failures, customers
answered, abandoned or timed out); gauges (waiting, longest wait, agents, calls, connections, the state
store's round-trip) are read from the hub at scrape time, so they are never stale and cost nothing between
scrapes. One registry per switchboard (not the process-wide default), so tests can run several. Labels are
queue ids and roles only: never a name, point address or user.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

if TYPE_CHECKING:
    from switchboard.hub import Hub

ROLES = ("point", "agent", "interpreter", "organiser")


class Metrics:
    """Every metric of one switchboard instance."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.waiting = Gauge("switchboard_queue_waiting", "Customers waiting in the queue", ["queue"], registry=r)
        self.longest_wait = Gauge(
            "switchboard_queue_longest_wait_seconds", "How long the first customer in line has waited", ["queue"],
            registry=r,
        )
        self.answered = Counter("switchboard_queue_answered", "Customers answered by an agent", ["queue"], registry=r)
        self.left = Counter(
            "switchboard_queue_left",
            "Customers who left the queue unanswered: abandoned (cancelled or their point gone), timeout, closed",
            ["queue", "reason"],
            registry=r,
        )
        self.transfers = Counter(
            "switchboard_transfers", "Customers transferred by an agent to another queue, and why (issue 22)",
            ["queue", "to_queue", "reason"], registry=r,
        )
        self.transfers_refused = Counter(
            "switchboard_transfers_refused", "Transfers refused before the customer moved: queue_closed, no_agent, …",
            ["queue", "code"], registry=r,
        )
        self.agents_online = Gauge("switchboard_agents_online", "Agents with a desk connected", registry=r)
        self.agents_busy = Gauge("switchboard_agents_busy", "Agents in a call", registry=r)
        self.calls_active = Gauge("switchboard_calls_active", "Calls in progress", registry=r)
        self.connections = Gauge("switchboard_connections", "Live connections", ["role"], registry=r)
        self.frames_in = Counter("switchboard_frames_in", "Frames received", ["role"], registry=r)
        self.frames_out = Counter("switchboard_frames_out", "Frames written to sockets", ["role"], registry=r)
        self.aborts = Counter(
            "switchboard_connection_aborts",
            "Connections aborted because their reader stopped reading: stall (a send took too long), overflow",
            ["role", "reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "switchboard_rate_limited_frames", "Frames refused with error rate_limited", ["role"], registry=r
        )
        self.login_failures = Counter(
            "switchboard_login_failures", "Desk logins refused: wrong_credentials or rate_limited", ["reason"],
            registry=r,
        )
        self.state_roundtrip = Gauge(
            "switchboard_state_roundtrip_seconds",
            "One read of the shared state at scrape time (Redis's round-trip with redis_url, else memory)",
            registry=r,
        )
        self.state_up = Gauge("switchboard_state_up", "1 if the state store answered at scrape time", registry=r)
        self.relayed = Counter(
            "switchboard_relay_frames",
            "Frames relayed through Redis: out (to a participant on another instance), in (from another instance)",
            ["direction"],
            registry=r,
        )
        self.relay_roundtrip = Gauge(
            "switchboard_relay_roundtrip_seconds",
            "A message through the relay to this instance and back at scrape time (0 without redis_url; -1: no answer)",
            registry=r,
        )
        for direction in ("out", "in"):
            self.relayed.labels(direction)
        for role in ROLES:  # present from the start, so rate() and alerts see zeros rather than nothing
            self.frames_in.labels(role)
            self.frames_out.labels(role)
            self.rate_limited.labels(role)

    async def render(self, hub: Hub) -> bytes:
        """The gauges read from ``hub`` now, and every figure in the text format."""
        began = time.perf_counter()
        try:
            await hub.state.calls()
            self.state_roundtrip.set(time.perf_counter() - began)
            self.state_up.set(1)
        except Exception:  # Redis down: say so; the other figures come from this instance's memory
            self.state_up.set(0)
            return generate_latest(self.registry)
        roundtrip = await hub.relay.roundtrip()
        self.relay_roundtrip.set(-1 if roundtrip is None else roundtrip)
        overview = await hub.overview()
        for queue in overview["queues"]:
            self.waiting.labels(queue["queue"]).set(queue["waiting"])
            self.longest_wait.labels(queue["queue"]).set(queue["longest_wait_s"])
            self.answered.labels(queue["queue"])
        agents = [part for part in hub.participants.values() if part.role == "agent"]
        self.agents_online.set(sum(1 for a in agents if a.away_since is None))
        self.agents_busy.set(sum(1 for a in agents if a.call is not None))
        self.calls_active.set(len(overview["calls"]))
        for role in ROLES:
            self.connections.labels(role).set(
                sum(1 for part in hub.participants.values() if part.role == role and part.away_since is None)
            )
        return generate_latest(self.registry)
