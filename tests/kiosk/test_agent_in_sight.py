"""The agent's face stays in sight while identify, scan or print runs (issue 21, item 9): the video moves into
the sub-flow's corner, small but visible, and back to full size after."""

from __future__ import annotations

import datetime as dt

import numpy as np
from pytestqt.qtbot import QtBot

from etapiste.config.point import load_point_config
from kiosk.session import Session
from kiosk.views.video import VideoView
from kiosk.views.window import KioskWindow


def _in_call(qtbot: QtBot) -> tuple[KioskWindow, Session, VideoView]:
    moment = dt.datetime.fromisoformat("2026-11-30T12:00")
    session = Session(load_point_config(), lambda: moment)
    video = VideoView()
    window = KioskWindow(session, kiosk_mode=False, video=video)
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    qtbot.waitExposed(window)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    session.call_answered()
    video.show_remote(np.full((480, 640, 3), 200, dtype=np.uint8))  # the agent's picture
    return window, session, video


def _in_sight(video: VideoView) -> bool:
    """Shown, not zero-sized, and not covered: some of it is really on the screen."""
    return video.isVisible() and not video.size().isEmpty() and not video.visibleRegion().isEmpty()


def _small_in_the_flow(window: KioskWindow, video: VideoView) -> bool:
    call = window.call
    return call.main.currentWidget() is call.flow and call.flow.isAncestorOf(video) and _in_sight(video)


def test_the_agent_stays_in_sight_while_identifying_scanning_and_printing(qtbot: QtBot) -> None:
    window, session, video = _in_call(qtbot)
    full = video.size()
    assert _in_sight(video) and full.width() > 600

    session.identify_requested(card_present=True)
    session.card_inserted(3)  # the PIN pad is up too
    assert _small_in_the_flow(window, video)
    assert window.call.pin_pad is not None and window.call.pin_pad.isVisible()
    assert video.width() < full.width()
    session.cancel_identify()
    qtbot.waitUntil(lambda: window.call.main.currentWidget() is not window.call.flow)
    assert _in_sight(video) and not window.call.flow.isAncestorOf(video)

    session.scan_requested()
    assert _small_in_the_flow(window, video)
    session.scan_ready(1, None)
    assert _small_in_the_flow(window, video)
    session.scan_sent()
    session.close_scan()

    session.print_started(2)
    assert _small_in_the_flow(window, video)
    session.print_done()
    session.close_print()
    assert _in_sight(video) and video.size().width() > 600  # full size again after the flow


def test_the_video_is_back_in_its_place_for_the_next_customer(qtbot: QtBot) -> None:
    window, session, video = _in_call(qtbot)
    session.print_started(1)
    session.hang_up()  # the call ends in the middle of a printout
    session.rate(None)
    assert not window.call.flow.isAncestorOf(video)
