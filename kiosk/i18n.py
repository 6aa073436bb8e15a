"""The kiosk's words in Finnish, Swedish and English: a thin layer over the text catalogue
(:mod:`etapiste.texts`, keys ``kiosk.<key>``), plus how each language writes times and dates.

Customers read these, so they are short, plain and say what to do next. Every key exists in all three
languages (the catalogue's test checks). Formatting of times and dates follows each language's habit:
``10.00–20.00`` in Finnish and Swedish, ``10:00–20:00`` in English (24-hour clock throughout).
"""

from __future__ import annotations

import datetime as dt

from etapiste import texts
from etapiste.host import HostKind, fill_host, host_words
from etapiste.hours import TimeRange
from etapiste.language import LANGUAGES, Language

#: The language's own name, as written on its button.
LANGUAGE_NAMES: dict[Language, str] = {language: texts.text("language.name", language) for language in LANGUAGES}


def text(
    key: str, language: Language, default: str | None = None, *, host: HostKind | None = None, **values: object
) -> str:
    """The text for ``key`` in ``language`` with ``{placeholders}`` filled in; ``default`` (already in the
    right language) when the key is unknown, e.g. a device error code without a text of its own. A text
    that names the host's staff (``{staff}``) needs the host's kind, ``host`` (``Snapshot.host_kind``)."""
    if not texts.has(f"kiosk.{key}"):
        if default is None:
            raise KeyError(key)
        return fill_host(default, host, language) if host is not None else default
    words = host_words(host, language) if host is not None else {}
    return texts.text(f"kiosk.{key}", language, **words, **values)


def clock(t: dt.time, language: Language) -> str:
    sep = ":" if language == "en" else "."
    return f"{t.hour:02d}{sep}{t.minute:02d}" if language == "en" else f"{t.hour}{sep}{t.minute:02d}"


def period(r: TimeRange, language: Language) -> str:
    end = "24:00" if r.end is None and language == "en" else ("24.00" if r.end is None else clock(r.end, language))
    return f"{clock(r.start, language)}–{end}"


def periods(ranges: list[TimeRange], language: Language) -> str:
    return ", ".join(period(r, language) for r in ranges)


def when(start: dt.datetime, now: dt.datetime, language: Language) -> str:
    """A future moment in words: "tänään klo 10.00", "on Monday at 10:00", "6.1. klo 10.00"."""
    days = (start.date() - now.date()).days
    if days == 0:
        day = texts.text("kiosk.today", language)
    elif days == 1:
        day = texts.text("kiosk.tomorrow", language)
    elif days < 7:
        day = texts.text(f"kiosk.weekday.{start.weekday()}", language)
    elif language == "en":
        day = f"on {start.day} {start.strftime('%B')}"
    else:
        day = f"{start.day}.{start.month}."
    return f"{day} {texts.text('kiosk.at', language)} {clock(start.time(), language)}"
