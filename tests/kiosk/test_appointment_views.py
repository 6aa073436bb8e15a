"""The appointment screens as the customer and the staff see them (issue 22): "I have an appointment" on the service
choice, the keypad and the code typed, each refusal's text in fi/sv/en and read aloud, the booked time on the queue
screen, and the staff mode's list of the day's bookings (time and producer only)."""

from __future__ import annotations

import datetime as dt

import pytest
from pytestqt.qtbot import QtBot

from kiosk import i18n
from kiosk.session import BookedSlot, State
from tests.kiosk.test_views import _speaking_window, _window


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_code_screen_takes_the_code_on_its_keypad_and_says_why_a_code_was_refused(
    qtbot: QtBot, language: str
) -> None:
    window, session, said = _speaking_window(qtbot, language)
    choice = window.service_choice
    assert choice.appointment.text() == i18n.text("appointment_button", language)  # type: ignore[arg-type]
    choice.appointment.click()
    screen = window.appointment
    assert session.state is State.APPOINTMENT and window.current_screen is screen
    assert not screen.submit.isEnabled()
    for digit in "4271930":  # the seventh is not taken
        screen.keys[digit].click()
    screen.keys["erase"].click()
    screen.keys["3"].click()
    assert "4 2 7 1 9 3" in screen.code.text() and screen.submit.isEnabled()
    screen.submit.click()
    assert session.snapshot.appointment is not None and session.snapshot.appointment.step == "checking"
    assert not screen.keys["1"].isEnabled()  # no typing while the switchboard is asked
    assert screen.status.text() == i18n.text("appointment_checking", language)  # type: ignore[arg-type]

    session.appointment_refused("too_early", dt.datetime(2026, 11, 30, 12, 45), dt.datetime(2026, 11, 30, 13, 0))
    expected = i18n.text("appointment_too_early", language, time=i18n.clock(dt.time(13, 0), language),  # type: ignore[arg-type]
                         opens=i18n.clock(dt.time(12, 45), language))  # type: ignore[arg-type]
    assert screen.status.text() == expected and screen.status.isVisible()
    assert said[-1][1] == language and expected in said[-1][0]
    for reason in ("wrong_code", "expired", "used", "too_many_tries", "unavailable", "something_newer"):
        session.appointment_key("1")
        session.submit_appointment()  # too short: stays as typed
        session.appointment_refused(reason)
        wanted = "appointment_unavailable" if reason == "something_newer" else f"appointment_{reason}"
        assert screen.status.text() == i18n.text(wanted, language)  # type: ignore[arg-type]
    screen.back.click()
    assert session.state is State.SERVICE_CHOICE


def test_the_queue_screen_says_the_booked_time_and_the_staff_mode_lists_the_days_bookings(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    session.choose_language("en")
    session.open_appointment()
    for digit in "427193":
        session.appointment_key(digit)
    session.submit_appointment()
    session.appointment_checked_in(session.config.producers[0], dt.datetime(2026, 11, 30, 12, 15))
    session.queue_update(1, 30)
    assert window.current_screen is window.queue
    assert window.queue.speakers.text() == "Your appointment at 12:15: you are first in line."
    session.cancel_queue()
    session.back()  # the visit ends: the wipe forgets the appointment
    assert session.snapshot.appointment is None
    session.set_language("en")

    session.open_staff_login()
    assert session.staff_pin("246813")
    assert window.staff.bookings.text().endswith("The bookings could not be fetched from the server.")
    session.set_bookings_today((BookedSlot(dt.datetime(2026, 11, 30, 14, 30), "migri"),
                                BookedSlot(dt.datetime(2026, 11, 30, 10, 0), "kela", True)))
    lines = window.staff.bookings.text().splitlines()
    assert lines == ["Today's appointments", "10:00  Kela (checked in)", "14:30  Finnish Immigration Service"]
