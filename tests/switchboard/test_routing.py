"""Language routing, the interpreter need and the published wait estimates, through the real switchboard with
points and desks speaking the wire protocol on loopback (issue 21, items 5–7)."""

from __future__ import annotations

import json
import logging
from typing import Any

from etapiste import protocol as p
from simulation.switchboard import Client, make_config, serve

KELA = {"producer": "kela", "queue": "kela-general"}


def _entries(snapshot: Any, queue: str = "kela-general") -> list[Any]:
    return [e for q in snapshot.queues if q.queue == queue for e in q.entries]


async def _snapshot_until(desk: Client, check: Any) -> Any:
    """The desk's snapshots until one satisfies ``check`` (snapshots are coalesced, so read them all)."""
    while True:
        snapshot = await desk.expect("queue.snapshot")
        if check(snapshot):
            return snapshot


async def test_a_swedish_customer_goes_first_to_the_swedish_speaking_agent_then_to_anyone_after_the_wait():
    async with serve() as sb:
        anna = await sb.desk("anna")  # Finnish only (nothing declared)
        bertil = await sb.desk("bertil", languages=["fi", "sv"])
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA, language="sv"))
        position = await oulu.expect("queue.position")
        assert position.language_agents == 1  # the queue screen can say a Swedish speaker is there

        seen = await _snapshot_until(bertil, lambda s: _entries(s))
        (entry,) = _entries(seen)
        assert entry.language == "sv" and entry.language_first_s == 120
        await anna.drain()
        assert all(not _entries(s) for s in anna.backlog if s.type == "queue.snapshot")
        # Anna cannot answer it either while it is Bertil's to take first.
        await anna.send(p.QueueAccept(ticket=entry.ticket, ref="early"))
        refused = await anna.expect("error")
        assert (refused.code, refused.ref) == ("not_allowed", "early")

        sb.clock.advance(121)
        await sb.hub.sweep()
        (released,) = _entries(await _snapshot_until(anna, lambda s: _entries(s)))
        assert released.ticket == entry.ticket and released.language_first_s is None
        await anna.send(p.QueueAccept(ticket=entry.ticket))
        start = await anna.expect("call.start")
        assert start.language == "sv"


async def test_with_no_speaker_online_the_customer_goes_to_everyone_at_once_and_is_told():
    async with serve() as sb:
        anna = await sb.desk("anna")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA, language="en"))
        assert (await oulu.expect("queue.position")).language_agents == 0
        (entry,) = _entries(await _snapshot_until(anna, lambda s: _entries(s)))
        assert entry.language == "en" and entry.language_first_s is None


async def test_the_configured_languages_are_the_default_and_a_zero_wait_turns_routing_off():
    config = make_config()
    users = [u.model_copy(update={"languages": ["sv"]}) if u.username == "bertil" else u for u in config.users]
    producers = [
        prod.model_copy(update={"queues": [q.model_copy(update={"language_wait_s": 0}) if q.id == "migri-general"
                                           else q for q in prod.queues]})
        for prod in config.producers
    ]
    async with serve(config.model_copy(update={"users": users, "producers": producers})) as sb:
        anna = await sb.desk("anna")
        bertil = await sb.desk("bertil")  # Swedish from the configuration (kept: a dropped client logs out)
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA, language="sv"))
        assert (await oulu.expect("queue.position")).language_agents == 1
        await anna.drain(0.3)
        assert all(not _entries(s) for s in anna.backlog if s.type == "queue.snapshot")
        assert bertil is not None and sb.hub.language_first_until((await sb.hub.state.all_tickets())[0]) is not None


async def test_the_interpreter_need_reaches_the_agents_waiting_entry_and_nothing_else(caplog):
    caplog.set_level(logging.DEBUG)
    async with serve() as sb:
        anna = await sb.desk("anna")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA, interpreter="fi-sign"))
        (entry,) = _entries(await _snapshot_until(anna, lambda s: _entries(s)))
        assert entry.interpreter == "fi-sign"
        await anna.send(p.QueueAccept(ticket=entry.ticket))
        await anna.expect("call.start")
        # A need for a sign-language interpreter says something about the customer's health: it goes to the
        # answering agent only, never into the logs or the organiser's overview, and is gone once answered.
        assert "fi-sign" not in json.dumps(await sb.hub.overview())
        assert await sb.hub.state.all_tickets() == []
    assert caplog.records and not any("fi-sign" in r.getMessage() for r in caplog.records)


async def test_a_bad_interpreter_language_is_refused_not_passed_to_desks():
    async with serve() as sb:
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send({"type": "queue.request", **KELA, "interpreter": "<script>", "ref": "r1"})
        error = await oulu.expect("error")
        assert (error.code, error.ref) == ("malformed", "r1")
        assert await sb.hub.state.all_tickets() == []


async def test_points_get_each_queues_estimate_before_choosing_and_when_it_changes():
    async with serve() as sb:
        oulu = await sb.point("oulu-kirjasto")
        await oulu.expect("welcome")
        first = {q.queue: q for q in (await oulu.expect("queue.estimates")).queues}
        assert first["kela-general"].open and first["kela-general"].estimate_s is None  # nobody online
        assert not first["kela-closed"].open
        assert first["kela-general"].agents_online == 0

        anna = await sb.desk("anna")
        online = {q.queue: q for q in (await oulu.expect("queue.estimates")).queues}
        assert (online["kela-general"].estimate_s, online["kela-general"].agents_online) == (30, 1)
        assert online["migri-general"].estimate_s is None

        # Another point queues: a newcomer would now wait behind it, for an agent who is free.
        kemi = await sb.point("kemi-kirjasto")
        await kemi.send(p.QueueRequest(**KELA))
        while (now := await oulu.expect("queue.estimates")).queues[0].waiting != 1:
            pass
        assert now.queues[0].queue == "kela-general" and anna is not None
        assert now.queues[0].estimate_s == 300  # the configured average call, one agent, one ahead


async def test_recent_answers_that_waited_long_raise_the_published_estimate():
    async with serve() as sb:
        anna = await sb.desk("anna")
        kemi = await sb.point("kemi-kirjasto")
        await kemi.send(p.QueueRequest(**KELA))
        ticket = (await kemi.expect("queue.position")).ticket
        sb.clock.advance(900)  # the customer waited a quarter of an hour before Anna answered
        await anna.send(p.QueueAccept(ticket=ticket))
        await anna.expect("call.start")
        call = (await kemi.expect("call.start")).call
        await kemi.send(p.Hangup(call=call))
        await anna.expect("call.ended")
        oulu = await sb.point("oulu-kirjasto")
        estimates = {q.queue: q for q in (await oulu.expect("queue.estimates")).queues}
        assert estimates["kela-general"].estimate_s == 900
