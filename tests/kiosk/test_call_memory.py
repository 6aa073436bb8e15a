"""What the point keeps of its calls must not grow with the number of calls: the kiosk runs for months in one
process (issue 24: RSS growth at most 20 MB over 1000 journeys). Real calls against the real switchboard and
an aiortc agent; what is counted is the objects the engine holds, not RSS (which the allocator blurs)."""

from __future__ import annotations

import gc

import pytest

import kiosk.call.core
from kiosk.call import CallConnected, CallEnded, CallQuality
from kiosk.stats import QualityAggregate, QualitySample
from simulation.call import point_engine
from simulation.desk_agent import AiortcAgent
from simulation.soak import forget
from simulation.switchboard import serve

pytestmark = pytest.mark.usefixtures("loopback_ice")

CALLS = 3
SAMPLES_PER_CALL = 12
WINDOW = 8


def quality_samples_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is QualitySample)


async def test_call_quality_samples_do_not_pile_up_call_after_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, the engine kept every quality sample of every call in a list nobody read, and its health
    aggregate kept every sample's figures: both grew with each call for the kiosk's whole life."""
    monkeypatch.setattr(kiosk.call.core, "HEALTH_QUALITY_SAMPLES", WINDOW, raising=False)
    async with serve() as sb, point_engine(sb, stats_interval_s=0.05) as (engine, events):
        agent = AiortcAgent(sb)
        try:
            await engine.start(timeout=10)
            await agent.connect()
            baseline = quality_samples_alive()
            for n in range(CALLS):
                engine.request_call("kela")
                await agent.accept_next()
                await events.first(CallConnected, timeout=30)
                await events.until(lambda: events.count(CallQuality) >= SAMPLES_PER_CALL, timeout=60,
                                   what="quality samples of the call")
                task = engine.hang_up()
                assert task is not None
                await task
                await events.first(CallEnded)
                await agent.until(lambda: agent.call is None, what="the agent's side of the call ended")
                # The harness forgets what it saw (as the soak does between customers); only the engine holds on.
                events.events.clear()
                events.times.clear()
                forget(agent)  # its last queue snapshot names this customer's ticket
                assert engine.state == "idle" and engine.peers == {}, f"call {n + 1} left peers behind"
            # The samples themselves are gone once the events were handed on (the old list held all 36+).
            assert quality_samples_alive() - baseline <= 2
            health = engine.health()["quality"]
            # Staff still see every sample counted and figures from the newest ones.
            assert health["samples"] >= CALLS * SAMPLES_PER_CALL
            assert health["receive_kbps_median"] is not None and health["receive_kbps_median"] > 0
            assert engine.aggregate.kept == WINDOW
        finally:
            await agent.close()


def test_the_health_aggregate_keeps_only_the_newest_samples_and_reports_them() -> None:
    """A bounded aggregate forgets the oldest figures: after a bad hour and a good one, staff see the good."""
    aggregate = QualityAggregate(window=100)
    bad = QualitySample(interval_s=2, send_kbps=100, receive_kbps=100, fps_received=5, loss_percent=20, rtt_ms=400)
    good = QualitySample(interval_s=2, send_kbps=900, receive_kbps=1500, fps_received=30, loss_percent=0, rtt_ms=20)
    for _ in range(1000):
        aggregate.add(bad)
    for _ in range(100):
        aggregate.add(good)
    figures = aggregate.to_dict()
    assert aggregate.kept == 100 and figures["samples"] == 1100
    assert figures["receive_kbps_median"] == 1500 and figures["loss_percent_p95"] == 0 and figures["rtt_ms_p95"] == 20
    # A call's own aggregate has no window: its summary is over the whole call.
    call = QualityAggregate()
    for _ in range(5000):
        call.add(bad)
    assert call.kept == 5000
