"""The privacy information before a call (issue 21, item 10): who is responsible for the customer's data, what
is processed and for how long, and where the full privacy notices are.

Two parties are responsible: the **producer** for the call (what the customer discusses, sends and proves:
its agent works in its own systems) and the **organiser** for the room (its devices, which keep nothing of the
customer after the visit; only anonymous statistics). Both come from the point's configuration
(``organiser``, ``producers[].privacy_url``); a point without an organiser names only the producer.

The same sentences are shown on the notice screen (with a QR code to each full notice) and printed on
request: the printout carries the addresses in writing, for a customer without a phone. The page is drawn by
the printer test page's writer (:mod:`drivers.testpage`): one A4 page, no fonts or templates that could pick
up anything else. Nothing of the customer is on it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import segno

from drivers.testpage import render_test_page
from etapiste.config.point import PointConfig, Producer
from etapiste.language import Language
from kiosk import i18n

#: Characters per printed line (12 pt Helvetica inside the page's margins).
PRINT_WIDTH = 84


@dataclass(frozen=True)
class PrivacyNotice:
    """The privacy information for one producer's call, in one language."""

    title: str
    sentences: tuple[str, ...]
    """Responsible parties, what is processed, for how long: shown and printed in this order."""
    links: tuple[tuple[str, str], ...]
    """(whose, address) of each full privacy notice configured: the producer's first, then the organiser's."""
    more: str
    """How to get the full notice (scan the code, or print); empty when no address is configured."""
    language: Language


def privacy_notice(config: PointConfig, producer: Producer, language: Language) -> PrivacyNotice:
    """What the notice screen says about the customer's data before ``producer``'s call."""
    name = producer.name.in_(language)
    organiser = config.organiser
    sentences = [i18n.text("privacy_producer", language, producer=name)]
    if organiser is not None:
        sentences.append(i18n.text("privacy_organiser", language, organiser=organiser.name.in_(language)))
    sentences += [
        i18n.text("privacy_processed", language),
        i18n.text("privacy_kept", language, producer=name),
    ]
    links: list[tuple[str, str]] = []
    if producer.privacy_url:
        links.append((name, producer.privacy_url))
    if organiser is not None:
        links.append((organiser.name.in_(language), organiser.privacy_url))
    more = i18n.text("privacy_more", language) if links else ""
    return PrivacyNotice(i18n.text("privacy_title", language), tuple(sentences), tuple(links), more, language)


def printout(notice: PrivacyNotice) -> bytes:
    """The privacy information as a one-page PDF for the point's printer: the sentences, then each full
    notice's address written out."""
    lines: list[str] = []
    for sentence in notice.sentences:
        lines += [*textwrap.wrap(sentence, PRINT_WIDTH), ""]
    for whose, url in notice.links:
        # the address on a line of its own, whole: a customer types it from the paper
        lines += [*textwrap.wrap(i18n.text("privacy_notice_at", notice.language, name=whose), PRINT_WIDTH),
                  f"  {url}"]  # fmt: skip
    return render_test_page(notice.title, lines, ramp=False)


def qr_modules(url: str) -> list[list[bool]]:
    """The QR code of ``url`` as rows of dark (``True``) and light modules, without the quiet zone (the view
    draws that as a white margin)."""
    code = segno.make(url, error="m", micro=False)
    return [[bool(module) for module in row] for row in code.matrix]
