"""What the agent reads on the real desk page (headless Chromium) when identification fails because of the card
itself: revoked at the CA (asked of a real OCSP responder, simulation/services/ocsp.py), or its status could not be
checked. In the agent's language, in words, not a code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etapiste import protocol as p
from simulation.card.pki import TestPki
from simulation.services.ocsp import OcspResponder, ocsp_responder
from simulation.switchboard import PASSWORDS, POINT_CREDENTIALS, make_config, serve
from switchboard.config import Identity
from switchboard.identity import proof_validator
from tests.browser.point import TestPoint

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("loopback_ice")]


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def responder(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OcspResponder]:
    with ocsp_responder(pki, "v4", tmp_path_factory.mktemp("ocsp") / "v4") as running:
        yield running


async def _identify_at_the_desk(browser, pki: TestPki, card, tmp_path: Path, language: str, page: str) -> str:
    """Agent logs in (in ``language``), answers the point, presses Identify; the status line it then reads."""
    ca = tmp_path / "trusted-cas.pem"
    ca.write_bytes(pki.trusted_pem)
    identity = Identity(policies=["1.2.246.517.99.10.*"], ocsp={"timeout_s": 3})
    async with serve(make_config(trusted_ca_files=[str(ca)]), validator=proof_validator([str(ca)], identity)) as sb:
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"], card=card)
        try:
            await browser.acall("open", name=page)
            assert await browser.acall("goto", name=page, url=sb.base + "/") == 200
            await browser.acall(
                "evaluate", name=page, expression=f"localStorage.setItem('etapiste.lang', '{language}')"
            )
            await browser.acall("goto", name=page, url=sb.base + "/")
            await browser.acall("fill", name=page, selector="#username", value="anna")
            await browser.acall("fill", name=page, selector="#password", value=PASSWORDS["anna"])
            await browser.acall("click", name=page, selector="#login-button")
            await browser.acall("waitFor", name=page, selector="#queue-view")
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
            await browser.acall("click", name=page, selector="li[data-ticket] button.answer")
            await browser.acall("waitFor", name=page, selector="#call-view")
            await point.until(lambda: point.dc is not None and point.dc.readyState == "open", what="data channel")
            await browser.acall("click", name=page, selector="#identify")
            await point.until(lambda: point.seen("identity.result"), what="the verdict at the point")
            await browser.acall(
                "waitForFunction",
                name=page,
                expression="document.getElementById('identity-status').textContent.length > 40",
                timeout=20000,
            )
            assert not await browser.acall("visible", name=page, selector="#identity-holder")
            return str(await browser.acall("text", name=page, selector="#identity-status"))
        finally:
            await point.close()
            await browser.acall("close", name=page)


async def test_the_agent_reads_that_the_card_is_revoked_in_finnish(browser, pki, responder, tmp_path):
    card = pki.issue("v4")
    responder.revoke(card)
    shown = await _identify_at_the_desk(browser, pki, card, tmp_path, "fi", "revoked-fi")
    assert shown.startswith("Tunnistus epäonnistui: Kortti on suljettu")
    assert "revoked" not in shown, "a word, not the code"


async def test_the_agent_reads_that_the_cards_validity_could_not_be_checked(browser, pki, responder, tmp_path):
    card = pki.issue("v4")
    responder.good(card)
    responder.stop()
    try:
        shown = await _identify_at_the_desk(browser, pki, card, tmp_path, "en", "unknown-en")
    finally:
        responder.start()
    assert shown.startswith("Identification failed: The card's validity could not be checked")
