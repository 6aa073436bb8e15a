"""The kiosk's first screens as a customer sees them (Qt offscreen): words, languages, text size,
touch targets and contrast."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from etapiste import texts
from etapiste.config.point import load_point_config
from etapiste.language import LANGUAGES, Text
from kiosk import i18n
from kiosk.session import LargeText, Session, State
from kiosk.views import theme
from kiosk.views.window import KioskWindow
from simulation.heap import trimmed_heap


def _window(qtbot: QtBot, at: str, *, kiosk_mode: bool = False, actions: Any = None) -> tuple[KioskWindow, Session]:
    moment = dt.datetime.fromisoformat(at)
    session = Session(load_point_config(), lambda: moment)
    window = KioskWindow(session, kiosk_mode=kiosk_mode, actions=actions)
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    qtbot.waitExposed(window)
    return window, session


def _in_call(session: Session) -> None:
    """A Finnish-speaking customer through to Kela's agent, who answers."""
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    session.call_answered()


def _speaking_window(qtbot: QtBot, language: str) -> tuple[KioskWindow, Session, list[tuple[str, str]]]:
    """A customer's window on Monday noon in ``language`` with speech on; the list collects what is said, as
    (text, language), from then on."""
    window, session = _window(qtbot, "2026-11-30T12:00")
    said: list[tuple[str, str]] = []
    window.speak.connect(lambda text, lang: said.append((text, lang)))
    session.choose_language(language)  # type: ignore[arg-type]
    session.set_speech(True)
    return window, session, said


def test_idle_screen_shows_host_and_todays_hours_in_the_default_language(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    idle = window.idle
    assert window.current_screen is idle
    assert idle.host_name.text() == "Oulun kaupunginkirjasto – etäpalvelupiste"
    assert idle.hours.text() == "Avoinna tänään 10.00–20.00"
    assert "Tervetuloa" in idle.welcome.text() and "Welcome" in idle.welcome.text()
    session.set_language("en")
    assert idle.hours.text() == "Open today 10:00–20:00"
    assert idle.prompt.text() == "Choose a language to start"
    session.set_language("sv")
    assert idle.hours.text() == "Öppet i dag 10.00–20.00"
    assert idle.host_name.text() == "Uleåborgs stadsbibliotek – distansservicepunkt"


def test_pressing_a_language_starts_the_service_choice_in_that_language(qtbot: QtBot) -> None:
    window, _ = _window(qtbot, "2026-11-30T12:00")
    qtbot.mouseClick(window.idle.language_buttons["sv"], Qt.MouseButton.LeftButton)
    assert window.current_screen is window.service_choice
    assert window.service_choice.buttons["kela"].text().splitlines()[0] == "FPA"
    assert window.service_choice.title.text() == "Vem vill du tala med?"


def test_a_dropped_connection_in_the_queue_tells_the_customer_to_stay_and_clears_when_back(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    session.queue_update(3, 600)
    queue = window.queue
    assert window.current_screen is queue and queue.interrupted.isHidden()
    session.queue_connection(False)
    assert not queue.interrupted.isHidden()
    assert queue.interrupted.text().startswith("Yhteys katkesi hetkeksi. Paikkasi jonossa säilyy")
    assert queue.position.text() == i18n.text("queue_position", "fi", position=3)  # the place is still shown
    session.queue_connection(True)
    assert queue.interrupted.isHidden()
    said: list[tuple[str, str]] = []
    window.speak.connect(lambda text, lang: said.append((text, lang)))
    session.set_speech(True)
    session.queue_connection(False)  # with speech on, the notice is read aloud too
    assert "Paikkasi jonossa säilyy" in said[-1][0]
    session.queue_update(2, 300)  # a new position also means the connection is back
    assert queue.interrupted.isHidden()


def test_closed_screen_says_when_the_point_opens(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-29T11:00")  # Sunday
    assert session.state is State.CLOSED
    assert window.current_screen is window.closed
    assert window.closed.title.text() == "Palvelupiste on nyt suljettu"
    assert window.closed.next.text() == "Avaamme huomenna klo 10.00"
    session.choose_language("en")
    assert window.closed.next.text() == "We open tomorrow at 10:00"


def test_out_of_service_screen_shows_the_staff_message_in_the_customers_language(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    session.set_out_of_service(Text(fi="Tulostin huollossa", sv="Skrivaren servas", en="Printer being serviced"))
    assert window.current_screen is window.out_of_service
    assert window.out_of_service.message.text() == "Tulostin huollossa"
    session.choose_language("sv")
    assert window.out_of_service.message.text() == "Skrivaren servas"
    assert window.out_of_service.help.text() == "Fråga bibliotekets personal om hjälp."
    session.back_in_service()
    assert window.current_screen is window.idle


def test_larger_text_makes_the_words_bigger_and_back(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    normal = window.idle.hours.fontInfo().pixelSize()
    window.idle.text_size_button.click()
    assert session.snapshot.text_size is LargeText.LARGE
    large = window.idle.hours.fontInfo().pixelSize()
    assert large >= normal * 1.3
    assert window.idle.text_size_button.text() == "Normaali teksti"
    window.idle.text_size_button.click()
    assert window.idle.hours.fontInfo().pixelSize() == normal


def test_unavailable_devices_are_named_on_the_idle_screen(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    assert not window.idle.devices.isVisible()
    session.set_unavailable_devices(("printer", "scanner"))
    assert window.idle.devices.isVisible()
    assert window.idle.devices.text() == "Ei käytettävissä nyt: tulostin, skanneri"


def test_buttons_are_large_touch_targets(qtbot: QtBot) -> None:
    window, _ = _window(qtbot, "2026-11-30T12:00")
    for button in [*window.idle.language_buttons.values(), window.idle.text_size_button]:
        assert button.height() >= theme.BUTTON_MIN_HEIGHT
        assert button.width() >= 2 * theme.BUTTON_MIN_HEIGHT


def test_a_kiosk_window_cannot_be_closed_from_the_keyboard(qtbot: QtBot) -> None:
    window, _ = _window(qtbot, "2026-11-30T12:00", kiosk_mode=True)
    window.close()
    assert window.isVisible()
    window.allow_close()
    window.close()
    assert not window.isVisible()


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize(
    ("fg", "bg"),
    [
        (theme.TEXT, theme.BACKGROUND),
        (theme.MUTED_TEXT, theme.BACKGROUND),
        (theme.ACCENT_TEXT, theme.ACCENT),
        (theme.ACCENT, theme.BACKGROUND),
        (theme.NOTICE_TEXT, theme.NOTICE_BG),
    ],
)
def test_text_contrast_meets_wcag_aa(fg: str, bg: str) -> None:
    assert _contrast(fg, bg) >= 4.5


def test_keyboard_focus_is_visible_against_filled_and_outlined_buttons() -> None:
    assert _contrast(theme.FOCUS, theme.FOCUS_BG) >= 4.5  # the focused button's text
    assert _contrast(theme.FOCUS_BG, theme.ACCENT) >= 3.0  # focused vs a filled button
    assert _contrast(theme.FOCUS, theme.BACKGROUND) >= 3.0  # its border vs an outlined button's white


def test_keyboard_focus_moves_between_language_buttons_and_enter_chooses(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.idle.language_buttons["fi"].setFocus()
    qtbot.keyClick(window.idle.language_buttons["fi"], Qt.Key.Key_Tab)
    assert window.idle.language_buttons["sv"].hasFocus()
    qtbot.keyClick(window.idle.language_buttons["sv"], Qt.Key.Key_Space)
    assert session.snapshot.language == "sv"


def test_every_text_exists_in_every_language() -> None:
    keys = [key for key in texts.catalogue("fi") if key.startswith("kiosk.")]
    assert keys
    for key in keys:
        assert all(texts.template(key, lang).strip() for lang in LANGUAGES), key


async def test_devices_that_do_not_exist_are_shown_as_unavailable_on_the_idle_screen(qtbot: QtBot) -> None:
    from kiosk.health import HealthMonitor, probe_camera, probe_card_reader, probe_printer, probe_scanner, unavailable

    window, session = _window(qtbot, "2026-11-30T12:00")
    monitor = HealthMonitor({
        "printer": lambda: probe_printer(None),
        "scanner": lambda: probe_scanner(None),
        "card_reader": lambda: probe_card_reader(None),
        "camera": lambda: probe_camera(None),
    })
    monitor.subscribe(lambda report: session.set_unavailable_devices(unavailable(report)))
    await monitor.check()
    assert window.idle.devices.isVisible()
    assert window.idle.devices.text() == (
        "Ei käytettävissä nyt: kamera, henkilökortin lukija, tulostin, skanneri"
    )


def test_with_speech_on_each_new_screen_is_read_in_its_language_and_pin_digits_never(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    said: list[tuple[str, str]] = []
    window.speak.connect(lambda text, lang: said.append((text, lang)))
    session.set_speech(True)
    assert said and said[-1][1] == "fi" and "Avoinna tänään 10.00–20.00" in said[-1][0]
    window.idle.language_buttons["en"].click()
    text, lang = said[-1]
    assert lang == "en" and "Who do you want to talk to?" in text and "Kela" in text
    count = len(said)
    session.touch()  # nothing new on the screen: nothing said again
    assert len(said) == count
    session.choose_producer("kela")
    session.accept_notice()
    session.call_answered()
    session.identify_requested(card_present=True)
    session.card_inserted(5)
    text, _ = said[-1]
    assert "Enter your PIN1 code" in text and "Tries left: 5" in text
    parts = [part.strip() for part in text.replace("\n", ". ").split(". ")]
    assert not any(part.isdigit() or part == "⌫" for part in parts)  # no keypad keys read out


def test_speech_is_off_again_for_the_next_customer(qtbot: QtBot) -> None:
    _, session = _window(qtbot, "2026-11-30T12:00")
    session.set_speech(True)
    session.choose_language("sv")
    session.back()
    assert session.state is State.IDLE and not session.snapshot.speech


class _Sent:
    """Records what the call screen asks the controller to send (the journey's JourneyActions)."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, bool]] = []

    def send_text(self, text: str, final: bool) -> None:
        self.texts.append((text, final))

    def submit_pin(self, pin: bytearray) -> None: ...
    def start_scan(self) -> None: ...
    def send_scan(self) -> None: ...
    def decline_scan(self) -> None: ...


def test_real_time_text_typed_on_the_screen_keyboard_goes_out_as_typed_and_lands_in_the_transcript(
    qtbot: QtBot,
) -> None:
    sent = _Sent()
    window, session = _window(qtbot, "2026-11-30T12:00", actions=sent)
    _in_call(session)
    call = window.call
    call.keyboard_button.click()
    assert call.keyboard_open
    for ch in "hä":
        call.keyboard.key(ch).click()
    assert sent.texts[-1] == ("hä", False)  # each keystroke reaches the agent at once (real-time text)
    call.keyboard.backspaced.emit()
    call.keyboard.typed.emit("ö")
    call.keyboard.entered.emit()
    assert sent.texts[-1] == ("hö", True)
    assert call.transcript.text() == "Sinä: hö"
    assert call.entry.text() == ""
    session.hang_up()
    session.rate(None)
    assert call.transcript.text() == "" and not call.keyboard_open  # wiped


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("size", [LargeText.NORMAL, LargeText.LARGE])
def test_every_customer_screen_fits_a_1280_pixel_wide_screen(qtbot: QtBot, language: str, size: LargeText) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    session.set_language(language)  # type: ignore[arg-type]
    session.set_text_size(size)
    session.choose_language(language)  # type: ignore[arg-type]

    def needed_width() -> int:
        # What the current screen needs (each screen sits in a scroll area, which hides it from the window),
        # plus the window's own bar, which is not in a scroll area.
        return max(window.current_screen.minimumSizeHint().width(), window.bar.minimumSizeHint().width())

    assert needed_width() <= 1280
    session.choose_producer("kela")
    assert needed_width() <= 1280
    session.accept_notice()
    session.call_answered()
    assert needed_width() <= 1280
    window.call.keyboard_button.click()
    assert needed_width() <= 1280


def test_a_printout_arriving_after_a_sent_scan_is_shown_at_once(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    _in_call(session)
    session.scan_requested()
    session.scan_ready(1, None)
    session.scan_sent()
    session.print_started(3)
    assert window.call.flow_title.text() == "Tulostus"


async def test_staff_microphone_test_names_a_microphone_that_cannot_be_opened() -> None:
    from etapiste.config.point import Audio
    from kiosk.health import check_microphone

    result = await check_microphone(Audio(microphone="no-such-microphone"))
    assert result.health == "missing"
    assert "no-such-microphone" in result.reason


def test_with_speech_on_a_call_interrupted_by_the_network_is_said_aloud(qtbot: QtBot) -> None:
    window, session = _window(qtbot, "2026-11-30T12:00")
    _in_call(session)
    said: list[tuple[str, str]] = []
    window.speak.connect(lambda text, lang: said.append((text, lang)))
    session.set_speech(True)
    session.connection_trouble("reconnecting")
    assert "Yhteys katkesi hetkeksi" in said[-1][0]


def test_no_scan_preview_of_past_customers_stays_in_the_kiosks_memory(qtbot: QtBot) -> None:
    # Qt 6's QLabel paints its picture through QIcon, which keeps the scaled picture in Qt's process-wide pixmap
    # cache (10 MB, least recently used first): the previews of the last ~35 customers' scanned pages stayed in
    # the kiosk's memory after their visits, though no screen showed them (found by the chaos soak's memory
    # trace, issue 24). The wipe must take them out too. Forty visits, each scanning a different page whose
    # preview is painted: what the heap holds afterwards must not grow with them.
    import cv2
    import numpy as np

    def preview(shade: int) -> bytes:
        page = np.full((877, 620, 3), (shade, 255 - shade, 128), dtype=np.uint8)  # a scanned page, as JPEG
        ok, data = cv2.imencode(".jpg", page)
        assert ok
        return data.tobytes()

    window, session = _window(qtbot, "2026-11-30T12:00")

    def visit(shade: int) -> None:
        _in_call(session)
        session.scan_requested()
        session.scan_ready(1, preview(shade))
        window.grab()  # painted, as the customer sees it
        assert window.call.flow_preview.isVisible()
        session.hang_up()
        session.rate(None)
        assert window.call.flow_preview.pixmap().isNull()  # the screen shows it no more

    visit(0)  # the first visit's caches (fonts, styles) are not the customers'
    before = trimmed_heap()
    if before is None:
        pytest.skip("glibc ≥ 2.33 is needed to count the heap")
    for shade in range(1, 41):
        visit(shade * 6)
    after = trimmed_heap()
    assert after is not None
    grown = after.in_use - before.in_use
    # One preview as painted is 227 × 320 pixels, 0.28 MB: forty kept would be ~10 MB (the cache's limit).
    assert grown < 3 * 2**20, f"the heap grew {grown / 2**20:.1f} MB over forty visits"


def test_the_next_customer_cannot_undo_or_paste_their_way_into_the_last_customers_words(qtbot: QtBot) -> None:
    # Qt's QLineEdit.clear() can be undone: after the wipe, Ctrl+Z on a keyboard plugged into the point (or
    # the edit's own undo) brought back what the last customer had typed to the agent. The wipe must leave no
    # history to undo, and nothing the customer copied on the clipboard.
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    window, session = _window(qtbot, "2026-11-30T12:00", actions=_Sent())
    _in_call(session)
    entry = window.call.entry
    entry.setFocus()
    QTest.keyClicks(entry, "henkilotunnukseni on")
    QTest.keyClick(entry, Qt.Key.Key_Return)  # sent to the agent
    QTest.keyClicks(entry, "puhelinnumeroni")  # typed, not sent, when the visit ends
    session.hang_up()
    session.rate(None)

    _in_call(session)  # the next customer
    entry.setFocus()
    for _ in range(5):
        QTest.keyClick(entry, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert entry.text() == ""
    assert not entry.isUndoAvailable()

    # Nor paste them: what a customer copied (select all, Ctrl+C) must not outlive the visit.
    QTest.keyClicks(entry, "osoitteeni")
    QTest.keyClick(entry, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(entry, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "osoitteeni"  # the copy itself works, as it should
    session.hang_up()
    session.rate(None)
    _in_call(session)
    entry.setFocus()
    QTest.keyClick(entry, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert entry.text() == "" and QApplication.clipboard().text() == ""
