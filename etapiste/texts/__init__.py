"""Every word a person reads or hears from the point and the desk, in one catalogue: one JSON file per
language beside this module (``fi.json``, ``sv.json``, ``en.json``), looked up by key.

Why one catalogue: the kiosk's screens, the on-screen keyboard, the drivers' messages for the customer
and the staff, speech, and the agents' desk used to keep their words in five places and five shapes,
so a language could go missing in one of them unseen. Here a test checks the whole catalogue at once
(every key in every language, no empty text, the same ``{placeholders}`` in each language, a customer
and a staff text for every device error code), and the desk's part is exported from it
(``scripts/texts.py export-desk``). Plain JSON and no Qt: the state machine, the drivers and the
switchboard read it alike, and translators edit one file per language.

Keys, by who reads them:

    kiosk.<key>                 the kiosk's screens (``kiosk.i18n``), its keyboard (``kiosk.keyboard.*``,
                                ``kiosk.pin.*``) and the words of dates (``kiosk.weekday.<0-6>`` …)
    language.name               the language's own name, written on its button
    error.<code>.customer       what the customer is told about a device error (codes: ``etapiste.codes``)
    error.<code>.staff          what the host staff, ops and the agent see about it
    printer.* scanner.* camera.* the drivers' other sentences (warnings, pages kept, where in a PDF …)
    desk.<key>                  the agents' desk and the organiser's page (``switchboard/desk/i18n.js``)

Placeholders are ``str.format`` fields (``{tries}``); the desk's script fills the same ``{name}`` form.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources

from etapiste.language import LANGUAGES, Language


@functools.cache
def catalogue(language: Language) -> Mapping[str, str]:
    """Every text of one language by key (read once from the package's JSON file)."""
    raw = resources.files(__name__).joinpath(f"{language}.json").read_text(encoding="utf-8")
    texts = json.loads(raw)
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise ValueError(f"etapiste/texts/{language}.json must map keys to strings")
    return texts


def has(key: str) -> bool:
    """Whether ``key`` is in the catalogue (the completeness test keeps every language alike)."""
    return key in catalogue(LANGUAGES[0])


def template(key: str, language: Language) -> str:
    """The text of ``key`` with its ``{placeholders}`` unfilled, for callers that fill them leniently.
    Raises ``KeyError`` for a key the catalogue lacks."""
    return catalogue(language)[key]


def text(key: str, language: Language, **params: object) -> str:
    """The text of ``key`` in ``language`` with its ``{placeholders}`` filled from ``params``.
    Raises ``KeyError`` for an unknown key or a placeholder not given."""
    return template(key, language).format(**params)



def staff_advice(code: str | None, language: Language) -> str:
    """What the host's staff are told of a device code (``error.<code>.staff``, its placeholders and what
    follows the first of them left out: an alert or the host view has no details to fill), or the code itself.
    The notifier's mails and the switchboard's host view say the same words."""
    key = f"error.{code}.staff"
    if not code or not has(key):
        return code or ""
    words = template(key, language)
    return words if "{" not in words else words.split(" (")[0].split("{")[0].rstrip(" :(")


def word(key: str, language: Language) -> str:
    """The text of ``key``, or its last dotted part when the catalogue has none (a device it does not name)."""
    return text(key, language) if has(key) else key.rsplit(".", 1)[-1]
