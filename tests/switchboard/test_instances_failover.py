"""Point failover between switchboard processes: a point configured with two instances' addresses
(``switchboard.urls``) whose instance is killed with SIGKILL gets through the other one — and, the instances
sharing Redis, comes back into its queue place there, ahead of whoever queued after it."""

from __future__ import annotations

import pytest

from kiosk.call import CallEngine, QueueLeft, QueuePosition
from simulation.call import Recorder
from simulation.services.haproxy import SwitchboardCluster
from simulation.switchboard import POINT_CREDENTIALS

pytestmark = pytest.mark.services


def engine_for(point_id: str, urls: list[str]) -> tuple[CallEngine, Recorder]:
    engine = CallEngine(
        url=urls[0],
        fallback_urls=urls[1:],
        point_id=point_id,
        credential=POINT_CREDENTIALS[point_id],
        queues={"kela": "kela-general"},
    )
    events = Recorder()
    engine.subscribe(events)
    return engine, events


async def test_a_point_whose_instance_is_killed_gets_through_the_next_address(
    switchboard_cluster: SwitchboardCluster,
):
    sb1, sb2 = switchboard_cluster.instances
    engine, events = engine_for("oulu-kirjasto", [sb1.point_url, sb2.point_url])
    try:
        await engine.start(timeout=20)
        assert engine.url == sb1.point_url
        sb1.kill()
        await events.until(
            lambda: engine.url == sb2.point_url and engine.connected.is_set(), 30, "the point back through sb2"
        )
        engine.request_call("kela")
        assert (await events.first(QueuePosition)).position == 1
    finally:
        await engine.close()


async def test_a_queued_point_whose_instance_is_killed_keeps_its_place_through_the_other(
    switchboard_cluster: SwitchboardCluster,
):
    """Oulu queues first on sb1, Kemi second on sb2; sb1 is killed. Oulu comes back through sb2 into its
    place: still first, same ticket, never told it left the queue; Kemi stays second."""
    sb1, sb2 = switchboard_cluster.instances
    oulu, oulu_events = engine_for("oulu-kirjasto", [sb1.point_url, sb2.point_url])
    kemi, kemi_events = engine_for("kemi-kirjasto", [sb2.point_url, sb1.point_url])
    try:
        await oulu.start(timeout=20)
        await kemi.start(timeout=20)
        oulu.request_call("kela")
        first = await oulu_events.first(QueuePosition)
        kemi.request_call("kela")
        assert (await kemi_events.first(QueuePosition)).position == 2
        ticket = oulu.ticket
        assert first.position == 1 and ticket is not None

        sb1.kill()
        await oulu_events.until(
            lambda: oulu.url == sb2.point_url and oulu.connected.is_set(), 30, "Oulu back through sb2"
        )
        await oulu_events.until(lambda: len(oulu_events.of(QueuePosition)) >= 2, 30, "Oulu's place again")
        assert oulu.state == "queued" and oulu.ticket == ticket
        assert oulu_events.of(QueuePosition)[-1].position == 1
        assert not oulu_events.of(QueueLeft), "the customer was never told the place was lost"
        assert kemi_events.of(QueuePosition)[-1].position == 2 and not kemi_events.of(QueueLeft)
    finally:
        await oulu.close()
        await kemi.close()
