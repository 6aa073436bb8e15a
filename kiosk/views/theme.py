"""Colours and sizes of the kiosk, chosen for a customer of 80 with poor sight.

Contrast: body text #1B1B1B on #FFFFFF is 17:1, button text #FFFFFF on #0A4A86 is 9.3:1. Keyboard
focus turns a button yellow (#FFD400) with dark text and a 4 px dark border, so the focused button
differs from the others by more than 3:1 whether they are filled or outlined (WCAG 2.4.7 / 2.4.13).
Sizes are in pixels at a scale of 1.0 and multiplied by the text-size mode (1.4 in large text).
A test computes the contrast ratios from these constants (WCAG 2.x relative luminance).
"""

from __future__ import annotations

BACKGROUND = "#FFFFFF"
TEXT = "#1B1B1B"
MUTED_TEXT = "#3D3D3D"
ACCENT = "#0A4A86"
ACCENT_TEXT = "#FFFFFF"
NOTICE_BG = "#FFF4CE"
NOTICE_TEXT = "#1B1B1B"
FOCUS = "#1B1B1B"
FOCUS_BG = "#FFD400"

FONT_FAMILY = "DejaVu Sans"
BODY_PX = 30
TITLE_PX = 60
SUBTITLE_PX = 40
BUTTON_PX = 34
BUTTON_MIN_HEIGHT = 110
"""Touch targets: 110 px is ~29 mm on a 24" 1080p screen, far above WCAG 2.2's 24 CSS px minimum."""


def stylesheet(scale: float) -> str:
    """The application's style sheet at a text-size scale."""

    def px(v: int) -> int:
        return round(v * scale)

    return f"""
    QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-family: "{FONT_FAMILY}"; font-size: {px(BODY_PX)}px; }}
    QLabel#title {{ font-size: {px(TITLE_PX)}px; font-weight: bold; }}
    QLabel#subtitle {{ font-size: {px(SUBTITLE_PX)}px; }}
    QLabel#muted {{ color: {MUTED_TEXT}; }}
    QLabel#notice {{ background: {NOTICE_BG}; color: {NOTICE_TEXT}; padding: 16px; border-radius: 8px; }}
    QPushButton {{
        background: {ACCENT}; color: {ACCENT_TEXT}; font-size: {px(BUTTON_PX)}px; font-weight: bold;
        min-height: {px(BUTTON_MIN_HEIGHT)}px; padding: 8px 32px; border-radius: 12px; border: 4px solid {ACCENT};
    }}
    QPushButton[secondary="true"] {{ background: {BACKGROUND}; color: {ACCENT}; border: 4px solid {ACCENT}; }}
    QPushButton:focus, QPushButton[secondary="true"]:focus {{
        background: {FOCUS_BG}; color: {FOCUS}; border: 4px solid {FOCUS}; outline: none;
    }}
    """
