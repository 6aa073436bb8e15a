"""The host's own words: what kind of place the point is in, and how a customer text names its staff.

A point stands in a library, a town hall, a shopping centre or a service point, so "ask the library staff"
is wrong in three of them. The catalogue's customer texts therefore never name the host: they carry
``{staff}`` (the staff as the object of "ask": *the library staff*, *kirjaston henkilökunnalta*,
*bibliotekets personal*) and ``{staff_told}`` (the whole sentence "The library staff have been told.").
Each kind writes its own phrases per language in the catalogue (``host.<kind>.staff``,
``host.<kind>.staff_told``), whole phrases rather than a word glued into a sentence, because Finnish puts
the host in a case the sentence chooses (*kirjaston henkilökunnalta*, *kauppakeskuksen asiakaspalvelusta*)
and a shopping centre's help is its customer service, not "staff".

The placeholders survive the drivers (a printer fault's customer text is made where the host is not
known) and are filled where the text is shown, by :func:`fill_host`.
"""

from __future__ import annotations

from typing import Literal, get_args

from etapiste import texts
from etapiste.language import Language

HostKind = Literal["library", "town_hall", "shopping_centre", "service_point", "other"]
"""What the host organisation is (``host.kind`` in the point's configuration)."""

HOST_KINDS: tuple[HostKind, ...] = get_args(HostKind)

#: The placeholders a customer text may use to name the host's staff.
HOST_WORDS: tuple[str, ...] = ("staff", "staff_told")


def host_words(kind: HostKind, language: Language) -> dict[str, str]:
    """The host's phrases for ``{staff}`` and ``{staff_told}`` in ``language``."""
    return {word: texts.text(f"host.{kind}.{word}", language) for word in HOST_WORDS}


def fill_host(text: str, kind: HostKind, language: Language, *, told: bool = True) -> str:
    """``text`` with the host's placeholders filled and everything else left as it is (a driver's message
    arrives with its own numbers already in; a text without the placeholders comes back unchanged).

    ``told=False``: the staff have not been told (yet) — the organiser's notifier has not accepted the alert
    (provisioning/notifier.py) — so ``{staff_told}`` becomes "Please ask {staff} for help." instead of a
    promise nobody kept."""
    words = host_words(kind, language)
    if not told:
        words["staff_told"] = texts.text("kiosk.staff_not_told", language, staff=words["staff"])
    for word, phrase in words.items():
        text = text.replace("{" + word + "}", phrase)
    return text
