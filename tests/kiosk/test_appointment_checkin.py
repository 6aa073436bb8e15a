"""Checking in for a booked appointment at the kiosk (issue 22, item 3): "I have an appointment" → the code on the
keypad → the switchboard's word; a refusal says why and what to do, a right code puts the customer in the queue
without choosing or reading the notice; nothing of it stays after the wipe; staff mode lists the day's bookings.
And the aiortc point against the real switchboard: an agent books from the desk's API, the point checks in with
the code, the booked agent is alerted, answers and gets the point's picture."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from etapiste.config.point import PointConfig, load_point_config
from kiosk import call as c
from kiosk.journey import Journey
from kiosk.session import BookedSlot, Outcome, Session, SessionRecord, State
from simulation.call import point_engine
from simulation.clock import FakeClock
from simulation.desk_agent import AiortcAgent
from simulation.switchboard import serve
from tests.kiosk.test_journey import AgentSide

HELSINKI = ZoneInfo("Europe/Helsinki")
NOW = dt.datetime(2026, 11, 30, 12, 0)


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()


def _at_code_screen(config: PointConfig, agent: AgentSide) -> tuple[Session, Journey]:
    session = Session(config, lambda: NOW)
    journey = Journey(session, agent)
    session.choose_language("sv")
    session.open_appointment()
    assert session.state is State.APPOINTMENT
    return session, journey


def _type(session: Session, code: str) -> None:
    for digit in code:
        session.appointment_key(digit)


def test_a_right_code_checks_in_and_the_customer_waits_first_without_choosing(config: PointConfig) -> None:
    agent = AgentSide()
    session, _ = _at_code_screen(config, agent)
    records: list[SessionRecord] = []
    session.on_record(records.append)
    _type(session, "12345")
    session.submit_appointment()  # five digits: nothing is sent
    assert agent.reports("check_in") == []
    session.appointment_key("9")
    session.appointment_key("erase")
    session.appointment_key("6")
    session.appointment_key("7")  # a seventh digit is not taken
    assert session.snapshot.appointment is not None and session.snapshot.appointment.code == "123456"
    session.submit_appointment()
    assert agent.reports("check_in") == [("123456", "sv")]
    assert session.snapshot.appointment.step == "checking"  # type: ignore[union-attr]

    start = dt.datetime(2026, 11, 30, 12, 15, tzinfo=HELSINKI).timestamp()
    agent.emit(c.AppointmentCheckedIn(producer="kela", queue="kela-general", start=start, agent_online=True))
    snap = session.snapshot
    assert snap.state is State.QUEUE and snap.selected is not None and snap.selected.id == "kela"
    assert snap.appointment is not None and snap.appointment.start == dt.datetime(2026, 11, 30, 12, 15)
    assert agent.reports("request_call") == []  # the switchboard queued the point itself
    agent.emit(c.QueuePosition(position=1, estimate_s=30, agents_online=1))
    agent.emit(c.CallAnswered(call="call-1", agent_name="Anna / Kela"))
    assert session.state is State.CALL
    agent.emit(c.CallEnded("call-1", "hangup", "agent"))
    session.rate(4)
    assert (records[0].producer, records[0].outcome) == ("kela", Outcome.SERVED)
    snap = session.snapshot
    assert snap.state is State.IDLE and snap.appointment is None and snap.selected is None  # wiped


@pytest.mark.parametrize("reason", ["wrong_code", "too_early", "expired", "used", "too_many_tries", "unavailable"])
def test_a_refused_code_says_why_and_the_next_digit_starts_afresh(config: PointConfig, reason: str) -> None:
    agent = AgentSide()
    session, _ = _at_code_screen(config, agent)
    _type(session, "000111")
    session.submit_appointment()
    opens = dt.datetime(2026, 11, 30, 13, 45, tzinfo=HELSINKI).timestamp() if reason == "too_early" else None
    agent.emit(c.AppointmentRefused(reason, start=opens and opens + 900, opens_at=opens))
    appointment = session.snapshot.appointment
    assert session.state is State.APPOINTMENT and appointment is not None
    assert (appointment.step, appointment.refusal, appointment.code) == ("refused", reason, "")
    if reason == "too_early":
        assert appointment.opens_at == dt.datetime(2026, 11, 30, 13, 45)
    session.appointment_key("4")
    assert session.snapshot.appointment == type(appointment)(code="4")
    session.back()  # queue as a walk-in instead
    assert session.state is State.SERVICE_CHOICE and session.snapshot.appointment is None


def test_without_a_switchboard_link_the_code_is_refused_as_unavailable(config: PointConfig) -> None:
    session = Session(config, lambda: NOW)
    Journey(session, None)
    session.choose_language("fi")
    session.open_appointment()
    _type(session, "424242")
    session.submit_appointment()
    assert session.snapshot.appointment is not None and session.snapshot.appointment.refusal == "unavailable"


def test_leaving_the_code_screen_before_the_answer_gives_up_the_place(config: PointConfig) -> None:
    agent = AgentSide()
    session, _ = _at_code_screen(config, agent)
    _type(session, "123456")
    session.submit_appointment()
    session.back()
    agent.emit(c.AppointmentCheckedIn(producer="kela", queue="kela-general", start=0.0, agent_online=False))
    assert session.state is State.SERVICE_CHOICE and agent.reports("cancel_queue") == [()]


def test_staff_mode_asks_for_and_keeps_the_days_bookings_time_and_producer_only(config: PointConfig) -> None:
    agent = AgentSide()
    session = Session(config, lambda: NOW)
    Journey(session, agent)
    session.open_staff_login()
    assert session.staff_pin("246813")  # the sample configuration's staff PIN
    assert agent.reports("request_bookings_today") == [()]
    ten = dt.datetime(2026, 11, 30, 10, 0, tzinfo=HELSINKI).timestamp()
    agent.emit(c.BookingsToday(((ten + 3600, "migri", False), (ten, "kela", True))))
    assert session.snapshot.bookings_today == (
        BookedSlot(dt.datetime(2026, 11, 30, 10, 0), "kela", True),
        BookedSlot(dt.datetime(2026, 11, 30, 11, 0), "migri", False),
    )


@pytest.mark.usefixtures("loopback_ice")
async def test_the_point_checks_in_with_the_code_the_desk_booked_and_the_booked_agent_answers():
    clock = FakeClock(dt.datetime(2026, 12, 7, 9, 50, tzinfo=HELSINKI))
    async with serve(clock=clock) as sb, point_engine(sb) as (engine, events):
        anna = AiortcAgent(sb)
        http = await sb.login("anna")
        try:
            start = dt.datetime(2026, 12, 7, 10, 0, tzinfo=HELSINKI).timestamp()
            async with http.post(f"{sb.base}/api/appointments",
                                 json={"point": "oulu-kirjasto", "producer": "kela", "start": start}) as r:
                assert r.status == 201, await r.text()
                code = (await r.json())["code"]
            await anna.connect()
            await engine.start(timeout=10)
            engine.check_in("999999" if code != "999999" else "999998", "fi")
            refused = await events.first(c.AppointmentRefused)
            assert refused.reason == "wrong_code"
            engine.check_in(code, "fi")
            checked = await events.first(c.AppointmentCheckedIn)
            assert (checked.producer, checked.start, checked.agent_online) == ("kela", start, True)
            assert (await events.first(c.QueuePosition)).position == 1
            arrived = await anna.until(lambda: anna.seen("appointment.arrived"), what="the alert at Anna's desk")
            assert arrived[0].point == "oulu-kirjasto"
            call = await anna.accept_next()
            assert (await events.first(c.CallAnswered)).call == call
            await anna.until(lambda: anna.frames["video"] > 5, what="the point's picture at Anna's desk")
        finally:
            await http.close()
            await anna.close()


def test_a_customer_who_walks_away_from_the_code_screen_is_timed_out_and_forgotten(config: PointConfig) -> None:
    mono = [0.0]
    session = Session(config, lambda: NOW, lambda: mono[0])
    session.choose_language("en")
    session.open_appointment()
    _type(session, "1234")
    mono[0] += config.ui.idle_timeout_s - config.ui.timeout_warning_s + 1
    session.tick()
    assert session.snapshot.timeout_warning is not None  # warned first, as on the service choice
    mono[0] += config.ui.timeout_warning_s
    session.tick()
    assert session.state is State.IDLE and session.snapshot.appointment is None


@pytest.mark.usefixtures("loopback_ice")
async def test_a_customer_types_the_code_at_the_kiosk_and_is_served_then_nothing_of_it_remains(
    config: PointConfig,
) -> None:
    """The whole point side together: session, journey and the real call engine against the real switchboard."""
    clock = FakeClock(dt.datetime(2026, 12, 7, 13, 55, tzinfo=HELSINKI))
    async with serve(clock=clock) as sb, point_engine(sb) as (engine, events):
        anna = AiortcAgent(sb)
        http = await sb.login("anna")
        try:
            start = dt.datetime(2026, 12, 7, 14, 0, tzinfo=HELSINKI).timestamp()
            async with http.post(f"{sb.base}/api/appointments",
                                 json={"point": "oulu-kirjasto", "producer": "kela", "start": start}) as r:
                code = (await r.json())["code"]
            await anna.connect()
            await engine.start(timeout=10)
            session = Session(config, lambda: dt.datetime(2026, 12, 7, 13, 55))
            Journey(session, engine)
            session.choose_language("fi")
            session.open_appointment()
            _type(session, code)
            session.submit_appointment()
            await events.first(c.AppointmentCheckedIn)
            assert session.state is State.QUEUE and session.snapshot.selected is not None
            assert session.snapshot.appointment is not None
            assert session.snapshot.appointment.start == dt.datetime(2026, 12, 7, 14, 0)
            await anna.until(lambda: anna.seen("appointment.arrived"), what="the alert at Anna's desk")
            await anna.accept_next()
            await events.first(c.CallAnswered)
            assert session.state is State.CALL
            session.hang_up()
            session.rate(None)
            snap = session.snapshot
            assert snap.state is State.IDLE and snap.appointment is None and snap.selected is None
            assert code not in repr(snap)
        finally:
            await http.close()
            await anna.close()
