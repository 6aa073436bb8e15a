"""Booked video appointments through the real switchboard (issue 22, item 3): an agent books a free slot of a
point from the desk's API and gets a code; at the point the code checks the customer in, the booked agent is
alerted and alone offered the customer, who stands first in line; away, every agent of the producer gets them
first; wrong, early, expired and used codes are refused with their reason, guessing is limited; the agent's
calendar feed lists the booking without its code; bookings behave alike in memory and in Redis."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from etapiste import protocol as p
from etapiste.hours import Schedule
from simulation.clock import FakeClock
from simulation.services.redis import Redis
from simulation.switchboard import Switchboard, make_config, serve
from switchboard.appointments import Booking, free_slots
from switchboard.hub.appointments import MAX_WRONG_CODES
from switchboard.state import StateStore

ZONE = ZoneInfo("Europe/Helsinki")
MONDAY = dt.date(2026, 12, 7)
KELA = {"producer": "kela", "queue": "kela-general"}


def _at(hhmm: str, day: dt.date = MONDAY) -> float:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), ZONE).timestamp()


def _config(**overrides: Any) -> Any:
    config = make_config(**overrides)
    hours = {"weekly": {d: "09:00-16:00" for d in ("mon", "tue", "wed", "thu", "fri")}}
    points = [pt.model_copy(update={"hours": Schedule.model_validate(hours)}) if pt.id == "oulu-kirjasto" else pt
              for pt in config.points]
    return config.model_copy(update={"points": points})


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def shared(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The switchboard's configuration overrides: its state in memory, or in Redis (a test's own prefix)."""
    if request.param == "memory":
        return {}
    redis: Redis = request.getfixturevalue("redis_server")
    return {"redis_url": redis.url, "redis_prefix": f"t{secrets.token_hex(3)}:"}


def _booking(bid: str, code: str, start: float, point: str = "oulu-kirjasto") -> Booking:
    return Booking(id=bid, point=point, producer="kela", queue="kela-general", agent="anna", start=start,
                   length_s=1800, code=code, created=1.5)


async def test_bookings_keep_their_codes_unique_and_check_in_once(store: StateStore):
    assert await store.add_booking(_booking("b-1", "123456", 2000.0))
    assert not await store.add_booking(_booking("b-2", "123456", 1000.0))  # the code is an open booking's
    assert await store.add_booking(_booking("b-3", "654321", 1000.0))
    assert [b.id for b in await store.bookings()] == ["b-3", "b-1"]  # earliest first
    assert await store.booking_by_code("123456") == _booking("b-1", "123456", 2000.0)
    assert await store.booking_by_code("000000") is None

    checked = await store.check_in_booking("b-1", 1990.25)
    assert checked is not None and checked.checked_in == 1990.25
    assert await store.check_in_booking("b-1", 1991.0) is None  # one code checks in once
    assert (await store.booking_by_code("123456")).checked_in == 1990.25  # type: ignore[union-attr]

    assert (await store.take_booking("b-3")) == _booking("b-3", "654321", 1000.0)
    assert await store.take_booking("b-3") is None
    assert await store.add_booking(_booking("b-4", "654321", 5000.0))  # a cancelled booking's code is free
    await store.drop_bookings_before(4000.0)  # b-1 ended at 3800
    assert [b.id for b in await store.bookings()] == ["b-4"]
    assert await store.booking_by_code("123456") is None


def test_free_slots_lie_inside_the_points_and_the_queues_hours_after_now_and_around_bookings():
    point = Schedule.model_validate({"weekly": {"mon": "09:00-12:00"}})
    queue = Schedule.model_validate({"weekly": {"mon": ["10:00-16:00"]}})
    taken = [_booking("b-1", "111111", _at("10:30"))]
    slots = free_slots(MONDAY, ZONE, point, queue, 1800, taken, now=_at("10:10"))
    # 09:00–10:00: the queue's agents are not there; 10:00 has begun; 10:30 is booked; 12:00 the point closes.
    assert slots == [_at("11:00"), _at("11:30")]
    # A booking at another point takes nothing here (the filter is the caller's: only this point's bookings).
    assert free_slots(MONDAY, ZONE, point, queue, 1800, [], now=_at("08:00"))[0] == _at("10:00")
    assert free_slots(MONDAY + dt.timedelta(days=1), ZONE, point, queue, 1800, [], now=0) == []  # closed Tuesday


async def _book(sb: Switchboard, http: aiohttp.ClientSession, start: float, point: str = "oulu-kirjasto") -> Any:
    day = dt.datetime.fromtimestamp(start, ZONE).date().isoformat()
    async with http.get(f"{sb.base}/api/appointments/slots",
                        params={"point": point, "producer": "kela", "day": day}) as r:
        assert r.status == 200, await r.text()
        assert start in (await r.json())["slots"]
    async with http.post(f"{sb.base}/api/appointments",
                         json={"point": point, "producer": "kela", "start": start}) as r:
        assert r.status == 201, await r.text()
        return await r.json()


def _entries(snapshot: Any) -> list[Any]:
    return [e for q in snapshot.queues if q.queue == "kela-general" for e in q.entries]


async def _snapshot_until(desk: Any, check: Any) -> Any:
    while True:
        snapshot = await desk.expect("queue.snapshot")
        if check(snapshot):
            return snapshot


async def test_a_booked_customer_checks_in_with_the_code_and_the_booked_agent_alone_is_alerted_first_in_line(
    shared: dict[str, Any],
):
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(8, 0), ZONE))
    async with serve(_config(**shared), clock=clock) as sb:
        anna_http = await sb.login("anna")
        booking = await _book(sb, anna_http, _at("10:00"))
        assert len(booking["code"]) == 6 and booking["code"].isdigit()
        async with anna_http.get(f"{sb.base}/api/appointments") as r:
            mine = await r.json()
        assert [b["id"] for b in mine["bookings"]] == [booking["id"]]
        # The slot is gone for everyone now (one customer at a time in the room).
        async with anna_http.post(f"{sb.base}/api/appointments",
                                  json={"point": "oulu-kirjasto", "producer": "kela", "start": _at("10:00")}) as r:
            assert r.status == 409

        clock.advance(3600 + 50 * 60)  # 09:50, inside the 15 min before
        anna = await sb.desk("anna")
        bertil = await sb.desk("bertil")
        kemi = await sb.point("kemi-kirjasto")  # a walk-in who queued first
        await kemi.expect("welcome")
        await kemi.send(p.QueueRequest(**KELA, language="fi"))
        assert (await kemi.expect("queue.position")).position == 1

        oulu = await sb.point("oulu-kirjasto")
        await oulu.expect("welcome")
        await oulu.send(p.AppointmentCheckIn(code=booking["code"], language="sv", ref="c1"))
        checked = await oulu.expect("appointment.checked_in")
        assert (checked.producer, checked.start, checked.agent_online, checked.ref) == ("kela", _at("10:00"), True,
                                                                                       "c1")
        assert (await oulu.expect("queue.position")).position == 1  # ahead of the walk-in
        arrived = await anna.expect("appointment.arrived")
        assert (arrived.ticket, arrived.point, arrived.start) == (checked.ticket, "oulu-kirjasto", _at("10:00"))

        seen = await _snapshot_until(anna, lambda s: len(_entries(s)) == 2)
        assert [e.point for e in _entries(seen)] == ["oulu-kirjasto", "kemi-kirjasto"]
        assert _entries(seen)[0].appointment_start == _at("10:00")
        others = await _snapshot_until(bertil, lambda s: _entries(s))
        assert [e.point for e in _entries(others)] == ["kemi-kirjasto"]  # reserved for Anna
        await bertil.send(p.QueueAccept(ticket=checked.ticket, ref="steal"))
        assert (await bertil.expect("error")).code == "not_allowed"
        assert bertil.latest("appointment.arrived") is None

        await anna.send(p.QueueAccept(ticket=checked.ticket))
        start = await oulu.expect("call.start")
        assert start.producer == "kela" and start.language == "sv"

        # The same code never checks in twice, and the staff mode's day list says it was used.
        await oulu.send(p.AppointmentDayRequest())
        (slot,) = (await oulu.expect("appointment.day")).bookings
        assert (slot.start, slot.producer, slot.checked_in) == (_at("10:00"), "kela", True)
        assert set(slot.model_dump()) == {"start", "length_s", "producer", "checked_in"}  # no code, no agent


async def test_with_the_booked_agent_away_every_agent_of_the_producer_gets_the_customer_first(
    shared: dict[str, Any],
):
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(8, 0), ZONE))
    async with serve(_config(**shared), clock=clock) as sb:
        booking = await _book(sb, await sb.login("anna"), _at("09:00"))
        clock.advance(3600 + 5 * 60)  # 09:05, five minutes late: still in the window
        bertil = await sb.desk("bertil")
        kemi = await sb.point("kemi-kirjasto")
        await kemi.send(p.QueueRequest(**KELA, language="fi"))
        await kemi.expect("queue.position")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.AppointmentCheckIn(code=booking["code"]))
        checked = await oulu.expect("appointment.checked_in")
        assert checked.agent_online is False
        seen = await _snapshot_until(bertil, lambda s: len(_entries(s)) == 2)
        assert [e.point for e in _entries(seen)] == ["oulu-kirjasto", "kemi-kirjasto"]
        await bertil.send(p.QueueAccept(ticket=checked.ticket))
        assert (await oulu.expect("call.start")).producer == "kela"


async def test_wrong_early_expired_and_other_points_codes_are_refused_and_guessing_is_limited():
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(8, 0), ZONE))
    async with serve(_config(), clock=clock) as sb:
        anna_http = await sb.login("anna")
        ten = await _book(sb, anna_http, _at("10:00"))
        kemi_booking = await _book(sb, anna_http, _at("10:00"), point="kemi-kirjasto")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.expect("welcome")

        clock.advance(3600 + 40 * 60)  # 09:40: 20 minutes early
        await oulu.send(p.AppointmentCheckIn(code=ten["code"]))
        early = await oulu.expect("appointment.refused")
        assert (early.reason, early.start, early.opens_at) == ("too_early", _at("10:00"), _at("09:45"))

        await oulu.send(p.AppointmentCheckIn(code=kemi_booking["code"]))  # a real code, of another point
        assert (await oulu.expect("appointment.refused")).reason == "wrong_code"

        clock.advance(31 * 60)  # 10:11: more than 10 minutes late
        await oulu.send(p.AppointmentCheckIn(code=ten["code"]))
        assert (await oulu.expect("appointment.refused")).reason == "expired"
        # A walk-in still queues as ever: the booking held no place.
        await oulu.send(p.QueueRequest(**KELA, language="fi"))
        assert (await oulu.expect("queue.position")).position == 1
        await oulu.send(p.QueueCancel())
        await oulu.expect("queue.left")

        wrong = [c for c in (f"{i:06d}" for i in range(1000)) if c not in (ten["code"], kemi_booking["code"])]
        for code in wrong[: MAX_WRONG_CODES - 1]:  # one wrong code was typed above
            await oulu.send(p.AppointmentCheckIn(code=code))
            assert (await oulu.expect("appointment.refused")).reason == "wrong_code"
        await oulu.send(p.AppointmentCheckIn(code=wrong[MAX_WRONG_CODES]))
        assert (await oulu.expect("appointment.refused")).reason == "wrong_code"
        await oulu.send(p.AppointmentCheckIn(code=kemi_booking["code"]))
        assert (await oulu.expect("appointment.refused")).reason == "too_many_tries"


async def test_the_agents_calendar_feed_lists_bookings_without_codes_and_only_by_its_token():
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(8, 0), ZONE))
    async with serve(_config(), clock=clock) as sb:
        anna_http = await sb.login("anna")
        booking = await _book(sb, anna_http, _at("13:30"))
        async with anna_http.get(f"{sb.base}/api/appointments") as r:
            feed = (await r.json())["calendar"]
        async with sb.session.get(f"{sb.base}{feed}") as r:  # a calendar program: no login, no cookie
            assert r.status == 200 and r.content_type == "text/calendar"
            text = await r.text()
        assert "BEGIN:VEVENT" in text and "DTSTART:20261207T113000Z" in text and "Oulu library" in text
        assert booking["code"] not in text
        async with sb.session.get(f"{sb.base}/calendar/{'0' * 40}.ics") as r:
            assert r.status == 404
        bertil_http = await sb.login("bertil")  # another agent's cancel is refused; one's own works
        async with bertil_http.post(f"{sb.base}/api/appointments/{booking['id']}/cancel", json={}) as r:
            assert r.status == 404
        async with anna_http.post(f"{sb.base}/api/appointments/{booking['id']}/cancel", json={}) as r:
            assert r.status == 200
        async with sb.session.get(f"{sb.base}{feed}") as r:
            assert "BEGIN:VEVENT" not in await r.text()


async def test_no_code_and_no_customer_reach_the_switchboards_logs(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(9, 50), ZONE))
    async with serve(_config(), clock=clock) as sb:
        booking = await _book(sb, await sb.login("anna"), _at("10:00"))
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.AppointmentCheckIn(code="999999" if booking["code"] != "999999" else "999998"))
        await oulu.expect("appointment.refused")
        await oulu.send(p.AppointmentCheckIn(code=booking["code"]))
        await oulu.expect("appointment.checked_in")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert booking["id"] in logged  # what happened is traceable by the booking's id ...
    assert booking["code"] not in logged and "999999" not in logged  # ... never by a code typed or given


async def test_the_host_view_lists_the_days_bookings_of_its_rooms_by_time_and_producer_only():
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(8, 0), ZONE))
    async with serve(_config(), clock=clock) as sb:
        anna_http = await sb.login("anna")
        booking = await _book(sb, anna_http, _at("10:00"))
        await _book(sb, anna_http, _at("11:00", MONDAY + dt.timedelta(days=1)))  # tomorrow's: not listed
        await _book(sb, anna_http, _at("12:00"), point="inari-kirjasto")  # another host's room
        liisa = await sb.login("liisa")
        async with liisa.get(f"{sb.base}/api/host") as r:
            assert r.status == 200, await r.text()
            rooms = {room["point"]: room for room in (await r.json())["rooms"]}
        (listed,) = rooms["oulu-kirjasto"]["bookings_today"]
        assert listed == {"start": _at("10:00"), "producer": "kela", "checked_in": False,
                          "producer_name": {"fi": "Kela", "sv": "FPA", "en": "Kela"}}
        assert rooms["kemi-kirjasto"]["bookings_today"] == [] and "inari-kirjasto" not in rooms
        assert booking["code"] not in json.dumps(rooms)


async def test_a_booked_agent_stuck_elsewhere_lets_the_customer_go_to_everyone_after_the_reservation():
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(9, 55), ZONE))
    async with serve(_config(), clock=clock) as sb:
        booking = await _book(sb, await sb.login("anna"), _at("10:00"))
        anna = await sb.desk("anna")  # online, but (say) in a long call with someone else
        bertil = await sb.desk("bertil")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.AppointmentCheckIn(code=booking["code"]))
        checked = await oulu.expect("appointment.checked_in")
        await bertil.drain(0.3)
        assert all(not _entries(s) for s in bertil.backlog if s.type == "queue.snapshot")
        clock.advance(sb.hub.config.appointments.reserve_s + 1)
        await sb.hub.sweep()
        (entry,) = _entries(await _snapshot_until(bertil, lambda s: _entries(s)))
        assert entry.ticket == checked.ticket and entry.appointment_start == _at("10:00")
        await bertil.send(p.QueueAccept(ticket=checked.ticket))
        assert (await oulu.expect("call.start")).producer == "kela"
        assert anna.latest("call.start") is None


async def test_only_free_slots_of_ones_own_producers_can_be_booked_and_only_by_an_agent_from_the_desk_page():
    clock = FakeClock(dt.datetime.combine(MONDAY, dt.time(10, 5), ZONE))
    async with serve(_config(), clock=clock) as sb:
        anna = await sb.login("anna")  # Kela only
        refusals = [
            ({"point": "oulu-kirjasto", "producer": "migri", "start": _at("11:00")}, 400, "not_allowed"),
            ({"point": "nowhere", "producer": "kela", "start": _at("11:00")}, 400, "unknown_point"),
            ({"point": "oulu-kirjasto", "producer": "kela", "start": _at("11:10")}, 409, "slot_taken"),  # not a slot
            ({"point": "oulu-kirjasto", "producer": "kela", "start": _at("10:00")}, 409, "slot_taken"),  # begun
            ({"point": "oulu-kirjasto", "producer": "kela", "start": _at("09:00", MONDAY + dt.timedelta(days=61))},
             409, "slot_taken"),  # beyond days_ahead
            ({"point": "oulu-kirjasto", "producer": "kela", "start": _at("17:00")}, 409, "slot_taken"),  # closed
        ]
        for body, status, error in refusals:
            async with anna.post(f"{sb.base}/api/appointments", json=body) as r:
                assert (r.status, (await r.json())["error"]) == (status, error), body
        async with anna.post(f"{sb.base}/api/appointments", data="point=oulu-kirjasto",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert r.status == 415  # a form post another site could make is refused
        ops = await sb.login("ops")
        async with ops.get(f"{sb.base}/api/appointments") as r:
            assert r.status == 403
        async with sb.session.get(f"{sb.base}/api/appointments") as r:  # not logged in
            assert r.status == 401
        async with anna.get(f"{sb.base}/api/appointments") as r:
            assert (await r.json())["bookings"] == []
