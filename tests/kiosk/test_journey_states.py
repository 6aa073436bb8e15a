"""The customer's journey through the session state machine, without a screen: service choice, notice,
queue, call with its sub-flows, survey, the wipe, time limits, and the host staff's mode."""

from __future__ import annotations

import datetime as dt

import pytest

from etapiste.config.point import PointConfig, load_point_config
from kiosk import i18n
from kiosk.session import STAFF_LOCKOUT_S, LargeText, Outcome, Session, SessionRecord, State
from simulation.clock import FakeClock


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()


def make(config: PointConfig, at: str = "2026-11-30T12:00") -> tuple[Session, FakeClock]:
    clocks = FakeClock(at)
    return Session(config, clocks, clocks.monotonic), clocks


def to_call(session: Session, producer: str = "kela") -> None:
    session.choose_language("fi")
    session.choose_producer(producer)
    session.accept_notice()
    session.call_answered()


def test_service_choice_lists_every_producer_and_says_which_answer_now(config: PointConfig) -> None:
    session, _ = make(config, "2026-11-30T17:00")  # Monday: Kansalaisneuvonta until 18, others until 16
    session.choose_language("en")
    options = {o.producer.id: o for o in session.snapshot.producers}
    assert list(options) == ["kela", "migri", "poliisi", "vero", "dvv", "te-palvelut", "kansalaisneuvonta"]
    assert options["kansalaisneuvonta"].available
    kela = options["kela"]
    assert not kela.available
    assert kela.next_opening is not None and kela.next_opening.start == dt.datetime(2026, 12, 1, 9, 0)
    with pytest.raises(ValueError, match="not answering now"):
        session.choose_producer("kela")
    assert session.state is State.SERVICE_CHOICE


def test_the_whole_journey_ends_in_a_wipe_and_an_anonymous_record(config: PointConfig) -> None:
    session, clocks = make(config)
    records: list[SessionRecord] = []
    wiped: list[bool] = []
    session.on_record(records.append)
    session.on_wipe(lambda: wiped.append(True))

    session.choose_language("sv")
    session.set_text_size(LargeText.LARGE)
    session.choose_producer("migri")
    assert session.state is State.NOTICE and session.snapshot.selected is not None
    session.accept_notice()
    assert session.state is State.QUEUE
    session.queue_update(3, 240)
    assert (session.snapshot.queue_position, session.snapshot.queue_estimate_s) == (3, 240)
    clocks.advance(120)
    session.call_answered()
    assert session.state is State.CALL
    session.remote_text("Hej! Hur kan jag hjälpa?", final=True)
    session.type_text("Jag behöver ett uppehållstillstånd", final=True)
    assert [line.who for line in session.snapshot.call.transcript] == ["agent", "customer"]  # type: ignore[union-attr]
    clocks.advance(300)
    session.hang_up()
    assert session.state is State.SURVEY
    session.rate(5)

    snap = session.snapshot
    assert snap.state is State.IDLE
    assert (snap.language, snap.text_size, snap.call, snap.selected) == ("fi", LargeText.NORMAL, None, None)
    assert wiped == [True]
    (record,) = records
    assert (record.outcome, record.producer, record.waited_s, record.call_s, record.rating) == (
        Outcome.SERVED, "migri", 120, 300, 5)  # fmt: skip
    assert snap.sessions_today == 1


def test_cancelling_the_queue_goes_back_to_the_service_choice(config: PointConfig) -> None:
    session, _ = make(config)
    records: list[SessionRecord] = []
    session.on_record(records.append)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    session.cancel_queue()
    assert session.state is State.SERVICE_CHOICE
    assert records == []  # the visit goes on at the service choice: its one record comes at its end
    session.back()
    assert records[0].outcome is Outcome.ABANDONED and records[0].call_s is None


def test_back_from_the_notice_and_from_the_service_choice(config: PointConfig) -> None:
    session, _ = make(config)
    wiped: list[bool] = []
    session.on_wipe(lambda: wiped.append(True))
    session.choose_language("en")
    session.choose_producer("vero")
    session.back()
    assert session.state is State.SERVICE_CHOICE and session.snapshot.selected is None
    session.back()
    assert session.state is State.IDLE and wiped == [True]


def test_the_agent_ending_the_call_leads_to_the_survey_with_the_reason(config: PointConfig) -> None:
    session, _ = make(config)
    to_call(session)
    session.call_ended("network")
    assert session.state is State.SURVEY
    assert session.snapshot.end_reason == "network"


@pytest.mark.parametrize("reason", ["timeout", "closed", "unavailable", "network_lost"])
def test_leaving_the_queue_without_a_call_is_explained_not_silent(config: PointConfig, reason: str) -> None:
    session, _ = make(config)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    session.queue_left(reason)
    assert session.state is State.SURVEY
    assert session.snapshot.end_reason == f"queue_{reason}"
    for language in ("fi", "sv", "en"):  # a sentence of its own, not the generic "the call ended"
        said = i18n.text(f"ended_queue_{reason}", language, default="", host="library")
        assert said not in ("", i18n.text("ended_other", language))


def test_inactivity_is_warned_ahead_can_be_extended_and_then_ends_the_session(config: PointConfig) -> None:
    session, clocks = make(config)  # idle_timeout_s 90, warning 30 s ahead
    wiped: list[bool] = []
    session.on_wipe(lambda: wiped.append(True))
    session.choose_language("en")
    clocks.advance(59)
    session.tick()
    assert session.snapshot.timeout_warning is None
    clocks.advance(2)
    session.tick()
    assert session.snapshot.timeout_warning == 29
    for _ in range(12):  # extendable again and again (WCAG asks for at least 10)
        session.extend_time()
        assert session.snapshot.timeout_warning is None
        clocks.advance(80)
        session.tick()
        assert session.snapshot.timeout_warning == 10
    clocks.advance(10)
    session.tick()
    assert session.state is State.IDLE and wiped == [True]


def test_waiting_in_the_queue_and_a_call_never_time_out(config: PointConfig) -> None:
    session, clocks = make(config)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    clocks.advance(3600)
    session.tick()
    assert session.state is State.QUEUE and session.snapshot.timeout_warning is None
    session.call_answered()
    clocks.advance(3600)
    session.tick()
    assert session.state is State.CALL


def test_closing_time_and_out_of_service_do_not_cut_off_a_customer(config: PointConfig) -> None:
    session, clocks = make(config, "2026-12-04T14:50")  # Friday: Kansalaisneuvonta answers until 15
    to_call(session, "kansalaisneuvonta")
    session.set_out_of_service("Huolto")
    clocks.advance(4 * 3600)  # past the library's closing at 18
    session.tick()
    assert session.state is State.CALL
    session.hang_up()
    session.rate(None)
    assert session.state is State.OUT_OF_SERVICE
    session.back_in_service()
    assert session.state is State.CLOSED


def test_identify_flow_with_a_wrong_pin_then_the_right_one(config: PointConfig) -> None:
    session, _ = make(config)
    to_call(session)
    session.identify_requested(card_present=False)
    assert session.snapshot.call.identify.step == "insert_card"  # type: ignore[union-attr]
    session.card_inserted(tries_left=5)
    session.pin_submitted()
    assert session.snapshot.call.identify.step == "checking"  # type: ignore[union-attr]
    session.identify_failed("wrong_pin", tries_left=4)
    ident = session.snapshot.call.identify  # type: ignore[union-attr]
    assert (ident.step, ident.tries_left, ident.error) == ("enter_pin", 4, "wrong_pin")
    session.pin_submitted()
    session.identify_done()
    assert session.snapshot.call.identify.step == "remove_card"  # type: ignore[union-attr]
    session.card_removed()
    assert session.snapshot.call.identify is None  # type: ignore[union-attr]


def test_a_blocked_pin_or_a_pulled_card_ends_the_attempt_with_a_reason(config: PointConfig) -> None:
    session, _ = make(config)
    to_call(session)
    session.identify_requested(card_present=True)
    session.pin_submitted()
    session.identify_failed("wrong_pin", tries_left=0)
    assert session.snapshot.call.identify.step == "failed"  # type: ignore[union-attr]
    session.identify_requested(card_present=True)
    session.card_removed()
    ident = session.snapshot.call.identify  # type: ignore[union-attr]
    assert (ident.step, ident.error) == ("insert_card", "card_removed")


def test_scan_and_print_sub_flows(config: PointConfig) -> None:
    session, _ = make(config)
    to_call(session)
    session.scan_requested()
    session.scan_started()
    session.scan_progress(1, 0.5)
    session.scan_ready(2, b"\x89PNG preview")
    scan = session.snapshot.call.scan  # type: ignore[union-attr]
    assert (scan.step, scan.pages, scan.preview) == ("preview", 2, b"\x89PNG preview")
    session.scan_sending()
    session.scan_sent()
    assert session.snapshot.call.scan.step == "sent"  # type: ignore[union-attr]
    session.close_scan()
    session.print_started(pages=3)
    session.print_progress(2)
    session.print_failed("out_of_paper")
    job = session.snapshot.call.print_  # type: ignore[union-attr]
    assert (job.step, job.error, job.pages) == ("failed", "out_of_paper", 3)


def test_staff_mode_needs_the_pin_and_locks_after_five_wrong_tries(config: PointConfig) -> None:
    session, clocks = make(config)
    session.open_staff_login()
    assert session.state is State.STAFF_LOGIN
    for _ in range(4):
        assert not session.staff_pin("000000")
        assert session.snapshot.staff_error == "staff_wrong_pin"
    assert not session.staff_pin("135790")
    assert session.snapshot.staff_locked
    assert not session.staff_pin("246813")  # the right PIN is refused while locked
    clocks.advance(STAFF_LOCKOUT_S + 1)
    assert session.staff_pin("246813")
    assert session.state is State.STAFF
    session.leave_staff()
    assert session.state is State.IDLE


def test_staff_mode_cannot_be_opened_over_a_customer(config: PointConfig) -> None:
    session, _ = make(config)
    to_call(session)
    session.open_staff_login()
    assert session.state is State.CALL


def test_staff_mode_leaves_by_itself_after_inactivity(config: PointConfig) -> None:
    session, clocks = make(config)
    session.open_staff_login()
    session.staff_pin("246813")
    clocks.advance(config.ui.idle_timeout_s + 1)
    session.tick()
    assert session.state is State.IDLE


def test_a_connection_being_recovered_is_shown_and_cleared(config: PointConfig) -> None:
    session, _ = make(config)
    to_call(session)
    session.connection_trouble("reconnecting")
    assert session.snapshot.call.trouble == "reconnecting"  # type: ignore[union-attr]
    session.connection_trouble(None)
    assert session.snapshot.call.trouble is None  # type: ignore[union-attr]
