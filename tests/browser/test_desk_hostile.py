"""The real desk page in Chromium against hostile peers: an interpreter who tries to open its own connection
and ``etapiste`` data channel to the agent (to receive the agent's print jobs and to pass forged "customer"
scans and text), and a point that sends forged data-channel frames (wrong types, sizes that are not numbers
or too large, unknown kinds, oversized chunks). The desk refuses each with a note the agent can read, keeps
nothing of it, and the genuine customer's channel goes on working."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from typing import Any

import aiohttp
import pytest
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from etapiste import protocol as p
from simulation.documents import pdf_of_size
from simulation.switchboard import POINT_CREDENTIALS, Client, serve
from simulation.waiting import polled
from tests.browser.point import TestPoint, loopback_only
from tests.browser.test_desk import login, until_frames, wait_in_page

pytestmark = pytest.mark.usefixtures("loopback_ice")


class RogueInterpreter:
    """A logged-in interpreter whose "desk" is an aiortc peer that, once invited into a call, offers the
    agent a connection of its own carrying an ``etapiste`` data channel (the point's privilege)."""

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.client: Client | None = None
        self.http: aiohttp.ClientSession | None = None
        self.pc: RTCPeerConnection | None = None
        self.dc: RTCDataChannel | None = None
        self.you = ""
        self.call = ""
        self.messages: list[Any] = []
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.http = await self.sb.login("tulkki")
        self.client = Client(await self.http.ws_connect(f"{self.sb.base}/ws/desk"))
        await self.client.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
        self.you = (await self.client.expect("welcome")).you

    async def join(self) -> None:
        assert self.client is not None
        invited = await self.client.expect("interpreter.invited", timeout=20)
        await self.client.send(p.InterpreterAccept(invite=invited.invite))
        self.call = (await self.client.expect("call.start")).call
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.client is not None
        while True:
            m = await self.client.next(timeout=3600)
            self.messages.append(m)
            if self.pc is None or m.type not in ("signal.answer", "signal.ice") or m.peer != self.target:
                continue
            if m.type == "signal.answer":
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=m.sdp, type="answer"))
            elif m.candidate and loopback_only(m.candidate.removeprefix("candidate:")):
                cand = candidate_from_sdp(m.candidate.removeprefix("candidate:"))
                cand.sdpMid, cand.sdpMLineIndex = m.sdp_mid, m.sdp_mline_index
                await self.pc.addIceCandidate(cand)

    async def offer_own_channel(self, target: str) -> None:
        """Offer ``target`` a connection with an ``etapiste`` data channel, as only the point may."""
        assert self.client is not None
        self.target = target
        self.pc = RTCPeerConnection()
        self.dc = self.pc.createDataChannel(p.DATA_CHANNEL_LABEL)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.client.send(p.Offer(call=self.call, peer=target, sdp=self.pc.localDescription.sdp))

    def answered(self) -> bool:
        return any(m.type == "signal.answer" and m.peer == self.target for m in self.messages)

    async def forge_scan(self, pdf: bytes) -> None:
        assert self.dc is not None
        self.dc.send(p.encode(p.DocBegin(transfer="forged", purpose="scan", name="forged.pdf", size=len(pdf),
                                         sha256=hashlib.sha256(pdf).hexdigest())))  # fmt: skip
        for off in range(0, len(pdf), p.CHUNK_BYTES):
            self.dc.send(pdf[off : off + p.CHUNK_BYTES])
        self.dc.send(p.encode(p.DocEnd(transfer="forged")))
        self.dc.send(p.encode(p.Rtt(seq=1, text="Forged words of the customer", final=True)))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.client is not None:
            await self.client.ws.close()
        if self.http is not None:
            await self.http.close()


async def answered_call(browser: Any, page: str, sb: Any, point: TestPoint) -> str:
    """The agent on ``page`` answers ``point``; returns the agent's participant id once media flows."""
    await login(browser, page, sb.base, "anna")
    await browser.acall("waitFor", name=page, selector="#queue-view")
    await point.connect()
    await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
    await browser.acall("click", name=page, selector="li[data-ticket] button.answer")
    await until_frames(browser, page)
    await point.until(lambda: point.dc is not None and point.dc.readyState == "open", what="data channel")
    return str(point.seen("call.start")[0].offer_to[0])


async def test_an_interpreter_cannot_open_its_own_data_channel_to_the_agent(browser, monkeypatch):
    async with serve() as sb:
        # The switchboard refuses such an offer itself (tests/switchboard/test_hub.py); here it relays it, as
        # a switchboard without that check would, to show the desk holds the line on its own.
        monkeypatch.setattr(sb.hub, "_offer_allowed", lambda call, sender, target: True)
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"])
        rogue = RogueInterpreter(sb)
        try:
            agent_id = await answered_call(browser, "agent-h1", sb, point)
            await rogue.connect()
            await browser.acall("fill", name="agent-h1", selector="#interpreter-language", value="ar")
            await browser.acall("click", name="agent-h1", selector="#invite")
            await rogue.join()
            await rogue.offer_own_channel(agent_id)

            async def outcome() -> str | None:
                if rogue.dc is not None and rogue.dc.readyState == "open":
                    return "the interpreter's data channel opened"
                refused = await browser.acall("evaluate", name="agent-h1", expression="desk.refusedPeers || 0")
                return "refused" if refused else None

            result = await polled(outcome, "the desk either refusing the offer or taking the channel", 30)
            if result != "refused":
                await rogue.forge_scan(pdf_of_size(20))
                with contextlib.suppress(Exception):
                    await wait_in_page(browser, "agent-h1", "desk.received.length > 0", 5000)
                shown = await browser.acall("text", name="agent-h1", selector="#call-view")
                raise AssertionError(f"{result}; the agent's page now shows: {shown[-300:]!r}")
            note = await browser.acall("text", name="agent-h1", selector="#message")
            assert "Tulkki Ar" in note and "refused" in note

            # The customer's own channel is untouched: text still reaches the point, a scan still arrives.
            await browser.acall("type", name="agent-h1", selector="#rtt-input", text="Hei")
            await point.until(lambda: point.rtt_current == "Hei", what="the agent's text at the point")
            point.scan_pdf = pdf_of_size(30)
            await browser.acall("click", name="agent-h1", selector="#scan")
            await wait_in_page(browser, "agent-h1", "desk.received.length === 1", 30000)
            assert await browser.acall("evaluate", name="agent-h1", expression="desk.received[0].name") == (
                "skannaus.pdf"
            )
            assert not rogue.answered() and (rogue.dc is None or rogue.dc.readyState != "open")
        finally:
            await rogue.close()
            await point.close()
            await browser.acall("close", name="agent-h1")


#: Frames a point (or whatever sits where the point should be) might send that the kiosk's own parser,
#: etapiste.protocol.parse_data, would refuse; the desk must refuse them the same way.
FORGED_FRAMES: list[tuple[str, str]] = [
    ("size that is not a number", json.dumps({"type": "doc.begin", "transfer": "f1", "purpose": "scan",
                                              "name": "a.pdf", "size": "lots", "sha256": "0" * 64})),
    ("fractional size", json.dumps({"type": "doc.begin", "transfer": "f2", "purpose": "scan", "name": "a.pdf",
                                    "size": 10.5, "sha256": "0" * 64})),
    ("bad checksum text", json.dumps({"type": "doc.begin", "transfer": "f3", "purpose": "scan", "name": "a.pdf",
                                      "size": 10, "sha256": "not-hex"})),
    ("transfer id outside the alphabet", json.dumps({"type": "doc.begin", "transfer": "../x", "purpose": "scan",
                                                     "name": "a.pdf", "size": 10, "sha256": "0" * 64})),
    ("text that is not a string", json.dumps({"type": "rtt", "seq": 1, "text": {"html": "<b>"}, "final": True})),
    ("text too long", json.dumps({"type": "rtt", "seq": 2, "text": "x" * 2001, "final": True})),
    ("unknown field", json.dumps({"type": "rtt", "seq": 3, "text": "x", "final": True, "html": "<b>x</b>"})),
    ("unknown scan state", json.dumps({"type": "scan.status", "request": "r1", "state": "hacked"})),
    ("pages not a number", json.dumps({"type": "print.status", "transfer": "t1", "state": "printing",
                                       "pages": "many"})),
    ("unknown kind", json.dumps({"type": "format.disk"})),
    ("no kind", json.dumps({"text": "hello"})),
    ("not an object", "[1, 2, 3]"),
    ("not JSON", "{{{"),
    ("oversized frame", json.dumps({"type": "rtt", "seq": 4, "text": "x" * (p.MAX_SIGNAL_BYTES + 10)})),
]  # fmt: skip


async def test_forged_data_channel_frames_are_refused_with_a_note_and_a_real_document_still_arrives(browser):
    async with serve() as sb:
        point = TestPoint(sb.base, "kemi-kirjasto", POINT_CREDENTIALS["kemi-kirjasto"])
        try:
            await answered_call(browser, "agent-h2", sb, point)
            assert point.dc is not None
            for n, (case, frame) in enumerate(FORGED_FRAMES, start=1):
                point.dc.send(frame)
                await wait_in_page(browser, "agent-h2", f"desk.refusedFrames === {n}", 10000)
                note = await browser.acall("text", name="agent-h2", selector="#message")
                assert "could not accept" in note, (case, note)
            # Chunks after the refused announcements belong to no transfer: dropped, nothing assembled.
            point.dc.send(b"%PDF-1.7 " + b"x" * 100)
            point.dc.send(json.dumps({"type": "doc.end", "transfer": "f1"}))

            # Valid but refused by the desk's rules, each answered with a reason the point understands.
            too_big = {"type": "doc.begin", "transfer": "big", "purpose": "scan", "name": "big.pdf",
                       "size": p.MAX_DOCUMENT_BYTES + 1, "sha256": "0" * 64}  # fmt: skip
            point.dc.send(json.dumps(too_big))
            await point.until(lambda: any(a.transfer == "big" for a in point.acks), what="too_large ack")
            assert next(a for a in point.acks if a.transfer == "big").reason == "too_large"
            print_job = {"type": "doc.begin", "transfer": "pj", "purpose": "print", "name": "p.pdf", "size": 10,
                         "sha256": "0" * 64}  # fmt: skip
            point.dc.send(json.dumps(print_job))
            await point.until(lambda: any(a.transfer == "pj" for a in point.acks), what="refusal of a print job")
            assert next(a for a in point.acks if a.transfer == "pj").reason == "cancelled"
            pdf = pdf_of_size(40)
            declared = {"type": "doc.begin", "transfer": "huge-chunk", "purpose": "scan", "name": "c.pdf",
                        "size": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest()}  # fmt: skip
            point.dc.send(json.dumps(declared))
            point.dc.send(pdf[: p.CHUNK_BYTES + 1])  # a chunk larger than the protocol allows
            await point.until(lambda: any(a.transfer == "huge-chunk" for a in point.acks), what="chunk refusal")
            assert next(a for a in point.acks if a.transfer == "huge-chunk").reason == "too_large"

            state = await browser.acall(
                "evaluate", name="agent-h2",
                expression="""({received: desk.received.length, incoming: desk.incoming,
                                links: document.querySelectorAll('#received a').length,
                                rtt: document.getElementById('rtt-remote-lines').textContent,
                                scan: document.getElementById('scan-status').textContent,
                                print: document.getElementById('print-status').textContent})""",
            )  # fmt: skip
            assert state == {"received": 0, "incoming": None, "links": 0, "rtt": "", "scan": "", "print": ""}
            refusals = await browser.acall("text", name="agent-h2", selector="#received")
            assert "big.pdf" in refusals and "too_large" in refusals and "c.pdf" in refusals

            # The genuine channel still works: a valid scan arrives whole and is offered to the agent.
            transfer = await point.send_document("scan", "hakemus.pdf", pdf)
            await wait_in_page(browser, "agent-h2", "desk.received.length === 1", 30000)
            assert await browser.acall("evaluate", name="agent-h2", expression="desk.received[0].sha256") == (
                hashlib.sha256(pdf).hexdigest()
            )
            await point.until(lambda: any(a.transfer == transfer and a.ok for a in point.acks), what="scan ack")
        finally:
            await point.close()
            await browser.acall("close", name="agent-h2")
