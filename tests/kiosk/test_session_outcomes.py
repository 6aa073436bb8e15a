"""Every customer session ends in exactly one anonymous record with an explicit outcome (docs/statistics.md):
what a producer reads as volumes, waits, durations and the abandonment rate. Driven through the session
state machine as the screens and the journey drive it, with the clocks moved by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from etapiste.config.point import PointConfig, load_point_config
from kiosk.session import LargeText, Outcome, Session, SessionRecord, State
from kiosk.stats import CallSummary
from simulation.clock import FakeClock


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()  # Monday 2026-11-30 12:00: the library and Kela's agents are open


def make(config: PointConfig, at: str = "2026-11-30T12:00") -> tuple[Session, FakeClock, list[SessionRecord]]:
    clocks = FakeClock(at)
    session = Session(config, clocks, clocks.monotonic)
    records: list[SessionRecord] = []
    session.on_record(records.append)
    return session, clocks, records


def queue_for(session: Session, producer: str = "kela", language: str = "fi") -> None:
    session.choose_language(language)  # type: ignore[arg-type]
    session.choose_producer(producer)
    session.accept_notice()


def test_a_served_session_counts_its_wait_its_call_its_rating_and_its_quality(config: PointConfig) -> None:
    session, clocks, records = make(config)
    clocks.advance(15)
    queue_for(session)
    clocks.advance(130)
    session.call_answered()
    clocks.advance(400)
    session.call_quality(CallSummary(bitrate_kbps=900.0, fps=24.5, loss_pct=0.2, rtt_ms=35.0))
    session.hang_up()
    clocks.advance(50)  # the survey's time is not the call's
    session.rate(4)
    (record,) = records
    assert record.outcome is Outcome.SERVED
    assert (record.producer, record.queue) == ("kela", "kela-general")
    assert (record.waited_s, record.call_s, record.rating) == (130, 400, 4)
    assert record.quality == CallSummary(bitrate_kbps=900.0, fps=24.5, loss_pct=0.2, rtt_ms=35.0)
    assert record.started == dt.datetime(2026, 11, 30, 12, 0, 15)  # the day and hour it started


def test_the_agent_hanging_up_or_the_network_ending_an_answered_call_is_still_served(config: PointConfig) -> None:
    for reason in ("hangup", "network", "other"):
        session, clocks, records = make(config)
        queue_for(session)
        session.call_answered()
        clocks.advance(60)
        session.call_ended(reason)
        session.rate(None)
        (record,) = records
        assert (record.outcome, record.call_s, record.rating) == (Outcome.SERVED, 60, None), reason


def test_giving_up_in_the_queue_is_abandoned_after_how_long_it_waited(config: PointConfig) -> None:
    session, clocks, records = make(config)
    queue_for(session)
    clocks.advance(200)
    session.cancel_queue()
    assert session.state is State.SERVICE_CHOICE and records == []  # the visit is not over yet
    clocks.advance(10)
    session.back()
    (record,) = records
    assert (record.outcome, record.producer, record.waited_s, record.call_s) == (Outcome.ABANDONED, "kela", 200, None)
    assert record.rating is None


def test_giving_up_and_then_being_served_elsewhere_is_one_session_served(config: PointConfig) -> None:
    session, clocks, records = make(config)
    queue_for(session)
    clocks.advance(100)
    session.cancel_queue()
    session.choose_producer("migri")
    session.accept_notice()
    clocks.advance(30)
    session.call_answered()
    session.hang_up()
    session.rate(5)
    (record,) = records
    assert (record.outcome, record.producer, record.queue, record.waited_s) == (
        Outcome.SERVED, "migri", "migri-general", 30)  # fmt: skip


def test_giving_up_in_the_queue_then_walking_away_is_abandoned(config: PointConfig) -> None:
    session, clocks, records = make(config)
    queue_for(session)
    clocks.advance(90)
    session.cancel_queue()
    clocks.advance(config.ui.idle_timeout_s)
    session.tick()
    assert session.state is State.IDLE
    (record,) = records
    assert (record.outcome, record.waited_s) == (Outcome.ABANDONED, 90)


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("timeout", Outcome.QUEUE_TIMEOUT),
        ("closed", Outcome.CLOSED),
        ("network_lost", Outcome.CONNECTION_LOST),
        ("unavailable", Outcome.TECHNICAL_FAILURE),
        ("network", Outcome.CONNECTION_LOST),
        ("other", Outcome.TECHNICAL_FAILURE),
    ],
)
def test_the_queue_ending_without_a_call_counts_why(config: PointConfig, reason: str, outcome: Outcome) -> None:
    session, clocks, records = make(config)
    queue_for(session)
    clocks.advance(45)
    if reason in ("network", "other"):
        session.call_ended(reason)  # the engine's call end while still queued
    else:
        session.queue_left(reason)
    assert session.state is State.SURVEY
    session.rate(3)  # a rating is about a conversation: none happened, so none is counted
    (record,) = records
    assert (record.outcome, record.waited_s, record.call_s, record.rating) == (outcome, 45, None, None)


def test_a_visitor_who_leaves_before_choosing_is_counted_once_without_a_producer(config: PointConfig) -> None:
    for leave in ("back", "timeout", "back_from_notice"):
        session, clocks, records = make(config)
        session.choose_language("sv")
        if leave == "back":
            session.back()
        elif leave == "timeout":
            clocks.advance(config.ui.idle_timeout_s)
            session.tick()
        else:
            session.choose_producer("kela")
            session.back()  # read the notice and changed their mind: no queue was joined
            session.back()
        assert session.state is State.IDLE
        (record,) = records
        assert record.outcome is Outcome.LEFT_BEFORE_CHOOSING, leave
        assert (record.producer, record.queue, record.waited_s, record.call_s) == (None, None, None, None)
        assert record.usage.language == "sv"


def test_the_app_stopping_while_a_customer_waits_is_a_technical_failure(config: PointConfig) -> None:
    session, clocks, records = make(config)
    queue_for(session)
    clocks.advance(20)
    session.reset()
    (record,) = records
    assert (record.outcome, record.waited_s) == (Outcome.TECHNICAL_FAILURE, 20)


def test_no_customer_no_record(config: PointConfig) -> None:
    session, clocks, records = make(config)
    session.set_speech(True)
    session.open_staff_login()
    clocks.advance(config.ui.idle_timeout_s)
    session.tick()
    session.reset()
    assert records == []


def test_usage_counts_what_the_session_used_and_nothing_of_what_was_in_it(config: PointConfig) -> None:
    session, _, records = make(config)
    session.set_text_size(LargeText.LARGE)  # on the idle screen, before the visit starts
    queue_for(session, language="en")
    session.set_language("fi")  # the language chosen at the start is what is counted
    session.set_speech(True)
    session.call_answered()
    session.identify_requested(card_present=True)
    session.identify_failed("wrong_pin", tries_left=2)  # a wrong PIN the customer may retry is no failure
    session.pin_submitted()
    session.identify_done()
    session.identity_result(True, None)
    session.scan_requested()
    session.scan_started()
    session.scan_ready(pages=3, preview=None, blank=1)
    session.scan_sending()
    session.scan_sent()
    session.print_started(pages=2)
    session.print_done()
    session.print_started(pages=1)
    session.print_failed("out_of_paper")
    session.interpreter_changed(True)
    session.type_text("Hello", final=True)
    session.hang_up()
    session.rate(None)
    (record,) = records
    u = record.usage
    assert (u.language, u.speech_used, u.large_text_used, u.text_used, u.interpreter_joined) == (
        "en", True, True, True, True)  # fmt: skip
    assert (u.identify_asked, u.identify_succeeded, u.identify_failed) == (True, True, False)
    assert (u.scans, u.scan_pages, u.prints, u.print_pages) == (1, 2, 1, 2)  # blank pages are not sent
    assert "Hello" not in repr(record)


def test_identification_that_failed_and_one_the_customer_cancelled(config: PointConfig) -> None:
    session, _, records = make(config)
    queue_for(session)
    session.call_answered()
    session.identify_requested(card_present=False)
    session.identity_result(False, "cancelled")  # the customer's own choice: asked, neither outcome
    session.hang_up()
    session.rate(None)
    session2, _, records2 = make(config)
    queue_for(session2)
    session2.call_answered()
    session2.identify_requested(card_present=True)
    session2.identify_failed("pin_blocked", tries_left=0)
    session2.identity_result(False, "pin_blocked")
    session2.hang_up()
    session2.rate(None)
    u, u2 = records[0].usage, records2[0].usage
    assert (u.identify_asked, u.identify_succeeded, u.identify_failed) == (True, False, False)
    assert (u2.identify_asked, u2.identify_succeeded, u2.identify_failed) == (True, False, True)


def test_a_new_visit_starts_with_nothing_of_the_previous_ones_usage(config: PointConfig) -> None:
    session, _, records = make(config)
    session.choose_language("fi")
    session.set_speech(True)
    session.back()
    session.choose_language("fi")
    session.back()
    first, second = records
    assert first.usage.speech_used and not second.usage.speech_used
