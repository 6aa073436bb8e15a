"""Transfer (issue 22, items 1 and 5) through the real switchboard: points and desks speak the wire protocol on
loopback WebSockets; with Redis, the agents are on two instances sharing a private redis-server."""

from __future__ import annotations

import logging
import secrets
from contextlib import AsyncExitStack
from typing import Any

import aiohttp

from etapiste import protocol as p
from simulation.clock import FakeClock
from simulation.services.redis import Redis
from simulation.switchboard import Client, Switchboard, make_config, serve, start_call

MIGRI = {"producer": "migri", "queue": "migri-general"}


def _entries(snapshot: Any, queue: str = "migri-general") -> list[p.QueueEntry]:
    return [e for q in snapshot.queues if q.queue == queue for e in q.entries]


async def _snapshot_until(desk: Client, count: int, queue: str = "migri-general") -> list[p.QueueEntry]:
    """The desk's waiting entries of ``queue`` once there are ``count`` (snapshots are coalesced)."""
    while True:
        entries = _entries(await desk.expect("queue.snapshot"), queue)
        if len(entries) == count:
            return entries


async def _transfer(desk: Client, start: Any, queue: str = "migri-general", reason: str = "other_producer_matter",
                    ref: str = "tr") -> None:
    await desk.send({"type": "call.transfer", "call": start.call, "queue": queue, "reason": reason, "ref": ref})


async def _priority_is_kept(sb: Switchboard, maija: Client) -> None:
    """Oulu queues at Kela first; Kemi joins Migri's queue a minute later, while Oulu talks to Anna; Anna
    transfers Oulu to Migri: Oulu stands first, and Maija sees where it came from and why."""
    oulu, anna, start = await start_call(sb, "oulu-kirjasto", "anna", connected=True)
    sb.clock.advance(60)
    kemi = await sb.point("kemi-kirjasto")
    await kemi.expect("welcome")
    await kemi.send(p.QueueRequest(**MIGRI, language="fi"))
    assert (await kemi.expect("queue.position")).position == 1
    await _snapshot_until(maija, 1)
    sb.clock.advance(60)

    await _transfer(anna, start)
    told = await oulu.expect("queue.transferred")
    assert (told.call, told.producer, told.queue, told.from_producer) == (start.call, "migri", "migri-general", "kela")
    assert told.producer_name.en == "Migri"  # for a point that does not offer Migri itself
    ended = await anna.expect("call.ended")
    assert (ended.call, ended.reason) == (start.call, "transferred")
    position = await oulu.expect("queue.position")
    assert (position.ticket, position.position) == (told.ticket, 1)
    assert (await kemi.expect("queue.position")).position == 2  # moved back by the customer who came first

    first, second = await _snapshot_until(maija, 2)
    assert (first.ticket, first.transferred_from) == (told.ticket, "kela")
    assert first.transfer_reason == "other_producer_matter"
    assert first.waited_s == 120 and second.waited_s == 60  # placed by when Oulu first queued
    assert second.transferred_from is None and second.transfer_reason is None

    await maija.send(p.QueueAccept(ticket=told.ticket))
    labels = {"queue": "kela-general", "to_queue": "migri-general", "reason": "other_producer_matter"}
    assert sb.hub.metrics.registry.get_sample_value("switchboard_transfers_total", labels) == 1
    again = await oulu.expect("call.start")
    assert again.producer == "migri" and again.call != start.call
    assert (await maija.expect("call.start")).call == again.call


async def test_a_transferred_customer_is_placed_by_when_they_first_queued_not_at_the_back():
    async with serve() as sb:
        maija = await sb.desk("maija")
        await _priority_is_kept(sb, maija)


async def test_a_transfer_to_a_closed_queue_or_one_with_no_agent_is_refused_before_anything_moves():
    async with serve() as sb:
        oulu, anna, start = await start_call(sb, connected=True)
        await _transfer(anna, start, queue="kela-closed", reason="specialist_needed", ref="closed")
        refused = await anna.expect("error")
        assert (refused.code, refused.ref) == ("queue_closed", "closed")

        await _transfer(anna, start, ref="nobody")  # no Migri agent is logged in
        refused = await anna.expect("error")
        assert (refused.code, refused.ref) == ("no_agent", "nobody")

        sample = sb.hub.metrics.registry.get_sample_value
        assert sample("switchboard_transfers_refused_total", {"queue": "kela-general", "code": "no_agent"}) == 1
        # Nothing moved: the call goes on, the point was told nothing and holds no ticket.
        assert await sb.hub.state.get_call(start.call) is not None
        assert await sb.hub.state.all_tickets() == []
        await oulu.drain(0.2)
        assert not [m for m in oulu.backlog if m.type in ("queue.transferred", "call.ended", "queue.position")]
        await anna.send(p.Hangup(call=start.call))
        assert (await oulu.expect("call.ended")).reason == "hangup"


async def test_a_point_too_old_to_understand_a_transfer_is_not_transferred_and_its_call_goes_on():
    """A point whose hello does not say ``transfer`` would ignore ``queue.transferred`` and stay in an ended
    call while its ticket waited unseen: the agent is told before anything moves."""
    async with serve() as sb:
        _maija = await sb.desk("maija")  # a Migri agent is online: only the point's software stands in the way
        oulu, anna, start = await start_call(sb, connected=True, features=())
        await _transfer(anna, start, ref="old-point")
        refused = await anna.expect("error")
        assert (refused.code, refused.ref) == ("unsupported_version", "old-point")
        assert "too old" in refused.message
        assert await sb.hub.state.get_call(start.call) is not None
        assert await sb.hub.state.all_tickets() == []
        await oulu.drain(0.2)
        assert not [m for m in oulu.backlog if m.type in ("queue.transferred", "call.ended")]


async def test_a_reason_outside_the_list_an_unknown_queue_and_the_calls_own_queue_are_refused():
    async with serve() as sb:
        _maija = await sb.desk("maija")  # kept: a dropped client logs out
        oulu, anna, start = await start_call(sb, connected=True)
        await _transfer(anna, start, reason="she is difficult", ref="free-text")
        refused = await anna.expect("error")
        assert (refused.code, refused.ref) == ("malformed", "free-text")
        await _transfer(anna, start, queue="nowhere", ref="unknown")
        assert (await anna.expect("error")).code == "unknown_queue"
        await _transfer(anna, start, queue="kela-general", ref="own")
        assert (await anna.expect("error")).code == "not_allowed"
        await oulu.send({"type": "call.transfer", "call": start.call, "queue": "migri-general", "reason": "other",
                         "ref": "point"})
        assert (await oulu.expect("error")).code == "not_allowed"  # only an agent transfers
        assert await sb.hub.state.get_call(start.call) is not None


async def test_the_target_queues_timeout_counts_from_the_transfer(caplog):
    caplog.set_level(logging.DEBUG)
    async with serve() as sb:
        _maija = await sb.desk("maija")  # kept: a dropped client logs out
        oulu, anna, start = await start_call(sb, connected=True)
        sb.clock.advance(1500)  # a long call: longer than Migri's queue timeout (1200 s)
        await _transfer(anna, start, reason="language")
        told = await oulu.expect("queue.transferred")
        await sb.hub.sweep()
        assert [t.id for t in await sb.hub.state.all_tickets()] == [told.ticket]
        sb.clock.advance(1200)
        await sb.hub.sweep()
        assert (await oulu.expect("queue.left")).reason == "timeout"
    # Only ids and codes in the logs.
    assert any("transferred" in r.getMessage() for r in caplog.records)


async def test_the_desk_lists_every_queue_it_may_transfer_to_with_whether_it_takes_one_now():
    async with serve() as sb:
        _maija = await sb.desk("maija")  # kept: a dropped client logs out
        http = await sb.login("anna")
        async with http.get(f"{sb.base}/api/transfer-targets") as r:
            assert r.status == 200
            queues = {q["queue"]: q for q in (await r.json())["queues"]}
        await http.close()
        assert queues["migri-general"] == {"queue": "migri-general", "producer": "migri",
                                           "name": {"fi": "Migri", "sv": "Migri", "en": "Migri"},
                                           "open": True, "agents_online": 1}
        assert not queues["kela-closed"]["open"] and queues["kela-general"]["agents_online"] == 0  # Anna herself
        async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{sb.base}/api/transfer-targets") as r:
            assert r.status == 401


async def test_with_redis_a_transfer_reaches_an_agent_on_another_instance_in_priority_order(redis_server: Redis):
    config = make_config(redis_url=redis_server.url, redis_prefix=f"tr{secrets.token_hex(3)}:")
    clock = FakeClock()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve(config, clock=clock))
        b = await stack.enter_async_context(serve(config, clock=clock))
        maija = await b.desk("maija")  # on the other instance
        await _priority_is_kept(a, maija)


async def test_an_interpreter_in_the_call_is_told_the_call_ended_by_a_transfer():
    async with serve() as sb:
        _maija = await sb.desk("maija")  # kept: a dropped client logs out
        tulkki = await sb.desk("tulkki")
        oulu, anna, start = await start_call(sb, connected=True)
        await anna.send(p.InterpreterInvite(call=start.call, language="ar"))
        await tulkki.send(p.InterpreterAccept(invite=(await tulkki.expect("interpreter.invited")).invite))
        await tulkki.expect("call.start")
        await _transfer(anna, start, reason="language")
        assert (await oulu.expect("queue.transferred")).call == start.call
        ended = await tulkki.expect("call.ended")
        assert (ended.call, ended.reason) == (start.call, "transferred")
        assert await sb.hub.state.get_call(start.call) is None


async def test_a_transferred_customer_is_offered_first_to_the_new_queues_speakers_of_their_language():
    """Language routing holds per queue: the hold counts from the transfer, not from the first queueing (which
    would have let a Finnish-only agent take a Swedish customer at once however long the first call was)."""
    from simulation.switchboard import FAST_N
    from switchboard.config import User
    from switchboard.credentials import hash_password

    config = make_config()
    mikko = User(username="mikko", name="Mikko / Migri", role="agent", producers=["migri"],
                 password_hash=hash_password("mikon-sana-66", n=FAST_N))  # fmt: skip
    async with serve(config.model_copy(update={"users": [*config.users, mikko]})) as sb:
        maija = await sb.desk("maija", languages=["fi", "sv"])
        http = await sb.login("mikko", "mikon-sana-66")
        mikko_desk = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
        await mikko_desk.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))  # Finnish only
        await mikko_desk.expect("welcome")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.expect("welcome")
        anna = await sb.desk("anna")
        await oulu.send(p.QueueRequest(producer="kela", queue="kela-general", language="sv"))
        await anna.send(p.QueueAccept(ticket=(await oulu.expect("queue.position")).ticket))
        start = await anna.expect("call.start")
        sb.clock.advance(600)  # a long first call
        await _transfer(anna, start, reason="other_producer_matter")
        told = await oulu.expect("queue.transferred")

        (entry,) = await _snapshot_until(maija, 1)
        assert entry.ticket == told.ticket and entry.language_first_s == 120
        await mikko_desk.send(p.QueueAccept(ticket=told.ticket, ref="early"))
        refused = await mikko_desk.expect("error")
        assert (refused.code, refused.ref) == ("not_allowed", "early")
        await http.close()


async def test_an_interpreter_need_given_before_the_first_queue_travels_with_the_transferred_customer():
    """Oulu said it needs a sign language interpreter when queueing at Kela; after Anna's transfer Maija's desk
    shows the need on the waiting entry, as Anna's did (the customer is not asked again)."""
    async with serve() as sb:
        maija = await sb.desk("maija")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.expect("welcome")
        anna = await sb.desk("anna")
        await oulu.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi", interpreter="fi-sign"))
        position = await oulu.expect("queue.position")
        await anna.send(p.QueueAccept(ticket=position.ticket))
        start = await oulu.expect("call.start")
        await _transfer(anna, start)
        told = await oulu.expect("queue.transferred")
        (entry,) = await _snapshot_until(maija, 1)
        assert (entry.ticket, entry.interpreter) == (told.ticket, "fi-sign")
