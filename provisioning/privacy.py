"""Defence in depth for what leaves a point: redact anything that looks like personal data.

By construction the agent reports no personal data (statistics accept only counts, codes and
durations). Free text — a kiosk's error string, diagnostics logs — could still carry some by mistake
(an exception message quoting a name from a card). Before such text is published it passes through
:func:`scrub`, which redacts Finnish personal identity codes (HETU), SATU numbers, e-mail addresses,
phone numbers and long digit runs (card numbers, document numbers).
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # HETU: ddmmyy, century sign (+ - A–F, U–Y), 3 digits, check character.
    (re.compile(r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b"), "[hetu]"),
    # SATU (electronic identification number): 8 digits + check letter.
    (re.compile(r"\b\d{8}[0-9A-Z]\b"), "[satu]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"\+?\d[\d ()-]{7,}\d"), "[number]"),
]


def scrub(text: str) -> str:
    """``text`` with anything that looks like personal data replaced by a placeholder."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text
