"""The real desk page in headless Chromium answering a point played by an aiortc peer, through the
switchboard: login, queue, alert, answer, media both ways, real-time text, identify with a virtual card,
a document each way with matching SHA-256, hang-up leaving nothing of the customer on the page."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from etapiste import protocol as p
from simulation.card.pki import TestPki
from simulation.documents import pdf_of_size
from simulation.switchboard import PASSWORDS, POINT_CREDENTIALS, make_config, serve
from switchboard.identity import proof_validator
from tests.browser.point import TestPoint

pytestmark = pytest.mark.usefixtures("loopback_ice")


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture
def ca_file(pki: TestPki, tmp_path: Path) -> str:
    path = tmp_path / "trusted-cas.pem"
    path.write_bytes(pki.trusted_pem)
    return str(path)


async def login(browser, page: str, base: str, username: str) -> None:
    await browser.acall("open", name=page)
    assert await browser.acall("goto", name=page, url=base + "/") == 200
    await browser.acall("evaluate", name=page, expression="localStorage.setItem('etapiste.lang', 'en')")
    await browser.acall("goto", name=page, url=base + "/")
    await browser.acall("fill", name=page, selector="#username", value=username)
    await browser.acall("fill", name=page, selector="#password", value=PASSWORDS[username])
    await browser.acall("click", name=page, selector="#login-button")


async def frames_decoded(browser, page: str, peer: str | None = None) -> int:
    arg = f"'{peer}'" if peer else ""
    return int(await browser.acall("evaluate", name=page, expression=f"desk.framesDecoded({arg})"))


async def wait_in_page(browser, page: str, expression: str, timeout_ms: int = 20000):
    return await browser.acall("waitForFunction", name=page, expression=expression, timeout=timeout_ms)


async def until_frames(browser, page: str, peer: str | None = None, timeout_s: float = 20.0) -> int:
    """Decoded video frames on ``page`` from ``peer`` (the point by default), once there are any."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        n = await frames_decoded(browser, page, peer)
        if n > 0:
            return n
        await asyncio.sleep(0.1)
    raise AssertionError(f"the {page} page decoded no video frames from {peer or 'the point'}")


async def test_agent_answers_a_point_and_serves_the_customer_end_to_end(browser, pki, ca_file, tmp_path):
    card = pki.issue("v4", given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-HÄKKINEN", satu="999020016")
    config = make_config(trusted_ca_files=[ca_file])
    async with serve(config, validator=proof_validator([ca_file])) as sb:
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"], card=card)
        try:
            await login(browser, "agent", sb.base, "anna")
            await browser.acall("waitFor", name="agent", selector="#queue-view")
            assert await browser.acall("text", name="agent", selector="#who") == "Anna / Kela"

            # The customer queues: the agent's page alerts, with sound, and lists where and in which language.
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="sv"))
            await browser.acall("waitFor", name="agent", selector="#alert")
            assert "Oulu library · SV" in await browser.acall("text", name="agent", selector="#alert")
            assert await browser.acall("evaluate", name="agent", expression="desk.alerts") >= 1
            position = await point.until(lambda: next(iter(point.seen("queue.position")), None), what="position")
            assert position.position == 1

            # Answer: media both ways.
            await browser.acall("click", name="agent", selector="li[data-ticket] button.answer")
            await browser.acall("waitFor", name="agent", selector="#call-view")
            assert not await browser.acall("visible", name="agent", selector="#alert")
            assert await until_frames(browser, "agent") > 0
            agent_id = point.seen("call.start")[0].offer_to[0]
            await point.until(lambda: point.frames[agent_id]["video"] > 5, what="video from the agent")
            await point.until(lambda: point.frames[agent_id]["audio"] > 5, what="audio from the agent")
            await point.until(lambda: point.dc is not None and point.dc.readyState == "open", what="data channel")

            # Real-time text both ways: each keystroke arrives, Enter commits the line.
            await browser.acall("type", name="agent", selector="#rtt-input", text="Hej")
            await point.until(lambda: point.rtt_current == "Hej", what="the agent's letters")
            await browser.acall("press", name="agent", selector="#rtt-input", key="Enter")
            await point.until(lambda: point.rtt_lines == ["Hej"], what="the agent's line")
            point.dc_send(p.Rtt(seq=0, text="Jag beh", final=False))
            await wait_in_page(
                browser, "agent", "document.getElementById('rtt-remote-current').textContent === 'Jag beh'"
            )
            point.dc_send(p.Rtt(seq=1, text="Jag behöver hjälp", final=True))
            await wait_in_page(
                browser,
                "agent",
                "document.getElementById('rtt-remote-lines').textContent.includes('Jag behöver hjälp')",
            )

            # Identify: nonce → virtual card → switchboard validation → verified holder on the desk.
            await browser.acall("click", name="agent", selector="#identify")
            await browser.acall("waitFor", name="agent", selector="#identity-holder")
            assert (
                await browser.acall("text", name="agent", selector="#identity-name")
                == "SPECIMEN-BABAFÖ SPECIMEN-HÄKKINEN"
            )
            assert await browser.acall("text", name="agent", selector="#identity-satu") == "999020016"

            # A PDF to print, agent → point, arrives intact; the desk shows the point's printing progress.
            pdf = pdf_of_size(1500)
            (tmp_path / "lomake.pdf").write_bytes(pdf)
            await browser.acall(
                "setInputFiles", name="agent", selector="#print-file", files=[str(tmp_path / "lomake.pdf")]
            )
            await point.until(lambda: point.printed, timeout=60, what="the document to print")
            name, data = point.printed[0]
            assert name == "lomake.pdf" and hashlib.sha256(data).hexdigest() == hashlib.sha256(pdf).hexdigest()
            await wait_in_page(browser, "agent", "document.getElementById('print-status').textContent === 'Printed.'")

            # A scan, point → agent: the desk receives it, checks it and shows it.
            point.scan_pdf = pdf_of_size(700)
            await browser.acall("click", name="agent", selector="#scan")
            await wait_in_page(browser, "agent", "desk.received.length === 1", 60000)
            page_sha = await browser.acall(
                "evaluate",
                name="agent",
                expression="""fetch(desk.received[0].url).then(r => r.arrayBuffer())
                  .then(b => crypto.subtle.digest('SHA-256', b))
                  .then(d => [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join(''))""",
            )
            assert page_sha == hashlib.sha256(point.scan_pdf).hexdigest()
            # The desk's verdict travels back over the data channel after the desk shows the scan.
            await point.until(lambda: point.acks, timeout=60, what="the desk's acknowledgement of the scan")
            assert point.acks[-1].ok
            await wait_in_page(
                browser, "agent", "document.getElementById('scan-status').textContent === 'Scan received.'"
            )
            assert "checksum matches" in await browser.acall("text", name="agent", selector="#received")

            # End: the point is told, and nothing of the customer stays on the desk page.
            await browser.acall("click", name="agent", selector="#hangup")
            await point.until(lambda: point.seen("call.ended"), what="call.ended")
            await browser.acall("waitFor", name="agent", selector="#queue-view")
            leftovers = await browser.acall(
                "evaluate",
                name="agent",
                expression="""({received: desk.received.length, text: document.body.innerText,
                                 storage: JSON.stringify(localStorage)})""",
            )
            assert leftovers["received"] == 0
            for personal in ("SPECIMEN", "999020016", "Jag behöver", "lomake.pdf", "skannaus"):
                assert personal not in leftovers["text"] and personal not in leftovers["storage"]
        finally:
            await point.close()
            await browser.acall("close", name="agent")


async def test_interpreter_joins_and_sees_and_hears_the_customer_and_the_agent(browser):
    async with serve() as sb:
        point = TestPoint(sb.base, "kemi-kirjasto", POINT_CREDENTIALS["kemi-kirjasto"])
        try:
            await login(browser, "agent2", sb.base, "anna")
            await login(browser, "interpreter", sb.base, "tulkki")
            await browser.acall("waitFor", name="interpreter", selector="#invite-view")
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
            await browser.acall("click", name="agent2", selector="li[data-ticket] button.answer")
            assert await until_frames(browser, "agent2") > 0

            await browser.acall("fill", name="agent2", selector="#interpreter-language", value="ar")
            await browser.acall("click", name="agent2", selector="#invite")
            await browser.acall("click", name="interpreter", selector="button.accept-invite")
            await browser.acall("waitFor", name="interpreter", selector="#call-view")
            interpreter_id = (await point.until(lambda: point.seen("call.peer_joined"), what="joined"))[0].peer.id
            agent_id = point.seen("call.start")[0].offer_to[0]
            assert await until_frames(browser, "interpreter", "point-kemi-kirjasto") > 0
            assert await until_frames(browser, "interpreter", agent_id) > 0
            assert await until_frames(browser, "agent2", interpreter_id) > 0
            await point.until(lambda: point.frames[interpreter_id]["video"] > 5, what="video from the interpreter")
            assert await browser.acall("visible", name="interpreter", selector="#identify") is False

            await browser.acall("click", name="interpreter", selector="#hangup")
            await point.until(lambda: point.seen("call.peer_left"), what="the interpreter leaving")
            assert point.call is not None, "the customer's call goes on without the interpreter"
        finally:
            await point.close()
            await browser.acall("close", name="agent2")
            await browser.acall("close", name="interpreter")
