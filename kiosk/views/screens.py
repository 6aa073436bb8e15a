"""The first screens: idle (waiting for a customer), closed, and out of service.

Each screen has ``show_snapshot(snapshot)``; the idle screen turns button presses into session intents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from etapiste.language import Language, Text
from kiosk import i18n
from kiosk.session import LargeText, Snapshot
from kiosk.views.widgets import label


class IdleScreen(QWidget):
    """Host name, a welcome in every language, today's hours, language buttons and accessibility."""

    def __init__(
        self,
        languages: list[Language],
        on_language: Callable[[Language], None],
        on_text_size: Callable[[LargeText], None],
        on_speech: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_text_size = on_text_size
        self._on_speech = on_speech
        self._speech = False
        self._size = LargeText.NORMAL
        self.host_name = label("subtitle")
        self.welcome = label("title")
        self.intro = label()
        self.hours = label("subtitle")
        self.prompt = label()
        self.devices = label("notice")
        self.language_buttons: dict[Language, QPushButton] = {}
        buttons = QHBoxLayout()
        buttons.setSpacing(32)
        for lang in languages:
            button = QPushButton(i18n.LANGUAGE_NAMES[lang])
            button.setObjectName(f"language-{lang}")
            button.setMinimumWidth(300)
            button.clicked.connect(lambda _=False, lang=lang: on_language(lang))
            self.language_buttons[lang] = button
            buttons.addWidget(button)
        self.text_size_button = QPushButton()
        self.text_size_button.setObjectName("text-size")
        self.text_size_button.setProperty("secondary", True)
        self.text_size_button.clicked.connect(self._toggle_text_size)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 48, 64, 48)
        layout.setSpacing(24)
        layout.addWidget(self.host_name)
        layout.addStretch(1)
        layout.addWidget(self.welcome)
        layout.addWidget(self.intro)
        layout.addWidget(self.hours)
        layout.addStretch(1)
        layout.addWidget(self.prompt)
        layout.addLayout(buttons)
        layout.addStretch(1)
        layout.addWidget(self.devices)
        # Speech is offered on the very first screen, before any choice (EAA: usable without help).
        self.speech_button = QPushButton()
        self.speech_button.setObjectName("speech")
        self.speech_button.setProperty("secondary", True)
        self.speech_button.clicked.connect(lambda _=False: on_speech(not self._speech) if on_speech else None)
        bottom = QHBoxLayout()
        bottom.addWidget(self.speech_button)
        bottom.addStretch(1)
        bottom.addWidget(self.text_size_button)
        layout.addLayout(bottom)

    def _toggle_text_size(self) -> None:
        self._on_text_size(LargeText.NORMAL if self._size is LargeText.LARGE else LargeText.LARGE)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        self._size = snap.text_size
        self.host_name.setText(snap.host_name.in_(lang))
        # The greeting is in every offered language: a customer finds their own before choosing.
        self.welcome.setText(" · ".join(i18n.text("welcome", lg) for lg in self.language_buttons))
        self.intro.setText(i18n.text("intro", lang))
        if snap.hours_today:
            self.hours.setText(i18n.text("open_today", lang, hours=i18n.periods(list(snap.hours_today), lang)))
        else:
            self.hours.setText(i18n.text("closed_today", lang))
        self.prompt.setText(i18n.text("choose_language", lang))
        for lg, button in self.language_buttons.items():
            button.setProperty("secondary", lg != lang)
            button.style().unpolish(button)
            button.style().polish(button)
        names = [i18n.text(f"device.{d}", lang) for d in snap.unavailable_devices]
        self.devices.setVisible(bool(names))
        self.devices.setText(i18n.text("devices_unavailable", lang, devices=", ".join(names)) if names else "")
        key = "normal_text" if snap.text_size is LargeText.LARGE else "larger_text"
        self.text_size_button.setText(i18n.text(key, lang))
        self._speech = snap.speech
        self.speech_button.setText(i18n.text("speech_on" if snap.speech else "speech", lang))


class ClosedScreen(QWidget):
    """Outside opening hours: says so and when the point opens next."""

    def __init__(self) -> None:
        super().__init__()
        self.host_name = label("subtitle")
        self.title = label("title")
        self.next = label("subtitle")
        self.note = label("muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 48, 64, 48)
        layout.addWidget(self.host_name)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.next)
        layout.addWidget(self.note)
        layout.addStretch(2)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        self.host_name.setText(snap.host_name.in_(lang))
        self.title.setText(i18n.text("closed_title", lang))
        if snap.next_opening is not None:
            midnight = dt.datetime.combine(snap.today, dt.time(0))
            when = i18n.when(snap.next_opening.start, midnight, lang)
            self.next.setText(i18n.text("next_opening", lang, when=when))
        else:
            self.next.setText(i18n.text("no_next_opening", lang, host=snap.host_kind))
        self.note.setText(" · ".join(i18n.text("closed_title", lg) for lg in ("fi", "sv", "en") if lg != lang))


class OutOfServiceScreen(QWidget):
    """Staff or ops took the point out of use; their message, and where to get help."""

    def __init__(self) -> None:
        super().__init__()
        self.host_name = label("subtitle")
        self.title = label("title")
        self.message = label("notice")
        self.help = label("subtitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 48, 64, 48)
        layout.addWidget(self.host_name)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.help)
        layout.addStretch(2)

    def show_snapshot(self, snap: Snapshot) -> None:
        lang = snap.language
        self.host_name.setText(snap.host_name.in_(lang))
        self.title.setText(i18n.text("out_of_service_title", lang))
        msg = snap.out_of_service_message
        shown = msg.in_(lang) if isinstance(msg, Text) else (msg or "")
        self.message.setText(shown)
        self.message.setVisible(bool(shown))
        self.help.setText(i18n.text("out_of_service_help", lang, host=snap.host_kind))
