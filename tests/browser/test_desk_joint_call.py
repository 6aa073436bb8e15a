"""A joint call with the real desk page in headless Chromium (issue 22, item 2): Anna (Kela) answers the aiortc
point and invites "another service"; Maija (Migri) sees the invitation on her desk and accepts; media reaches
both agents (each decodes the customer's picture, Anna sees Maija's tile), a scan Maija asked for reaches
Maija's desk and not Anna's, and the identity Maija verified is shown on Anna's desk only after the customer
agreed on the kiosk. Maija leaves; the customer and Anna go on.

``DESK_SCREENSHOTS=docs/screenshots`` also saves the invitation and the joint call as pictures."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from etapiste import protocol as p
from etapiste.webeid.certificate import Holder
from kiosk.call import (
    AgentJoined,
    AgentLeft,
    CallConnected,
    IdentifyRequested,
    RemoteVideoFrame,
    ScanRequested,
    ShareIdentityAsked,
)
from simulation.call import point_engine
from simulation.documents import pdf_of_size
from simulation.switchboard import serve
from tests.browser.test_desk_transfer import _picture
from tests.kiosk.test_call_desk import login, until_desk_frames

pytestmark = pytest.mark.usefixtures("loopback_ice")

_EXPIRY = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
KELA, MIGRI = "desk-joint-kela", "desk-joint-migri"


def _validator(token: p.WebEidToken, nonce: str, origin: str, now: float) -> Holder:
    return Holder(given_name="SPECIMEN-ANNA", surname="MEIKÄLÄINEN", satu="999020016", not_after=_EXPIRY)


def _token() -> p.WebEidToken:
    return p.WebEidToken(unverifiedCertificate="MII" + "A" * 200, algorithm="ES384", signature="c2ln" * 16,
                         format="web-eid:1.0", appVersion="etapiste")  # fmt: skip


async def _text(browser, page: str, element: str) -> str:
    expression = f"document.getElementById('{element}').textContent"
    return str(await browser.acall("evaluate", name=page, expression=expression))


async def _answered_with_migri_online(browser, sb, engine, events) -> None:
    """Anna (Kela) and Maija (Migri) at their desks; Anna answers the point's call and it connects."""
    await login(browser, KELA, sb.base, "anna")
    await login(browser, MIGRI, sb.base, "maija")
    await engine.start(timeout=10)
    engine.request_call("kela", "fi")
    await browser.acall("waitFor", name=KELA, selector="#alert")
    await browser.acall("click", name=KELA, selector="li[data-ticket] button.answer")
    await events.first(CallConnected, timeout=30)


async def test_two_agents_of_two_producers_serve_the_customer_together(browser):
    async with serve(validator=_validator) as sb, point_engine(sb) as (engine, events):
        try:
            await _answered_with_migri_online(browser, sb, engine, events)

            # Anna invites Migri: the chooser lists the other producers, not her own.
            await browser.acall("waitForFunction", name=KELA,
                                expression="[...document.querySelectorAll('#joint-producer option')].length > 0")
            choices = await browser.acall("evaluate", name=KELA, expression=(
                "[...document.querySelectorAll('#joint-producer option')].map((o) => o.value)"))
            assert "migri" in choices and "kela" not in choices
            await browser.acall("evaluate", name=KELA,
                                expression="document.getElementById('joint-producer').value = 'migri'")
            await browser.acall("click", name=KELA, selector="#invite-agent")
            await browser.acall("waitFor", name=MIGRI, selector="button.accept-agent-invite")
            invitation = await _text(browser, MIGRI, "agent-invites")
            assert "Kela" in invitation and "Anna / Kela" in invitation
            await _picture(browser, MIGRI, "desk-joint-invitation-en")
            await browser.acall("click", name=MIGRI, selector="button.accept-agent-invite")

            joined = await events.first(AgentJoined, timeout=30)
            assert joined.producer == "migri"
            anna = next(pid for pid, peer in engine.peers.items() if peer.role == "agent" and pid != joined.peer)
            # Media reaches both agents: each decodes the customer's picture; the customer gets Maija's picture.
            await events.first(RemoteVideoFrame, lambda e: e.peer == joined.peer, timeout=40)
            assert await until_desk_frames(browser, MIGRI, 10) >= 10
            assert await until_desk_frames(browser, KELA, 10) >= 10
            # Anna sees Maija in a tile of her own (their desks connect to each other, the earlier offering).
            await browser.acall("waitFor", name=KELA, selector=f"#video-{joined.peer}", timeout=30000)
            await browser.acall("waitForFunction", name=KELA, timeout=40000,
                                expression=f"desk.framesDecoded('{joined.peer}').then((n) => n > 5)")
            assert "Migri" in await _text(browser, KELA, "message")

            # Maija asks for a scan: the document reaches her desk, not Anna's.
            await browser.acall("click", name=MIGRI, selector="#scan")
            scan_request = (await events.first(ScanRequested, timeout=20)).request
            scan = pdf_of_size(150)
            assert (await engine.send_document(scan, "scan", "passi.pdf", request=scan_request)).ok
            sha = await browser.acall("evaluate", name=MIGRI, expression="""fetch(desk.received[0].url)
                .then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b))
                .then(d => [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join(''))""")
            assert sha == hashlib.sha256(scan).hexdigest()
            assert await browser.acall("evaluate", name=KELA, expression="desk.received.length") == 0
            assert await _text(browser, KELA, "scan-status") == ""

            # Maija identifies the customer; Anna's desk shows nothing until the customer says yes on the kiosk.
            await browser.acall("click", name=MIGRI, selector="#identify")
            request = (await events.first(IdentifyRequested, timeout=20)).request
            engine.send_proof(request, _token())
            await browser.acall("waitForFunction", name=MIGRI,
                                expression="document.getElementById('identity-satu').textContent === '999020016'")
            asked = await events.first(ShareIdentityAsked, timeout=20)
            assert asked.peer == anna and asked.producer == "kela"
            assert await _text(browser, KELA, "identity-satu") == ""
            assert await browser.acall("evaluate", name=KELA,
                                       expression="document.getElementById('identity-holder').hidden")
            engine.share_identity(request, anna)
            await browser.acall("waitForFunction", name=KELA,
                                expression="document.getElementById('identity-satu').textContent === '999020016'")
            assert "Migri" in await _text(browser, KELA, "identity-status")
            await _picture(browser, KELA, "desk-joint-call-en")

            # Maija leaves; the customer and Anna go on, and Anna's tile of her goes.
            await browser.acall("click", name=MIGRI, selector="#hangup")
            assert (await events.first(AgentLeft, timeout=30)).peer == joined.peer
            await browser.acall("waitFor", name=KELA, selector=f"#video-{joined.peer}", state="detached")
            assert engine.call is not None and [peer.role for peer in engine.peers.values()] == ["agent"]
        finally:
            await browser.acall("close", name=KELA)
            await browser.acall("close", name=MIGRI)


async def test_the_second_agents_connection_dropping_is_not_told_as_the_customer_reconnecting(browser):
    """Maija's media stops mid joint call: Anna's connection to her fails, but the customer's does not, so
    Anna's desk must not say the customer is reconnecting (the customer's connection is fine)."""
    async with serve() as sb, point_engine(sb) as (engine, events):
        try:
            await _answered_with_migri_online(browser, sb, engine, events)
            await browser.acall("waitForFunction", name=KELA,
                                expression="[...document.querySelectorAll('#joint-producer option')].length > 0")
            await browser.acall("evaluate", name=KELA,
                                expression="document.getElementById('joint-producer').value = 'migri'")
            await browser.acall("click", name=KELA, selector="#invite-agent")
            await browser.acall("waitFor", name=MIGRI, selector="button.accept-agent-invite")
            await browser.acall("click", name=MIGRI, selector="button.accept-agent-invite")
            maija = (await events.first(AgentJoined, timeout=30)).peer
            state = f"desk.pcs.get('{maija}')?.connectionState"
            await browser.acall("waitForFunction", name=KELA, timeout=40000, expression=f"{state} === 'connected'")

            # Maija's media stops answering (her network, not her desk's socket): Anna's connection to her fails.
            await browser.acall("evaluate", name=MIGRI, expression="desk.pcs.forEach((pc) => pc.close())")
            await browser.acall("waitForFunction", name=KELA, timeout=60000,
                                expression=f"['disconnected', 'failed'].includes({state})")
            assert await browser.acall("evaluate", name=KELA, expression="desk.lastMessage") != "customer_reconnecting"
            point = "desk.pcs.get(desk.call.point).connectionState"
            assert await browser.acall("evaluate", name=KELA, expression=point) == "connected"
        finally:
            await browser.acall("close", name=KELA)
            await browser.acall("close", name=MIGRI)
