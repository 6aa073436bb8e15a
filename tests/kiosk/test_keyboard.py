"""The on-screen keyboard and the PIN pad as a customer uses them: by touch, by a physical keyboard or
keypad, with a visible focus and no way to get stuck; the PIN is never shown and never kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from kiosk.views import theme
from kiosk.views.keyboard import PIN_DOT, PIN_MAX, OnScreenKeyboard, PinPad, Shift


class Typed:
    """What the keyboard sent, as a real-time-text panel would apply it."""

    def __init__(self, keyboard: OnScreenKeyboard) -> None:
        self.text = ""
        self.lines: list[str] = []
        keyboard.typed.connect(self._typed)
        keyboard.backspaced.connect(self._back)
        keyboard.entered.connect(self._enter)

    def _typed(self, char: str) -> None:
        self.text += char

    def _back(self) -> None:
        self.text = self.text[:-1]

    def _enter(self) -> None:
        self.lines.append(self.text)
        self.text = ""


@dataclass
class Host:
    """A window styled like the kiosk with the widget under test between two ordinary buttons."""

    window: QWidget
    before: QPushButton
    after: QPushButton


ShowHost = Callable[[QWidget], Host]


@pytest.fixture
def host(qtbot: QtBot) -> Iterator[Callable[[QWidget], Host]]:
    """Shows a widget in a kiosk-styled, active window that lives until the test ends."""
    hosts: list[Host] = []

    def show(inner: QWidget) -> Host:
        window = QWidget()
        window.setStyleSheet(theme.stylesheet(1.0))
        before, after = QPushButton("before"), QPushButton("after")
        layout = QVBoxLayout(window)
        layout.addWidget(before)
        layout.addWidget(inner)
        layout.addWidget(after)
        qtbot.addWidget(window)
        window.resize(1280, 1024)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        hosts.append(Host(window, before, after))
        return hosts[-1]

    yield show


def _click(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _centre_colour(button: QPushButton) -> QColor:
    image = button.grab().toImage()
    # a point of the button's face away from its label and border
    return image.pixelColor(12, image.height() // 2)


# -- on-screen keyboard ---------------------------------------------------------------------------------
def test_touching_keys_types_characters_space_backspace_and_enter(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    keyboard = OnScreenKeyboard("fi")
    host(keyboard)
    typed = Typed(keyboard)
    for char in "hei":
        _click(qtbot, keyboard.key(char))
    _click(qtbot, keyboard.space_key)
    for char in "xy":
        _click(qtbot, keyboard.key(char))
    _click(qtbot, keyboard.backspace_key)
    assert typed.text == "hei x"
    _click(qtbot, keyboard.enter_key)
    assert typed.lines == ["hei x"] and typed.text == ""


def test_finnish_and_swedish_layouts_have_a_with_rings_and_dots(qtbot: QtBot, host: ShowHost) -> None:
    keyboard = OnScreenKeyboard("sv")
    host(keyboard)
    typed = Typed(keyboard)
    for char in "åäö":
        _click(qtbot, keyboard.key(char))
    assert typed.text == "åäö"
    keyboard.set_language("fi")
    _click(qtbot, keyboard.key("ä"))
    assert typed.text == "åäöä"
    keyboard.set_language("en")
    with pytest.raises(KeyError):
        keyboard.key("ä")
    assert keyboard.space_key.text() == "space"


def test_shift_gives_one_capital_then_lower_case_and_a_second_press_locks_capitals(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    keyboard = OnScreenKeyboard("fi")
    host(keyboard)
    typed = Typed(keyboard)
    _click(qtbot, keyboard.shift_key)
    assert keyboard.key("ä").text() == "Ä"  # the keys show what they will type
    _click(qtbot, keyboard.key("ä"))
    _click(qtbot, keyboard.key("ä"))
    assert typed.text == "Ää"
    assert keyboard.key("ä").text() == "ä"

    _click(qtbot, keyboard.shift_key)
    _click(qtbot, keyboard.shift_key)
    assert keyboard.shift is Shift.LOCKED
    assert keyboard.shift_key.accessibleName() == "Isot kirjaimet lukittu"
    for char in "åö1":
        _click(qtbot, keyboard.key(char))
    assert typed.text == "ÄäÅÖ!"
    _click(qtbot, keyboard.shift_key)
    _click(qtbot, keyboard.key("o"))
    assert typed.text == "ÄäÅÖ!o"


def test_keyboard_is_operable_by_tab_arrows_and_space_with_a_visible_focus(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    keyboard = OnScreenKeyboard("fi")
    shown = host(keyboard)
    typed = Typed(keyboard)
    shown.before.setFocus()
    qtbot.keyClick(shown.before, Qt.Key.Key_Tab)
    first = keyboard.key("1")
    assert first.hasFocus()
    assert _centre_colour(first) == QColor(theme.FOCUS_BG)
    assert _centre_colour(keyboard.key("2")) != QColor(theme.FOCUS_BG)
    # 1 → down to q → a → right to s → s is pressed with Space, then Enter presses the focused key too
    qtbot.keyClick(first, Qt.Key.Key_Down)
    qtbot.keyClick(keyboard.key("q"), Qt.Key.Key_Down)
    assert keyboard.key("a").hasFocus()
    qtbot.keyClick(keyboard.key("a"), Qt.Key.Key_Right)
    qtbot.keyClick(keyboard.key("s"), Qt.Key.Key_Space)
    qtbot.keyClick(keyboard.key("s"), Qt.Key.Key_Return)
    assert typed.text == "ss"
    # to the far end of the row: ä, then no wrap-around
    for _ in range(12):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert keyboard.key("ä").hasFocus()
    qtbot.keyClick(keyboard.key("ä"), Qt.Key.Key_Space)
    assert typed.text == "ssä"


def test_physical_keyboard_typing_passes_through(qtbot: QtBot, host: ShowHost) -> None:
    keyboard = OnScreenKeyboard("fi")
    shown = host(keyboard)
    typed = Typed(keyboard)
    shown.before.setFocus()
    qtbot.keyClick(shown.before, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is keyboard.key("1")
    qtbot.keyClicks(focused, "Moi")
    qtbot.keyClick(focused, Qt.Key.Key_Backspace)
    # QTest types ASCII only; a Finnish keyboard's ö arrives as this event
    odiaeresis = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Odiaeresis, Qt.KeyboardModifier.NoModifier, "ö")
    QApplication.sendEvent(focused, odiaeresis)
    assert typed.text == "Moö"


def test_tab_leaves_the_keyboard_after_the_last_key_and_shift_tab_before_the_first(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    keyboard = OnScreenKeyboard("en")
    shown = host(keyboard)
    keys = [b for row in keyboard.rows for b in row]
    shown.before.setFocus()
    seen = []
    for _ in range(len(keys) + 1):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen[:-1] == keys  # every key once, in reading order
    assert seen[-1] is shown.after
    keys[0].setFocus()
    qtbot.keyClick(keys[0], Qt.Key.Key_Backtab)
    assert shown.before.hasFocus()


def test_touching_a_key_does_not_take_the_focus_from_the_text_field(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    keyboard = OnScreenKeyboard("fi")
    shown = host(keyboard)
    shown.before.setFocus()
    _click(qtbot, keyboard.key("a"))
    assert shown.before.hasFocus()


def test_keys_are_large_touch_targets(qtbot: QtBot, host: ShowHost) -> None:
    keyboard = OnScreenKeyboard("fi")
    host(keyboard)
    for row in keyboard.rows:
        for button in row:
            assert button.height() >= theme.BUTTON_MIN_HEIGHT
            assert button.width() >= 80  # ≈ 21 mm; WCAG 2.2 asks 24 CSS px


# -- PIN pad --------------------------------------------------------------------------------------------
class Received:
    def __init__(self, pad: PinPad) -> None:
        self.pins: list[bytearray] = []
        self.too_short = 0
        pad.submitted.connect(self.pins.append)
        pad.too_short.connect(self._short)

    def _short(self) -> None:
        self.too_short += 1


def _visible_texts(widget: QWidget) -> list[str]:
    texts = []
    for child in [widget, *widget.findChildren(QWidget)]:
        text = getattr(child, "text", None)
        if callable(text) and not isinstance(child, QPushButton):
            texts.append(text())
        texts += [child.accessibleName(), child.accessibleDescription(), child.toolTip()]
    return texts


def test_pin_digits_are_shown_as_dots_only_and_ok_hands_over_the_pin_as_bytes(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    pad = PinPad("fi")
    host(pad)
    got = Received(pad)
    for d in (1, 2, 3, 4):
        _click(qtbot, pad.digit_keys[d])
    assert pad.display.text() == PIN_DOT * 4
    assert not any(c.isdigit() and c != "4" for t in _visible_texts(pad) for c in t)  # "4" = count in its name
    assert pad.display.accessibleName() == "Numeroita annettu: 4"
    assert not any(d in pad.display.text() for d in "0123456789")
    _click(qtbot, pad.ok_key)
    assert got.pins == [bytearray(b"1234")]
    assert isinstance(got.pins[0], bytearray)


def _remembers(value: object, digits: str) -> bool:
    if isinstance(value, str):
        return digits in value
    if isinstance(value, bytes | bytearray):
        return digits.encode() in value
    return False


def test_pin_buffer_is_zeroed_after_ok_and_on_clear(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("fi")
    host(pad)
    got = Received(pad)
    for d in (9, 8, 7, 6, 5):
        _click(qtbot, pad.digit_keys[d])
    _click(qtbot, pad.ok_key)
    assert got.pins == [bytearray(b"98765")]
    assert bytes(pad._buffer) == bytes(PIN_MAX) and len(pad) == 0
    assert pad.display.text() == ""
    assert got.pins[0] is not pad._buffer  # the receiver owns its copy and wipes it (the card driver does)

    for d in (4, 4, 4):
        _click(qtbot, pad.digit_keys[d])
    pad.clear()
    assert bytes(pad._buffer) == bytes(PIN_MAX) and pad.display.text() == ""
    # nothing else on the pad or its widgets remembers the digits, in any form
    for obj in [pad, *pad.findChildren(QWidget)]:
        assert not any(_remembers(v, d) for v in vars(obj).values() for d in ("98765", "444")), obj


def test_pin_is_wiped_when_the_pad_is_hidden(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("fi")
    host(pad)
    for d in (1, 2):
        _click(qtbot, pad.digit_keys[d])
    pad.hide()
    assert len(pad) == 0 and bytes(pad._buffer) == bytes(PIN_MAX)


def test_pin_pad_accepts_at_most_twelve_digits_and_ok_needs_four(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("en")
    host(pad)
    got = Received(pad)
    for d in (1, 2, 3):
        _click(qtbot, pad.digit_keys[d])
    _click(qtbot, pad.ok_key)
    assert got.pins == [] and got.too_short == 1 and len(pad) == 3  # nothing lost
    for _ in range(20):
        _click(qtbot, pad.digit_keys[0])
    assert len(pad) == PIN_MAX == 12
    assert pad.display.text() == PIN_DOT * 12
    _click(qtbot, pad.ok_key)
    assert got.pins == [bytearray(b"123" + b"0" * 9)]


def test_backspace_removes_the_last_digit(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("sv")
    host(pad)
    got = Received(pad)
    for d in (1, 2, 3, 4, 5):
        _click(qtbot, pad.digit_keys[d])
    _click(qtbot, pad.backspace_key)
    assert pad.display.text() == PIN_DOT * 4
    assert pad._buffer[4] == 0
    _click(qtbot, pad.ok_key)
    assert got.pins == [bytearray(b"1234")]
    assert pad.backspace_key.accessibleName() == "Radera siffra"


def test_pin_pad_works_from_a_numeric_keypad_and_starts_on_the_home_key(
    qtbot: QtBot, host: Callable[[QWidget], Host]
) -> None:
    pad = PinPad("fi")
    host(pad)
    got = Received(pad)
    pad.focus_home()
    assert pad.digit_keys[5].hasFocus()  # the 5, like the nib on a keypad
    assert _centre_colour(pad.digit_keys[5]) == QColor(theme.FOCUS_BG)
    five = pad.digit_keys[5]
    keypad = Qt.KeyboardModifier.KeypadModifier
    for key in (Qt.Key.Key_2, Qt.Key.Key_4, Qt.Key.Key_6, Qt.Key.Key_8, Qt.Key.Key_9):
        qtbot.keyClick(five, key, keypad)
    qtbot.keyClick(five, Qt.Key.Key_Backspace)
    # arrows from 5: up is 2, pressed with Space
    qtbot.keyClick(five, Qt.Key.Key_Up)
    assert pad.digit_keys[2].hasFocus()
    qtbot.keyClick(pad.digit_keys[2], Qt.Key.Key_Space)
    assert pad.display.text() == PIN_DOT * 5
    qtbot.keyClick(pad.digit_keys[2], Qt.Key.Key_Enter, keypad)
    assert got.pins == [bytearray(b"24682")]


def _tap(qtbot: QtBot, window: QWidget, button: QPushButton) -> None:
    """A finger's tap on ``button``: a touch press and release on the touch screen (Qt makes the mouse
    events a button reacts to from it, and leaves its pointer where the finger was)."""
    device = QTest.createTouchDevice()
    where = button.mapTo(window, button.rect().center())
    QTest.touchEvent(window, device).press(0, where, window).commit()
    QTest.touchEvent(window, device).release(0, where, window).commit()
    qtbot.wait(50)


@pytest.mark.parametrize("how", ["touch", "mouse"])
def test_a_tapped_pin_key_does_not_stay_highlighted(qtbot: QtBot, host: ShowHost, how: str) -> None:
    """The last digit of a PIN must not be left readable on the pad: after a tap the key looks exactly as
    it did before (no focus colour, no pressed or hover look), whoever looks at the screen next."""
    pad = PinPad("fi")
    shown = host(pad)
    for digit in (7, 3, 0):
        key = pad.digit_keys[digit]
        before = key.grab().toImage()
        if how == "touch":
            _tap(qtbot, shown.window, key)
        else:
            qtbot.mousePress(key, Qt.MouseButton.LeftButton)
            qtbot.mouseRelease(key, Qt.MouseButton.LeftButton)
            qtbot.wait(50)
        assert not key.hasFocus() and not key.isDown()
        assert key.grab().toImage() == before, f"the {digit} key still looks touched"
    assert pad.display.text() == PIN_DOT * 3


def test_pin_pad_has_no_focus_trap(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("fi")
    shown = host(pad)
    shown.before.setFocus()
    order = []
    for _ in range(13):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order[:12] == [b for row in pad.rows for b in row]
    assert order[12] is shown.after


def test_pin_keys_are_large_touch_targets(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("fi")
    host(pad)
    for row in pad.rows:
        for button in row:
            assert button.height() >= theme.BUTTON_MIN_HEIGHT
            assert button.width() >= theme.BUTTON_MIN_HEIGHT


# -- speech output and tremor -----------------------------------------------------------------------------
class Announced:
    def __init__(self, widget: OnScreenKeyboard | PinPad) -> None:
        self.said: list[tuple[str, bool]] = []
        widget.announce.connect(self._said)

    def _said(self, text: str, private: bool) -> None:
        self.said.append((text, private))


def test_the_focused_key_is_named_for_speech_and_letters_are_private(qtbot: QtBot, host: ShowHost) -> None:
    keyboard = OnScreenKeyboard("fi")
    shown = host(keyboard)
    heard = Announced(keyboard)
    shown.before.setFocus()
    qtbot.keyClick(shown.before, Qt.Key.Key_Tab)
    keyboard.key("-").setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(keyboard.key("-"), Qt.Key.Key_Right)
    qtbot.keyClick(keyboard.backspace_key, Qt.Key.Key_Down)
    assert heard.said == [("1", True), ("-", True), ("Poista merkki", False), ("Rivinvaihto", False)]
    keyboard.space_key.setFocus(Qt.FocusReason.TabFocusReason)
    assert heard.said[-1] == ("välilyönti", False)


def test_pin_pad_speaks_the_count_aloud_but_digit_keys_only_in_private(qtbot: QtBot, host: ShowHost) -> None:
    pad = PinPad("en")
    host(pad)
    heard = Announced(pad)
    pad.focus_home()
    five = pad.digit_keys[5]
    qtbot.keyClick(five, Qt.Key.Key_7)
    qtbot.keyClick(five, Qt.Key.Key_Right)
    qtbot.keyClick(pad.digit_keys[6], Qt.Key.Key_Space)
    qtbot.keyClick(pad.digit_keys[6], Qt.Key.Key_Backspace)
    public = [text for text, private in heard.said if not private]
    assert public == ["Digits entered: 1", "Digits entered: 2", "Digits entered: 1"]
    assert ("5", True) in heard.said and ("6", True) in heard.said
    assert all(private for text, private in heard.said if text in "0123456789")


def test_double_strike_rejection_ignores_a_trembling_second_press(qtbot: QtBot, host: ShowHost) -> None:
    now = [0.0]
    keyboard = OnScreenKeyboard("fi", clock=lambda: now[0])
    pad = PinPad("fi", clock=lambda: now[0])
    container = QWidget()
    layout = QVBoxLayout(container)
    layout.addWidget(keyboard)
    layout.addWidget(pad)
    host(container)
    typed = Typed(keyboard)
    keyboard.double_strike.seconds = 0.5
    pad.double_strike.seconds = 0.5
    for at, button in ((0.0, keyboard.key("a")), (0.2, keyboard.key("a")), (0.8, keyboard.key("a")),
                       (0.9, keyboard.key("s")), (1.0, pad.digit_keys[5]), (1.3, pad.digit_keys[5])):  # fmt: skip
        now[0] = at
        _click(qtbot, button)
    assert typed.text == "aas"
    assert len(pad) == 1
    keyboard.double_strike.seconds = 0.0  # off: every press counts
    _click(qtbot, keyboard.key("a"))
    _click(qtbot, keyboard.key("a"))
    assert typed.text == "aasaa"


def _key(widget: QWidget, key: Qt.Key, text: str, *, repeat: bool = False) -> None:
    QApplication.sendEvent(
        widget, QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.KeypadModifier, text, repeat)
    )


def test_holding_a_physical_key_does_not_repeat_it(qtbot: QtBot, host: ShowHost) -> None:
    keyboard = OnScreenKeyboard("fi")
    pad = PinPad("fi")
    container = QWidget()
    layout = QVBoxLayout(container)
    layout.addWidget(keyboard)
    layout.addWidget(pad)
    host(container)
    typed = Typed(keyboard)
    pad.focus_home()
    _key(pad.digit_keys[5], Qt.Key.Key_5, "5")
    for _ in range(5):
        _key(pad.digit_keys[5], Qt.Key.Key_5, "5", repeat=True)  # the key is held down
    assert len(pad) == 1
    keyboard.key("a").setFocus()
    _key(keyboard.key("a"), Qt.Key.Key_K, "k")
    _key(keyboard.key("a"), Qt.Key.Key_K, "k", repeat=True)
    assert typed.text == "k"


def test_double_strike_rejection_covers_the_physical_keypad(qtbot: QtBot, host: ShowHost) -> None:
    now = [0.0]
    pad = PinPad("fi", clock=lambda: now[0])
    host(pad)
    pad.double_strike.seconds = 0.5
    pad.focus_home()
    for at in (0.0, 0.1, 0.7):
        now[0] = at
        _key(pad.digit_keys[5], Qt.Key.Key_3, "3")
    assert len(pad) == 2


def test_in_large_text_the_letters_grow_and_the_keyboard_still_fits_the_screen(qtbot: QtBot, host: ShowHost) -> None:
    keyboard = OnScreenKeyboard("fi")
    shown = host(keyboard)
    normal = keyboard.key("ä").fontInfo().pixelSize()
    normal_hint = keyboard.minimumSizeHint()
    shown.window.setStyleSheet(theme.stylesheet(1.4))
    qtbot.waitUntil(lambda: keyboard.key("ä").fontInfo().pixelSize() > normal)
    assert keyboard.key("ä").fontInfo().pixelSize() >= normal * 1.3
    hint = keyboard.minimumSizeHint()
    assert hint.width() <= 1280 - 2 * 64  # within the screens' side margins
    assert hint.height() == normal_hint.height() < 1024 * 2 / 3  # the keys do not grow taller
    for row in keyboard.rows:
        for button in row:
            assert button.height() >= theme.BUTTON_MIN_HEIGHT
