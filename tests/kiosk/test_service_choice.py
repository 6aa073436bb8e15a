"""The service choice as a customer meets it (issue 21, items 6, 7 and 9): every producer reachable without
scrolling at 1280×1024 in every language and text size, whether each serves now and the expected wait as the
real switchboard publishes them, the interpreter need asked before queueing and told to the agent, and the
queue screen saying whether an agent speaking the customer's language is there."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from etapiste import protocol as p
from etapiste.config.point import load_point_config
from kiosk import call as c
from kiosk.journey import Journey
from kiosk.session import LargeText, Session, State
from kiosk.views.window import KioskWindow
from simulation.call import point_engine
from simulation.switchboard import serve

NOON = dt.datetime(2026, 11, 30, 12, 0)  # a Monday: the sample's host and producers are open


def _window(qtbot: QtBot) -> tuple[KioskWindow, Session]:
    session = Session(load_point_config(), lambda: NOON)
    window = KioskWindow(session, kiosk_mode=False)
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    qtbot.waitExposed(window)
    return window, session


def _fully_visible(window: KioskWindow, button: QPushButton) -> bool:
    """Inside the window and inside its page's visible area (a page that must scroll hides what is below)."""
    page = window.stack.currentWidget()
    assert page is not None
    viewport = page.viewport()  # type: ignore[attr-defined]
    rect = QRect(button.mapTo(viewport, QPoint(0, 0)), button.size())
    in_window = QRect(button.mapTo(window, QPoint(0, 0)), button.size())
    return viewport.rect().contains(rect) and window.rect().contains(in_window)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("size", [LargeText.NORMAL, LargeText.LARGE])
def test_every_producer_is_reachable_without_scrolling_at_1280_by_1024(
    qtbot: QtBot, language: str, size: LargeText
) -> None:
    window, session = _window(qtbot)
    session.set_text_size(size)
    session.choose_language(language)  # type: ignore[arg-type]
    # With waits known the buttons carry their longest text.
    producers = [pr.id for pr in session.config.producers]
    session.set_producer_estimates(dict.fromkeys(producers, 1500), dict.fromkeys(producers, 3))
    screen = window.service_choice
    qtbot.wait(10)
    seen: list[str] = []
    while True:
        page = window.stack.currentWidget()
        assert page.verticalScrollBar().maximum() == 0, f"page {screen._page + 1} needs scrolling"  # type: ignore[attr-defined]
        shown = [pid for pid, b in screen.buttons.items() if b.isVisible()]
        assert shown, "an empty page"
        for pid in shown:
            assert _fully_visible(window, screen.buttons[pid]), f"{pid} is cut off on page {screen._page + 1}"
        seen += shown
        if not screen.nav.isVisible() or not screen.more.isVisible():
            break
        assert _fully_visible(window, screen.more)
        screen.more.click()
        qtbot.wait(10)
    assert sorted(seen) == sorted(producers)  # every producer once, none twice
    if size is LargeText.LARGE:
        assert screen.pages > 1  # large text pages, with big buttons to turn them
        screen.previous.click()
        assert screen._page == screen.pages - 2
    # The interpreter question fits too, also once a language was chosen (then "no interpreter" shows).
    session.set_interpreter_need("sv-sign")
    screen.interpreter.click()
    qtbot.wait(10)
    assert window.stack.currentWidget().verticalScrollBar().maximum() == 0  # type: ignore[attr-defined]
    for b in [*screen.interpreter_buttons.values(), screen.no_interpreter, screen.back]:
        assert _fully_visible(window, b), f"{b.objectName()} is cut off"


def test_each_producer_says_whether_it_serves_now_and_the_expected_wait(qtbot: QtBot) -> None:
    window, session = _window(qtbot)
    session.choose_language("en")
    session.set_producer_estimates({"kela": 420, "migri": None}, {"kela": 2, "migri": 0}, frozenset({"vero"}))
    details = window.service_choice.details
    assert details["kela"].endswith("Serving now · Estimated wait about 7 min")
    assert details["migri"].endswith("Serving now · Nobody is answering right now")
    assert "Not serving now" in details["vero"]  # the switchboard says its queue is closed
    assert not window.service_choice.buttons["vero"].isEnabled()
    with pytest.raises(ValueError):
        session.choose_producer("vero")


def test_the_customer_can_say_they_need_an_interpreter_and_change_their_mind(qtbot: QtBot) -> None:
    window, session = _window(qtbot)
    session.choose_language("en")
    screen = window.service_choice
    assert screen.interpreter.isVisible() and screen.interpreter.text() == "I need an interpreter"
    screen.interpreter.click()
    assert screen.body.currentIndex() == 1 and window.service_choice.title.text() == "Which interpreter do you need?"
    assert screen.interpreter_buttons["fi-sign"].text().replace("\n", " ") == "Finnish Sign Language"
    screen.interpreter_buttons["fi-sign"].click()
    assert session.snapshot.interpreter_need == "fi-sign"
    assert screen.body.currentIndex() == 0 and screen.interpreter.text() == "Interpreter: Finnish Sign Language"
    screen.interpreter.click()
    screen.no_interpreter.click()
    assert session.snapshot.interpreter_need is None
    # Whatever was chosen is forgotten with the customer.
    session.set_interpreter_need("ar")
    session.back()
    assert session.state is State.IDLE and session.snapshot.interpreter_need is None


def test_the_queue_screen_says_whether_an_agent_speaking_the_customers_language_is_there(qtbot: QtBot) -> None:
    window, session = _window(qtbot)
    session.choose_language("sv")
    session.choose_producer("kela")
    session.accept_notice()
    session.queue_update(1, 30, 1)
    assert window.queue.speakers.isVisible()
    assert window.queue.speakers.text() == "En svensktalande handläggare är på plats."
    session.queue_update(1, 30, 0)
    assert window.queue.speakers.text().startswith("Ingen svensktalande handläggare är på plats just nu.")


async def test_the_switchboards_estimates_reach_the_choice_and_the_interpreter_need_reaches_the_agent(
    qtbot: QtBot,
) -> None:
    window, session = _window(qtbot)
    async with serve() as sb, point_engine(sb) as (engine, events):
        Journey(session, engine)
        anna = await sb.desk("anna")
        await engine.start(timeout=10)
        await events.first(c.QueueEstimates, lambda e: e.queues["kela-general"][2] == 1)
        session.choose_language("en")
        details = window.service_choice.details
        assert details["kela"].endswith("Serving now · Estimated wait about 1 min")  # Anna is free
        assert details["migri"].endswith("Serving now · Nobody is answering right now")

        window.service_choice.interpreter.click()
        window.service_choice.interpreter_buttons["fi-sign"].click()
        window.service_choice.buttons["kela"].click()
        window.notice.go.click()
        while True:
            snapshot = await anna.expect("queue.snapshot")
            entries = [e for q in snapshot.queues for e in q.entries]
            if entries:
                break
        assert [(e.language, e.interpreter) for e in entries] == [("en", "fi-sign")]
        assert isinstance(snapshot, p.QueueSnapshot)


def test_with_speech_on_the_interpreter_question_is_read_out_like_any_screen(qtbot: QtBot) -> None:
    window, session = _window(qtbot)
    said: list[tuple[str, str]] = []
    window.speak.connect(lambda text, lang: said.append((text, lang)))
    session.set_speech(True)
    session.choose_language("en")
    assert "Who do you want to talk to?" in said[-1][0] and "I need an interpreter" in said[-1][0]
    window.service_choice.interpreter.click()
    text, lang = said[-1]
    assert lang == "en" and "Which interpreter do you need?" in text
    assert "Arabic" in text and "Somali" in text and "Who do you want to talk to?" not in text
    window.service_choice.back.click()  # back to the producers, read again
    assert "Who do you want to talk to?" in said[-1][0]
    assert session.state is State.SERVICE_CHOICE
