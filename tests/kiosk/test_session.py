"""The session state machine, without a screen: idle, closed and out of service follow the clock,
the host's exceptions and staff's actions."""

from __future__ import annotations

import datetime as dt

import pytest

from etapiste.config.point import PointConfig, load_point_config
from etapiste.language import Text
from kiosk.session import LargeText, Session, Snapshot, State
from simulation.clock import FakeClock


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()  # the bundled library point: Mon–Thu 10–20, Fri 10–18, Sat 10–16, Sun closed


def session_at(config: PointConfig, at: str) -> tuple[Session, FakeClock]:
    clock = FakeClock(at)
    return Session(config, clock), clock


def test_open_hours_show_the_idle_screen_with_todays_hours(config: PointConfig) -> None:
    session, _ = session_at(config, "2026-11-30T12:00")  # a Monday
    snap = session.snapshot
    assert snap.state is State.IDLE
    assert [str(r) for r in snap.hours_today] == ["10:00–20:00"]
    assert snap.host_name.fi.startswith("Oulun kaupunginkirjasto")


def test_before_opening_is_closed_and_says_when_it_opens(config: PointConfig) -> None:
    session, _ = session_at(config, "2026-11-30T08:30")
    snap = session.snapshot
    assert snap.state is State.CLOSED
    assert snap.next_opening is not None
    assert snap.next_opening.start == dt.datetime(2026, 11, 30, 10, 0)


def test_sunday_is_closed_until_monday(config: PointConfig) -> None:
    session, _ = session_at(config, "2026-11-29T11:00")  # Sunday
    snap = session.snapshot
    assert snap.state is State.CLOSED
    assert snap.hours_today == ()
    assert snap.next_opening is not None and snap.next_opening.start == dt.datetime(2026, 11, 30, 10, 0)


def test_closing_time_moves_idle_to_closed_on_the_next_tick(config: PointConfig) -> None:
    session, clock = session_at(config, "2026-12-04T17:59")  # Friday, closes 18:00
    seen: list[Snapshot] = []
    session.subscribe(seen.append)
    assert session.state is State.IDLE
    clock.set(dt.datetime(2026, 12, 4, 18, 0))
    session.tick()
    assert session.state is State.CLOSED
    assert [s.state for s in seen] == [State.IDLE, State.CLOSED]
    assert session.snapshot.next_opening is not None
    assert session.snapshot.next_opening.start == dt.datetime(2026, 12, 5, 10, 0)


def test_a_holiday_exception_closes_an_ordinary_weekday(config: PointConfig) -> None:
    session, _ = session_at(config, "2026-12-24T12:00")  # Thursday, Christmas Eve in the exceptions
    assert session.state is State.CLOSED
    assert session.snapshot.next_opening is not None
    assert session.snapshot.next_opening.start == dt.datetime(2026, 12, 28, 10, 0)  # 25th, 26th closed, 27th a Sunday


def test_shortened_day_uses_the_exception_hours(config: PointConfig) -> None:
    session, clock = session_at(config, "2026-12-31T13:00")
    assert session.state is State.IDLE
    assert [str(r) for r in session.snapshot.hours_today] == ["10:00–14:00"]
    clock.set(dt.datetime(2026, 12, 31, 14, 30))
    session.tick()
    assert session.state is State.CLOSED


def test_out_of_service_overrides_open_and_closed_and_carries_the_message(config: PointConfig) -> None:
    session, clock = session_at(config, "2026-11-30T12:00")
    msg = Text(fi="Huoltokatko klo 14 asti", sv="Service till kl. 14", en="Maintenance until 2 pm")
    session.set_out_of_service(msg)
    assert session.state is State.OUT_OF_SERVICE
    assert session.snapshot.out_of_service_message == msg
    clock.set(dt.datetime(2026, 11, 30, 21, 0))  # after closing, still out of service
    session.tick()
    assert session.state is State.OUT_OF_SERVICE
    session.back_in_service()
    assert session.state is State.CLOSED
    assert session.snapshot.out_of_service_message is None


def test_language_choice_starts_the_journey_and_reset_restores_the_defaults(config: PointConfig) -> None:
    session, _ = session_at(config, "2026-11-30T12:00")
    assert session.snapshot.language == "fi"
    session.choose_language("sv")
    assert session.state is State.SERVICE_CHOICE
    session.set_text_size(LargeText.LARGE)
    session.set_high_contrast(True)
    assert (session.snapshot.language, session.snapshot.text_size) == ("sv", LargeText.LARGE)
    session.reset()
    snap = session.snapshot
    assert (snap.state, snap.language, snap.text_size, snap.high_contrast) == (
        State.IDLE, "fi", LargeText.NORMAL, False)


def test_a_language_not_offered_is_refused(config: PointConfig) -> None:
    only_fi = config.model_copy(update={"ui": config.ui.model_copy(update={"languages": ["fi"]})})
    session, _ = session_at(only_fi, "2026-11-30T12:00")
    with pytest.raises(ValueError, match="not offered"):
        session.choose_language("en")


def test_listeners_are_not_called_when_nothing_changed(config: PointConfig) -> None:
    session, _ = session_at(config, "2026-11-30T12:00")
    seen: list[Snapshot] = []
    unsubscribe = session.subscribe(seen.append)
    session.tick()
    session.touch()
    assert len(seen) == 1
    unsubscribe()
    session.choose_language("en")
    assert len(seen) == 1
