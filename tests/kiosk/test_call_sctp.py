"""Documents over the data channel with the point's SCTP patch (kiosk/call/sctp.py): the receiver acknowledges
every second packet instead of every one, and documents still arrive whole, in order, through lost packets.

Two aiortc peer connections in this process over loopback, the patch installed on both for each test and
taken out after it (the kiosk's engine does not install it: measured slower from the agent's Chromium).
SACKs and DATA are counted at each SCTP transport's own methods; loss is injected in the sender's DTLS send,
below SCTP. No clock is read."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiortc
import pytest
from aiortc import RTCDataChannel, RTCPeerConnection
from aiortc.rtcsctptransport import USERDATA_MAX_LENGTH, DataChunk, RTCSctpTransport

from etapiste import protocol as p
from kiosk.call import sctp

pytestmark = pytest.mark.usefixtures("loopback_ice")

MiB = 1024 * 1024
SCTP_DATA = 0  # chunk type of DATA, the first byte after SCTP's 12-byte common header


@pytest.fixture(autouse=True)
def patched() -> Iterator[None]:
    """The patch for this test only (the kiosk's engine does not install it: see kiosk/call/sctp.py)."""
    assert sctp.install()
    yield
    sctp.uninstall()


class End:
    """One end of the call's data channel: what it received, in order."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.channel: RTCDataChannel | None = None
        self.messages: list[bytes] = []
        self.received = 0
        self.low = asyncio.Event()

    @property
    def sctp(self) -> Any:
        assert self.pc.sctp is not None
        return self.pc.sctp

    def attach(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.bufferedAmountLowThreshold = p.BUFFER_LOW_BYTES
        channel.on("bufferedamountlow", self.low.set)

        @channel.on("message")
        def on_message(message: bytes) -> None:
            self.messages.append(message)
            self.received += len(message)

    async def send(self, data: bytes) -> None:
        """Send ``data`` as the kiosk sends a document: 16 KiB messages, paused above 1 MiB buffered."""
        assert self.channel is not None
        for offset in range(0, len(data), p.CHUNK_BYTES):
            while self.channel.bufferedAmount > p.BUFFER_HIGH_BYTES:
                self.low.clear()
                await self.low.wait()
            self.channel.send(data[offset : offset + p.CHUNK_BYTES])

    async def until_received(self, size: int, what: str) -> None:
        try:
            await until(lambda: self.received >= size, what, 120)
        except AssertionError:
            raise AssertionError(f"{what}: {self.received} of {size} bytes arrived") from None


@contextlib.asynccontextmanager
async def data_channel() -> AsyncIterator[tuple[End, End]]:
    """A desk and a kiosk with an open data channel between them."""
    desk, kiosk = End(RTCPeerConnection()), End(RTCPeerConnection())
    desk.attach(desk.pc.createDataChannel("documents"))
    opened = asyncio.Event()

    @kiosk.pc.on("datachannel")
    def on_datachannel(channel: RTCDataChannel) -> None:
        kiosk.attach(channel)
        opened.set()

    try:
        await desk.pc.setLocalDescription(await desk.pc.createOffer())
        await kiosk.pc.setRemoteDescription(desk.pc.localDescription)
        await kiosk.pc.setLocalDescription(await kiosk.pc.createAnswer())
        await desk.pc.setRemoteDescription(kiosk.pc.localDescription)
        await asyncio.wait_for(opened.wait(), 30)
        assert desk.channel is not None
        while desk.channel.readyState != "open":
            await asyncio.sleep(0.01)
        # Both ends quiet: the channel's opening messages acknowledged, no SACK pending.
        ends = (desk.sctp, kiosk.sctp)
        await until(lambda: not any(e._sent_queue or e._sack_needed for e in ends), "the opening acknowledged")
        yield desk, kiosk
    finally:
        await desk.pc.close()
        await kiosk.pc.close()


def count_calls(obj: Any, name: str, counter: Counter[str], key: Callable[..., str | None]) -> None:
    """Count calls of ``obj``'s coroutine method ``name`` under ``key(*args)`` (``None``: not counted)."""
    original = getattr(obj, name)

    async def counted(*args: Any) -> Any:
        if (k := key(*args)) is not None:
            counter[k] += 1
        return await original(*args)

    setattr(obj, name, counted)


def count_sctp(sender: Any, receiver: Any) -> Counter[str]:
    """Count the DATA chunks the sender sends; the packets the receiver gets, "in order" (the next TSN, no gap
    open) or "out of order" (a gap opened, narrowed or filled, or a duplicate); and the SACKs it sends "on
    arrival" of a packet or later "by timer"."""
    seen: Counter[str] = Counter()
    receiving: set[asyncio.Task[Any] | None] = set()

    def packet(data: bytes) -> str | None:
        receiving.add(asyncio.current_task())
        if data[12] != SCTP_DATA:
            return None
        tsn = int.from_bytes(data[16:20], "big")  # aiortc sends one chunk a packet: the DATA chunk's TSN
        next_tsn = (receiver._last_received_tsn + 1) % 2**32
        return "in order" if tsn == next_tsn and not receiver._sack_misordered else "out of order"

    count_calls(sender, "_send_chunk", seen, lambda c: "data sent" if isinstance(c, DataChunk) else None)
    count_calls(receiver, "_handle_data", seen, packet)
    count_calls(receiver, "_send_sack", seen, lambda: "sacks on arrival" if asyncio.current_task() in receiving
                else "sacks by timer")  # fmt: skip
    return seen


async def test_a_document_arrives_intact_both_ways_at_once() -> None:
    async with data_channel() as (desk, kiosk):
        to_print, scan = os.urandom(3 * MiB + 12345), os.urandom(2 * MiB + 777)
        await asyncio.gather(desk.send(to_print), kiosk.send(scan))
        await kiosk.until_received(len(to_print), "the file to print")
        await desk.until_received(len(scan), "the scan")
        assert hashlib.sha256(b"".join(kiosk.messages)).digest() == hashlib.sha256(to_print).digest()
        assert hashlib.sha256(b"".join(desk.messages)).digest() == hashlib.sha256(scan).digest()


async def test_the_receiver_acknowledges_every_second_packet_not_every_one() -> None:
    async with data_channel() as (desk, kiosk):
        seen = count_sctp(desk.sctp, kiosk.sctp)
        document = os.urandom(2 * MiB)
        await desk.send(document)
        await kiosk.until_received(len(document), "the document")
        await until(lambda: not desk.sctp._sent_queue, "the last packets acknowledged")
        in_order, out_of_order = seen["in order"], seen["out of order"]
        on_arrival, sacks = seen["sacks on arrival"], seen["sacks on arrival"] + seen["sacks by timer"]
        packets = in_order + out_of_order
        assert packets >= len(document) // USERDATA_MAX_LENGTH
        assert sacks < packets, seen  # aiortc alone: one SACK a packet
        # On arrival: every second packet in order, and every packet out of order (a gap is reported at once,
        # for fast retransmit; loopback drops a few packets at the socket buffer).
        assert on_arrival <= in_order // 2 + out_of_order, seen
        assert sacks >= (packets - 1) // 2, seen  # RFC 9260 §6.2: at least one every second packet


async def test_a_lone_message_is_still_acknowledged() -> None:
    """A short message in one packet has no second packet to wait for: the delay's timer sends its SACK."""
    async with data_channel() as (desk, kiosk):
        seen = count_sctp(desk.sctp, kiosk.sctp)
        assert desk.channel is not None
        desk.channel.send(b'{"type": "doc.progress"}')
        await kiosk.until_received(1, "the message")
        await until(lambda: not desk.sctp._sent_queue, "the message acknowledged")
        assert seen == Counter({"data sent": 1, "in order": 1, "sacks by timer": 1})


async def test_lost_packets_are_resent_once_and_the_document_arrives_whole_and_in_order() -> None:
    async with data_channel() as (desk, kiosk):
        seen = count_sctp(desk.sctp, kiosk.sctp)
        dtls = desk.sctp.transport
        send_data = dtls._send_data
        sends: Counter[int] = Counter()  # DATA packets handed to DTLS, by TSN
        lost: list[int] = []

        async def lossy(data: bytes) -> None:
            if data[12] == SCTP_DATA:
                tsn = int.from_bytes(data[16:20], "big")
                sends[tsn] += 1
                if sends.total() % 53 == 0:  # one packet in 53 is lost on the way
                    lost.append(tsn)
                    return
            await send_data(data)

        dtls._send_data = lossy
        timeouts = 0  # T3 expiries: each resends every outstanding chunk (a loaded machine can stall the loop)
        t3_expired = desk.sctp._t3_expired

        def counted_t3_expired() -> None:
            nonlocal timeouts
            timeouts += 1
            t3_expired()

        desk.sctp._t3_expired = counted_t3_expired
        messages = [i.to_bytes(4, "big") + os.urandom(p.CHUNK_BYTES - 4) for i in range(160)]  # 2.5 MiB
        await desk.send(b"".join(messages))
        await kiosk.until_received(sum(map(len, messages)), "the document")
        assert kiosk.messages == messages  # whole, and in order
        assert len(lost) >= 20 and all(sends[tsn] >= 2 for tsn in lost)  # every lost packet was sent again
        # The receiver reported each gap at once (three reports start a fast retransmit)...
        assert seen["out of order"] >= 3 * len(lost), seen
        # ...and the sender resent each lost chunk once (twice if the resend was lost too), plus once per timeout.
        # aiortc alone resends it at every third report until the resend arrives: 7-30 times over loopback.
        assert max(sends.values()) <= 3 + timeouts, (sends.most_common(3), timeouts)


def test_on_another_aiortc_version_nothing_is_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    before = dict(vars(RTCSctpTransport))
    assert sctp.install() is False
    assert dict(vars(RTCSctpTransport)) == before


async def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"not seen: {what}") from None
