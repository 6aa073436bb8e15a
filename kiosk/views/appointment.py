"""The appointment check-in screen (issue 22): the code on a big on-screen keypad, then the switchboard's word.

Unlike the PIN pad (:class:`kiosk.views.keyboard.PinPad`, which shows dots and keeps the digits out of Python
strings), this screen shows the digits typed — the customer reads them off a letter or a phone and must see
that they match — and keeps no state of its own: every press is a :class:`~kiosk.session.Session` intent, and
the code lives in the snapshot, so the wipe forgets it with everything else. Speech reads the screen as
elsewhere (the window reads it whenever the code or the answer changes).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from kiosk import i18n
from kiosk.session import APPOINTMENT_CODE_DIGITS, Session, Snapshot
from kiosk.views import theme
from kiosk.views.widgets import button, label

#: What the code's empty places show (a middle dot: speech passes over it).
EMPTY_DIGIT = "·"


class AppointmentScreen(QWidget):
    """Title and hint, the code typed so far (six places), the keypad in phone order (1 2 3 / … / erase 0
    clear), "Check in", Back (to queue as a walk-in instead), and what the switchboard said."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self.title = label("title")
        self.hint = label("muted")
        self.code = label("subtitle")
        self.code.setObjectName("appointment-code")
        self.code.setStyleSheet(f"font-size: {theme.TITLE_PX}px;")
        self.status = label("notice")
        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(12)
        order = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "erase", "0", "clear"]
        for i, key in enumerate(order):
            b = button(f"appointment-key-{key}", partial(session.appointment_key, key), secondary=not key.isdigit())
            b.setMinimumSize(theme.BUTTON_MIN_HEIGHT * 3 // 2, theme.BUTTON_MIN_HEIGHT * 3 // 2)
            if key.isdigit():
                b.setText(key)
            self.keys[key] = b
            grid.addWidget(b, i // 3, i % 3)
        self.submit = button("appointment-submit", session.submit_appointment)
        self.back = button("appointment-back", session.back, secondary=True)
        self.back.setProperty("compact", True)

        # Two columns so that everything fits a 1280×1024 screen without scrolling: what to do, the code and
        # the answer on the left with "Check in" under them; the keypad on the right.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 8, 48, 16)
        top = QHBoxLayout()
        top.addWidget(self.back)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.title)
        columns = QHBoxLayout()
        columns.setSpacing(32)
        left = QVBoxLayout()
        left.addWidget(self.hint)
        left.addWidget(self.code)
        left.addWidget(self.status)
        left.addStretch(1)
        left.addWidget(self.submit)
        columns.addLayout(left, 1)
        columns.addLayout(grid)
        layout.addLayout(columns, 1)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        appointment = snap.appointment
        typed = appointment.code if appointment is not None else ""
        self.title.setText(i18n.text("appointment_title", lang))
        self.hint.setText(i18n.text("appointment_hint", lang))
        places = " ".join(typed.ljust(APPOINTMENT_CODE_DIGITS, EMPTY_DIGIT))
        self.code.setText(i18n.text("appointment_code", lang, digits=places))
        self.keys["erase"].setText(i18n.text("appointment_erase", lang))
        self.keys["clear"].setText(i18n.text("appointment_clear", lang))
        self.submit.setText(i18n.text("appointment_submit", lang))
        self.back.setText(i18n.text("back", lang))
        checking = appointment is not None and appointment.step == "checking"
        self.submit.setEnabled(len(typed) == APPOINTMENT_CODE_DIGITS and not checking)
        for b in self.keys.values():
            b.setEnabled(not checking)
        self.status.setText(self._status(snap))
        self.status.setVisible(bool(self.status.text()))

    @staticmethod
    def _status(snap: Snapshot) -> str:
        appointment, lang = snap.appointment, snap.language
        if appointment is None:
            return ""
        if appointment.step == "checking":
            return i18n.text("appointment_checking", lang)
        if appointment.step != "refused" or appointment.refusal is None:
            return ""
        fallback = i18n.text("appointment_unavailable", lang)  # a code newer than this kiosk
        if appointment.refusal == "too_early":
            time = i18n.clock(appointment.start.time(), lang) if appointment.start else ""
            opens = i18n.clock(appointment.opens_at.time(), lang) if appointment.opens_at else ""
            return i18n.text("appointment_too_early", lang, time=time, opens=opens)
        return i18n.text(f"appointment_{appointment.refusal}", lang, fallback)


def bookings_text(snap: Snapshot, session: Session) -> str:
    """The day's bookings for the staff mode, a line each: time and producer (and whether checked in), never
    who; the switchboard's silence is said as such."""
    lang = snap.language
    title = i18n.text("staff_bookings_title", lang)
    if snap.bookings_today is None:
        return f"{title}: {i18n.text('staff_bookings_unknown', lang)}"
    if not snap.bookings_today:
        return f"{title}: {i18n.text('staff_bookings_none', lang)}"
    names = {prod.id: prod.name.in_(lang) for prod in session.config.producers}
    lines = [title]
    for slot in snap.bookings_today:
        done = f" ({i18n.text('staff_booking_checked_in', lang)})" if slot.checked_in else ""
        lines.append(f"{i18n.clock(slot.start.time(), lang)}  {names.get(slot.producer, slot.producer)}{done}")
    return "\n".join(lines)
