"""A device fault's customer text says the host's staff were told only once they were: until the organiser's
notifier accepted the alert (``Snapshot.staff_told``, from the agent's ``alert_ack``) it asks the customer to
ask the staff (tests/provisioning/test_alerts.py follows the acknowledgement through the real parts)."""

from __future__ import annotations

import datetime as dt

from pytestqt.qtbot import QtBot

from etapiste import texts
from etapiste.config.point import load_point_config
from etapiste.host import host_words
from etapiste.language import Text
from kiosk.session import Session
from kiosk.views.window import KioskWindow, screen_text


def test_a_printer_fault_says_the_staff_know_only_after_the_alert_was_accepted(qtbot: QtBot) -> None:
    moment = dt.datetime(2026, 11, 30, 12, 0)
    session = Session(load_point_config(), lambda: moment)
    window = KioskWindow(session, kiosk_mode=False)
    qtbot.addWidget(window)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    session.call_answered()
    session.print_started(1)
    customer = Text(**{lang: texts.template("error.out_of_paper.customer", lang) for lang in ("fi", "sv", "en")})
    session.print_failed("out_of_paper", customer)
    words = host_words(session.snapshot.host_kind, "fi")
    shown = screen_text(window.call)
    assert words["staff_told"].rstrip(".") not in shown
    assert texts.text("kiosk.staff_not_told", "fi", staff=words["staff"]).rstrip(".") in shown

    session.set_staff_told(("printer",))  # the notifier accepted the printer's alert
    shown = screen_text(window.call)
    assert words["staff_told"].rstrip(".") in shown
