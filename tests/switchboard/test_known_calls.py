"""Relaying signalling without a Redis read per frame (issue 17, item 6; switchboard/known_calls.py): each
instance keeps the calls it has read, and every write of a call on any instance reaches the others before
anything the writer says afterwards. What a participant notices must not change: a frame reaches one who
joined the call through another instance; one who left the call through another instance, or whose call
another instance ended, is sent nothing more; after an instance is lost, its participants back on the other
instance exchange frames as before."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from etapiste import protocol as p
from simulation.clock import FakeClock
from simulation.services.redis import Redis
from simulation.switchboard import Client, Switchboard, make_config, serve, start_call
from simulation.waiting import polled
from switchboard.known_calls import KnownCalls
from switchboard.redis_state import RedisState
from switchboard.relay import RedisRelay
from switchboard.state import Call

pytestmark = pytest.mark.services

CANDIDATE = "candidate:1 1 UDP 2122260223 192.0.2.10 54400 typ host"


@asynccontextmanager
async def instances(redis: Redis, count: int) -> AsyncIterator[list[Switchboard]]:
    config = make_config(redis_url=redis.url, redis_prefix=f"known{secrets.token_hex(3)}:")
    clock = FakeClock()
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serve(config, clock=clock)) for _ in range(count)]


async def _nothing(client: Client, kind: str) -> None:
    """``client`` got no ``kind`` frame (whatever was on its way has arrived by then)."""
    await client.drain(0.3)
    assert client.latest(kind) is None


async def _interpreter_joins(desk: Client, call: str, interpreter: Client) -> Any:
    await desk.send(p.InterpreterInvite(call=call, language="ar"))
    invited = await interpreter.expect("interpreter.invited")
    await interpreter.send(p.InterpreterAccept(invite=invited.invite))
    return await interpreter.expect("call.start")


async def test_frames_reach_one_who_joined_through_another_instance_and_stop_once_they_left_there(
    redis_server: Redis,
):
    async with instances(redis_server, 2) as (a, b):
        interpreter = await b.desk("tulkki")
        point, desk, start = await start_call(a, connected=True)  # the point and the agent on A
        agent = start.offer_to[0]
        await point.send(p.Ice(call=start.call, peer=agent, candidate=CANDIDATE))
        assert (await desk.expect("signal.ice")).peer == start.you  # A knows the call: point and agent

        joined = await _interpreter_joins(desk, start.call, interpreter)  # B writes the call
        assert (await point.expect("call.peer_joined")).peer.id == joined.you
        await point.send(p.Offer(call=start.call, peer=joined.you, sdp="v=0 point to interpreter"))
        offer = await interpreter.expect("signal.offer")
        assert (offer.peer, offer.sdp) == (start.you, "v=0 point to interpreter")
        await point.send(p.Ice(call=start.call, peer=joined.you, candidate=CANDIDATE))
        assert (await interpreter.expect("signal.ice")).peer == start.you  # A knows the call with them in it

        await interpreter.send(p.Hangup(call=start.call))  # they leave through B
        await interpreter.expect("call.ended")
        assert (await point.expect("call.peer_left")).peer == joined.you
        await point.send(p.Ice(call=start.call, peer=joined.you, candidate=CANDIDATE, ref="late"))
        refused = await point.expect("error")
        assert (refused.code, refused.ref) == ("not_in_call", "late")
        await _nothing(interpreter, "signal.ice")
        await desk.send(p.Ice(call=start.call, peer=start.you, candidate=CANDIDATE))
        assert (await point.expect("signal.ice")).peer == agent  # the call goes on for the two


async def test_a_call_ended_on_another_instance_is_relayed_no_more(redis_server: Redis):
    async with instances(redis_server, 2) as (a, b):
        interpreter = await a.desk("tulkki")
        point, desk, start = await start_call(b, connected=True)  # answered on B
        joined = await _interpreter_joins(desk, start.call, interpreter)
        point_id = start.you
        await point.expect("call.peer_joined")
        await interpreter.send(p.Offer(call=start.call, peer=point_id, sdp="v=0 not the interpreter's to send"))
        assert (await interpreter.expect("error")).code == "not_allowed"  # earlier ones offer to later ones
        await point.send(p.Offer(call=start.call, peer=joined.you, sdp="v=0 point to interpreter"))
        await interpreter.expect("signal.offer")
        await interpreter.send(p.Answer(call=start.call, peer=point_id, sdp="v=0 interpreter's answer"))
        assert (await point.expect("signal.answer")).peer == joined.you  # relayed by A, which knows the call

        await desk.send(p.Hangup(call=start.call))  # ended on B
        assert (await interpreter.expect("call.ended")).call == start.call
        await interpreter.send(p.Ice(call=start.call, peer=point_id, candidate=CANDIDATE, ref="after"))
        refused = await interpreter.expect("error")
        assert (refused.code, refused.ref) == ("not_in_call", "after")
        await point.expect("call.ended")
        await _nothing(point, "signal.ice")
        await _nothing(desk, "signal.ice")
        assert await a.hub.state.calls() == []


async def test_after_an_instance_is_lost_its_agent_back_on_the_other_exchanges_frames_in_the_same_call(
    redis_server: Redis,
):
    async with instances(redis_server, 2) as (a, b):
        point = await a.point("oulu-kirjasto")
        await point.expect("welcome")
        desk = await b.desk("anna")
        await desk.expect("queue.snapshot")
        await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
        position = await point.expect("queue.position")
        await desk.send(p.QueueAccept(ticket=position.ticket))
        start = await point.expect("call.start")
        agent = (await desk.expect("call.start")).you
        await point.send(p.Offer(call=start.call, peer=agent, sdp="v=0 offer from the point"))
        await desk.expect("signal.offer")  # A knows the call
        assert isinstance(b.hub.relay, RedisRelay)
        await b.hub.relay.crash()  # B is lost: it hears nothing more, and no longer reaches its desk

        http = await a.login("anna")  # the agent's desk comes back through A
        try:
            ws = await http.ws_connect(f"{a.base}/ws/desk")
            back = Client(ws)
            await back.send(p.DeskHello(protocol=p.PROTOCOL_VERSION, resume=agent, call=start.call))
            welcome = await back.expect("welcome")
            assert (welcome.you, welcome.call) == (agent, start.call)
            await point.send(p.Ice(call=start.call, peer=agent, candidate=CANDIDATE))
            assert (await back.expect("signal.ice")).peer == start.you
            await back.send(p.Answer(call=start.call, peer=start.you, sdp="v=0 answer after coming back"))
            assert (await point.expect("signal.answer")).sdp == "v=0 answer after coming back"

            async def connected() -> bool:  # recorded just after the answer is passed on
                call = await a.hub.state.get_call(start.call)
                return call is not None and call.connected

            await polled(connected, "the call recorded as connected")
            await _nothing(point, "call.ended")
            await back.send(p.Hangup(call=start.call))
            assert (await point.expect("call.ended")).call == start.call
        finally:
            await http.close()


# The mechanism itself, on two state stores and their relays sharing one Redis namespace.


@asynccontextmanager
async def two_states(redis: Redis) -> AsyncIterator[tuple[RedisState, RedisRelay, RedisState, RedisRelay]]:
    prefix = f"kc{secrets.token_hex(3)}:"
    states = [RedisState(redis.url, prefix=prefix) for _ in range(2)]
    relays = [RedisRelay(s.redis, prefix=prefix, known_calls=s.known_calls) for s in states]
    try:
        yield states[0], relays[0], states[1], relays[1]
    finally:
        for relay in relays:
            await relay.close()
        for state in states:
            await state.close()


def _call(**changes: Any) -> Call:
    call = Call(id="c-1", point="point-1", agent="desk-1", producer="kela", queue="kela-general", language="fi",
                started=1.0)  # fmt: skip
    return dataclasses.replace(call, **changes)


async def test_a_write_on_one_instance_is_known_to_the_other_before_anything_its_writer_sends_next(
    redis_server: Redis,
):
    async with two_states(redis_server) as (a, a_relay, b, b_relay):
        seen: list[Call | None] = []

        async def on_frame(msg: dict[str, Any]) -> None:  # what A's hub would do with a frame from B
            seen.append(await a.known_call("c-1"))

        await a_relay.start(on_frame)
        await b_relay.start(lambda msg: asyncio.sleep(0))
        await b.put_call(_call())
        assert await a.known_call("c-1") == _call()  # read once, kept

        await b.put_call(_call(interpreters=["desk-2"]))  # joined through B, which then tells A's participant
        await b_relay.send(a_relay.instance, {"op": "frame"})
        await b.drop_call("c-1")  # ended through B
        await b_relay.send(a_relay.instance, {"op": "frame"})
        await polled(lambda: len(seen) == 2, "both frames handled on A")
        assert seen == [_call(interpreters=["desk-2"]), None]


async def test_nothing_is_kept_while_notices_cannot_arrive(redis_server: Redis):
    """Before the relay listens, and after it lost Redis, a call is read from Redis every time: a write
    meanwhile (here one behind the instances' backs, without a notice) is seen at once."""
    async with two_states(redis_server) as (a, a_relay, _b, _b_relay):
        raw = a.redis

        async def write_silently(call: Call) -> None:
            await raw.hset(f"{a.prefix}calls", call.id, json.dumps(dataclasses.asdict(call)))

        await write_silently(_call())
        assert await a.known_call("c-1") == _call()
        await write_silently(_call(connected=True))
        assert await a.known_call("c-1") == _call(connected=True)  # not listening yet: nothing was kept

        await a_relay.start(lambda msg: asyncio.sleep(0))
        assert await a.known_call("c-1") == _call(connected=True)
        await write_silently(_call(interpreters=["desk-2"]))
        assert await a.known_call("c-1") == _call(connected=True)  # kept: only notices change it

        await a_relay.crash()  # as when the subscription is lost
        assert await a.known_call("c-1") == _call(interpreters=["desk-2"])
        await write_silently(_call())
        assert await a.known_call("c-1") == _call()


def test_a_read_overtaken_by_a_write_of_its_call_is_not_kept_but_writes_of_other_calls_do_not_matter():
    known = KnownCalls()
    assert known.get("c-1") is None  # not listening: nothing kept
    known.resume()
    read = known.reading("c-1")
    known.changed("c-2", writer="other")  # another call, written meanwhile
    known.read(read, _call())
    assert known.get("c-1") == _call()

    read = known.reading("c-1")
    known.changed("c-1", writer="other")
    known.read(read, _call())  # what it read may predate that write
    assert known.get("c-1") is None

    known.read(known.reading("c-1"), _call())
    kept = known.get("c-1")
    assert kept is not None
    kept.interpreters.append("desk-2")  # a caller's copy is its own
    assert known.get("c-1") == _call()
    known.changed("c-1", writer=known.writer)  # our own notice: written() has been called already
    assert known.get("c-1") == _call()
    known.written("c-1")
    assert known.get("c-1") is None

    read = known.reading("c-1")
    known.suspend()
    known.resume()
    known.read(read, _call())  # begun before notices could have been missed
    assert known.get("c-1") is None
