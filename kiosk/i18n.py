"""The kiosk's words in Finnish, Swedish and English.

Customers read these, so they are short, plain and say what to do next. Every key must exist in all
three languages (a test checks). Formatting of times and dates follows each language's habit:
``10.00–20.00`` in Finnish and Swedish, ``10:00–20:00`` in English (24-hour clock throughout).
"""

from __future__ import annotations

import datetime as dt

from provisioning.schema import Language, TimeRange

TEXTS: dict[str, dict[Language, str]] = {
    "welcome": {"fi": "Tervetuloa", "sv": "Välkommen", "en": "Welcome"},
    "intro": {
        "fi": "Täällä voit asioida viranomaisen kanssa videoyhteydellä.",
        "sv": "Här kan du sköta ärenden med myndigheter via videosamtal.",
        "en": "Here you can talk to public services over a video call.",
    },
    "choose_language": {
        "fi": "Valitse kieli aloittaaksesi",
        "sv": "Välj språk för att börja",
        "en": "Choose a language to start",
    },
    "open_today": {"fi": "Avoinna tänään {hours}", "sv": "Öppet i dag {hours}", "en": "Open today {hours}"},
    "closed_today": {"fi": "Tänään suljettu", "sv": "Stängt i dag", "en": "Closed today"},
    "closed_title": {
        "fi": "Palvelupiste on nyt suljettu",
        "sv": "Servicepunkten är stängd nu",
        "en": "The service point is closed now",
    },
    "next_opening": {
        "fi": "Avaamme {when}",
        "sv": "Vi öppnar {when}",
        "en": "We open {when}",
    },
    "no_next_opening": {
        "fi": "Aukioloajat kysyt kirjaston henkilökunnalta.",
        "sv": "Fråga bibliotekets personal om öppettiderna.",
        "en": "Please ask the library staff for the opening hours.",
    },
    "out_of_service_title": {
        "fi": "Palvelupiste ei ole nyt käytössä",
        "sv": "Servicepunkten är inte i bruk just nu",
        "en": "The service point is not in use right now",
    },
    "out_of_service_help": {
        "fi": "Kysy neuvoa kirjaston henkilökunnalta.",
        "sv": "Fråga bibliotekets personal om hjälp.",
        "en": "Please ask the library staff for help.",
    },
    "accessibility": {"fi": "Saavutettavuus", "sv": "Tillgänglighet", "en": "Accessibility"},
    "larger_text": {"fi": "Suurempi teksti", "sv": "Större text", "en": "Larger text"},
    "normal_text": {"fi": "Normaali teksti", "sv": "Normal text", "en": "Normal text"},
    "devices_unavailable": {
        "fi": "Ei käytettävissä nyt: {devices}",
        "sv": "Inte tillgängligt nu: {devices}",
        "en": "Not available now: {devices}",
    },
    "device.camera": {"fi": "kamera", "sv": "kamera", "en": "camera"},
    "device.printer": {"fi": "tulostin", "sv": "skrivare", "en": "printer"},
    "device.scanner": {"fi": "skanneri", "sv": "skanner", "en": "scanner"},
    "device.card_reader": {"fi": "henkilökortin lukija", "sv": "id-kortsläsare", "en": "ID card reader"},
    "device.microphone": {"fi": "mikrofoni", "sv": "mikrofon", "en": "microphone"},
    "device.speaker": {"fi": "kaiutin", "sv": "högtalare", "en": "speaker"},
}

#: The language's own name, as written on its button.
LANGUAGE_NAMES: dict[Language, str] = {"fi": "Suomi", "sv": "Svenska", "en": "English"}

_WEEKDAYS: dict[Language, tuple[str, ...]] = {
    "fi": ("maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina", "lauantaina", "sunnuntaina"),
    "sv": ("på måndag", "på tisdag", "på onsdag", "på torsdag", "på fredag", "på lördag", "på söndag"),
    "en": ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "on Saturday", "on Sunday"),
}
_TODAY: dict[Language, str] = {"fi": "tänään", "sv": "i dag", "en": "today"}
_TOMORROW: dict[Language, str] = {"fi": "huomenna", "sv": "i morgon", "en": "tomorrow"}
_AT: dict[Language, str] = {"fi": "klo", "sv": "kl.", "en": "at"}


def text(key: str, language: Language, **values: object) -> str:
    """The text for ``key`` in ``language`` with ``{placeholders}`` filled in."""
    return TEXTS[key][language].format(**values)


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
        day = _TODAY[language]
    elif days == 1:
        day = _TOMORROW[language]
    elif days < 7:
        day = _WEEKDAYS[language][start.weekday()]
    elif language == "en":
        day = f"on {start.day} {start.strftime('%B')}"
    else:
        day = f"{start.day}.{start.month}."
    return f"{day} {_AT[language]} {clock(start.time(), language)}"
