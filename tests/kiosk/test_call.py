"""The call engine against the real switchboard (in-process, free loopback port) and an aiortc agent:
queue, answer, media both ways, real-time text, hang-up from either side, refusals that the customer sees."""

from __future__ import annotations

import asyncio

import aioice.ice
import pytest

from etapiste import protocol as p
from kiosk.call import (
    CallAnswered,
    CallConnected,
    CallEnded,
    CallQuality,
    CallTrouble,
    QueueLeft,
    QueuePosition,
    QueueRefused,
    RemoteVideoFrame,
    RttReceived,
    SelfVideoFrame,
    SwitchboardStatus,
)
from simulation.call import answering_agent, pattern_media, point_engine
from simulation.desk_agent import AiortcAgent
from simulation.heap import rss_mb
from simulation.switchboard import make_config, serve

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_customer_queues_is_answered_and_sees_and_hears_the_agent():
    async with serve() as sb, point_engine(sb) as (engine, events):
        agent = AiortcAgent(sb)
        try:
            await engine.start(timeout=10)
            assert (await events.first(SwitchboardStatus)).connected
            await agent.connect()
            engine.request_call("kela", "sv")
            position = await events.first(QueuePosition)
            assert position.position == 1 and position.agents_online == 1

            await agent.accept_next()
            answered = await events.first(CallAnswered)
            assert answered.agent_name == "Anna / Kela"
            await events.first(CallConnected)

            # The agent's picture arrives as BGRX arrays the view paints as they are (Format_RGB32); the self view too.
            frame = await events.first(RemoteVideoFrame, timeout=20)
            assert frame.role == "agent" and frame.image.shape == (240, 320, 4)
            await events.until(lambda: events.count(RemoteVideoFrame) > 10, what="a stream of frames")
            assert events.of(SelfVideoFrame)[0].image.shape == (240, 320, 4)
            # …and the agent receives the point's camera and microphone.
            await agent.until(lambda: agent.frames["video"] > 10 and agent.frames["audio"] > 10, what="media")

            # Quality for staff: something flows both ways and the round trip is known.
            sample = (await events.first(CallQuality, lambda e: e.sample.rtt_ms is not None, timeout=30)).sample
            assert sample.send_kbps > 0 and sample.receive_kbps > 0 and sample.fps_received > 0
            assert engine.aggregate.to_dict()["samples"] >= 1
        finally:
            await agent.close()


async def test_real_time_text_goes_both_ways_line_by_line():
    async with serve() as sb, point_engine(sb) as (engine, events), answering_agent(sb, engine) as agent:
        await events.first(CallConnected)
        await agent.channel_open()

        for text in ("H", "He", "Hei"):
            assert engine.send_rtt(text)
        assert engine.send_rtt("Hei!", final=True)
        await agent.until(lambda: len(agent.data_seen("rtt")) == 4, what="the customer's letters")
        assert [(m.text, m.final) for m in agent.data_seen("rtt")] == [
            ("H", False), ("He", False), ("Hei", False), ("Hei!", True)
        ]

        agent.dc_send(p.Rtt(seq=0, text="Hy", final=False))
        agent.dc_send(p.Rtt(seq=1, text="Hyvää päivää", final=True))
        await events.until(lambda: len(events.of(RttReceived)) == 2, what="the agent's line")
        assert [(e.text, e.final) for e in events.of(RttReceived)] == [("Hy", False), ("Hyvää päivää", True)]


async def test_text_typed_before_the_data_channel_opens_reaches_the_agent_in_order():
    async with serve() as sb, point_engine(sb) as (engine, events), answering_agent(sb, engine) as agent:
        await events.first(CallAnswered)
        # The customer starts typing as soon as the agent answers, while media is still being set up.
        assert engine.send_rtt("Mo")
        assert engine.send_rtt("Moi", final=True)
        await agent.until(lambda: len(agent.data_seen("rtt")) == 2, what="the early letters")
        assert [(m.text, m.final) for m in agent.data_seen("rtt")] == [("Mo", False), ("Moi", True)]


async def test_customer_hangs_up_and_the_agent_is_told():
    async with serve() as sb, point_engine(sb) as (engine, events):
        agent = AiortcAgent(sb)
        try:
            await engine.start(timeout=10)
            await agent.connect()
            engine.request_call("kela")
            call = await agent.accept_next()
            await events.first(CallConnected)
            task = engine.hang_up()
            assert task is not None
            await task
            ended = await events.first(CallEnded)
            assert (ended.call, ended.reason, ended.by) == (call, "hangup", "point")
            notice = await agent.until(lambda: agent.seen("call.ended"), what="call.ended")
            assert notice[0].reason == "hangup" and notice[0].by == "point"
            assert engine.state == "idle" and engine.peers == {}
        finally:
            await agent.close()


async def test_agent_hangs_up_and_the_customer_is_told():
    async with serve() as sb, point_engine(sb) as (engine, events):
        agent = AiortcAgent(sb)
        try:
            await engine.start(timeout=10)
            await agent.connect()
            engine.request_call("kela")
            call = await agent.accept_next()
            await events.first(CallConnected)
            await agent.send(p.Hangup(call=call))
            ended = await events.first(CallEnded)
            assert (ended.reason, ended.by) == ("hangup", "agent")
            # The point can queue again straight away.
            engine.request_call("kela")
            assert (await events.first(QueuePosition, lambda e: True)).position == 1
        finally:
            await agent.close()


async def test_customer_leaves_the_queue_before_an_answer():
    async with serve() as sb, point_engine(sb) as (engine, events):
        await engine.start(timeout=10)
        engine.request_call("kela")
        await events.first(QueuePosition)
        assert engine.state == "queued"
        engine.cancel_queue()
        assert (await events.first(QueueLeft)).reason == "cancelled"


async def test_a_signalling_drop_in_the_queue_keeps_the_customers_place_and_the_answer_reaches_them():
    async with serve() as sb, point_engine(sb) as (engine, events):
        agent = AiortcAgent(sb)
        try:
            await engine.start(timeout=10)
            await agent.connect()
            engine.request_call("kela")
            first = await events.first(QueuePosition)
            assert engine._ws is not None
            await engine._ws.close()  # a blip: the switchboard holds the place
            await events.first(SwitchboardStatus, lambda e: e.connected and events.of(SwitchboardStatus)[0] is not e)
            await events.until(lambda: len(events.of(QueuePosition)) >= 2, what="the position again")
            assert events.of(QueuePosition)[-1].position == first.position and not events.of(QueueLeft)
            await agent.accept_next()
            await events.first(CallConnected, timeout=30)
        finally:
            await agent.close()


async def test_a_place_the_switchboard_no_longer_holds_is_reported_as_lost_not_left_on_screen():
    async with serve(make_config(rejoin_grace_s=0)) as sb, point_engine(sb) as (engine, events):
        await engine.start(timeout=10)
        engine.request_call("kela")
        await events.first(QueuePosition)
        assert engine._ws is not None
        await engine._ws.close()
        left = await events.first(QueueLeft, timeout=20)
        assert left.reason == "network_lost" and engine.state == "idle" and engine.ticket is None


async def test_cancelling_while_the_switchboard_is_unreachable_does_not_requeue_on_return():
    async with serve() as sb, point_engine(sb) as (engine, events):
        await engine.start(timeout=10)
        engine.request_call("kela")
        await events.first(QueuePosition)
        assert engine._ws is not None
        await engine._ws.close()
        await events.first(SwitchboardStatus, lambda e: not e.connected)
        engine.cancel_queue()  # before the point has reconnected
        assert (await events.first(QueueLeft)).reason == "cancelled"
        await events.first(SwitchboardStatus, lambda e: e.connected and events.of(SwitchboardStatus)[0] is not e)
        await asyncio.sleep(0.2)
        assert await sb.hub.state.all_tickets() == [] and engine.state == "idle"
        assert [e.reason for e in events.of(QueueLeft)] == ["cancelled"]


async def test_a_closed_queue_is_refused_with_a_reason_the_kiosk_can_show():
    async with serve() as sb, point_engine(sb) as (engine, events):
        await engine.start(timeout=10)
        engine.request_call("kela", queue="kela-closed")
        assert (await events.first(QueueRefused)).code == "queue_closed"
        assert engine.state == "idle"


async def test_wrong_point_credential_is_reported_not_retried_in_a_loop():
    async with serve() as sb, point_engine(sb, credential="not-the-credential-of-this-point") as (engine, events):
        await engine.start()
        status = await events.first(SwitchboardStatus)
        assert (status.connected, status.reason) == (False, "unauthorised")
        engine.request_call("kela")
        assert (await events.first(QueueRefused)).code == "not_connected"


async def test_unreachable_switchboard_is_reported_and_the_point_reconnects_when_it_returns():
    async with serve() as sb:
        port = sb.server.port
    # The switchboard is gone: the engine says so and keeps trying.
    from aiohttp.test_utils import TestServer

    from simulation.switchboard import make_config
    from switchboard.web import create_app

    class _Gone:
        base = f"http://127.0.0.1:{port}"

    async with point_engine(_Gone) as (engine, events):  # type: ignore[arg-type]
        await engine.start()
        status = await events.first(SwitchboardStatus)
        assert (status.connected, status.reason) == (False, "unreachable")
        server = TestServer(create_app(make_config(), sweep_interval=None), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            await events.first(SwitchboardStatus, lambda e: e.connected, timeout=30)
        finally:
            await server.close()


async def test_a_call_relayed_through_coturn_carries_media_both_ways(coturn):
    config = make_config(turn={"urls": coturn.urls, "secret": coturn.secret, "ttl_s": 600})
    async with (
        serve(config) as sb, point_engine(sb, relay_only=True) as (engine, events),
        answering_agent(sb, engine) as agent,
    ):
        await events.first(CallConnected, timeout=40)
        sdp = next(iter(engine.peers.values())).pc.localDescription.sdp
        assert all(" typ relay " in line for line in sdp.splitlines() if line.startswith("a=candidate:"))
        await events.first(RemoteVideoFrame, timeout=20)
        await agent.until(lambda: agent.frames["video"] > 5, what="video through the relay")
        assert engine.health()["turn"] == "ok"


async def test_when_no_direct_route_exists_the_point_reaches_the_agent_through_turn(coturn):
    """The point is not relay-only (direct first); the agent is reachable only through the relay (as behind a
    strict firewall): the call still carries media both ways, through coturn."""
    config = make_config(turn={"urls": coturn.urls, "secret": coturn.secret, "ttl_s": 600})
    async with (
        serve(config) as sb, point_engine(sb) as (engine, events),
        answering_agent(sb, engine, relay_only=True) as agent,
    ):
        await events.first(CallConnected, timeout=40)
        offer = next(iter(engine.peers.values())).pc.localDescription.sdp
        assert " typ host" in offer and " typ relay " in offer  # the point offered both ways in
        candidates = [line for line in agent.answers[-1].splitlines() if line.startswith("a=candidate:")]
        assert candidates and all(" typ relay " in line for line in candidates)  # only the relay reaches it
        await events.first(RemoteVideoFrame, timeout=20)
        await agent.until(lambda: agent.frames["video"] > 5, what="video from the point through the relay")


async def test_a_wrong_turn_credential_is_shown_and_reported_not_a_silent_timeout(coturn):
    config = make_config(turn={"urls": coturn.urls, "secret": "not-the-coturn-secret", "ttl_s": 600})
    async with (
        serve(config) as sb, point_engine(sb, relay_only=True) as (engine, events),
        answering_agent(sb, engine) as agent,
    ):
        trouble = await events.first(CallTrouble, timeout=30)
        assert trouble.kind == "turn_refused" and "401" in trouble.detail
        ended = await events.first(CallEnded)
        assert ended.reason == "media_failed"
        assert engine.health()["turn"].startswith("turn_refused")
        # The agent is told at once, instead of waiting for the switchboard's set-up timeout.
        notice = await agent.until(lambda: agent.seen("call.ended"), what="call.ended")
        assert notice[0].by == "point"


async def test_an_unreachable_turn_server_is_named_as_such(coturn):
    from simulation.services.common import free_port

    dead = f"turn:127.0.0.1:{free_port()}?transport=udp"
    config = make_config(turn={"urls": [dead], "secret": coturn.secret, "ttl_s": 600})
    async with serve(config) as sb, point_engine(sb) as (engine, events), answering_agent(sb, engine):
        trouble = await events.first(CallTrouble, timeout=60)
        assert trouble.kind == "turn_unreachable"
        # Not relay-only: the direct route still carries the call.
        await events.first(CallConnected, timeout=30)


async def test_a_point_that_cannot_set_up_media_ends_the_call_at_once_for_both(monkeypatch):
    def no_interfaces(use_ipv4, use_ipv6):
        raise OSError("no usable network interface")

    monkeypatch.setattr(aioice.ice, "get_host_addresses", no_interfaces)
    async with serve() as sb, point_engine(sb) as (engine, events), answering_agent(sb, engine) as agent:
        ended = await events.first(CallEnded)
        assert (ended.reason, ended.by) == ("media_failed", "point")
        notice = await agent.until(lambda: agent.seen("call.ended"), what="call.ended")
        assert notice[0].by == "point"


async def test_a_camera_faster_than_the_encoder_does_not_pile_up_pictures_in_memory():
    """A 1280×720 camera at 60 fps is more than aiortc encodes on a point PC: the newest picture is sent and
    the rest are dropped, instead of queueing (which grew the kiosk by ~80 MB a second until it was killed)."""
    async with (
        serve() as sb, point_engine(sb, media=pattern_media(1280, 720, fps=60)) as (engine, events),
        answering_agent(sb, engine) as agent,
    ):
        await events.first(CallConnected, timeout=30)
        await agent.until(lambda: agent.frames["video"] > 5, what="video")
        before = rss_mb()
        await asyncio.sleep(8)
        grown = rss_mb() - before
        sent = engine._video.frames_sent if engine._video else 0
        assert agent.frames["video"] > 5 and sent > 0
        assert grown < 250, f"memory grew by {grown:.0f} MB in 8 s"
