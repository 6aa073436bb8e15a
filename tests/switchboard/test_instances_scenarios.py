"""The switchboard as a national service under the events ops fear: an instance killed mid-call, every instance
restarted in turn while points wait and calls run, Redis restarted or out of reach. Real processes throughout:
Debian's HAProxy in front of ``etapiste switchboard`` instances on a private Redis with its append-only file
(:mod:`simulation.services.haproxy`); the point is the kiosk's call engine with a test-pattern camera
(:mod:`simulation.call`), the agent the aiortc desk (:mod:`simulation.desk_agent`; the real desk in Chromium through
HAProxy, killed under it, is ``tests/browser/test_desk_instances.py``), the waiting points signalling
clients."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from etapiste import protocol as p
from kiosk.call import CallConnected, CallEnded, CallEngine, QueueLeft, QueuePosition, RemoteVideoFrame, RttReceived
from simulation.call import Recorder, pattern_media, point_engine
from simulation.desk_agent import AiortcAgent, MutedMicrophone
from simulation.services.haproxy import RemoteSwitchboard, SwitchboardCluster
from simulation.switchboard import POINT_CREDENTIALS
from switchboard.credentials import hash_point_credential

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("loopback_ice")]


def point_holder(cluster: SwitchboardCluster) -> str:
    return cluster.holder("point oulu-kirjasto online", "point point-oulu-kirjasto came back")


def desk_holder(cluster: SwitchboardCluster, agent: AiortcAgent) -> str:
    return cluster.holder(f"desk {agent.you} online", f"agent {agent.you} came back")


@contextlib.asynccontextmanager
async def call_through(
    cluster: SwitchboardCluster, sb: RemoteSwitchboard
) -> AsyncIterator[tuple[CallEngine, Recorder, AiortcAgent]]:
    """The point queues through HAProxy and the aiortc agent (also through HAProxy) answers; media flowing."""
    async with point_engine(sb, url=cluster.point_url) as (engine, events):
        agent = AiortcAgent(sb, heartbeat_s=20.0)
        try:
            await engine.start(timeout=20)
            await agent.connect()
            engine.request_call("kela")
            await agent.accept_next()
            await events.first(CallConnected, timeout=30)
            await agent.channel_open()
            await events.until(lambda: events.count(RemoteVideoFrame) > 10, 30, "the agent's video")
            yield engine, events, agent
        finally:
            await agent.close()


async def back_in_call(engine: CallEngine, events: Recorder, agent: AiortcAgent, call: str, what: str) -> None:
    """Signalling back (the engine connected, the agent's desk welcomed again) and the call unchanged."""
    await events.until(lambda: engine.connected.is_set() and engine.call == call, 40, what)


def received(events: Recorder, agent: AiortcAgent) -> tuple[int, int]:
    return events.count(RemoteVideoFrame), agent.frames["video"]


async def flowing_since(
    events: Recorder, agent: AiortcAgent, before: tuple[int, int], what: str, frames: int = 30
) -> None:
    """Video both ways: each side has received ``frames`` more pictures than it had at ``before``."""
    await events.until(
        lambda: all(now > then + frames for now, then in zip(received(events, agent), before, strict=True)), 30, what
    )


async def test_an_instance_killed_mid_call_the_point_and_the_desk_come_back_into_the_same_call(
    switchboard_cluster: SwitchboardCluster,
):
    cluster = switchboard_cluster
    async with cluster.clients() as sb, call_through(cluster, sb) as (engine, events, agent):
        call = engine.call
        assert call is not None and agent.call == call

        # 1. The point's instance dies. Media is peer to peer: it flows on while the point comes back.
        dead = point_holder(cluster)
        before = received(events, agent)
        cluster.instance(dead).kill()
        agent.dc_send(p.Rtt(seq=1, text="kuuletteko minua", final=True))  # said while the point's signalling is away
        await events.until(lambda: not engine.connected.is_set() or engine.me is None, 20, "the drop noticed")
        await back_in_call(engine, events, agent, call, "the point back in its call")
        await flowing_since(events, agent, before, "video both ways across the kill")
        await events.until(lambda: [e for e in events.of(RttReceived) if "kuuletteko" in e.text], 20, "the text")
        assert point_holder(cluster) != dead, "the point came back through the other instance"
        await asyncio.to_thread(cluster.wait_server, dead, "DOWN")
        await asyncio.to_thread(cluster.start_again, dead)

        # 2. The desk's instance dies: the desk comes back into the same call, the point never notices.
        dead = desk_holder(cluster, agent)
        rejoins = len(agent.rejoins)
        before = received(events, agent)
        cluster.instance(dead).kill()
        await agent.until(lambda: len(agent.rejoins) > rejoins, 40, "the desk welcomed back")
        assert agent.rejoins[-1].call == call and not agent.lost
        assert desk_holder(cluster, agent) != dead, "the desk came back through the other instance"
        await flowing_since(events, agent, before, "video both ways across the second kill")

        assert engine.call == call and not events.of(CallEnded) and not events.of(QueueLeft)
        assert not agent.seen("call.ended")


#: The rolling restart's load: points waiting in one queue (signalling only: the kiosk's engine, no media until
#: answered) and calls in progress, each a point's engine and an aiortc desk with video both ways. The calls'
#: pictures are small and slow and their microphones muted (:data:`LIGHT_CALL`): twenty calls with 320×240 at 30
#: fps and a tone each way cost ~40 % of a core each here (three: 118 %), twenty light ones ~70 % together (three:
#: 10 %), and what a restart does to a call does not depend on its picture's size.
ROLLING_WAITING = 100
ROLLING_CALLS = 20
LIGHT_CALL = (80, 60, 3)


def waiting_points() -> dict[str, str]:
    return {f"piste-{n:03d}": f"piste-{n:03d}-credential-0123456789" for n in range(ROLLING_WAITING)}


def calling_points() -> dict[str, str]:
    return {f"puhelu-{n:02d}": f"puhelu-{n:02d}-credential-0123456789" for n in range(ROLLING_CALLS)}


async def test_a_rolling_restart_of_every_instance_loses_no_queue_place_and_ends_no_call(cluster_factory: Any):
    waiting, calling = waiting_points(), calling_points()
    points = [
        {"id": pid, "place": f"Place {pid}", "credential_hash": hash_point_credential(secret)}
        for pid, secret in {**POINT_CREDENTIALS, **calling, **waiting}.items()  # the first three: the host users' rooms
    ]
    cluster: SwitchboardCluster = await asyncio.to_thread(cluster_factory, 2, points=points)
    width, height, fps = LIGHT_CALL
    light = dataclasses.replace(pattern_media(width, height, fps), audio=MutedMicrophone)
    async with contextlib.AsyncExitStack() as stack:
        sb = await stack.enter_async_context(cluster.clients())
        calls = []
        for point_id, secret in calling.items():
            engine, events = await stack.enter_async_context(
                point_engine(sb, point_id, secret, url=cluster.point_url, media=light, stats_interval_s=2.0)
            )
            agent = AiortcAgent(sb, heartbeat_s=20.0)
            agent.video, agent.muted = LIGHT_CALL, True
            stack.push_async_callback(agent.close)
            await engine.start(timeout=30)
            await agent.connect()
            engine.request_call("kela")
            await agent.accept_next()
            await events.first(CallConnected, timeout=60)
            calls.append((engine, events, agent, engine.call))
        assert len({call for *_, call in calls}) == ROLLING_CALLS

        queue = []
        for point_id, secret in waiting.items():
            engine = CallEngine(
                url=cluster.point_url, point_id=point_id, credential=secret, queues={"kela": "kela-general"}
            )
            recorder = Recorder()
            engine.subscribe(recorder)
            stack.push_async_callback(engine.close)
            queue.append((engine, recorder))
        await asyncio.gather(*(engine.start(timeout=60) for engine, _ in queue))
        for n, (engine, recorder) in enumerate(queue, start=1):
            engine.request_call("kela")
            assert (await recorder.first(QueuePosition, timeout=30)).position == n
        tickets = [engine.ticket for engine, _ in queue]
        watcher = calls[0][2]

        for instance in cluster.instances:
            before = [received(events, agent) for _, events, agent, _ in calls]
            await asyncio.to_thread(cluster.restart, instance.name)
            assert instance.exited_by_itself, f"{instance.name} closed its sockets and exited on SIGTERM"
            for (engine, events, agent, call), then in zip(calls, before, strict=True):
                await back_in_call(engine, events, agent, call, f"call {call} after restarting {instance.name}")
                await flowing_since(
                    events, agent, then, f"media of call {call} across {instance.name}'s restart", frames=3 * fps
                )

        for n, (engine, recorder) in enumerate(queue, start=1):
            await recorder.until(
                lambda e=engine, r=recorder, n=n: e.connected.is_set() and r.of(QueuePosition)[-1].position == n,
                60,
                f"waiting point {n} back in place {n}",
            )
        assert [engine.ticket for engine, _ in queue] == tickets, "every place kept, in its order"
        assert all(engine.state == "queued" for engine, _ in queue)
        assert not [r for _, r in queue if r.of(QueueLeft)], "no customer was told the place was lost"
        snapshot = await watcher.until(lambda: _latest_entries(watcher, ROLLING_WAITING), 30, "the whole queue")
        assert [entry.ticket for entry in snapshot] == tickets, "agents see the same queue in the same order"
        for engine, events, agent, call in calls:
            assert engine.call == call and not events.of(CallEnded) and not agent.lost
            assert not agent.seen("call.ended")


def _latest_entries(agent: AiortcAgent, expected: int) -> list[Any] | None:
    snapshots = agent.seen("queue.snapshot")
    if not snapshots:
        return None
    entries = [e for q in snapshots[-1].queues if q.queue == "kela-general" for e in q.entries]
    return entries if len(entries) == expected else None


async def test_redis_restarted_with_its_append_only_file_keeps_queues_and_calls(
    switchboard_cluster: SwitchboardCluster,
):
    cluster = switchboard_cluster
    async with cluster.clients() as sb, call_through(cluster, sb) as (engine, events, agent):
        call = engine.call
        waiting = []
        for point_id in ("kemi-kirjasto", "inari-kirjasto"):
            other = CallEngine(
                url=cluster.point_url,
                point_id=point_id,
                credential=POINT_CREDENTIALS[point_id],
                queues={"kela": "kela-general"},
            )
            recorder = Recorder()
            other.subscribe(recorder)
            waiting.append((other, recorder))
        try:
            for n, (other, recorder) in enumerate(waiting, start=1):
                await other.start(timeout=20)
                other.request_call("kela")
                assert (await recorder.first(QueuePosition)).position == n
            tickets = [other.ticket for other, _ in waiting]
            before = received(events, agent)

            await asyncio.to_thread(cluster.redis.restart)
            for instance in cluster.instances:
                await asyncio.to_thread(cluster.wait_server, instance.name, "UP")

            await flowing_since(events, agent, before, "media across Redis's restart")
            assert engine.call == call and not events.of(CallEnded) and not agent.seen("call.ended")
            assert [other.ticket for other, _ in waiting] == tickets
            assert all(other.state == "queued" for other, _ in waiting)
            assert not [r for _, r in waiting if r.of(QueueLeft)]
            # The queue is whole: another agent's desk lists both places in their order and answers the first.
            desk = await sb.desk("bertil")
            snapshot = await desk.expect("queue.snapshot")
            listed = [e.ticket for q in snapshot.queues if q.queue == "kela-general" for e in q.entries]
            assert listed == tickets
            await desk.send(p.QueueAccept(ticket=tickets[0]))
            assert (await desk.expect("call.start", timeout=20)).call is not None
        finally:
            for other, _ in waiting:
                await other.close()


async def test_redis_unreachable_makes_the_instances_unhealthy_refuses_new_work_and_recovers(
    switchboard_cluster: SwitchboardCluster,
):
    cluster = switchboard_cluster
    async with cluster.clients() as sb:
        desk = await sb.desk("anna")
        point = await sb.point("oulu-kirjasto")
        await point.expect("welcome")

        await asyncio.to_thread(cluster.redis.stop)
        for instance in cluster.instances:
            status, body = await asyncio.to_thread(instance.health)
            assert (status, body.get("error")) == (503, "redis_unreachable")
            await asyncio.to_thread(cluster.wait_server, instance.name, "DOWN")
        # Connected sockets stay. The desk is told unasked; what a point asks is refused with the same code,
        # never silently dropped or half done.
        told = await desk.expect("error", timeout=20)
        assert told.code == "unavailable"
        await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
        refused = await point.expect("error", timeout=20)
        assert refused.code == "unavailable"
        assert point.latest("queue.position") is None

        await asyncio.to_thread(cluster.redis.start)
        for instance in cluster.instances:
            await asyncio.to_thread(cluster.wait_server, instance.name, "UP")
        assert not desk.ws.closed and not point.ws.closed
        await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
        assert (await point.expect("queue.position", timeout=20)).position == 1
        fresh = await sb.point("kemi-kirjasto")  # a new connection through HAProxy again
        await fresh.expect("welcome")
        await fresh.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
        assert (await fresh.expect("queue.position", timeout=20)).position == 2
