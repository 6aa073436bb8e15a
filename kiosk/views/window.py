"""The kiosk's one window: a bar of customer controls, a stack of screens (one per session state), and
the time-limit warning.

Full screen and frameless on a point: no decorations, no context menus, and no key combination that
closes it (only the app itself, on a signal or from staff mode). Windowed for development and demos.
Staff open their mode by holding the host's name on the idle, closed or out-of-service screen for
three seconds, or with F12 on a connected keyboard.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import i18n
from kiosk.session import CUSTOMER_STATES, LargeText, Session, Snapshot, State
from kiosk.views import theme
from kiosk.views.appointment import AppointmentScreen
from kiosk.views.journey import (
    CallScreen,
    JourneyActions,
    NoticeScreen,
    QueueScreen,
    ServiceChoiceScreen,
    SurveyScreen,
)
from kiosk.views.keyboard import PinPad
from kiosk.views.screens import ClosedScreen, IdleScreen, OutOfServiceScreen
from kiosk.views.staff import StaffActions, StaffLoginScreen, StaffScreen
from kiosk.views.widgets import button, label

#: The help request's state → its text (``kiosk.help_<text>``).
HELP_TEXTS = {"sending": "sending", "told": "told", "coming": "coming", "failed": "ask_desk"}

#: How long staff hold the host's name to open their mode.
STAFF_HOLD_MS = 3000


def screen_text(widget: QWidget) -> str:
    """The visible words of a screen in reading order: labels, then the buttons one can press. The PIN
    display (dots) and text being typed are not read: they are private or the customer's own."""
    parts: list[str] = []
    for child in widget.findChildren(QWidget):
        if not child.isVisibleTo(widget) or child.objectName() == "pin-display":
            continue
        if isinstance(child, QLabel) and child.text():
            parts.append(child.text())
        elif isinstance(child, QPushButton) and child.isEnabled() and any(c.isalpha() for c in child.text()):
            # Keys without words (digits, ⌫) are not read: the PIN pad announces itself privately.
            parts.append(child.text().replace("\n", ", "))
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())[:1900]


class KioskWindow(QWidget):
    """Renders the session; emits ``first_painted`` once the first screen has been drawn."""

    first_painted = Signal()
    speak = Signal(str, str)
    """(text, language): what is on the screen now, for speech output when the customer turned it on."""

    def __init__(
        self,
        session: Session,
        *,
        kiosk_mode: bool,
        actions: JourneyActions | None = None,
        staff_actions: StaffActions | None = None,
        video: QWidget | None = None,
        self_view: QWidget | None = None,
    ) -> None:
        super().__init__()
        self._session = session
        self._allow_close = not kiosk_mode
        self._style: tuple[float, bool] | None = None
        self._painted = False
        self._state = State.IDLE
        self._had_call = False
        self._spoken_key: object = None
        self.setWindowTitle("etapiste")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        if kiosk_mode:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)

        self.idle = IdleScreen(session.config.ui.languages, session.choose_language, session.set_text_size,
                               session.set_speech)
        self.closed = ClosedScreen()
        self.out_of_service = OutOfServiceScreen()
        self.service_choice = ServiceChoiceScreen(session)
        self.notice = NoticeScreen(session, actions)
        self.queue = QueueScreen(session)
        self.appointment = AppointmentScreen(session)
        self.pin_pad = PinPad(min_length=4)
        if actions is not None:
            self.pin_pad.submitted.connect(actions.submit_pin)
        self.call = CallScreen(session, actions, video=video, self_view=self_view, pin_pad=self.pin_pad)
        self.survey = SurveyScreen(session)
        self.staff_login = StaffLoginScreen(session)
        self.staff = StaffScreen(session, staff_actions)
        self._screens: dict[State, QWidget] = {
            State.IDLE: self.idle,
            State.CLOSED: self.closed,
            State.OUT_OF_SERVICE: self.out_of_service,
            State.SERVICE_CHOICE: self.service_choice,
            State.NOTICE: self.notice,
            State.QUEUE: self.queue,
            State.APPOINTMENT: self.appointment,
            State.CALL: self.call,
            State.SURVEY: self.survey,
            State.STAFF_LOGIN: self.staff_login,
            State.STAFF: self.staff,
        }
        self.stack = QStackedWidget()
        self._pages: dict[State, QScrollArea] = {}
        for state, screen in self._screens.items():
            # A page scrolls only when large text makes it taller than the screen; otherwise it fits.
            page = QScrollArea()
            page.setWidget(screen)
            page.setWidgetResizable(True)
            page.setFrameShape(QFrame.Shape.NoFrame)
            page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self._pages[state] = page
            self.stack.addWidget(page)

        # Customer controls on every customer screen: language, text size, contrast.
        self.bar = QWidget()
        bar = QHBoxLayout(self.bar)
        bar.setContentsMargins(24, 8, 24, 0)
        self.language_buttons: dict[str, QPushButton] = {}
        for lang in session.config.ui.languages:
            b = button(f"bar-language-{lang}", partial(session.set_language, lang), secondary=True)
            b.setText(i18n.LANGUAGE_NAMES[lang])
            b.setProperty("compact", True)
            self.language_buttons[lang] = b
            bar.addWidget(b)
        bar.addStretch(1)
        self.speech = button("bar-speech", lambda: session.set_speech(not session.snapshot.speech), secondary=True)
        self.text_size = button("bar-text-size", self._toggle_text_size, secondary=True)
        self.contrast = button("bar-contrast", self._toggle_contrast, secondary=True)
        for b in (self.speech, self.text_size, self.contrast):
            b.setProperty("compact", True)
            bar.addWidget(b)

        # "Ask for help" under the bar on every customer screen: the host's staff are alerted (kiosk/agentlink.py
        # → the agent → the notifier), and beside it what became of it: "told" only once the notifier accepted.
        self.help_row = QWidget()
        help_row = QHBoxLayout(self.help_row)
        help_row.setContentsMargins(24, 4, 24, 0)
        self.help = button("bar-help", session.ask_for_help)
        self.help.setProperty("compact", True)
        self.help_status = label("help-status", align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        help_row.addWidget(self.help)
        help_row.addWidget(self.help_status, 1)

        # The time-limit warning with its "more time" button (WCAG 2.2.1).
        self.warning = QWidget()
        self.warning.setObjectName("timeout-warning")
        warn = QHBoxLayout(self.warning)
        self.warning_text = label("notice")
        self.more_time = button("more-time", session.extend_time)
        warn.addWidget(self.warning_text, 1)
        warn.addWidget(self.more_time)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.help_row)
        layout.addWidget(self.warning)
        layout.addWidget(self.stack, 1)

        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.setInterval(STAFF_HOLD_MS)
        self._hold.timeout.connect(session.open_staff_login)
        for screen in (self.idle, self.closed, self.out_of_service):
            screen.host_name.installEventFilter(self)
        self.stack.installEventFilter(self)
        self._unsubscribe = session.subscribe(self.show_snapshot)

    # -- rendering -----------------------------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot) -> None:
        style = (snap.text_size.value, snap.high_contrast)
        if style != self._style:
            self._style = style
            self.setStyleSheet(theme.stylesheet(*style))
        self._state = snap.state
        lang = snap.language
        self.bar.setVisible(snap.state in CUSTOMER_STATES)
        self.help_row.setVisible(snap.state in CUSTOMER_STATES)
        for lg, b in self.language_buttons.items():
            b.setEnabled(lg != lang)
        large = snap.text_size is LargeText.LARGE
        self.text_size.setText(i18n.text("normal_text" if large else "larger_text", lang))
        self.contrast.setText(i18n.text("high_contrast", lang))
        self.speech.setText(i18n.text("speech_on" if snap.speech else "speech", lang))
        self.help.setText(i18n.text("help_button", lang))
        self.help.setEnabled(snap.help_request != "sending")
        self.help_status.setVisible(snap.help_request is not None)
        if snap.help_request is not None:
            self.help_status.setText(i18n.text(f"help_{HELP_TEXTS[snap.help_request]}", lang, host=snap.host_kind))
        self.warning.setVisible(snap.timeout_warning is not None)
        if snap.timeout_warning is not None:
            self.warning_text.setText(i18n.text("timeout_warning", lang, seconds=snap.timeout_warning))
            self.more_time.setText(i18n.text("more_time", lang))
        self.pin_pad.set_language(lang)
        if snap.call is None and self._had_call:
            self.call.clear()  # the wipe reaches the widgets too: no text or preview of the last customer
        self._had_call = snap.call is not None
        screen = self._screens[snap.state]
        screen.show_snapshot(snap)  # type: ignore[attr-defined]
        self.stack.setCurrentWidget(self._pages[snap.state])
        self._maybe_speak(snap, screen)

    def _maybe_speak(self, snap: Snapshot, screen: QWidget) -> None:
        """Read the screen aloud when it changed in a way the customer should hear (not every update)."""
        call = snap.call
        flow = (
            (call.identify, call.scan and call.scan.step, call.print_ and call.print_.step, call.trouble,
             call.share_identity, call.joined_agent)
            if call else None
        )
        key = (snap.state, snap.language, flow, snap.queue_position, snap.queue_interrupted,
               snap.timeout_warning is not None, snap.staff_error, snap.speech, snap.help_request,
               snap.privacy_printout, snap.interpreter_question, snap.appointment)
        if key == self._spoken_key:
            return
        self._spoken_key = key
        if snap.speech:
            said = screen_text(self.warning if snap.timeout_warning is not None else screen)
            if self.help_status.isVisibleTo(self):
                said = f"{self.help_status.text()} {said}"
            self.speak.emit(said, snap.language)

    @property
    def current_screen(self) -> QWidget:
        return self._screens[self._state]

    def _toggle_text_size(self) -> None:
        large = self._session.snapshot.text_size is LargeText.LARGE
        self._session.set_text_size(LargeText.NORMAL if large else LargeText.LARGE)

    def _toggle_contrast(self) -> None:
        self._session.set_high_contrast(not self._session.snapshot.high_contrast)

    # -- lockdown and staff access -----------------------------------------------------------------

    def allow_close(self) -> None:
        """The app is quitting (a signal or staff): the window may close now."""
        self._allow_close = True

    def closeEvent(self, event: QCloseEvent) -> None:
        # On a point no key combination may close the kiosk; only the app itself does.
        if self._allow_close:
            self._unsubscribe()
            event.accept()
        else:
            event.ignore()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_F12:
            self._session.open_staff_login()
            return
        self._session.touch()
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if watched is self.stack:
            if not self._painted and kind == QEvent.Type.Paint:
                self._painted = True
                # Report after this paint has been flushed to the screen, not before it.
                QTimer.singleShot(0, self.first_painted.emit)
            return False
        if kind == QEvent.Type.MouseButtonPress:
            self._hold.start()
        elif kind == QEvent.Type.MouseButtonRelease:
            self._hold.stop()
        return False
