"""The customer's journey screens: service choice, notice, queue, call (with its sub-flows) and survey.

Each screen renders a :class:`kiosk.session.Snapshot` in ``show_snapshot`` and turns presses into session
intents (or, for what needs a device or the call, into :class:`JourneyActions` the controller carries out).
No decisions here: what is possible next is the session's business.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from functools import partial
from typing import Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import (
    QClipboard,
    QColor,
    QGuiApplication,
    QHideEvent,
    QImage,
    QPainter,
    QPixmap,
    QPixmapCache,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from etapiste.host import HostKind, fill_host
from etapiste.language import Language
from kiosk import i18n
from kiosk.privacy_notice import privacy_notice, qr_modules
from kiosk.session import Call, LargeText, ProducerOption, Session, Snapshot
from kiosk.views.keyboard import OnScreenKeyboard
from kiosk.views.widgets import button, label


class JourneyActions(Protocol):
    """What the screens ask of the controller (devices and the call), beyond session intents."""

    def submit_pin(self, pin: bytearray) -> None:
        """Send PIN1 to the card; the controller overwrites ``pin`` after the APDU."""

    def cancel_identify(self) -> None:
        """The customer stops identifying, also while the card checks the PIN; the agent is told."""

    def start_scan(self) -> None: ...

    def send_scan(self) -> None: ...

    def decline_scan(self) -> None:
        """Do not send the scan: before, during or after scanning, or while it is being sent."""

    def cancel_print(self) -> None:
        """Stop waiting for the printout: the job is cancelled and the agent is told."""

    def send_text(self, text: str, final: bool) -> None: ...

    def print_privacy_notice(self) -> None:
        """Print the privacy information shown on the notice screen (before the call)."""

    def answer_share_identity(self, yes: bool) -> None:
        """A joint call: may the other agent see the identity the customer proved? Only yes shows it."""


#: The agent's picture in the corner while identify, scan or print runs (4:3, about a quarter of the width).
PIP_SIZE = QSize(320, 240)
#: Pixels per module of a QR code on the notice screen: whole pixels keep the edges sharp for a phone's
#: camera; 4 px (about 1.1 mm on a 19" 1280×1024 screen) makes a 3-4 cm code read from arm's length.
QR_MODULE_PX = 4
#: Qt's "no maximum" for a widget's size.
QWIDGETSIZE_MAX = 16777215


def _minutes(seconds: int | None, lang: Language) -> str:
    if seconds is None:
        return i18n.text("estimate_unknown", lang)
    minutes = max(1, round(seconds / 60))
    return i18n.text("estimate_minutes", lang, minutes=minutes)


#: Columns of producer buttons on the service choice per text size, and characters per line of a button's
#: text (a push button does not wrap by itself). Each page holds the rows that fit the screen's height (at
#: 1280×1024 every button of a page is fully on the screen, tests/kiosk/test_service_choice.py), so nobody
#: has to scroll; more producers than fit get big "more" and "previous" buttons.
CHOICE_COLUMNS: dict[LargeText, int] = {LargeText.NORMAL: 2, LargeText.LARGE: 1}
CHOICE_LINE_CHARS: dict[LargeText, int] = {LargeText.NORMAL: 30, LargeText.LARGE: 46}
#: Columns of the interpreter question's language buttons per text size, and characters per line of them.
INTERPRETER_COLUMNS: dict[LargeText, int] = {LargeText.NORMAL: 3, LargeText.LARGE: 2}
INTERPRETER_LINE_CHARS: dict[LargeText, int] = {LargeText.NORMAL: 18, LargeText.LARGE: 16}
#: The size the choice is laid out for until the window has one (a 1280×1024 screen less the bar).
CHOICE_DEFAULT_SIZE = (1280, 900)


#: Pixels between producer rows and around the page's parts.
GRID_SPACING = 10
#: Kept free below the last row, so rounding in the layout never pushes a button off the screen.
CHOICE_SAFETY_PX = 24


def _producer_status(option: ProducerOption, snap: Snapshot) -> str:
    """Whether the producer serves now and the expected wait, or when it serves next."""
    lang = snap.language
    if option.available:
        if option.agents_online == 0:
            wait = i18n.text("producer_no_agents", lang)
        elif option.estimate_s is not None:
            wait = _minutes(option.estimate_s, lang)
        else:
            wait = ""  # the switchboard has not said yet
        return " · ".join(x for x in (i18n.text("producer_open_now", lang), wait) if x)
    if option.next_opening is not None:
        midnight = dt.datetime.combine(snap.today, dt.time(0))
        when = i18n.when(option.next_opening.start, midnight, lang)
        return i18n.text("producer_closed_until", lang, when=when)
    return i18n.text("producer_closed", lang)


def interpreter_name(code: str, lang: Language) -> str:
    """An interpreter language's name in ``lang`` (the code itself when the catalogue has none)."""
    return i18n.text(f"interpreter.{code}", lang, default=code)


class ServiceChoiceScreen(QWidget):
    """Producers from configuration in pages that fit the screen (no scrolling at any text size), each with
    whether it serves now and the expected wait; and, when the point offers interpreters, the customer's
    interpreter need, asked before queueing."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._page = 0
        self._pages: list[list[str]] = [[p.id for p in session.config.producers]]
        self._laid_out_for = (0, 0)
        self._snap: Snapshot | None = None
        self.title = label("title")
        self.hint = label()
        self.buttons: dict[str, QPushButton] = {}
        self.details: dict[str, str] = {}
        self.grid = QGridLayout()
        self.grid.setSpacing(GRID_SPACING)
        for producer in session.config.producers:
            # One large button per producer: its name and, on further lines, what it helps with and whether
            # it serves now (with the wait) or when it answers next, so the whole cell is the touch target.
            b = button(f"producer-{producer.id}", partial(session.choose_producer, producer.id))
            b.setProperty("producer", True)
            self.buttons[producer.id] = b
        self.previous = button("services-previous", lambda: self._turn(-1), secondary=True)
        self.more = button("services-more", lambda: self._turn(1))
        for b in (self.previous, self.more):
            policy = b.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            b.setSizePolicy(policy)
        self.page_label = label()
        nav = QHBoxLayout()
        nav.setContentsMargins(0, 0, 0, 0)
        nav.addWidget(self.previous)
        nav.addWidget(self.page_label, 1)
        nav.addWidget(self.more)
        self.nav = QWidget()
        self.nav.setLayout(nav)
        producers = QWidget()
        column = QVBoxLayout(producers)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(GRID_SPACING)
        column.addLayout(self.grid)
        column.addStretch(1)
        column.addWidget(self.nav)

        # The interpreter question: one big button per configured language, and "no interpreter" beside Back
        # once one was chosen (Back leaves the question as it was).
        self.interpreter_title = label("subtitle")
        self.interpreter_hint = label("muted")
        self.interpreter_buttons: dict[str, QPushButton] = {}
        self.languages = QGridLayout()
        self.languages.setSpacing(GRID_SPACING)
        for code in session.config.ui.interpreter_languages:
            self.interpreter_buttons[code] = button(f"interpreter-{code}", partial(self._need, code))
        self.no_interpreter = button("no-interpreter", partial(self._need, None), secondary=True)
        self.no_interpreter.setProperty("compact", True)
        self.no_interpreter.setVisible(False)
        interpreters = QWidget()
        ask = QVBoxLayout(interpreters)
        ask.setContentsMargins(0, 0, 0, 0)
        ask.addWidget(self.interpreter_title)
        ask.addWidget(self.interpreter_hint)
        ask.addLayout(self.languages)
        ask.addStretch(1)

        self.body = QStackedWidget()
        self.body.addWidget(producers)
        self.body.addWidget(interpreters)
        self.back = button("back", self._back, secondary=True)
        self.back.setProperty("compact", True)
        self.interpreter = button("need-interpreter", self._ask_interpreter, secondary=True)
        self.interpreter.setProperty("compact", True)
        # A customer with a booked time types its code instead of choosing (kiosk/views/appointment.py).
        self.appointment = button("have-appointment", session.open_appointment, secondary=True)
        self.appointment.setProperty("compact", True)
        self.interpreter.setVisible(bool(self.interpreter_buttons))
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 8, 48, 16)
        layout.setSpacing(GRID_SPACING)
        layout.addWidget(self.title)
        top = QHBoxLayout()
        top.addWidget(self.back)
        top.addWidget(self.hint, 1)
        top.addWidget(self.appointment)
        top.addWidget(self.interpreter)
        top.addWidget(self.no_interpreter)
        layout.addLayout(top)
        layout.addWidget(self.body, 1)

    @property
    def pages(self) -> int:
        return len(self._pages)

    def _available(self) -> tuple[int, int]:
        """The size the page may fill: its scroll area's visible part (the screen lives in one)."""
        viewport = self.parentWidget()
        if viewport is None or not self.isVisible() or viewport.height() < 200 or viewport.width() < 400:
            return CHOICE_DEFAULT_SIZE
        return viewport.width(), viewport.height()

    @staticmethod
    def _height(widget: QWidget, width: int) -> int:
        return widget.heightForWidth(width) if widget.hasHeightForWidth() else widget.sizeHint().height()

    def _paginate(self, snap: Snapshot) -> None:
        """Split the producers into pages of whole rows that fit the available height (buttons' text set)."""
        columns = CHOICE_COLUMNS[snap.text_size]
        margins = self._layout.contentsMargins()
        available_width, available_height = self._laid_out_for = self._available()
        width = available_width - margins.left() - margins.right()
        top = max(self.back.sizeHint().height(), self.interpreter.sizeHint().height() if self.interpreter.isVisible()
                  else 0, self._height(self.hint, max(200, width - self.back.sizeHint().width()
                                                      - self.interpreter.sizeHint().width())))
        fixed = margins.top() + margins.bottom() + self._height(self.title, width) + top + 3 * GRID_SPACING
        nav = max(self.previous.sizeHint().height(), self.more.sizeHint().height()) + GRID_SPACING
        ids = [o.producer.id for o in snap.producers]
        rows = [ids[i:i + columns] for i in range(0, len(ids), columns)]
        heights = [max(self.buttons[pid].sizeHint().height() for pid in row) + GRID_SPACING for row in rows]
        room = available_height - fixed - CHOICE_SAFETY_PX
        if sum(heights) <= room:
            self._pages = [ids]
            return
        room -= nav  # more than one page: the "more" and "previous" buttons take a row
        pages: list[list[str]] = [[]]
        used = 0
        for row, height in zip(rows, heights, strict=True):
            if pages[-1] and used + height > room:
                pages.append([])
                used = 0
            pages[-1].extend(row)
            used += height
        self._pages = pages

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._snap is not None and self._available() != self._laid_out_for and not self._snap.interpreter_question:
            self._show_producers(self._snap)

    def _turn(self, step: int) -> None:
        self._session.touch()
        self._page = min(max(0, self._page + step), self.pages - 1)
        if self._snap is not None:
            self.show_snapshot(self._snap)

    def _ask_interpreter(self) -> None:
        self._session.ask_interpreter(True)  # publishes: the question is drawn (and read out)

    def _need(self, code: str | None) -> None:
        self._session.set_interpreter_need(code)  # closes the question

    def _back(self) -> None:
        if self._snap is not None and self._snap.interpreter_question:
            self._session.ask_interpreter(False)
        else:
            self._session.back()

    def hideEvent(self, event: QHideEvent) -> None:
        """The next visit to the choice starts on its first page."""
        self._page = 0
        super().hideEvent(event)

    def show_snapshot(self, snap: Snapshot) -> None:
        self._snap = snap
        lang = snap.language
        self.back.setText(i18n.text("back", lang))
        self.appointment.setText(i18n.text("appointment_button", lang))
        self.appointment.setVisible(not snap.interpreter_question)
        # Large text makes the buttons large already: the question in the subtitle's size leaves room for two
        # producers a page instead of one.
        style = "subtitle" if snap.text_size is LargeText.LARGE else "title"
        if self.title.objectName() != style:
            self.title.setObjectName(style)
            self.title.style().unpolish(self.title)
            self.title.style().polish(self.title)
        need = snap.interpreter_need
        self.interpreter.setText(
            i18n.text("interpreter_chosen", lang, name=interpreter_name(need, lang)) if need
            else i18n.text("need_interpreter", lang)
        )
        self.interpreter.setProperty("secondary", need is None)
        self.interpreter.style().unpolish(self.interpreter)
        self.interpreter.style().polish(self.interpreter)
        if snap.interpreter_question:
            self.title.setText(i18n.text("interpreter_title", lang))
            self.hint.setText("")
            self.interpreter.setVisible(False)
            self.interpreter_title.setText("")
            self.interpreter_title.setVisible(False)
            self.interpreter_hint.setText(i18n.text("interpreter_hint", lang))
            self.interpreter_hint.setVisible(snap.text_size is LargeText.NORMAL)  # large: the buttons need it
            columns = INTERPRETER_COLUMNS[snap.text_size]
            self.no_interpreter.setVisible(need is not None)
            chars = INTERPRETER_LINE_CHARS[snap.text_size]
            self.no_interpreter.setText(i18n.text("no_interpreter", lang))
            for i, b in enumerate(self.interpreter_buttons.values()):
                self.languages.removeWidget(b)
                self.languages.addWidget(b, i // columns, i % columns)
            for code, b in self.interpreter_buttons.items():
                b.setText(textwrap.fill(interpreter_name(code, lang), chars, break_long_words=False))
                b.setProperty("secondary", code != need)
                b.style().unpolish(b)
                b.style().polish(b)
            self.body.setCurrentIndex(1)
            return
        self.interpreter.setVisible(bool(self.interpreter_buttons))
        self.no_interpreter.setVisible(False)
        self.title.setText(i18n.text("choose_service", lang))
        # In large text the hint's line goes to the producers (two to a page rather than one); speech still
        # reads the buttons, and Citizens' Advice is among them.
        self.hint.setText(i18n.text("choose_service_hint", lang) if snap.text_size is LargeText.NORMAL else "")
        self.body.setCurrentIndex(0)
        self._show_producers(snap)

    def _show_producers(self, snap: Snapshot) -> None:
        lang = snap.language
        columns = CHOICE_COLUMNS[snap.text_size]
        chars = CHOICE_LINE_CHARS[snap.text_size]
        self.previous.setText(i18n.text("previous_services", lang))
        self.more.setText(i18n.text("more_services", lang))
        for option in snap.producers:
            p = option.producer
            b = self.buttons[p.id]
            b.setEnabled(option.available)
            desc = p.description.in_(lang) if p.description else ""
            status = _producer_status(option, snap)
            self.details[p.id] = " · ".join(x for x in (desc, status) if x)
            b.setText("\n".join(textwrap.fill(x, chars) for x in (p.name.in_(lang), desc, status) if x))
        self._paginate(snap)
        self._page = min(self._page, self.pages - 1)
        shown = self._pages[self._page]
        for b in self.buttons.values():
            self.grid.removeWidget(b)
        for pid, b in self.buttons.items():
            b.setVisible(pid in shown)
        for i, pid in enumerate(shown):
            self.grid.addWidget(self.buttons[pid], i // columns, i % columns)
        for column in range(columns):
            self.grid.setColumnStretch(column, 1)
        for column in range(columns, 2):
            self.grid.setColumnStretch(column, 0)
        paged = self.pages > 1
        self.nav.setVisible(paged)
        # Only what can be pressed is shown (the other keeps its place, so "more" does not jump about).
        self.previous.setVisible(self._page > 0)
        self.more.setVisible(self._page < self.pages - 1)
        self.page_label.setText(i18n.text("services_page", lang, page=self._page + 1, pages=self.pages))


class NoticeScreen(QWidget):
    """What happens next: an agent on video; and the privacy information: who is responsible for the data, what
    is processed (nothing recorded, documents only with consent) and for how long, with a QR code to each full
    privacy notice and a printout on request (:mod:`kiosk.privacy_notice`)."""

    def __init__(self, session: Session, actions: JourneyActions | None = None) -> None:
        super().__init__()
        self._session = session
        self._actions = actions
        self.title = label("title")
        self.video = label("", align=Qt.AlignmentFlag.AlignLeft)
        self.privacy = [label("", align=Qt.AlignmentFlag.AlignLeft) for _ in range(4)]
        self.privacy_more = label("muted")
        self.qr_codes = [QLabel() for _ in range(2)]
        self.qr_captions = [label("muted") for _ in range(2)]
        self.print_privacy = button("print-privacy", self._print, secondary=True)
        self.print_privacy.setProperty("compact", True)
        self.printout = label("notice")
        self.go = button("continue", session.accept_notice)
        self.back = button("back", session.back, secondary=True)
        self._shown_urls: tuple[str, ...] = ()
        # Two columns: what happens and the privacy information on the left; the QR codes to the full
        # notices and the printout on the right, so Continue stays on the first screenful.
        left = QVBoxLayout()
        left.setSpacing(4)
        left.addWidget(self.video)
        for p in self.privacy:
            left.addWidget(p)
        left.addWidget(self.printout)
        left.addStretch(1)
        right = QVBoxLayout()
        right.setSpacing(2)
        right.addWidget(self.privacy_more)
        for code, caption in zip(self.qr_codes, self.qr_captions, strict=True):
            code.setAlignment(Qt.AlignmentFlag.AlignCenter)
            right.addWidget(code)
            right.addWidget(caption)
        right.addWidget(self.print_privacy)
        right.addStretch(1)
        columns = QHBoxLayout()
        columns.setSpacing(24)
        columns.addLayout(left, 1)
        self._side = QWidget()
        self._side.setLayout(right)
        columns.addWidget(self._side, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 0, 64, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addLayout(columns, 1)
        row = QHBoxLayout()
        row.addWidget(self.back)
        row.addStretch(1)
        row.addWidget(self.go)
        layout.addLayout(row)

    def _print(self) -> None:
        if self._actions is not None:
            self._actions.print_privacy_notice()

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        producer = snap.selected
        self.title.setText(producer.name.in_(lang) if producer else "")
        self.video.setText(i18n.text("notice_video", lang))
        self.go.setText(i18n.text("continue", lang))
        self.back.setText(i18n.text("back", lang))
        # The codes' column: room for their captions' longest words, the rest for the text to read.
        large = snap.text_size is LargeText.LARGE
        self._side.setFixedWidth(560 if large else 400)
        if producer is None:
            return
        notice = privacy_notice(self._session.config, producer, lang)
        for i, widget in enumerate(self.privacy):
            widget.setVisible(i < len(notice.sentences))
            widget.setText(notice.sentences[i] if i < len(notice.sentences) else "")
        self.privacy_more.setVisible(bool(notice.more))
        self.privacy_more.setText(notice.more)
        urls = tuple(url for _, url in notice.links)
        if urls != self._shown_urls:
            self._shown_urls = urls
            for i, code in enumerate(self.qr_codes):
                code.setPixmap(qr_pixmap(urls[i]) if i < len(urls) else QPixmap())
        for i, (code, caption) in enumerate(zip(self.qr_codes, self.qr_captions, strict=True)):
            code.setVisible(i < len(urls))
            caption.setVisible(i < len(urls))
            caption.setText(notice.links[i][0] if i < len(urls) else "")
        # A printout needs a printer that works now; the customer asks, the screen says how it went.
        printer_ok = self._actions is not None and "printer" not in snap.unavailable_devices
        self.print_privacy.setVisible(printer_ok)
        self.print_privacy.setEnabled(snap.privacy_printout != "printing")
        # a push button does not wrap: break its words here to fit the column
        self.print_privacy.setText(textwrap.fill(i18n.text("privacy_print", lang), 20 if large else 26))
        step = snap.privacy_printout
        self.printout.setVisible(step is not None)
        self.printout.setText(i18n.text(f"privacy_{step}" if step != "failed" else "privacy_print_failed", lang,
                                        host=snap.host_kind) if step else "")  # fmt: skip


def qr_pixmap(url: str, scale: int = QR_MODULE_PX) -> QPixmap:
    """``url``'s QR code, dark on white with the standard four-module quiet zone, ``scale`` pixels per module."""
    modules = qr_modules(url)
    count = len(modules) + 8
    image = QImage(count * scale, count * scale, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        for y, row in enumerate(modules):
            for x, dark in enumerate(row):
                if dark:
                    painter.fillRect((x + 4) * scale, (y + 4) * scale, scale, scale, QColor("black"))
    finally:
        painter.end()
    return QPixmap.fromImage(image)


class QueueScreen(QWidget):
    """Waiting for an agent: position, estimate, cancel, and where to get help."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.title = label("title")
        self.transferred = label("notice")
        self.position = label("subtitle")
        self.estimate = label("subtitle")
        self.speakers = label()
        self.interrupted = label("notice")
        self.help = label("muted")
        self.cancel = button("cancel-queue", session.cancel_queue, secondary=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 32, 64, 32)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.transferred)
        layout.addWidget(self.position)
        layout.addWidget(self.estimate)
        layout.addWidget(self.speakers)
        layout.addWidget(self.interrupted)
        layout.addStretch(1)
        layout.addWidget(self.help)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel)
        row.addStretch(1)
        layout.addLayout(row)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        name = snap.selected.name.in_(lang) if snap.selected else ""
        self.title.setText(i18n.text("queue_transferred" if snap.transferred else "queue_title", lang, producer=name))
        self.transferred.setText(i18n.text("queue_transferred_place", lang) if snap.transferred else "")
        self.transferred.setVisible(snap.transferred)
        if snap.queue_position is None:
            self.position.setText(i18n.text("queue_connecting", lang))
            self.estimate.setText("")
        else:
            self.position.setText(i18n.text("queue_position", lang, position=snap.queue_position))
            self.estimate.setText(_minutes(snap.queue_estimate_s, lang))
        # Whether someone speaking the customer's language is there (language routing); not said in Finnish,
        # which every agent speaks.
        speakers = snap.queue_language_agents if lang != "fi" else None
        self.speakers.setVisible(speakers is not None)
        if speakers is not None:
            self.speakers.setText(i18n.text("queue_language_agent" if speakers else "queue_no_language_agent", lang))
        booked = snap.appointment.start if snap.appointment is not None else None
        self.speakers.setVisible(speakers is not None or booked is not None)
        if booked is not None:  # checked in for an appointment: said instead of the language line
            self.speakers.setText(i18n.text("queue_appointment", lang, time=i18n.clock(booked.time(), lang)))
        self.interrupted.setText(i18n.text("queue_interrupted", lang) if snap.queue_interrupted else "")
        self.interrupted.setVisible(snap.queue_interrupted)
        self.help.setText(i18n.text("ask_staff", lang, host=snap.host_kind))
        self.cancel.setText(i18n.text("cancel_queue", lang))


class CallScreen(QWidget):
    """The call: remote video large, self view, real-time text, end; sub-flow panels appear on top."""

    def __init__(self, session: Session, actions: JourneyActions | None, video: QWidget | None = None,
                 self_view: QWidget | None = None, pin_pad: QWidget | None = None) -> None:
        super().__init__()
        self._session = session
        self._actions = actions
        self.remote = video or label("notice")
        self.remote.setMinimumHeight(320)
        self.self_view = self_view
        self.producer = label("subtitle")
        self.interpreter = label("notice")
        self.transcript = label("", align=Qt.AlignmentFlag.AlignLeft)
        self.agent_typing = label("muted", align=Qt.AlignmentFlag.AlignLeft)
        self.entry = QLineEdit()
        self.entry.setObjectName("rtt-entry")
        self.entry.textEdited.connect(self._typed)
        self.entry.returnPressed.connect(self._enter)
        self.end = button("end-call", self._end)
        # Sub-flows
        self.flow_title = label("subtitle")
        self.flow_text = label("")
        self.flow_progress = QProgressBar()
        self.flow_preview = QLabel()
        self.flow_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pin_pad = pin_pad
        self.flow_primary = button("flow-primary", self._primary)
        self.flow_secondary = button("flow-secondary", self._secondary, secondary=True)
        # A sub-flow (identify, scan, print) takes the whole screen while it runs: large text and the PIN
        # pad need the room. The agent stays in sight, small in the corner (picture in picture), so the
        # customer is not left alone with a form; the full video and the text panel come back after.
        self.flow = QWidget()
        self.flow.setObjectName("flow")
        flow_text = QVBoxLayout()
        flow_text.addWidget(self.flow_title)
        flow_text.addWidget(self.flow_text)
        flow_text.addWidget(self.flow_progress)
        flow_text.addWidget(self.flow_preview, 1)
        flow_text.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.flow_secondary)
        row.addStretch(1)
        row.addWidget(self.flow_primary)
        flow_text.addLayout(row)
        flow_layout = QHBoxLayout(self.flow)
        flow_layout.setContentsMargins(24, 16, 24, 16)
        flow_layout.addLayout(flow_text, 1)
        self._pip = QVBoxLayout()
        """The agent's picture while a sub-flow runs (the video widget moves here and back)."""
        side = QVBoxLayout()
        side.addLayout(self._pip)
        if pin_pad is not None:
            side.addWidget(pin_pad, 0, Qt.AlignmentFlag.AlignHCenter)
        side.addStretch(1)
        flow_layout.addLayout(side)

        # The on-screen keyboard for real-time text opens under the video and the text, across the whole
        # width (it needs ~1050 px); "Keyboard" opens and closes it.
        self.keyboard = OnScreenKeyboard()
        self.keyboard.typed.connect(self._key)
        self.keyboard.backspaced.connect(self._backspace)
        self.keyboard.entered.connect(self._enter)
        self.keyboard_button = button("keyboard", self._toggle_keyboard, secondary=True)
        self.keyboard_button.setProperty("compact", True)
        self.keyboard.setVisible(False)
        talk = QWidget()
        left = QVBoxLayout()
        left.addWidget(self.producer)
        left.addWidget(self.remote, 1)
        left.addWidget(self.interpreter)
        self._left = left
        right = QVBoxLayout()
        if self_view is not None:
            right.addWidget(self_view, 0, Qt.AlignmentFlag.AlignRight)
        right.addWidget(self.transcript, 1)
        right.addWidget(self.agent_typing)
        right.addWidget(self.entry)
        right.addWidget(self.keyboard_button)
        right.addWidget(self.end)
        columns = QHBoxLayout()
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)
        talk_layout = QVBoxLayout(talk)
        talk_layout.setContentsMargins(24, 16, 24, 16)
        talk_layout.addLayout(columns, 1)
        talk_layout.addWidget(self.keyboard, 0, Qt.AlignmentFlag.AlignHCenter)
        self.main = QStackedWidget()
        self.main.addWidget(talk)
        self.main.addWidget(self.flow)
        self._talk = talk
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.main)
        self._flow_kind = ""
        self._lang: Language = "fi"

    def _typed(self, text: str) -> None:
        self._session.type_text(text)
        if self._actions:
            self._actions.send_text(text, False)

    def _key(self, char: str) -> None:
        self.entry.insert(char)
        self._typed(self.entry.text())

    def _backspace(self) -> None:
        self.entry.backspace()
        self._typed(self.entry.text())

    @property
    def keyboard_open(self) -> bool:
        return not self.keyboard.isHidden()

    def _toggle_keyboard(self) -> None:
        self.keyboard.setVisible(not self.keyboard_open)
        self._keyboard_label()

    def _keyboard_label(self) -> None:
        showing = self.keyboard_open
        self.keyboard_button.setText(i18n.text("hide_keyboard" if showing else "show_keyboard", self._lang))

    def _enter(self) -> None:
        text = self.entry.text()
        if not text:
            return
        self._session.type_text(text, final=True)
        if self._actions:
            self._actions.send_text(text, True)
        self.entry.setText("")  # not clear(): that can be undone (see clear below)

    def _end(self) -> None:
        self._session.hang_up()

    def _primary(self) -> None:
        if self._actions is None:
            return
        if self._flow_kind == "scan_place":
            self._actions.start_scan()
        elif self._flow_kind == "scan_preview":
            self._actions.send_scan()
        elif self._flow_kind in ("scan_done", "scan_failed"):
            self._session.close_scan()
        elif self._flow_kind in ("print_done", "print_failed"):
            self._session.close_print()
        elif self._flow_kind in ("identify_failed", "identify_remove_card"):
            # Both are already settled with the agent; OK only closes the panel (the survey reminds of the card).
            self._session.cancel_identify()
        elif self._flow_kind == "share_identity":
            self._actions.answer_share_identity(True)

    def _secondary(self) -> None:
        """Cancel: every sub-flow step that waits has it, so no device or card can hold the customer."""
        if self._actions is None:
            return
        if self._flow_kind in ("scan_place", "scan_preview", "scan_busy"):
            self._actions.decline_scan()
        elif self._flow_kind == "print_busy":
            self._actions.cancel_print()
        elif self._flow_kind.startswith("identify"):
            self._actions.cancel_identify()
        elif self._flow_kind == "share_identity":
            self._actions.answer_share_identity(False)

    def _place_video(self, *, in_flow: bool) -> None:
        """The agent's video: large beside the text panel, or small in the sub-flow's corner (PIP_SIZE)."""
        pip = self._pip.indexOf(self.remote) >= 0
        if in_flow and not pip:
            self._left.removeWidget(self.remote)
            self._pip.addWidget(self.remote)
            self.remote.setFixedSize(PIP_SIZE)
        elif not in_flow and pip:
            self._pip.removeWidget(self.remote)
            self.remote.setMinimumSize(0, 320)
            self.remote.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)
            self._left.insertWidget(1, self.remote, 1)

    def clear(self) -> None:
        """Forget everything shown of the last customer: text, typing, preview (privacy wipe)."""
        self.transcript.clear()
        self.agent_typing.clear()
        # setText, not QLineEdit.clear(): a clear can be undone, and Ctrl+Z on a keyboard plugged into the point
        # brought back what the last customer had typed. Setting the text empties the undo history too.
        self.entry.setText("")
        self.keyboard.reset()
        self.keyboard.setVisible(False)
        self.flow_preview.clear()
        # Qt 6's QLabel paints its picture through QIcon, which keeps each scaled picture in Qt's process-wide
        # pixmap cache (10 MB, least recently used first): without this the previews of the last ~35 customers'
        # scanned pages stayed in memory after their visits. What else is cached there (style pixmaps) is drawn
        # again when next needed.
        QPixmapCache.clear()
        # Nor may the clipboard keep what the customer copied (Ctrl+C in the text entry) for the next to paste.
        clipboard = QGuiApplication.clipboard()
        clipboard.clear(QClipboard.Mode.Clipboard)
        if clipboard.supportsSelection():
            clipboard.clear(QClipboard.Mode.Selection)
        self.flow_text.clear()
        self._flow_kind = ""
        self._place_video(in_flow=False)
        self.main.setCurrentWidget(self._talk)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        call = snap.call
        if call is None:
            self.clear()
            return
        self._lang = lang
        self.keyboard.set_language(lang)
        self._keyboard_label()
        self.producer.setText(call.producer.name.in_(lang))
        if isinstance(self.remote, QLabel):
            self.remote.setText(i18n.text("call_connected", lang))
        notices = [i18n.text("interpreter_joined", lang)] if call.interpreter else []
        if call.joined_agent is not None:
            notices.append(i18n.text("agent_joined", lang, producer=call.joined_agent.in_(lang)))
        if call.trouble:
            notices.insert(0, i18n.text(f"call_{call.trouble}", lang, default=i18n.text("call_reconnecting", lang)))
        self.interpreter.setVisible(bool(notices))
        self.interpreter.setText("\n".join(notices))
        who = {"customer": i18n.text("you", lang), "agent": i18n.text("agent", lang)}
        self.transcript.setText("\n".join(f"{who[line.who]}: {line.text}" for line in call.transcript[-8:]))
        self.agent_typing.setText(f"{who['agent']}: {call.agent_typing}" if call.agent_typing else "")
        self.entry.setPlaceholderText(i18n.text("type_here", lang))
        self.end.setText(i18n.text("end_call", lang))
        self._show_flow(call, lang, snap.host_kind, snap.staff_told)

    def _show_flow(self, call: Call, lang: Language, host: HostKind, told: tuple[str, ...] = ()) -> None:
        """``told``: devices whose fault the host's staff were told of (only those texts say so)."""
        kind, title, text, progress, primary, secondary = "", "", "", None, "", ""
        preview: bytes | None = None
        pin = False
        if call.identify is not None:
            ident = call.identify
            kind = f"identify_{ident.step}"
            title = i18n.text("identify_title", lang)
            text = i18n.text(f"identify_{ident.step}", lang)
            if ident.error:
                text = i18n.text(f"error_{ident.error}", lang, host=host) + "\n" + text
            if ident.tries_left is not None and ident.step == "enter_pin":
                text += "\n" + i18n.text("tries_left", lang, tries=ident.tries_left)
            pin = ident.step == "enter_pin"
            waiting = ("insert_card", "enter_pin", "checking")
            secondary = i18n.text("cancel", lang) if ident.step in waiting else ""
            primary = i18n.text("ok", lang) if ident.step in ("failed", "remove_card") else ""
        elif call.share_identity is not None:  # a joint call: the customer decides what the other agent sees
            kind, title = "share_identity", i18n.text("identify_title", lang)
            text = i18n.text("share_identity_question", lang, producer=call.share_identity.producer.in_(lang))
            primary, secondary = i18n.text("share_identity_yes", lang), i18n.text("share_identity_no", lang)
        elif call.scan is not None:
            scan = call.scan
            title = i18n.text("scan_title", lang)
            text = i18n.text(f"scan_{scan.step}", lang, pages=scan.pages - scan.blank)
            if scan.blank and scan.step == "preview":
                text += "\n" + i18n.text("scan_blank", lang, blank=scan.blank)
            if scan.error:
                said = scan.message.in_(lang) if scan.message else i18n.text(f"error_{scan.error}", lang, default="")
                said = fill_host(said, host, lang, told="scanner" in told)
                text = f"{said}\n{text}" if said else text
            preview = scan.preview if scan.step in ("preview", "sending") else None
            if scan.step == "place_paper":
                kind, primary, secondary = "scan_place", i18n.text("scan_start", lang), i18n.text("cancel", lang)
            elif scan.step == "preview":
                kind, primary = "scan_preview", i18n.text("scan_send", lang)
                secondary = i18n.text("scan_dont_send", lang)
            elif scan.step in ("sent", "failed"):
                kind, primary = f"scan_{'done' if scan.step == 'sent' else 'failed'}", i18n.text("ok", lang)
            else:
                kind, progress = "scan_busy", int(scan.progress * 100)
                secondary = i18n.text("cancel", lang)
        elif call.print_ is not None:
            job = call.print_
            title = i18n.text("print_title", lang)
            text = i18n.text(f"print_{job.step}", lang, pages=job.pages)
            if job.error:
                said = job.message.in_(lang) if job.message else i18n.text(f"error_{job.error}", lang, default="")
                said = fill_host(said, host, lang, told="printer" in told)
                text = f"{said}\n{text}" if said else text
            if job.step == "printing":
                kind, secondary = "print_busy", i18n.text("cancel", lang)
                progress = int(100 * job.pages_done / job.pages) if job.pages else 0
            else:
                kind, primary = f"print_{'done' if job.step == 'done' else 'failed'}", i18n.text("ok", lang)
        self._flow_kind = kind
        self._place_video(in_flow=bool(kind))
        self.main.setCurrentWidget(self.flow if kind else self._talk)
        self.flow_title.setText(title)
        self.flow_text.setText(text)
        self.flow_progress.setVisible(progress is not None)
        self.flow_progress.setValue(progress or 0)
        self.flow_preview.setVisible(preview is not None)
        if preview is not None:
            pixmap = QPixmap()
            if pixmap.loadFromData(preview):
                self.flow_preview.setPixmap(pixmap.scaledToHeight(320, Qt.TransformationMode.SmoothTransformation))
            else:  # an undecodable preview: the page count and the buttons still tell the customer enough
                self.flow_preview.clear()
        else:
            self.flow_preview.clear()
        if self.pin_pad is not None:
            self.pin_pad.setVisible(pin)
        self.flow_primary.setVisible(bool(primary))
        self.flow_primary.setText(primary)
        self.flow_secondary.setVisible(bool(secondary))
        self.flow_secondary.setText(secondary)


class SurveyScreen(QWidget):
    """End of the visit: reminders to take the card, the originals and the printouts; rating 1–5 or skip."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.title = label("title")
        self.reason = label("notice")
        self.reminders = label("subtitle")
        self.question = label("")
        self.ratings = [button(f"rate-{n}", partial(session.rate, n)) for n in range(1, 6)]
        self.skip = button("skip-survey", lambda: session.rate(None), secondary=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 32, 64, 32)
        layout.addWidget(self.title)
        layout.addWidget(self.reason)
        layout.addWidget(self.reminders)
        layout.addStretch(1)
        layout.addWidget(self.question)
        row = QHBoxLayout()
        for b in self.ratings:
            row.addWidget(b)
        layout.addLayout(row)
        layout.addWidget(self.skip, 0, Qt.AlignmentFlag.AlignHCenter)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        self.title.setText(i18n.text("thanks", lang))
        reason = snap.end_reason
        shown = bool(reason and reason != "hangup")
        self.reason.setVisible(shown)
        ended = i18n.text(f"ended_{reason}", lang, default=i18n.text("ended_other", lang), host=snap.host_kind)
        self.reason.setText(ended if shown else "")
        self.reminders.setText(i18n.text("reminders", lang))
        self.question.setText(i18n.text("survey_question", lang))
        for n, b in enumerate(self.ratings, 1):
            b.setText(f"{n}\n{i18n.text(f'rating_{n}', lang)}")
        self.skip.setText(i18n.text("skip", lang))
