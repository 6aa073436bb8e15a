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
COMPACT_MIN_HEIGHT = 72
"""The customer bar's buttons (language, speech, text size, contrast): still ~19 mm."""
COMPACT_PX = 26
"""The bar's text does not grow with the text-size mode, so its six buttons always fit one 1280 px row."""


#: High-contrast mode: yellow on black (19.6:1), white on black for secondary text (21:1).
HC_BACKGROUND = "#000000"
HC_TEXT = "#FFFF00"
HC_MUTED_TEXT = "#FFFFFF"


def stylesheet(scale: float, high_contrast: bool = False) -> str:
    """The application's style sheet at a text-size scale, optionally in high contrast."""

    def px(v: int) -> int:
        return round(v * scale)

    if high_contrast:
        # Buttons are outlined yellow on black; the focused one is filled yellow with black text.
        bg, text, muted, notice_bg, notice_text = HC_BACKGROUND, HC_TEXT, HC_MUTED_TEXT, HC_BACKGROUND, HC_TEXT
        accent, accent_text, accent_border = HC_BACKGROUND, HC_TEXT, HC_TEXT
        focus_bg, focus = HC_TEXT, HC_BACKGROUND
        secondary_fg = HC_MUTED_TEXT
    else:
        bg, text, muted, notice_bg, notice_text = BACKGROUND, TEXT, MUTED_TEXT, NOTICE_BG, NOTICE_TEXT
        accent, accent_text, accent_border = ACCENT, ACCENT_TEXT, ACCENT
        focus_bg, focus = FOCUS_BG, FOCUS
        secondary_fg = ACCENT

    return f"""
    QWidget {{ background: {bg}; color: {text}; font-family: "{FONT_FAMILY}"; font-size: {px(BODY_PX)}px; }}
    QLabel#title {{ font-size: {px(TITLE_PX)}px; font-weight: bold; }}
    QLabel#subtitle {{ font-size: {px(SUBTITLE_PX)}px; }}
    QLabel#muted {{ color: {muted}; }}
    QLabel#notice {{ background: {notice_bg}; color: {notice_text}; padding: 16px; border-radius: 8px;
                     border: 2px solid {notice_text}; }}
    QPushButton {{
        background: {accent}; color: {accent_text}; font-size: {px(BUTTON_PX)}px; font-weight: bold;
        min-height: {px(BUTTON_MIN_HEIGHT)}px; padding: 8px 32px; border-radius: 12px;
        border: 4px solid {accent_border};
    }}
    QPushButton[compact="true"] {{
        min-height: {COMPACT_MIN_HEIGHT}px; padding: 4px 14px; font-size: {COMPACT_PX}px;
    }}
    QPushButton[producer="true"] {{ min-height: {px(84)}px; padding: 6px 24px; font-size: {px(28)}px; }}
    QPushButton:disabled {{ background: {bg}; color: {muted}; border: 4px dashed {muted}; }}
    QPushButton[secondary="true"] {{ background: {bg}; color: {secondary_fg}; border: 4px solid {secondary_fg}; }}
    QLineEdit {{ border: 3px solid {text}; padding: 12px; min-height: {px(60)}px; }}
    QProgressBar {{ border: 3px solid {text}; min-height: {px(40)}px; text-align: center; }}
    QProgressBar::chunk {{ background: {accent_border}; }}
    QPushButton:focus, QPushButton[secondary="true"]:focus {{
        background: {focus_bg}; color: {focus}; border: 4px solid {text}; outline: none;
    }}
    """
