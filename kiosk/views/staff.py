"""The host staff's mode: PIN login, then device health, test print/scan, out of service, support.

Nothing here shows customer data: only device states, the day's session count and the organiser's
support contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from etapiste.staffpin import MIN_DIGITS
from kiosk import i18n
from kiosk.session import Session, Snapshot
from kiosk.views.appointment import bookings_text
from kiosk.views.keyboard import PinPad
from kiosk.views.widgets import button, label

Health = Literal["ok", "fault", "missing", "unknown"]

#: Devices listed for staff, in the order of the room.
DEVICES = ("camera", "microphone", "speaker", "printer", "scanner", "card_reader", "switchboard", "broker")


class StaffActions(Protocol):
    """What staff can ask of the devices (the controller carries it out and reports in the health)."""

    def test_print(self) -> None: ...

    def test_scan(self) -> None: ...

    def test_camera_and_microphone(self) -> None: ...


class StaffLoginScreen(QWidget):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self.title = label("title")
        self.prompt = label("subtitle")
        self.error = label("notice")
        self.pin_pad = PinPad(min_length=MIN_DIGITS)
        self.pin_pad.submitted.connect(self._submitted)
        self.close_button = button("staff-close", session.leave_staff, secondary=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 32, 64, 32)
        layout.addWidget(self.title)
        layout.addWidget(self.prompt)
        layout.addWidget(self.error)
        layout.addWidget(self.pin_pad, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignLeft)

    def _submitted(self, pin: bytearray) -> None:
        try:
            self._session.staff_pin(pin.decode("ascii"))
        finally:
            for i in range(len(pin)):
                pin[i] = 0

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        self.pin_pad.set_language(lang)
        self.title.setText(i18n.text("staff_title", lang))
        self.prompt.setText(i18n.text("staff_enter_pin", lang))
        self.error.setVisible(snap.staff_error is not None)
        until = self._session.staff_locked_until if snap.staff_error == "staff_locked" else None
        if until is not None:  # lockouts grow (kiosk/staff_lockout.py): say until when, not "5 minutes"
            self.error.setText(i18n.text("staff_locked_until", lang, time=i18n.clock(until.time(), lang)))
        else:
            self.error.setText(i18n.text(snap.staff_error, lang) if snap.staff_error else "")
        self.pin_pad.setEnabled(not snap.staff_locked)
        self.close_button.setText(i18n.text("staff_close", lang))


class StaffScreen(QWidget):
    def __init__(self, session: Session, actions: StaffActions | None = None) -> None:
        super().__init__()
        self._session = session
        self.title = label("title")
        self.health: dict[str, tuple[QLabel, QLabel]] = {}
        grid = QGridLayout()
        for row, device in enumerate(DEVICES):
            name = label("", align=Qt.AlignmentFlag.AlignLeft)
            state = label("", align=Qt.AlignmentFlag.AlignLeft)
            state.setObjectName(f"health-{device}")
            grid.addWidget(name, row // 2, 2 * (row % 2))
            grid.addWidget(state, row // 2, 2 * (row % 2) + 1)
            self.health[device] = (name, state)
        self.sessions = label("subtitle")
        self.bookings = label("staff-bookings", align=Qt.AlignmentFlag.AlignLeft)
        self.support = label("")
        self.message = QLineEdit()
        self.message.setObjectName("out-of-service-message")
        self.out_of_service = QCheckBox()
        self.out_of_service.setObjectName("out-of-service")
        self.out_of_service.toggled.connect(self._toggle)
        self.test_print = button("test-print", actions.test_print if actions else (lambda: None), secondary=True)
        self.test_scan = button("test-scan", actions.test_scan if actions else (lambda: None), secondary=True)
        self.test_av = button("test-av", actions.test_camera_and_microphone if actions else (lambda: None),
                              secondary=True)
        for b in (self.test_print, self.test_scan, self.test_av):
            b.setEnabled(actions is not None)
        self.close_button = button("staff-close", session.leave_staff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 24, 48, 24)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.sessions)
        layout.addWidget(self.bookings)
        layout.addWidget(self.support)
        oos = QHBoxLayout()
        oos.addWidget(self.out_of_service)
        oos.addWidget(self.message, 1)
        layout.addLayout(oos)
        tests = QHBoxLayout()
        tests.addWidget(self.test_print)
        tests.addWidget(self.test_scan)
        tests.addWidget(self.test_av)
        layout.addLayout(tests)
        layout.addStretch(1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight)
        self._states: Mapping[str, tuple[Health, str]] = {}

    def set_health(self, states: Mapping[str, tuple[Health, str]]) -> None:
        """Device → (health, the device's own reason for staff) from the controller's monitor."""
        self._states = dict(states)

    def _toggle(self, on: bool) -> None:
        if on:
            self._session.set_out_of_service(self.message.text().strip() or None)
        else:
            self._session.back_in_service()

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        self.title.setText(i18n.text("staff_title", lang))
        for device, (name, state) in self.health.items():
            name.setText(i18n.text(f"device.{device}", lang).capitalize())
            health, reason = self._states.get(device, ("unknown", ""))
            if device in snap.unavailable_devices and health == "unknown":
                health = "missing"
            words = i18n.text(f"health_{health}", lang)
            state.setText(f"{words} — {reason}" if reason else words)
        self.sessions.setText(i18n.text("staff_sessions_today", lang, count=snap.sessions_today))
        self.bookings.setText(bookings_text(snap, self._session))
        support = self._session.config.support
        contact = ", ".join(x for x in (support.name, support.phone, support.email) if x)
        self.support.setText(i18n.text("staff_support", lang, contact=contact))
        self.out_of_service.blockSignals(True)
        self.out_of_service.setChecked(snap.out_of_service_message is not None or self._session.out_of_service)
        self.out_of_service.blockSignals(False)
        self.out_of_service.setText(i18n.text("staff_out_of_service", lang))
        self.message.setPlaceholderText(i18n.text("staff_message", lang))
        self.test_print.setText(i18n.text("staff_test_print", lang))
        self.test_scan.setText(i18n.text("staff_test_scan", lang))
        self.test_av.setText(i18n.text("staff_test_av", lang))
        self.close_button.setText(i18n.text("staff_close", lang))
