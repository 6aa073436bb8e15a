"""The wire protocol module, and the switchboard's behaviour when fed garbage (hypothesis fuzzing)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etapiste import protocol as p
from simulation.switchboard import serve

ROOT = Path(__file__).resolve().parents[2]

SAMPLES: list[p.BaseModel] = [
    p.PointHello(protocol=1, point="oulu-kirjasto", credential="c" * 43, software="etapiste 0.1"),
    p.DeskHello(protocol=1),
    p.Welcome(
        role="agent", you="desk-1", ice_servers=[p.IceServer(urls=["turn:t:3478"], username="1:a", credential="x")]
    ),
    p.Error(code="malformed", message="bad", ref="r1"),
    p.QueueRequest(producer="kela", queue="kela-general", language="sv"),
    p.QueuePosition(ticket="t-1", position=2, estimate_s=60, agents_online=3),
    p.QueuePosition(ticket="t-1", position=2, estimate_s=60, agents_online=3, language_agents=1),
    p.QueueEstimates(queues=[p.QueueEstimate(queue="kela-general", producer="kela", open=True, estimate_s=90,
                                             agents_online=2, waiting=1)]),
    p.QueueCancel(),
    p.QueueLeft(ticket="t-1", reason="timeout"),
    p.QueueSnapshot(
        queues=[
            p.QueueView(
                queue="q",
                producer="kela",
                open=True,
                entries=[p.QueueEntry(ticket="t-1", point="pt", language="fi", waited_s=3)],
            )
        ]
    ),
    p.QueueAccept(ticket="t-1"),
    p.QueueTransferred(call="c-1", ticket="t-2", queue="migri-general", producer="migri", from_producer="kela"),
    p.CallTransfer(call="c-1", queue="migri-general", reason="other_producer_matter"),
    p.AppointmentCheckIn(code="042917", language="sv"),
    p.AppointmentCheckedIn(ticket="t-3", producer="kela", queue="kela-general", start=1.8e9, agent_online=True),
    p.AppointmentRefused(reason="too_early", start=1.8e9, opens_at=1.8e9 - 900),
    p.AppointmentArrived(booking="b-1", ticket="t-3", point="oulu-kirjasto", place="Oulu", start=1.8e9),
    p.AppointmentDayRequest(),
    p.AppointmentDay(bookings=[p.AppointmentSlot(start=1.8e9, length_s=1800, producer="kela")]),
    p.CallStart(call="c-1", you="point-x", peers=[p.Peer(id="desk-1", role="agent", name="Anna")], offer_to=["desk-1"]),
    p.PeerJoined(call="c-1", peer=p.Peer(id="desk-2", role="interpreter"), offer=True),
    p.PeerLeft(call="c-1", peer="desk-2"),
    p.Offer(call="c-1", peer="desk-1", sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"),
    p.Answer(call="c-1", peer="desk-1", sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"),
    p.Ice(call="c-1", peer="desk-1", candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host", sdp_mid="0"),
    p.Ice(call="c-1", peer="desk-1"),
    p.Hangup(call="c-1"),
    p.CallEnded(call="c-1", reason="point_gone", by="point"),
    p.InterpreterInvite(call="c-1", language="ar"),
    p.InterpreterInvited(invite="i-1", call="c-1", producer="kela"),
    p.InterpreterAccept(invite="i-1"),
    p.InterpreterInviteGone(invite="i-1"),
    p.AgentInvite(call="c-1", producer="migri"),
    p.AgentInvited(invite="j-1", call="c-1", producer_from="kela", agent="Anna / Kela"),
    p.AgentAccept(invite="j-1"),
    p.AgentInviteGone(invite="j-1"),
    p.IdentityShare(call="c-1", request="r-1", peer="desk-3"),
    p.IdentityStart(call="c-1"),
    p.IdentityRequest(call="c-1", request="r-1", nonce="n" * 44, origin="https://sb.example"),
    p.IdentityProof(
        call="c-1",
        request="r-1",
        token=p.WebEidToken(
            unverifiedCertificate="M" * 120, algorithm="ES384", signature="s" * 128, format="web-eid:1.0"
        ),
    ),
    p.IdentityAbort(call="c-1", request="r-1", reason="cancelled"),
    p.IdentityResult(call="c-1", request="r-1", ok=True, given_name="A", surname="B", satu="999020016"),
    p.RoomStatus(out_of_service=True, faults=[p.RoomFault(device="printer", code="paper_out")]),
    p.RoomHelp(),
    p.RoomStaffComing(kind="device", device="printer"),
    p.RoomService(on=True, message="Suljettu tänään / Stängt i dag"),
]
DATA_SAMPLES: list[p.BaseModel] = [
    p.Rtt(seq=3, text="hei", final=False),
    p.DocBegin(transfer="x1", purpose="print", name="lomake.pdf", size=1000, sha256="a" * 64),
    p.DocEnd(transfer="x1"),
    p.DocProgress(transfer="x1", received=500),
    p.DocAck(transfer="x1", ok=False, reason="checksum_mismatch"),
    p.DocCancel(transfer="x1"),
    p.ScanRequest(request="s1"),
    p.ScanStatus(request="s1", state="preview", pages=2),
    p.PrintStatus(transfer="x1", state="failed", reason="out_of_paper"),
    p.IdentityStatus(request="r-1", state="enter_pin"),
    p.DeviceStatus(device="camera", ok=False, reason="unplugged"),
]


def test_every_message_type_has_a_sample_here():
    assert {m.type for m in SAMPLES} == p.SIGNAL_TYPES  # type: ignore[attr-defined]
    assert {m.type for m in DATA_SAMPLES} == p.DATA_TYPES  # type: ignore[attr-defined]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.type)
def test_signal_messages_survive_encoding(message):
    assert p.parse_signal(p.encode(message)) == message


@pytest.mark.parametrize("message", DATA_SAMPLES, ids=lambda m: m.type)
def test_data_channel_messages_survive_encoding(message):
    assert p.parse_data(p.encode(message)) == message


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"ref": "a"}', "malformed"),
        ('{"type": "queue.teleport"}', "unknown_type"),
        ('{"type": "queue.request", "producer": "kela", "queue": "q", "colour": "red"}', "malformed"),
        ('{"type": "queue.request", "producer": "kela", "queue": "q", "language": "de"}', "malformed"),
        ('{"type": "rtt", "seq": 1, "text": "hi"}', "unknown_type"),
        ("x" * (p.MAX_SIGNAL_BYTES + 1), "too_large"),
    ],
)
def test_bad_frames_get_a_precise_error_code(frame, code):
    with pytest.raises(p.ProtocolError) as err:
        p.parse_signal(frame)
    assert err.value.code == code
    assert err.value.reply().type == "error"


def test_error_names_the_field_and_echoes_the_reference():
    with pytest.raises(p.ProtocolError) as err:
        p.parse_signal('{"type": "queue.position", "ticket": "t-1", "position": 0, "ref": "r9"}')
    assert err.value.ref == "r9" and "position" in err.value.message


def test_data_channel_refuses_an_oversized_document_announcement():
    big = p.DocBegin(transfer="x", purpose="scan", name="a.pdf", size=1, sha256="0" * 64).model_dump()
    big["size"] = p.MAX_DOCUMENT_BYTES + 1
    with pytest.raises(p.ProtocolError) as err:
        p.parse_data(json.dumps(big))
    assert err.value.code == "malformed" and "size" in err.value.message


def test_the_protocol_document_describes_every_message():
    doc = (ROOT / "docs" / "protocol.md").read_text()
    for kind in sorted(p.SIGNAL_TYPES | p.DATA_TYPES):
        assert re.search(rf"`{re.escape(kind)}`", doc), f"docs/protocol.md does not describe {kind}"
    assert f"version {p.PROTOCOL_VERSION}" in doc.lower()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(p.SIGNAL_TYPES | p.DATA_TYPES | {"", "hello"}))},
    optional={
        k: json_values
        for k in (
            "ref",
            "call",
            "peer",
            "sdp",
            "ticket",
            "producer",
            "queue",
            "token",
            "request",
            "nonce",
            "protocol",
            "point",
            "credential",
            "candidate",
        )
    },
)


@given(st.one_of(st.text(max_size=200), json_values.map(json.dumps), message_like.map(json.dumps)))
@settings(max_examples=300, deadline=None)
def test_parsing_anything_either_succeeds_or_raises_protocol_error(frame):
    for parse in (p.parse_signal, p.parse_data):
        try:
            parse(frame)
        except p.ProtocolError as exc:
            assert exc.code in {"malformed", "unknown_type", "too_large"}


class _LoopThread:
    """The switchboard and a connected point and desk on an event loop in a thread, for hypothesis."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[_LoopThread, dict]]:
    runner = _LoopThread()
    ctx = serve()
    sb = runner.run(ctx.__aenter__())
    conns = {"sb": sb}

    async def connect():
        conns["point"] = await sb.point("oulu-kirjasto")
        await conns["point"].expect("welcome")
        conns["desk"] = await sb.desk("anna")

    runner.run(connect())
    yield runner, conns
    runner.run(ctx.__aexit__(None, None, None))
    runner.stop()


@given(
    frame=st.one_of(json_values.map(json.dumps), message_like.map(json.dumps), st.text(max_size=100)),
    side=st.sampled_from(["point", "desk"]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_switchboard_survives_fuzzed_frames_and_answers_each_bad_one_with_an_error(live, frame, side):
    runner, conns = live
    client = conns[side]

    async def exchange():
        for ticket in await conns["sb"].hub.state.all_tickets():  # a fuzzed valid request may have queued
            await conns["sb"].hub.state.take_ticket(ticket.id)
        client.backlog.clear()
        await client.send(frame)
        # A request this role may never send: its error proves the connection and the server are still alive.
        probe = p.QueueAccept(ticket="t-x", ref="alive") if side == "point" else p.QueueCancel(ref="alive")
        await client.send(probe)
        replies = []
        while True:
            msg = await client.next(timeout=5)
            replies.append(msg)
            if getattr(msg, "ref", None) == "alive":
                return replies

    replies = runner.run(exchange())
    assert replies[-1].type == "error" and replies[-1].code == "not_allowed"
    try:
        p.parse_signal(frame)
    except p.ProtocolError as exc:
        errors = [r for r in replies[:-1] if r.type == "error"]
        assert [e.code for e in errors] == [exc.code], replies


def test_a_malformed_reference_is_not_echoed_but_the_error_still_comes():
    with pytest.raises(p.ProtocolError) as err:
        p.parse_signal('{"ref": "lB\\u127a", "type": "identity.start", "call": 5}')
    assert err.value.ref is None and err.value.reply().code == "malformed"
