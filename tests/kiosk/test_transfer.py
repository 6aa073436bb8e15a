"""The call's data channel under bad input from the far end: malformed, out-of-order and oversize frames are
refused or dropped with a reason, never crash the call and never hand the session a wrong document; and the
sender's backpressure keeps the buffer bounded. All over a real aiortc data channel through the switchboard."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from etapiste import protocol as p
from kiosk import transfer
from kiosk.call import PrintRequested, RttReceived
from kiosk.transfer import DocumentLink, TransferDone, TransferFailed
from simulation.call import connected_call
from simulation.documents import pdf_of_size
from simulation.switchboard import serve

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def still_talking(engine, events, agent, text: str) -> None:
    """The call survived: a line of real-time text still arrives."""
    agent.dc_send(p.Rtt(seq=10_000 + len(events.events), text=text, final=True))
    await events.first(RttReceived, lambda e: e.text == text)


def refusal(agent, transfer: str):
    return lambda: next((m for m in agent.data_seen("doc.ack") if m.transfer == transfer), None)


async def test_malformed_and_unknown_frames_are_dropped_and_the_call_goes_on():
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        for frame in (
            "not json at all",
            "[1, 2, 3]",
            json.dumps({"type": "rtt"}),  # missing fields
            json.dumps({"type": "rtt", "seq": 1, "text": "x", "colour": "red"}),  # unknown field
            json.dumps({"type": "doc.begin", "transfer": "../../etc", "purpose": "print", "name": "a",
                        "size": 10, "sha256": "0" * 64}),  # id outside the allowed alphabet
            json.dumps({"type": "format.disk"}),
            json.dumps({"type": "rtt", "seq": 0, "text": "x" * (p.MAX_SIGNAL_BYTES + 1)}),  # oversize text frame
        ):
            agent.raw(frame)
        await still_talking(engine, events, agent, "still here")
        assert engine.malformed_frames == 7
        assert not events.of(PrintRequested) and not events.of(TransferDone)


async def test_deeply_nested_frames_are_malformed_and_the_call_and_its_documents_go_on():
    """A kilobyte of brackets used to raise RecursionError out of the channel's message handler, which
    aiortc answered by ending the DTLS transport: the customer's call was gone."""
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        deep = "[" * 1000 + "]" * 1000
        agent.raw(deep)
        agent.raw('{"type": "rtt", "seq": 1, "final": true, "text": ' + deep + "}")
        agent.raw('{"type": "doc.begin", "transfer": ' + "{" + '"a":{' * 999 + "}" * 1000 + "}")
        await still_talking(engine, events, agent, "still here after the brackets")
        assert engine.malformed_frames == 3
        # A document still goes through the same channel, whole.
        pdf = pdf_of_size(40)
        await agent.send_document(pdf, transfer="after-brackets")
        received = await events.first(PrintRequested)
        assert received.pdf == pdf and received.sha256 == hashlib.sha256(pdf).hexdigest()


async def test_a_frame_the_point_fails_to_handle_costs_that_frame_not_the_call(monkeypatch, caplog):
    """Whatever goes wrong handling one valid frame (here a fault injected into the engine's dispatch) must
    not escape into aiortc, which would end the DTLS transport and with it the customer's call. The log
    names where it failed, never what the exception quoted (a frame carries the customer's words)."""
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        handle = engine._on_data

        def faulty(m, link, peer):
            if isinstance(m, p.Rtt) and m.text == "boom":
                raise RuntimeError(f"a fault while handling {m.text!r} for SPECIMEN-MAIJA")
            handle(m, link, peer)

        monkeypatch.setattr(engine, "_on_data", faulty)
        agent.dc_send(p.Rtt(seq=1, text="boom", final=True))
        await still_talking(engine, events, agent, "the call went on")
        assert engine.malformed_frames == 1
        logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        assert "could not be handled; dropped: RuntimeError at " in logged
        assert "SPECIMEN" not in logged and "boom" not in logged


async def test_out_of_order_frames_never_make_a_document_or_roll_back_the_text():
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        link: DocumentLink = engine.peers[next(iter(engine.peers))].link
        # Chunks and an end with no open transfer are dropped, not glued to a later document.
        agent.raw(b"%PDF-1.7 stray bytes")
        agent.dc_send(p.DocEnd(transfer="nothing-open"))
        # A late real-time-text frame (older seq) does not overwrite the newer line on screen.
        agent.dc_send(p.Rtt(seq=5, text="Hyvää päivää", final=False))
        agent.dc_send(p.Rtt(seq=3, text="Hyv", final=False))
        await still_talking(engine, events, agent, "ok")
        shown = [e.text for e in events.of(RttReceived)]
        assert shown == ["Hyvää päivää", "ok"]
        assert link.stray_frames == 2
        # A document sent afterwards is complete and unaffected by the stray bytes.
        pdf = pdf_of_size(50)
        await agent.send_document(pdf, transfer="after")
        assert (await events.first(PrintRequested)).pdf == pdf


async def test_an_end_for_another_transfer_does_not_complete_the_open_one():
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        pdf = pdf_of_size(40)
        await agent.send_document(pdf, transfer="real", end=False)
        agent.dc_send(p.DocEnd(transfer="other"))
        await still_talking(engine, events, agent, "wait")
        assert not events.of(PrintRequested)
        agent.dc_send(p.DocEnd(transfer="real"))
        assert (await events.first(PrintRequested)).pdf == pdf


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("oversize_chunk", "too_large"),
        ("more_than_declared", "size_mismatch"),
        ("less_than_declared", "size_mismatch"),
        ("wrong_checksum", "checksum_mismatch"),
        ("not_a_pdf", "not_pdf"),
        ("over_the_printer_limit", "too_large"),
    ],
)
async def test_a_bad_document_is_refused_with_its_reason_and_never_printed(case: str, reason: str):
    pdf = pdf_of_size(100)
    async with serve() as sb, connected_call(sb, max_print_bytes=150_000) as (engine, events, agent):
        if case == "oversize_chunk":
            await agent.send_document(pdf, transfer="t", chunk=p.CHUNK_BYTES * 2)
        elif case == "more_than_declared":
            await agent.send_document(pdf, transfer="t", declared_size=len(pdf) - 100)
        elif case == "less_than_declared":
            await agent.send_document(pdf[:-100], transfer="t", declared_size=len(pdf),
                                      declared_sha=hashlib.sha256(pdf).hexdigest())
        elif case == "wrong_checksum":
            await agent.send_document(pdf, transfer="t", declared_sha=hashlib.sha256(b"other").hexdigest())
        elif case == "not_a_pdf":
            await agent.send_document(b"MZ\x90\x00" + bytes(5000), transfer="t")
        else:
            await agent.send_document(pdf_of_size(200), transfer="t")
        ack = await agent.until(refusal(agent, "t"), what="the refusal")
        assert (ack.ok, ack.reason) == (False, reason)
        done = await events.first(TransferDone, lambda e: e.direction == "in")
        assert (done.ok, done.reason) == (False, reason)
        await still_talking(engine, events, agent, "again?")
        assert not events.of(PrintRequested)


async def test_a_second_document_while_one_is_open_is_told_busy_and_the_first_completes():
    async with serve() as sb, connected_call(sb) as (_, events, agent):
        first, second = pdf_of_size(60), pdf_of_size(30)
        await agent.send_document(first, transfer="first", end=False)
        agent.dc_send(p.DocBegin(transfer="second", purpose="print", name="b.pdf", size=len(second),
                                 sha256=hashlib.sha256(second).hexdigest()))
        ack = await agent.until(refusal(agent, "second"), what="busy")
        assert (ack.ok, ack.reason) == (False, "busy")
        agent.dc_send(p.DocEnd(transfer="first"))
        assert (await events.first(PrintRequested)).pdf == first


async def test_a_scan_the_agent_finds_corrupt_fails_on_the_point_with_the_reason():
    async with serve() as sb, connected_call(sb) as (engine, _, _agent):
        # The agent's side answers checksum_mismatch (what a desk does when bytes were damaged on the way).
        link: DocumentLink = engine.peers[next(iter(engine.peers))].link
        original = link._channel  # the point's own channel (connected_call waited for it to open)
        assert original is not None and original.readyState == "open"
        real_send = original.send

        def corrupt(data: str | bytes) -> None:
            if isinstance(data, bytes) and data.startswith(b"%PDF"):
                data = b"%PDF-9" + data[6:]
            real_send(data)

        link._channel = type("Corrupting", (), {  # the point's own channel, with one byte flipped on the way
            "send": staticmethod(corrupt),
            "readyState": property(lambda self: original.readyState),
            "bufferedAmount": property(lambda self: 0),
        })()
        with pytest.raises(TransferFailed) as failed:
            await engine.send_document(pdf_of_size(30), "scan", "s.pdf")
        assert failed.value.reason == "checksum_mismatch"


async def test_backpressure_keeps_the_send_buffer_bounded_while_a_large_scan_goes_out():
    scan = pdf_of_size(5 * 1024)
    async with serve() as sb, connected_call(sb) as (engine, _, agent):
        peer = engine.peers[next(iter(engine.peers))]
        channel = peer.channel
        highest = 0
        real_send = channel.send

        def watching(data: str | bytes) -> None:
            nonlocal highest
            highest = max(highest, channel.bufferedAmount)
            real_send(data)

        channel.send = watching
        done = await asyncio.wait_for(engine.send_document(scan, "scan", "big.pdf"), 120)
        assert done.ok
        body = (await agent.until(lambda: agent.received, what="the scan"))[0][1]
        assert hashlib.sha256(body).digest() == hashlib.sha256(scan).digest()
        # Never more than the high mark plus one chunk waits in the buffer.
        assert 0 < highest <= p.BUFFER_HIGH_BYTES + p.CHUNK_BYTES


def hold_verdicts(agent, gap: float | None) -> asyncio.Task[None]:
    """The agent's ``doc.progress`` and ``doc.ack`` leave one every ``gap`` seconds (a desk on a starved
    processor), or never (``None``: a desk that went silent); everything else as before."""
    real = agent.dc_send
    held: asyncio.Queue[p.BaseModel] = asyncio.Queue()

    async def pump() -> None:
        while gap is not None:
            message = await held.get()
            await asyncio.sleep(gap)
            real(message)

    def send(message: p.BaseModel) -> None:
        if message.type in ("doc.progress", "doc.ack"):
            held.put_nowait(message)
        else:
            real(message)

    agent.dc_send = send
    return asyncio.ensure_future(pump())


async def test_a_scan_still_being_confirmed_is_waited_for_past_the_answer_bound(monkeypatch):
    """The receiver confirms the bytes slowly, the verdict comes long after the bound: still delivered."""
    monkeypatch.setattr(transfer, "ACK_TIMEOUT_S", 1.5)
    scan = pdf_of_size(2 * 1024)  # eight progress reports, the last one ~4 s after the bytes arrived
    async with serve() as sb, connected_call(sb) as (engine, _, agent):
        pump = hold_verdicts(agent, 0.5)
        try:
            done = await asyncio.wait_for(engine.send_document(scan, "scan", "hidas.pdf"), 60)
        finally:
            pump.cancel()
        assert done.ok and done.sha256 == hashlib.sha256(scan).hexdigest()


async def test_a_scan_the_desk_never_answers_fails_with_no_answer_and_the_call_goes_on(monkeypatch):
    monkeypatch.setattr(transfer, "ACK_TIMEOUT_S", 1.5)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        pump = hold_verdicts(agent, None)
        try:
            with pytest.raises(TransferFailed) as failed:
                await asyncio.wait_for(engine.send_document(pdf_of_size(300), "scan", "s.pdf"), 60)
        finally:
            pump.cancel()
        assert failed.value.reason == "no_answer"
        await still_talking(engine, events, agent, "still here without an answer")
