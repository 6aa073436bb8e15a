"""Every document flow and identity end to end through the engine, with checksums: print (agent → point →
printer progress back), scan (agent asks → customer consents → PDF to the agent), identification (nonce →
card → proof validated by the switchboard), and a call that drops in the middle of a transfer."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from etapiste import protocol as p
from kiosk.call import CallEnded, IdentifyRequested, IdentityResult, PrintRequested, ScanRequested
from kiosk.transfer import TransferDone, TransferFailed, TransferProgress
from simulation.call import connected_call
from simulation.card.pki import TestPki
from simulation.documents import pdf_of_size
from simulation.switchboard import make_config, serve
from switchboard.identity import proof_validator
from tests.switchboard.virtual_card import sign_token

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_agent_sends_a_pdf_to_print_and_sees_the_printer_progress():
    pdf = pdf_of_size(1500)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        await agent.send_document(pdf, "päätös.pdf", transfer="print-1")
        request = await events.first(PrintRequested, timeout=60)
        # The engine hands the session exactly the bytes the agent sent, already verified.
        assert request.name == "päätös.pdf" and request.pdf == pdf
        assert request.sha256 == hashlib.sha256(pdf).hexdigest()
        ack = await agent.until(lambda: agent.data_seen("doc.ack"), what="doc.ack")
        assert ack[0].ok and ack[0].transfer == "print-1"
        # Progress on both ends: the agent got doc.progress, the point's screen got TransferProgress.
        assert agent.data_seen("doc.progress")[-1].received == len(pdf)
        progress = [e.done for e in events.of(TransferProgress) if e.direction == "in"]
        assert progress[0] == 0 and progress[-1] == len(pdf) and progress == sorted(progress)
        # The session drives the printer and reports back; the agent sees every step.
        engine.report_print_progress("print-1", "printing", pages=1, pages_done=0)
        engine.report_print_progress("print-1", "done", pages=1, pages_done=1)
        await agent.until(lambda: len(agent.data_seen("print.status")) == 3, what="print progress")
        assert [m.state for m in agent.data_seen("print.status")] == ["received", "printing", "done"]


async def test_printer_failure_reaches_the_agent_with_its_reason():
    pdf = pdf_of_size(20)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        await agent.send_document(pdf, transfer="print-2")
        await events.first(PrintRequested)
        engine.report_print_progress("print-2", "failed", pages=1, pages_done=0, reason="out_of_paper")
        status = await agent.until(
            lambda: [m for m in agent.data_seen("print.status") if m.state == "failed"], what="failure"
        )
        assert status[0].reason == "out_of_paper"


async def test_agent_asks_for_a_scan_and_receives_the_customers_pdf_intact():
    scan = pdf_of_size(3000)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        agent.dc_send(p.ScanRequest(request="scan-1"))
        asked = await events.first(ScanRequested)
        assert asked.request == "scan-1"
        # The session shows the preview and the customer consents; then the engine sends the PDF.
        engine.report_scan_status("scan-1", "scanning")
        engine.report_scan_status("scan-1", "preview", pages=2)
        done = await engine.send_document(scan, "scan", "skannaus.pdf", request="scan-1")
        assert done.ok and done.sha256 == hashlib.sha256(scan).hexdigest()
        begin, body = (await agent.until(lambda: agent.received, what="the scan"))[0]
        assert begin.purpose == "scan" and body == scan
        await agent.until(lambda: [m for m in agent.data_seen("scan.status") if m.state == "sent"], what="sent")
        assert [m.state for m in agent.data_seen("scan.status")] == ["scanning", "preview", "sending", "sent"]
        # The customer's screen followed the agent's confirmed progress to the end.
        out = [e for e in events.of(TransferProgress) if e.direction == "out"]
        assert out[-1].done == out[-1].total == len(scan)
        assert events.of(TransferDone)[-1].ok


async def test_the_customer_declining_the_scan_is_reported_to_the_agent():
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        agent.dc_send(p.ScanRequest(request="scan-2"))
        await events.first(ScanRequested)
        assert engine.report_scan_status("scan-2", "declined")
        status = await agent.until(lambda: agent.data_seen("scan.status"), what="declined")
        assert status[0].state == "declined" and not agent.received


async def test_identification_nonce_to_card_to_verified_holder_at_the_desk(tmp_path: Path):
    pki = TestPki()
    card = pki.issue("v4", given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-HÄKKINEN", satu="999020016")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.issuing.pem)
    config = make_config(trusted_ca_files=[str(ca)])
    async with serve(config, validator=proof_validator([str(ca)])) as sb, connected_call(sb) as (engine, events, agent):
        await agent.send(p.IdentityStart(call=agent.call))
        asked = await events.first(IdentifyRequested)
        assert asked.origin == sb.origin and len(asked.nonce) >= 44
        engine.report_identity_status(asked.request, "insert_card")
        engine.report_identity_status(asked.request, "enter_pin")
        # What drivers.cardreader produces with a real card; here a virtual card of the test PKI.
        engine.send_proof(asked.request, sign_token(card, asked.origin, asked.nonce))
        result = await events.first(IdentityResult)
        assert result.ok and result.request == asked.request
        verdict = (await agent.until(lambda: agent.seen("identity.result"), what="identity.result"))[0]
        holder = (verdict.given_name, verdict.surname, verdict.satu)
        assert holder == ("SPECIMEN-BABAFÖ", "SPECIMEN-HÄKKINEN", "999020016")
        await agent.until(lambda: len(agent.data_seen("identity.status")) == 3, what="identity progress")
        assert [m.state for m in agent.data_seen("identity.status")] == ["insert_card", "enter_pin", "sent"]
        # The point is never told the customer's name (it has the card; the switchboard has the verdict).
        assert "SPECIMEN" not in repr(events.events)


async def test_customer_cancelling_identification_tells_the_agent_why():
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        await agent.send(p.IdentityStart(call=agent.call))
        asked = await events.first(IdentifyRequested)
        engine.abort_identity(asked.request, "pin_blocked")
        result = await events.first(IdentityResult)
        assert not result.ok and result.reason == "pin_blocked"
        verdict = (await agent.until(lambda: agent.seen("identity.result"), what="identity.result"))[0]
        assert not verdict.ok and verdict.reason == "pin_blocked"


async def test_a_call_ending_mid_transfer_fails_the_transfer_loudly_on_the_point():
    scan = pdf_of_size(12000)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        hung_up: list[asyncio.Task[None]] = []
        call = agent.call

        def hang_up_on_first_progress(event: object) -> None:
            if isinstance(event, TransferProgress) and event.direction == "out" and event.done > 0 and not hung_up:
                hung_up.append(asyncio.ensure_future(agent.send(p.Hangup(call=call))))

        engine.subscribe(hang_up_on_first_progress)
        task = engine.send_document(scan, "scan", "skannaus.pdf")
        with pytest.raises(TransferFailed) as failed:
            await asyncio.wait_for(task, 30)
        assert failed.value.reason == "call_dropped"
        done = events.of(TransferDone)[-1]
        assert (done.ok, done.reason, done.direction) == (False, "call_dropped", "out")
        assert (await events.first(CallEnded)).by == "agent"


async def test_a_call_ending_mid_print_download_fails_it_and_keeps_nothing():
    async with serve() as sb, connected_call(sb) as (_, events, agent):
        pdf = pdf_of_size(800)
        # Half a document, then the agent's page goes away.
        await agent.send_document(pdf[:400_000], transfer="print-3", declared_size=len(pdf),
                                  declared_sha=hashlib.sha256(pdf).hexdigest(), end=False)
        await events.first(TransferProgress, lambda e: e.direction == "in" and e.done > 0)
        await agent.send(p.Hangup(call=agent.call))
        done = await events.first(TransferDone, lambda e: e.direction == "in")
        assert (done.ok, done.reason) == (False, "call_dropped")
        assert not events.of(PrintRequested)


def reachable_from(root: object, limit: int = 20000) -> list[object]:
    """Every object reachable from ``root`` through attributes and containers (what the engine still holds)."""
    seen: set[int] = set()
    todo, found = [root], []
    while todo and len(found) < limit:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (type, int, float, bool)) or obj is None:
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, dict):
            todo += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += list(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (str, bytes, bytearray)):
            todo += list(vars(obj).values())
    return found


async def test_nothing_of_the_customer_stays_in_the_engine_after_the_call():
    marker = b"ETAPISTE-PRIVATE-MARKER"
    pdf = pdf_of_size(200).replace(b"%%EOF", b"%" + marker + b"\n%%EOF")
    scan = pdf_of_size(100).replace(b"%%EOF", b"%" + marker + b"\n%%EOF")
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        await agent.send_document(pdf, "henkilötiedot.pdf", transfer="print-p")
        await events.first(PrintRequested)
        await engine.send_document(scan, "scan", "passi.pdf")
        engine.send_rtt("henkilötunnukseni on 010101-123N", final=True)
        agent.dc_send(p.Rtt(seq=0, text="Kiitos, Matti Meikäläinen", final=True))
        await events.until(lambda: [e for e in events.events if type(e).__name__ == "RttReceived"])
        task = engine.hang_up()
        assert task is not None
        await task
        events.events.clear()  # the test's own copy of the events goes too
        held = reachable_from(engine)
        for obj in held:
            if isinstance(obj, (bytes, bytearray)):
                assert marker not in obj
            if isinstance(obj, str):
                assert "010101-123N" not in obj and "Meikäläinen" not in obj and "passi" not in obj
        assert engine.peers == {} and engine.call is None
