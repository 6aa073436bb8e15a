"""The two widgets every kiosk screen is built from, so every screen looks and behaves alike: plain-text
labels that wrap (customer text is never interpreted as rich text), and buttons named for tests and
styled as primary or secondary by the theme."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton


def label(name: str = "", text: str = "", *, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(True)
    widget.setAlignment(align)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def button(name: str, on_click: Callable[[], None], *, secondary: bool = False) -> QPushButton:
    widget = QPushButton()
    widget.setObjectName(name)
    widget.setProperty("secondary", secondary)
    widget.clicked.connect(lambda _=False: on_click())
    return widget
