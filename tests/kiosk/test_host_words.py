"""A town hall's kiosk names the town hall's staff (issue 21, item 4): on the screens, in a device fault's
message that the driver made without knowing the host, and in the speech output that reads them."""

from __future__ import annotations

import datetime as dt

from pytestqt.qtbot import QtBot

from drivers.printer_errors import OutOfPaper
from etapiste.config.point import load_point_config
from etapiste.language import Text
from kiosk.journey import customer_text
from kiosk.session import Session
from kiosk.views.window import KioskWindow, screen_text


def _town_hall(qtbot: QtBot) -> tuple[KioskWindow, Session]:
    sample = load_point_config()
    config = sample.model_copy(update={"host": sample.host.model_copy(update={"kind": "town_hall"})})
    moment = dt.datetime.fromisoformat("2026-11-30T12:00")
    session = Session(config, lambda: moment)
    window = KioskWindow(session, kiosk_mode=False)
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    return window, session


def test_a_town_hall_says_town_hall_on_its_screens_and_in_a_printer_fault(qtbot: QtBot) -> None:
    window, session = _town_hall(qtbot)
    session.set_out_of_service(Text(fi="Huolto", sv="Service", en="Maintenance"))
    session.set_language("sv")
    assert window.out_of_service.help.text() == "Fråga personalen i stadshuset om hjälp."
    session.back_in_service()
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    assert window.queue.help.text() == "Tarvitsetko apua? Kysy kaupungintalon henkilökunnalta."
    session.call_answered()
    session.print_started(2)
    session.print_failed("out_of_paper", customer_text(OutOfPaper(not_printed=True)))
    shown = window.call.flow_text.text()
    assert "Kysy neuvoa kaupungintalon henkilökunnalta." in shown  # until the notifier accepted the alert
    assert "{" not in shown and "kirjasto" not in shown.lower()
    session.set_staff_told(("printer",))
    assert "Kaupungintalon henkilökunnalle on ilmoitettu." in window.call.flow_text.text()
    session.set_language("en")
    assert "The staff at the town hall have been told." in window.call.flow_text.text()


def test_speech_reads_the_town_halls_words(qtbot: QtBot) -> None:
    window, session = _town_hall(qtbot)
    said: list[tuple[str, str]] = []
    window.speak.connect(lambda text, lang: said.append((text, lang)))
    session.set_speech(True)
    session.choose_language("en")
    session.choose_producer("kela")
    session.accept_notice()
    text, language = said[-1]
    assert language == "en" and "Ask the staff at the town hall" in text
    assert "library" not in screen_text(window.queue).lower()
