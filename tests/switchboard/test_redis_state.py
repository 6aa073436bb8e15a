"""The switchboard's state in Redis (switchboard/redis_state.py) against a private redis-server: the same
behaviour as the memory state for every method, exactly one winner when two instances race for one customer
or one nonce, and what was queued or logged in still there after Redis restarts."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from etapiste import protocol as p
from simulation.services.redis import Redis
from simulation.switchboard import POINT_CREDENTIALS, make_config
from simulation.waiting import polled
from switchboard.hub import Hub
from switchboard.redis_state import RedisState
from switchboard.state import Call, DeskSession, Invite, Nonce, StateStore, Ticket
from switchboard.web import create_app

KELA = {"producer": "kela", "queue": "kela-general"}


def _ticket(tid: str, point: str, since: float, queue: str = "kela-general") -> Ticket:
    return Ticket(id=tid, point=point, producer="kela", queue=queue, language="fi", since=since)


async def test_tickets_come_oldest_first_and_each_is_taken_once(store: StateStore):
    assert await store.all_tickets() == []
    await store.enqueue(_ticket("t-2", "kemi", 20.5))
    await store.enqueue(_ticket("t-1", "oulu", 10.25))
    await store.enqueue(_ticket("t-3", "inari", 30.0, queue="migri-general"))
    assert [t.id for t in await store.tickets("kela-general")] == ["t-1", "t-2"]
    assert [t.id for t in await store.all_tickets()] == ["t-1", "t-2", "t-3"]
    assert await store.ticket_of_point("kemi") == _ticket("t-2", "kemi", 20.5)
    assert await store.ticket("t-2") == _ticket("t-2", "kemi", 20.5)
    assert await store.take_ticket("t-2") == _ticket("t-2", "kemi", 20.5)
    assert await store.take_ticket("t-2") is None
    assert await store.ticket("t-2") is None
    assert await store.ticket_of_point("kemi") is None
    assert [t.id for t in await store.all_tickets()] == ["t-1", "t-3"]


async def test_calls_are_kept_and_ended_once_and_their_lengths_give_the_average(store: StateStore):
    call = Call(id="c-1", point="point-oulu", agent="desk-1", producer="kela", queue="kela-general",
                language="sv", started=5.5, ticket="t-1")  # fmt: skip
    await store.put_call(call)
    call.interpreters.append("desk-2")
    call.connected = True
    await store.put_call(call)
    assert await store.get_call("c-1") == call
    assert await store.calls() == [call]
    assert await store.drop_call("c-1") == call
    assert await store.drop_call("c-1") is None and await store.calls() == []
    assert await store.average_call_s("kela-general") is None
    for seconds in [100.0] * 5 + [200.5] * 20:
        await store.record_call_duration("kela-general", seconds)
    assert await store.average_call_s("kela-general") == 200.5  # the last 20 only

    await store.put_call(call)  # ended by whoever ends it first: its length counted once, exactly
    ended = await store.end_call(call, at=5.5 + 400.5)
    assert ended == call and await store.end_call(call, at=1000.0) is None and await store.calls() == []
    assert await store.average_call_s("kela-general") == (19 * 200.5 + 400.5) / 20


async def test_a_call_marked_connected_keeps_who_joined_meanwhile_and_its_exact_times(store: StateStore):
    """The answer marks the call connected in one step: an interpreter who joined after the answering instance
    read the call is kept, and the times are not rounded."""
    call = Call(id="c-1", point="point-oulu", agent="desk-1", producer="kela", queue="kela-general",
                language="fi", started=1764832800.123456, ticket="t-1", queued_since=1764832755.654321)  # fmt: skip
    await store.put_call(call)
    joined = Call(**{**call.__dict__, "interpreters": ["desk-2"]})  # written by another instance
    await store.put_call(joined)
    await store.mark_connected("c-1")
    stored = await store.get_call("c-1")
    assert stored is not None and stored.connected and stored.interpreters == ["desk-2"]
    assert (stored.started, stored.queued_since) == (1764832800.123456, 1764832755.654321)
    await store.mark_connected("c-1")  # again: nothing changes
    await store.mark_connected("c-gone")  # a call that ended meanwhile: nothing to mark
    assert await store.calls() == [stored]


async def test_sessions_nonces_and_invites(store: StateStore):
    session = DeskSession(token="tok", username="anna", expires=4e9)
    await store.put_session(session)
    assert await store.get_session("tok") == session and await store.sessions() == [session]
    await store.drop_session("tok")
    assert await store.get_session("tok") is None and await store.sessions() == []

    await store.put_nonce(Nonce(value="n1", request="r-1", call="c-1", agent="d", expires=4e9))
    await store.put_nonce(Nonce(value="n2", request="r-2", call="c-2", agent="d", expires=4e9))
    await store.put_nonce(Nonce(value="n3", request="r-3", call="c-2", agent="d", expires=100.0))
    assert (await store.take_nonce("r-1") or Nonce("", "", "", "", 0)).value == "n1"
    assert await store.take_nonce("r-1") is None
    await store.drop_expired_nonces(200.0)
    assert await store.take_nonce("r-3") is None
    await store.drop_call_nonces("c-2")
    assert await store.take_nonce("r-2") is None

    invite = Invite(id="i-1", call="c-1", language="ar", interpreters=["desk-3", "desk-4"])
    await store.put_invite(invite)
    assert await store.invites() == [invite]
    assert await store.take_invite("i-1") == invite and await store.take_invite("i-1") is None


async def test_login_records_keep_exact_times_lock_with_growing_back_off_and_are_forgotten(store: StateStore):
    at = 1_760_000_000.123456  # a real epoch time with microseconds: found again by exactly this value
    record = await store.login_attempt("anna|10.0.0.1", at, at - 60)
    assert record.attempts == [at] and record.locked_until == 0.0 and record.strikes == 0
    await store.login_attempt("anna|10.0.0.1", at, at - 60)  # two at one instant are two
    await store.forget_login_attempt("anna|10.0.0.1", at)
    assert (await store.login_attempt("anna|10.0.0.1", at + 1, at - 60)).attempts == [at, at + 1]
    assert (await store.login_attempt("anna|10.0.0.1", at + 100, at + 50)).attempts == [at + 100]
    until = await store.lock_login("anna|10.0.0.1", at + 100, 60, 3600, 86400)
    assert until == at + 160
    locked = await store.login_attempt("anna|10.0.0.1", at + 110, at + 50)
    assert locked.attempts == [] and locked.locked_until == at + 160 and locked.strikes == 1
    assert await store.lock_login("anna|10.0.0.1", at + 200, 60, 3600, 86400) == at + 320
    await store.clear_login_failures("anna|10.0.0.1")
    assert (await store.login_attempt("anna|10.0.0.1", at + 400, at + 340)).strikes == 0

    # The memory state's own test of forgetting (test_login_security), here for both.
    await store.login_attempt("idle", 100.0, 0.0)
    await store.login_attempt("locked", 100.0, 0.0)
    assert await store.lock_login("locked", 100.0, 60, 3600, 86400) == 160.0
    await store.drop_idle_logins(since=200.0, strikes_since=0.0)
    assert (await store.login_attempt("idle", 300.0, 200.0)).attempts == [300.0]
    assert await store.lock_login("locked", 300.0, 60, 3600, 86400) == 420.0
    assert await store.lock_login("locked", 420.0 + 86401, 60, 3600, 86400) == 420.0 + 86401 + 60
    await store.drop_idle_logins(since=1e9, strikes_since=1e9)
    assert (await store.login_attempt("locked", 1e9, 1e9)).strikes == 0


# -- several instances on one Redis ---------------------------------------------------------------------


class _Conn:
    """A participant's socket as the hub sees it: what was sent, decoded."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def close(self) -> None:
        pass

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


async def test_two_agents_on_two_instances_answering_one_customer_make_exactly_one_call(redis_server: Redis):
    config = make_config()
    prefix = f"race{secrets.token_hex(3)}:"
    states = [RedisState(redis_server.url, prefix=prefix) for _ in range(2)]
    hubs = [Hub(config, state=s) for s in states]
    try:
        # The customer's point is known to both instances (item 2's relay is not built: an agent answers a
        # point connected to its own instance); the agents are one per instance, each its own Redis client.
        points, agents, agent_conns = [], [], []
        for hub in hubs:
            hello = p.PointHello(protocol=p.PROTOCOL_VERSION, point="oulu-kirjasto",
                                 credential=POINT_CREDENTIALS["oulu-kirjasto"])  # fmt: skip
            point = await hub.connect_point(hello, _Conn())
            assert not isinstance(point, p.Error)
            points.append(point)
        for hub, username in zip(hubs, ["anna", "bertil"], strict=True):
            token = secrets.token_urlsafe(16)
            await hub.state.put_session(DeskSession(token=token, username=username, expires=hub.clock() + 3600))
            conn = _Conn()
            agent = await hub.connect_desk(p.DeskHello(protocol=p.PROTOCOL_VERSION), token, conn)
            assert not isinstance(agent, p.Error)
            agents.append(agent)
            agent_conns.append(conn)
        for attempt in range(1000):
            await hubs[attempt % 2].handle(points[attempt % 2], p.encode(p.QueueRequest(**KELA)))
            ticket = await states[0].ticket_of_point("oulu-kirjasto")
            assert ticket is not None, f"attempt {attempt}: the point could not queue"
            before = [len(c.of("call.start")) for c in agent_conns]
            accept = p.encode(p.QueueAccept(ticket=ticket.id))
            first = attempt % 2  # each instance goes first half the time
            await asyncio.gather(
                hubs[first].handle(agents[first], accept), hubs[1 - first].handle(agents[1 - first], accept)
            )
            started = [len(c.of("call.start")) - b for c, b in zip(agent_conns, before, strict=True)]
            assert sorted(started) == [0, 1], f"attempt {attempt}: {started} calls started"
            won = started.index(1)
            calls = await states[0].calls()
            assert len(calls) == 1
            await hubs[won].handle(agents[won], p.encode(p.Hangup(call=calls[0].id)))
            assert await states[1].calls() == []
    finally:
        for hub in hubs:
            await hub.close()
        for state in states:
            await state.close()


async def test_a_nonce_used_on_two_instances_at_once_succeeds_once(redis_server: Redis):
    prefix = f"nonce{secrets.token_hex(3)}:"
    a, b = RedisState(redis_server.url, prefix=prefix), RedisState(redis_server.url, prefix=prefix)
    try:
        for i in range(200):
            await a.put_nonce(Nonce(value=f"v{i}", request=f"r-{i}", call="c-1", agent="d", expires=4e9))
            results = await asyncio.gather(a.take_nonce(f"r-{i}"), b.take_nonce(f"r-{i}"))
            assert sum(r is not None for r in results) == 1, f"try {i}: {results}"
    finally:
        await a.close()
        await b.close()


async def test_queues_calls_and_desk_logins_survive_a_redis_restart(redis_server: Redis):
    prefix = f"restart{secrets.token_hex(3)}:"
    state = RedisState(redis_server.url, prefix=prefix)
    await state.enqueue(_ticket("t-1", "oulu-kirjasto", 10.0))
    await state.put_session(DeskSession(token="tok", username="anna", expires=4e9))
    await state.put_call(Call(id="c-1", point="point-kemi", agent="desk-1", producer="kela",
                              queue="kela-general", language="fi", started=1.0))  # fmt: skip
    await state.close()
    redis_server.restart()
    state = RedisState(redis_server.url, prefix=prefix)
    try:
        assert [t.id for t in await state.tickets("kela-general")] == ["t-1"]
        assert await state.get_session("tok") == DeskSession(token="tok", username="anna", expires=4e9)
        assert [c.id for c in await state.calls()] == ["c-1"]
    finally:
        await state.close()


async def _healthy(client: TestClient) -> bool:
    return (await client.get("/healthz")).status == 200


async def test_health_says_when_redis_is_unreachable(redis_server: Redis):
    app = create_app(make_config(redis_url=redis_server.url), sweep_interval=None)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/healthz")
        assert answer.status == 200 and (await answer.json())["ok"] is True
        redis_server.stop()
        answer = await client.get("/healthz")
        assert answer.status == 503
        assert await answer.json() == {"ok": False, "protocol": p.PROTOCOL_VERSION, "error": "redis_unreachable"}
        redis_server.start()  # healthy again once the relay has subscribed again (full-jitter back-off, ≤ 2 s)
        await polled(lambda: _healthy(client), "/healthz says 200 again", timeout=10)


async def test_a_point_gets_its_welcome_before_any_queue_estimates():
    """The estimates go to every connected point now and then; one adopted but not yet welcomed (its welcome
    on its way) must not get them first: the point's first frame is its welcome (bench_switchboard.py
    --instances 2 saw queue.estimates arrive before welcome, while the point's record was being published)."""
    hub = Hub(make_config())

    class WelcomedSlowly(_Conn):
        async def send(self, text: str) -> None:
            if '"welcome"' in text:
                await hub.send_estimates()  # the estimates publisher's turn comes while the welcome is sent
            await super().send(text)

    try:
        conn = WelcomedSlowly()
        hello = p.PointHello(protocol=p.PROTOCOL_VERSION, point="oulu-kirjasto",
                             credential=POINT_CREDENTIALS["oulu-kirjasto"])  # fmt: skip
        assert not isinstance(await hub.connect_point(hello, conn), p.Error)
        assert [f["type"] for f in conn.frames] == ["welcome", "queue.estimates"]
    finally:
        await hub.close()
