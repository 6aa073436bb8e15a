"""The kiosk's own on-screen keyboard and PIN pad.

Why our own: Qt Virtual Keyboard is GPL-3.0 or commercial only, and it draws nothing on the offscreen
platform the tests use. These two widgets are small, use the kiosk's theme (large targets, a yellow
focus) and emit what was typed as signals, so the screen decides where it goes (the real-time-text
panel, the card driver) and no key event is ever synthesised into another widget.

Operation without touch (EN 301 549 5.1.6, WCAG 2.1.1/2.1.2): Tab moves through the keys in reading
order and, after the last key, out of the widget (no focus trap); the arrow keys move between
neighbouring keys; Space presses the focused key. On the keyboard Enter also presses the focused key;
on the PIN pad Enter is OK, as on a bank terminal. Keys take focus only from the keyboard (Tab), not
from a touch, so touching a key never pulls the focus away from a text field. Neither widget repeats a
held key (5.7), and both can reject a trembling double strike (5.8, ``double_strike.seconds``).

On the PIN pad a touched key never keeps a focus, pressed or hover look: the last digit of a PIN is not
left on the screen for the next person to read (focus still shows for keyboard use, where it is needed).

The PIN pad never holds the PIN as a ``str``: digits go into a fixed 12-byte ``bytearray`` that is
overwritten with zeros on backspace, on clear, after OK and whenever the pad is hidden. OK hands a new
``bytearray`` to the receiver, which owns it and wipes it (``drivers.cardreader.CardReader.prove`` does).
The display shows one dot per digit and nothing else; its accessible name gives the count, never a digit.
"""

from __future__ import annotations

import enum
import functools
import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QHideEvent, QKeyEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from etapiste import texts
from etapiste.language import Language
from kiosk.views import theme

SHIFT_SYMBOL = "⇧"
SHIFT_LOCKED_SYMBOL = "⇪"
BACKSPACE_SYMBOL = "⌫"
ENTER_SYMBOL = "⏎"
PIN_DOT = "●"

KEY_MIN_WIDTH = 80
"""Character keys: 80 px wide (≈ 21 mm on a 24" 1080p screen) so 12 keys and gaps fit 1 280 px."""

PIN_MAX = 12
"""FINEID PIN1 is 4–12 digits (``drivers.fineid``); the pad accepts no 13th."""
PIN_MIN = 4


def _t(key: str, language: Language, **values: object) -> str:
    """The widgets' words from the text catalogue (``kiosk.keyboard.*``, ``kiosk.pin.*``)."""
    return texts.text(f"kiosk.{key}", language, **values)


# Each layout: rows of (unshifted, shifted) characters, one character per key. The bottom row (@, space,
# enter) and the shift and backspace keys around the last letter row are added by the widget.
_NORDIC: tuple[tuple[str, str], ...] = (
    ("1234567890+", '!"#€%&/()=?'),
    ("qwertyuiopå", "QWERTYUIOPÅ"),
    ("asdfghjklöä", "ASDFGHJKLÖÄ"),
    ("zxcvbnm,.-", "ZXCVBNM;:_"),
)
LAYOUTS: dict[Language, tuple[tuple[str, str], ...]] = {
    "fi": _NORDIC,
    "sv": _NORDIC,
    "en": (
        ("1234567890-", "!@#$%^&*()_"),
        ("qwertyuiop", "QWERTYUIOP"),
        ("asdfghjkl'", 'ASDFGHJKL"'),
        ("zxcvbnm,.?", "ZXCVBNM;:!"),
    ),
}


def _restyle(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class Shift(enum.Enum):
    """One press: the next character is a capital; a second press locks capitals; a third releases."""

    OFF = "off"
    ONCE = "once"
    LOCKED = "locked"


def _arrow_target(rows: Sequence[Sequence[QWidget]], current: QWidget, key: int, origin: QWidget) -> QWidget | None:
    """The key the arrow ``key`` leads to from ``current``: the neighbour in the row, or in the row above or
    below the key whose centre is nearest horizontally. None at an edge (the focus stays; no wrap-around)."""
    for r, row in enumerate(rows):  # noqa: B007 - r is used after the loop
        if current in row:
            c = row.index(current)
            break
    else:
        return None
    if key == Qt.Key.Key_Left:
        return row[c - 1] if c > 0 else None
    if key == Qt.Key.Key_Right:
        return row[c + 1] if c + 1 < len(row) else None
    r2 = r - 1 if key == Qt.Key.Key_Up else r + 1
    if not 0 <= r2 < len(rows):
        return None
    x = current.mapTo(origin, current.rect().center()).x()
    return min(rows[r2], key=lambda w: abs(w.mapTo(origin, w.rect().center()).x() - x))


_ARROWS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down)
_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _key_button(label: str, name: str) -> QPushButton:
    button = QPushButton(label)
    button.setObjectName(name)
    # Tab reaches every key; a touch does not take the focus away from the text being written.
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    button.setAutoRepeat(False)
    button.setMinimumSize(KEY_MIN_WIDTH, theme.BUTTON_MIN_HEIGHT)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return button


class DoubleStrike:
    """Double-strike rejection (EN 301 549 5.8): a second press of the same key within ``seconds`` of the
    last accepted one is ignored, for hands that tremble. Off (0 s) by default; staff or the customer's
    accessibility settings set it up to 0.5 s."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = 0.0
        self._clock = clock
        self._last: tuple[object, float] = (None, -math.inf)

    def accept(self, key: object) -> bool:
        """Whether this press counts; ``key`` is the on-screen button or a physical key code."""
        now = self._clock()
        last_key, last_time = self._last
        if self.seconds > 0 and key == last_key and now - last_time < self.seconds:
            return False
        self._last = (key, now)
        return True


class OnScreenKeyboard(QWidget):
    """A QWERTY keyboard in the customer's language (fi/sv with å ä ö), for the real-time-text panel.

    Signals: ``typed(str)`` one character (a space included), ``backspaced()`` and ``entered()``;
    ``announce(text, private)`` names the key that got the keyboard focus, for speech output (5.1.6: usable
    without sight). Character keys are announced as private, because a sequence of them spells what the
    customer writes (it may be personal data); function keys are public.
    A physical keyboard works too: its printable characters are passed on as typed, Backspace as
    ``backspaced``; Space and Enter press the focused on-screen key.
    """

    typed = Signal(str)
    backspaced = Signal()
    entered = Signal()
    announce = Signal(str, bool)

    def __init__(
        self, language: Language = "fi", parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.double_strike = DoubleStrike(clock)
        self.setObjectName("keyboard")
        # Twelve keys in a row: less side padding than the theme's wide buttons. The keys keep the theme's
        # minimum height in large-text mode too (the letters still grow): five rows of 110 px leave room for
        # the video and the text panel above, five rows of 154 px would not.
        self.setStyleSheet(f"QPushButton {{ padding: 4px 4px; min-height: {theme.BUTTON_MIN_HEIGHT}px; }}")
        self._language: Language = language
        self._shift = Shift.OFF
        self.rows: list[list[QPushButton]] = []
        self.character_keys: list[tuple[QPushButton, str, str]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self._build()

    # -- public -----------------------------------------------------------------------------------------
    @property
    def language(self) -> Language:
        return self._language

    @property
    def shift(self) -> Shift:
        return self._shift

    def set_language(self, language: Language) -> None:
        """Switch the layout and the key names; a key that had the focus keeps it at the same place."""
        if language == self._language:
            return
        focused = self._focused_position()
        self._language = language
        self._build()
        if focused is not None:
            r, c = focused
            row = self.rows[min(r, len(self.rows) - 1)]
            row[min(c, len(row) - 1)].setFocus(Qt.FocusReason.OtherFocusReason)

    def key(self, char: str) -> QPushButton:
        """The key that types ``char`` (unshifted or shifted), e.g. ``key("ä")``."""
        for button, low, high in self.character_keys:
            if char in (low, high):
                return button
        raise KeyError(char)

    def reset(self) -> None:
        """Back to lower case (a new customer, or the panel was closed)."""
        self._set_shift(Shift.OFF)

    # -- building ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        while (item := self._layout.takeAt(0)) is not None:
            if (sub := item.layout()) is not None:
                while (w := sub.takeAt(0)) is not None:
                    if (widget := w.widget()) is not None:
                        widget.deleteLater()
                sub.deleteLater()
        self.rows = []
        self.character_keys = []
        lang = self._language
        layout_rows = LAYOUTS[lang]
        for index, (low, high) in enumerate(layout_rows):
            row: list[QPushButton] = []
            if index == len(layout_rows) - 1:
                self.shift_key = _key_button(SHIFT_SYMBOL, "key-shift")
                self._on_click(self.shift_key, self._cycle_shift)
                row.append(self.shift_key)
            for lo, hi in zip(low, high, strict=True):
                button = _key_button(lo, f"key-{lo}")
                button.setProperty("secondary", True)
                self._on_click(button, functools.partial(self._press, lo, hi))
                self.character_keys.append((button, lo, hi))
                row.append(button)
            if index == len(layout_rows) - 1:
                self.backspace_key = _key_button(BACKSPACE_SYMBOL, "key-backspace")
                self.backspace_key.setAccessibleName(_t("keyboard.backspace", lang))
                self._on_click(self.backspace_key, self.backspaced.emit)
                row.append(self.backspace_key)
            self.rows.append(row)
        self.at_key = _key_button("@", "key-@")
        self.at_key.setProperty("secondary", True)
        self._on_click(self.at_key, lambda: self._press("@", "@"))
        self.character_keys.append((self.at_key, "@", "@"))
        self.space_key = _key_button(_t("keyboard.space", lang), "key-space")
        self.space_key.setProperty("secondary", True)
        self._on_click(self.space_key, lambda: self._press(" ", " "))
        self.enter_key = _key_button(ENTER_SYMBOL, "key-enter")
        self.enter_key.setAccessibleName(_t("keyboard.enter", lang))
        self._on_click(self.enter_key, self.entered.emit)
        self.rows.append([self.at_key, self.space_key, self.enter_key])

        stretch = {self.shift_key: 2, self.backspace_key: 2, self.space_key: 8, self.enter_key: 2}
        for row in self.rows:
            line = QHBoxLayout()
            line.setSpacing(8)
            for button in row:
                button.installEventFilter(self)
                line.addWidget(button, stretch.get(button, 1))
            self._layout.addLayout(line)
        self._set_shift(self._shift)

    # -- behaviour --------------------------------------------------------------------------------------
    def _on_click(self, button: QPushButton, action: Callable[[], object]) -> None:
        button.clicked.connect(lambda _=False: action() if self.double_strike.accept(button) else None)

    def spoken_name(self, button: QPushButton) -> str:
        """What speech output says for a key: its character, or the function key's name."""
        if button is self.space_key:
            return button.text()
        return button.accessibleName() or button.text()

    def _press(self, low: str, high: str) -> None:
        char = low if self._shift is Shift.OFF else high
        if self._shift is Shift.ONCE:
            self._set_shift(Shift.OFF)
        self.typed.emit(char)

    def _cycle_shift(self) -> None:
        following = {Shift.OFF: Shift.ONCE, Shift.ONCE: Shift.LOCKED, Shift.LOCKED: Shift.OFF}
        self._set_shift(following[self._shift])

    def _set_shift(self, state: Shift) -> None:
        self._shift = state
        upper = state is not Shift.OFF
        for button, low, high in self.character_keys:
            button.setText(high if upper else low)
        self.shift_key.setText(SHIFT_LOCKED_SYMBOL if state is Shift.LOCKED else SHIFT_SYMBOL)
        name = "keyboard.shift_locked" if state is Shift.LOCKED else "keyboard.shift"
        self.shift_key.setAccessibleName(_t(name, self._language))
        # Shift is filled while it acts and outlined while it does not: visible without reading the letters.
        self.shift_key.setProperty("secondary", not upper)
        _restyle(self.shift_key)

    def _focused_position(self) -> tuple[int, int] | None:
        for r, row in enumerate(self.rows):
            for c, button in enumerate(row):
                if button.hasFocus():
                    return r, c
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, QPushButton):
            return False
        if event.type() == QEvent.Type.FocusIn:
            private = any(watched is b for b, _, _ in self.character_keys)
            self.announce.emit(self.spoken_name(watched), private)
            return False
        if event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        if key in _ARROWS:
            target = _arrow_target(self.rows, watched, key, self)
            if target is not None:
                target.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        if key in _ENTER_KEYS:
            if not event.isAutoRepeat():
                watched.click()  # the click passes the double-strike check as the button
            return True
        text = event.text()
        typed = key != Qt.Key.Key_Space and len(text) == 1 and text.isprintable()
        if key != Qt.Key.Key_Backspace and not typed:
            return False
        # A physical key: no key repeat (EN 301 549 5.7: none offered), double strikes rejected (5.8).
        if event.isAutoRepeat() or not self.double_strike.accept(("key", key, text)):
            return True
        if key == Qt.Key.Key_Backspace:
            self.backspaced.emit()
        else:
            self.typed.emit(text)
        return True


class PinPad(QWidget):
    """Digits in phone order (1 2 3 / 4 5 6 / 7 8 9 / ⌫ 0 OK), a display of dots, at most 12 digits.

    Signals: ``submitted(bytearray)`` on OK with at least ``min_length`` digits (the receiver owns the
    bytearray of ASCII digits and must wipe it); ``changed(int)`` the number of digits now entered (for
    speech: "3 digits", never the digits); ``too_short()`` OK with too few digits; ``announce(text, private)``
    for speech output: the focused key's name (a digit key is private: saying "7" while a finger rests on
    it gives the PIN away) and, after each change, the count of digits entered (public).
    The 5 is the home key, marked like the nib on a physical keypad; ``focus_home()`` puts the focus there.
    """

    submitted = Signal(object)
    changed = Signal(int)
    too_short = Signal()
    announce = Signal(str, bool)

    def __init__(
        self,
        language: Language = "fi",
        *,
        min_length: int = PIN_MIN,
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.double_strike = DoubleStrike(clock)
        if not 1 <= min_length <= PIN_MAX:
            raise ValueError(f"min_length must be 1–{PIN_MAX}")
        self.setObjectName("pinpad")
        self._language: Language = language
        self.min_length = min_length
        self._buffer = bytearray(PIN_MAX)
        self._length = 0
        # The home key's nib: a thick dark bar under the 5 (dark on the white page is 17:1, WCAG 1.4.11).
        self.setStyleSheet(
            f'QPushButton[home="true"] {{ border-bottom: 14px solid {theme.FOCUS}; }}'
            "QPushButton { padding: 4px 4px; }"
        )

        self.display = QLabel()
        self.display.setObjectName("pin-display")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setTextFormat(Qt.TextFormat.PlainText)
        self.display.setMinimumHeight(theme.BUTTON_MIN_HEIGHT)
        self.display.setStyleSheet(f"font-size: {theme.TITLE_PX}px; letter-spacing: 12px;")

        self.digit_keys: dict[int, QPushButton] = {}
        for d in range(10):
            button = QPushButton(str(d))
            button.setObjectName(f"pin-{d}")
            self._on_click(button, functools.partial(self._append, d))
            self.digit_keys[d] = button
        self.digit_keys[5].setProperty("home", True)
        self.backspace_key = QPushButton(BACKSPACE_SYMBOL)
        self.backspace_key.setObjectName("pin-backspace")
        self.backspace_key.setProperty("secondary", True)
        self._on_click(self.backspace_key, self.backspace)
        self.ok_key = QPushButton(_t("pin.ok", language))
        self.ok_key.setObjectName("pin-ok")
        self._on_click(self.ok_key, self.submit)

        keys = self.digit_keys
        self.rows: list[list[QPushButton]] = [
            [keys[1], keys[2], keys[3]],
            [keys[4], keys[5], keys[6]],
            [keys[7], keys[8], keys[9]],
            [self.backspace_key, keys[0], self.ok_key],
        ]
        grid = QGridLayout()
        grid.setSpacing(12)
        for r, row in enumerate(self.rows):
            for c, button in enumerate(row):
                # Focus from the keyboard (Tab, arrows, focus_home) only: a key that took the focus from a
                # touch would stay yellow and show anyone who looks next the last digit of the PIN. For the
                # same reason the theme gives keys no hover look (a touch leaves the pointer on the last key
                # touched); tests/kiosk/test_keyboard.py compares a key's pixels before and after a tap.
                button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
                button.setAutoRepeat(False)
                button.setMinimumSize(theme.BUTTON_MIN_HEIGHT * 3 // 2, theme.BUTTON_MIN_HEIGHT)
                button.installEventFilter(self)
                grid.addWidget(button, r, c)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        layout.addWidget(self.display)
        layout.addLayout(grid)
        self.set_language(language)

    # -- public -----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._length

    def focus_home(self) -> None:
        """Put the focus on the 5, where a finger finds the nib of a keypad; Tab still runs in reading order."""
        self.digit_keys[5].setFocus(Qt.FocusReason.OtherFocusReason)

    def set_language(self, language: Language) -> None:
        self._language = language
        self.backspace_key.setAccessibleName(_t("pin.backspace", language))
        self.ok_key.setText(_t("pin.ok", language))
        self._show(announce=False)

    def backspace(self) -> None:
        if self._length:
            self._length -= 1
            self._buffer[self._length] = 0
            self._show()

    def clear(self) -> None:
        """Overwrite every digit with zero and show an empty display."""
        for i in range(PIN_MAX):
            self._buffer[i] = 0
        self._length = 0
        self._show(announce=False)

    def submit(self) -> None:
        """OK: hand the digits over in a new bytearray and wipe our own copy first."""
        if self._length < self.min_length:
            self.too_short.emit()
            return
        pin = self._buffer[: self._length]  # a new bytearray; never a str
        self.clear()
        self.submitted.emit(pin)

    def press_key(self, key: int) -> bool:
        """Handle a physical key (digits, also from a numeric keypad; Backspace; Delete clears; Enter is OK).
        For screens that forward key presses while the focus is elsewhere. True when handled."""
        if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            self._append(key - Qt.Key.Key_0)
        elif key == Qt.Key.Key_Backspace:
            self.backspace()
        elif key == Qt.Key.Key_Delete:
            self.clear()
        elif key in _ENTER_KEYS:
            self.submit()
        else:
            return False
        return True

    # -- internals --------------------------------------------------------------------------------------
    def _on_click(self, button: QPushButton, action: Callable[[], object]) -> None:
        button.clicked.connect(lambda _=False: action() if self.double_strike.accept(button) else None)

    def _append(self, digit: int) -> None:
        if self._length >= PIN_MAX:
            return
        self._buffer[self._length] = 0x30 + digit
        self._length += 1
        self._show()

    def _show(self, *, announce: bool = True) -> None:
        self.display.setText(PIN_DOT * self._length)
        count = _t("pin.entered", self._language, count=self._length)
        self.display.setAccessibleName(count)
        self.changed.emit(self._length)
        if announce:
            self.announce.emit(count, False)

    def hideEvent(self, event: QHideEvent) -> None:
        # A PIN never survives its screen: leaving the pad (timeout, cancel, card removed) wipes it.
        self.clear()
        super().hideEvent(event)

    def _physical_key(self, event: QKeyEvent) -> bool:
        """A key of a keypad or keyboard: no key repeat (holding 5 must not type 5555; EN 301 549 5.7) and
        double strikes rejected (5.8). True when the pad handled or swallowed it."""
        key = event.key()
        if not (Qt.Key.Key_0 <= key <= Qt.Key.Key_9 or key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, *_ENTER_KEYS)):
            return False
        if event.isAutoRepeat() or not self.double_strike.accept(("key", key)):
            return True
        return self.press_key(key)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._physical_key(event):
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, QPushButton):
            return False
        if event.type() == QEvent.Type.FocusIn:
            digit = any(watched is b for b in self.digit_keys.values())
            self.announce.emit(watched.accessibleName() or watched.text(), digit)
            return False
        if event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        if key in _ARROWS:
            target = _arrow_target(self.rows, watched, key, self)
            if target is not None:
                target.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return self._physical_key(event)
