"""Several switchboard instances on one Redis (issue 17, item 2): two or three real switchboards on loopback
sharing a private redis-server, with points and desks on real WebSockets connected to different instances.
An agent on one answers a point on another and the call's signalling flows both ways; a desk sees a point
queueing on another instance; a frame held for a participant who dropped reaches it on the instance it
comes back to; the shared sweep acts once per tick and survives the loss of the instance that ran it; and
the instances recover when Redis comes back."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis as RedisClient

from etapiste import protocol as p
from simulation.clock import FakeClock
from simulation.services.redis import Redis
from simulation.switchboard import Client, Switchboard, make_config, serve, start_call
from simulation.waiting import polled
from switchboard.redis_state import RedisState
from switchboard.relay import LEASE_S, RedisRelay

pytestmark = pytest.mark.services

KELA = {"producer": "kela", "queue": "kela-general"}
CANDIDATE = "candidate:1 1 UDP 2122260223 192.0.2.10 54400 typ host"


@asynccontextmanager
async def instances(redis: Redis, count: int, clock: FakeClock | None = None) -> AsyncIterator[list[Switchboard]]:
    """``count`` switchboards on one Redis namespace and one clock, each on its own loopback port."""
    config = make_config(redis_url=redis.url, redis_prefix=f"inst{secrets.token_hex(3)}:")
    clock = clock or FakeClock()
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serve(config, clock=clock)) for _ in range(count)]


async def _snapshot_where(desk: Client, check: Callable[[dict[str, p.QueueEntry]], bool]) -> dict[str, p.QueueEntry]:
    """The desk's next queue snapshot whose Kela entries (ticket → entry) satisfy ``check``."""
    while True:
        snapshot = await desk.expect("queue.snapshot")
        entries = {e.ticket: e for q in snapshot.queues if q.queue == "kela-general" for e in q.entries}
        if check(entries):
            return entries


async def _queue(point: Client) -> p.QueuePosition:
    await point.send(p.QueueRequest(**KELA, language="fi"))
    return await point.expect("queue.position")


def _timeouts(sbs: list[Switchboard]) -> float:
    """Queue timeouts counted by every instance together."""
    labels = {"queue": "kela-general", "reason": "timeout"}
    return sum(sb.hub.metrics.registry.get_sample_value("switchboard_queue_left_total", labels) or 0 for sb in sbs)


async def test_an_agent_on_one_instance_answers_a_point_on_another_and_signalling_flows_both_ways(
    redis_server: Redis,
):
    async with instances(redis_server, 2) as (a, b):
        desk = await a.desk("anna")
        point = await b.point("oulu-kirjasto")
        await point.expect("welcome")
        position = await _queue(point)
        assert position.agents_online == 1  # Anna, on the other instance, counts in the estimate
        await _snapshot_where(desk, lambda entries: position.ticket in entries)
        await desk.send(p.QueueAccept(ticket=position.ticket))
        start = await point.expect("call.start")
        desk_start = await desk.expect("call.start")
        assert start.call == desk_start.call and start.offer_to == [desk_start.you]
        assert [(peer.id, peer.name) for peer in start.peers] == [(desk_start.you, "Anna / Kela")]
        assert [peer.id for peer in desk_start.peers] == [start.you]

        await point.send(p.Offer(call=start.call, peer=desk_start.you, sdp="v=0 offer from the point"))
        offer = await desk.expect("signal.offer")
        assert (offer.peer, offer.sdp) == (start.you, "v=0 offer from the point")
        await desk.send(p.Answer(call=start.call, peer=start.you, sdp="v=0 answer from the desk"))
        assert (await point.expect("signal.answer")).sdp == "v=0 answer from the desk"
        await desk.send(p.Ice(call=start.call, peer=start.you, candidate=CANDIDATE))
        assert (await point.expect("signal.ice")).candidate == CANDIDATE
        await point.send(p.Ice(call=start.call, peer=desk_start.you, candidate=CANDIDATE))
        assert (await desk.expect("signal.ice")).peer == start.you
        calls = await a.hub.state.calls()
        assert [c.id for c in calls] == [start.call] and calls[0].connected
        relayed = b.hub.metrics.registry.get_sample_value("switchboard_relay_frames_total", {"direction": "in"})
        assert relayed is not None and relayed >= 3  # call.start, the answer, an ICE candidate, for the point
        await a.hub.metrics.render(a.hub)
        roundtrip = a.hub.metrics.registry.get_sample_value("switchboard_relay_roundtrip_seconds")
        assert roundtrip is not None and roundtrip >= 0  # -1: no answer through Redis

        await desk.send(p.Hangup(call=start.call))
        ended = await point.expect("call.ended")
        assert (ended.call, ended.reason, ended.by) == (start.call, "hangup", "agent")
        assert b.hub.participants[start.you].call is None  # the point's own instance knows it is free
        assert await b.hub.state.calls() == []
        await point.drain(0.1)
        assert point.latest("error") is None


async def test_a_waiting_point_sees_an_agent_logging_in_on_another_instance_in_its_estimates(redis_server: Redis):
    async with instances(redis_server, 2) as (a, b):
        point = await b.point("oulu-kirjasto")
        await point.expect("welcome")

        async def kela_agents() -> int:
            estimates = await point.expect("queue.estimates")
            return next(q.agents_online for q in estimates.queues if q.queue == "kela-general")

        assert await kela_agents() == 0
        await a.desk("anna")
        assert await kela_agents() == 1


async def test_an_agent_announced_while_an_instance_rereads_who_is_where_is_not_forgotten(redis_server: Redis):
    """Each tick an instance rereads every member record; an agent whose arrival it heard while that read
    was on its way (the read taken before the record was written, the notice handled before the read came
    back) must not vanish from its view for a tick: its points' estimates would not count the agent, and
    frames to the agent from there would be refused (CI saw both under load)."""
    async with instances(redis_server, 2) as (a, b):
        point = await b.point("oulu-kirjasto")
        await point.expect("welcome")
        relay = b.hub.relay
        assert isinstance(relay, RedisRelay)
        read = relay.members

        async def read_then_hear_the_agent() -> list[Any]:
            before = await read()  # Redis answered before the agent's record was written ...
            desk = await a.desk("anna")  # ... and its notice arrives before the answer is handled
            await desk.expect("queue.snapshot")
            (you,) = a.hub.participants
            await polled(lambda: you in b.hub.remote, "B hears of the agent")
            return before

        relay.members = read_then_hear_the_agent  # type: ignore[method-assign]
        try:
            await b.hub.refresh_members()
        finally:
            relay.members = read  # type: ignore[method-assign]
        assert [r.role for r in b.hub.remote.values()] == ["agent"]
        estimates = await point.expect("queue.estimates")
        while next(q.agents_online for q in estimates.queues if q.queue == "kela-general") == 0:
            estimates = await point.expect("queue.estimates")


async def test_an_interpreter_on_another_instance_is_invited_joins_and_leaves_the_call(redis_server: Redis):
    async with instances(redis_server, 2) as (a, b):
        interpreter = await b.desk("tulkki")
        point, desk, start = await start_call(a, connected=True)
        agent = start.offer_to[0]
        await desk.send(p.InterpreterInvite(call=start.call, language="ar"))
        invited = await interpreter.expect("interpreter.invited")
        assert (invited.call, invited.agent) == (start.call, "Anna / Kela")
        await interpreter.send(p.InterpreterAccept(invite=invited.invite))
        joined = await interpreter.expect("call.start")
        assert joined.call == start.call and {peer.id for peer in joined.peers} == {start.you, agent}
        for client in (point, desk):
            peer = (await client.expect("call.peer_joined")).peer
            assert (peer.id, peer.name) == (joined.you, "Tulkki Ar")
        await desk.send(p.Offer(call=start.call, peer=joined.you, sdp="v=0 agent to interpreter"))
        assert (await interpreter.expect("signal.offer")).peer == agent
        await interpreter.send(p.Hangup(call=start.call))
        assert (await interpreter.expect("call.ended")).by == "interpreter"
        for client in (point, desk):
            assert (await client.expect("call.peer_left")).peer == joined.you
        assert (await a.hub.state.get_call(start.call)) is not None  # the call goes on without the interpreter


async def test_a_desk_sees_a_point_queueing_on_another_instance_and_leaving(redis_server: Redis):
    async with instances(redis_server, 2) as (a, b):
        desk = await b.desk("bertil")
        point = await a.point("kemi-kirjasto")
        await point.expect("welcome")
        position = await _queue(point)
        entries = await _snapshot_where(desk, lambda entries: position.ticket in entries)
        assert (entries[position.ticket].point, entries[position.ticket].place) == ("kemi-kirjasto", "Kemi library")
        await point.send(p.QueueCancel())
        await _snapshot_where(desk, lambda entries: not entries)
        overview = await b.hub.overview()  # the organiser's view on either instance sees the point online
        assert {pt["point"]: pt["state"] for pt in overview["points"]}["kemi-kirjasto"] == "idle"


async def _answered_across(a: Switchboard, b: Switchboard) -> tuple[Client, Client, p.CallStart, str]:
    """Oulu's point on B queued and answered by Anna's desk on A: the desk, the point, the point's
    ``call.start`` and the desk's participant id."""
    desk = await a.desk("anna")
    point = await b.point("oulu-kirjasto")
    await point.expect("welcome")
    position = await _queue(point)
    await _snapshot_where(desk, lambda entries: position.ticket in entries)
    await desk.send(p.QueueAccept(ticket=position.ticket))
    start = await point.expect("call.start")
    return desk, point, start, (await desk.expect("call.start")).you


async def _cut_with_a_frame_held(a: Switchboard, b: Switchboard, point: Client, desk: Client,
                                 start: p.CallStart) -> tuple[RedisState, str]:
    """The point's network is cut (B holds the call for it) and the desk sends it an ICE candidate, which
    waits in Redis: the state and the key it waits under."""
    await point.ws.close()
    await polled(lambda: b.hub.participants[start.you].away_since is not None, "B holds the point")
    await desk.send(p.Ice(call=start.call, peer=start.you, candidate=CANDIDATE))
    held = f"{a.hub.config.redis_prefix}held:{start.you}"
    state = a.hub.state
    assert isinstance(state, RedisState)
    await polled(lambda: state.redis.llen(held), "the ICE candidate held in Redis")
    return state, held


async def test_a_frame_held_for_a_dropped_point_reaches_it_on_the_instance_it_comes_back_to(redis_server: Redis):
    async with instances(redis_server, 2) as (a, b):
        desk, point, start, you = await _answered_across(a, b)
        await _cut_with_a_frame_held(a, b, point, desk, start)

        back = await a.point("oulu-kirjasto", call=start.call)  # it comes back through the other instance
        welcome = await back.expect("welcome")
        assert (welcome.you, welcome.call) == (start.you, start.call)
        ice = await back.expect("signal.ice")
        assert (ice.peer, ice.candidate) == (you, CANDIDATE)
        await polled(lambda: start.you not in b.hub.participants, "B lets go of the point")
        await desk.drain(0.1)
        assert desk.latest("call.ended") is None  # the call went on throughout

        await back.send(p.Offer(call=start.call, peer=you, sdp="v=0 offer after coming back"))
        assert (await desk.expect("signal.offer")).sdp == "v=0 offer after coming back"
        await desk.send(p.Answer(call=start.call, peer=start.you, sdp="v=0 answer"))
        assert (await back.expect("signal.answer")).sdp == "v=0 answer"
        assert b.hub.remote[start.you].instance == a.hub.relay.instance


async def test_frames_held_for_a_point_that_never_comes_back_go_with_it(redis_server: Redis):
    """What was held for a participant let go of after the grace is not left in Redis (its append-only file)."""
    clock = FakeClock()
    async with instances(redis_server, 2, clock) as (a, b):
        desk, point, start, you = await _answered_across(a, b)
        await point.send(p.Offer(call=start.call, peer=you, sdp="v=0 an offer"))
        await desk.expect("signal.offer")
        await desk.send(p.Answer(call=start.call, peer=start.you, sdp="v=0 answer"))
        await point.expect("signal.answer")
        state, held = await _cut_with_a_frame_held(a, b, point, desk, start)

        clock.advance(a.hub.config.rejoin_grace_s + 1)
        await asyncio.gather(a.hub.sweep(), b.hub.sweep())
        assert (await desk.expect("call.ended")).reason == "point_gone"
        assert not await state.redis.exists(held)
        assert await state.redis.hget(f"{a.hub.config.redis_prefix}members", start.you) is None


async def test_the_sweep_acts_once_per_tick_and_another_instance_takes_over_when_its_holder_dies(
    redis_server: Redis,
):
    clock = FakeClock()
    async with instances(redis_server, 3, clock) as sbs:
        first, desks_at, points_at = sbs
        assert await first.hub.sweep()  # the first to tick takes the lease
        desk = await desks_at.desk("anna")
        point = await points_at.point("oulu-kirjasto")
        await point.expect("welcome")
        position = await _queue(point)
        await _snapshot_where(desk, lambda entries: position.ticket in entries)

        clock.advance(601)  # past kela-general's timeout
        for _tick in range(3):
            assert await asyncio.gather(*(sb.hub.sweep() for sb in sbs)) == [True, False, False]
        left = await point.expect("queue.left")
        assert (left.ticket, left.reason) == (position.ticket, "timeout")
        await _snapshot_where(desk, lambda entries: not entries)  # the desk on a third instance is told too
        await point.drain(0.2)
        assert point.latest("queue.left") is None  # told once
        assert _timeouts(sbs) == 1

        # The holder dies (its tasks stop, nothing is released): the lease runs out and another takes it.
        assert isinstance(first.hub.relay, RedisRelay)
        await first.hub.relay.crash()
        survivors = [desks_at, points_at]
        position = await _queue(point)
        clock.advance(601)

        async def tick() -> bool:
            held = await asyncio.gather(*(sb.hub.sweep() for sb in survivors))
            assert sum(held) <= 1
            return any(held)

        await polled(tick, "a survivor takes the sweep lease", timeout=LEASE_S * 3)
        left = await point.expect("queue.left")
        assert (left.ticket, left.reason) == (position.ticket, "timeout")
        assert _timeouts(sbs) == 2


async def test_a_holder_paused_past_its_lease_does_not_act_when_it_resumes(redis_server: Redis):
    """Fencing: an instance that decided it held the lease, then stalled (a long GC pause, a frozen VM) while
    the lease ran out and another took it, finds out before each effect and leaves the work to the new one."""
    clock = FakeClock()
    async with instances(redis_server, 2, clock) as (paused, other):
        assert await paused.hub.sweep()
        point = await other.point("oulu-kirjasto")
        await point.expect("welcome")
        position = await _queue(point)
        clock.advance(601)
        state = paused.hub.state
        assert isinstance(state, RedisState)
        await state.redis.delete(f"{paused.hub.config.redis_prefix}lease:sweep")  # ran out while it was stalled
        assert await other.hub.sweep()  # the other instance took the lease and timed the customer out
        left = await point.expect("queue.left")
        assert (left.ticket, left.reason) == (position.ticket, "timeout")

        position = await _queue(point)
        clock.advance(601)
        await paused.hub._sweep_shared(clock.time())  # the stalled one resumes inside its shared sweep
        await point.drain(0.3)
        assert point.latest("queue.left") is None and [t.id for t in await state.all_tickets()] == [position.ticket]
        assert _timeouts([paused]) == 0
        assert not await paused.hub.sweep()  # nor does it take the lease back while the other renews it
        assert await other.hub.sweep()
        assert (await point.expect("queue.left")).ticket == position.ticket


async def test_instances_recover_when_redis_comes_back(redis_server: Redis):
    async with instances(redis_server, 2) as (a, b):
        desk = await a.desk("anna")
        await desk.expect("queue.snapshot")
        await desk.drain(0.2)  # its hello is fully handled (a hello cut by Redis going away is a dropped socket)
        async with aiohttp.ClientSession() as http:
            redis_server.stop()
            for sb in (a, b):
                async with http.get(f"{sb.base}/healthz") as answer:
                    assert answer.status == 503
            redis_server.start()
            for sb in (a, b):  # healthy once its relay has subscribed again (else frames to it are lost)

                async def healthy(base: str = sb.base) -> bool:
                    async with http.get(f"{base}/healthz") as answer:
                        return answer.status == 200

                await polled(healthy, "the instance healthy again")
        point = await b.point("oulu-kirjasto")  # work goes on across the instances again
        await point.expect("welcome")
        position = await _queue(point)
        await _snapshot_where(desk, lambda entries: position.ticket in entries)
        await desk.send(p.QueueAccept(ticket=position.ticket))
        assert (await point.expect("call.start")).call == (await desk.expect("call.start")).call


async def test_a_held_identity_result_naming_the_customer_is_never_written_to_redis(redis_server: Redis):
    """Redis writes its keys to the append-only file on disk: the verified holder's name and SATU stay in the
    memory of the instance that held the agent's socket."""
    client = RedisClient.from_url(redis_server.url, decode_responses=True)
    raw = RedisClient.from_url(redis_server.url)  # DUMP gives bytes
    relay = RedisRelay(client, prefix=f"priv{secrets.token_hex(3)}:")
    try:
        result = p.IdentityResult(call="c-1", request="r-1", ok=True, given_name="Maija", surname="Meikäläinen",
                                  satu="999198153B")  # fmt: skip
        await relay.hold("desk-1", p.encode(p.Ice(call="c-1", peer="point-x", candidate=CANDIDATE)))
        await relay.hold("desk-1", p.encode(result))
        stored = [await raw.dump(key) for key in await raw.keys("*")]
        assert stored and not any(b"Maija" in v or b"999198153B" in v for v in stored if v is not None)
        frames = await relay.take_held("desk-1")
        assert [p.parse_signal(f).type for f in frames] == ["signal.ice", "identity.result"]
        assert await relay.take_held("desk-1") == []
    finally:
        await client.aclose()
        await raw.aclose()
