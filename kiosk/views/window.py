"""The kiosk's one window: a stack of screens, one per session state.

Full screen and frameless on a point (no decorations, no way out to a desktop); windowed for
development and demos. The window re-renders whenever the session publishes a snapshot.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from kiosk.session import Session, Snapshot, State
from kiosk.views import theme
from kiosk.views.screens import ClosedScreen, IdleScreen, OutOfServiceScreen


class KioskWindow(QWidget):
    """Renders the session; emits ``first_painted`` once the first screen has been drawn."""

    first_painted = Signal()

    def __init__(self, session: Session, *, kiosk_mode: bool) -> None:
        super().__init__()
        self._kiosk_mode = kiosk_mode
        self._allow_close = not kiosk_mode
        self._scale: float | None = None
        self._painted = False
        self._state = State.IDLE
        self.setWindowTitle("etapiste")
        if kiosk_mode:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        self.idle = IdleScreen(session.config.ui.languages, session.choose_language, session.set_text_size)
        self.closed = ClosedScreen()
        self.out_of_service = OutOfServiceScreen()
        self.stack = QStackedWidget()
        self._screens: dict[State, IdleScreen | ClosedScreen | OutOfServiceScreen] = {
            State.IDLE: self.idle,
            State.CLOSED: self.closed,
            State.OUT_OF_SERVICE: self.out_of_service,
        }
        for screen in self._screens.values():
            self.stack.addWidget(screen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.stack.installEventFilter(self)
        self._unsubscribe = session.subscribe(self.show_snapshot)

    def show_snapshot(self, snap: Snapshot) -> None:
        scale = snap.text_size.value
        if scale != self._scale:
            self._scale = scale
            self.setStyleSheet(theme.stylesheet(scale))
        self._state = snap.state
        screen = self._screens[snap.state]
        screen.show_snapshot(snap)
        self.stack.setCurrentWidget(screen)

    @property
    def current_screen(self) -> QWidget:
        return self._screens[self._state]

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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._painted and event.type() == QEvent.Type.Paint:
            self._painted = True
            # Report after this paint has been flushed to the screen, not before it.
            QTimer.singleShot(0, self.first_painted.emit)
        return False
