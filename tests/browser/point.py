"""A point played by an aiortc peer, speaking etapiste.protocol: the desk tests' customer side.

It does what the kiosk's call engine will do, minus the devices: it queues, offers to every participant it
is told to (creating the ``etapiste`` data channel towards the agent), sends synthetic video and audio,
counts what it receives, answers real-time text, receives documents to print (checking size and SHA-256)
and reports print progress, sends a scan when asked, and signs identity requests with a virtual card.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from etapiste import protocol as p
from simulation.card.pki import CardIdentity
from simulation.waiting import until_changed
from tests.switchboard.virtual_card import sign_token


class PatternVideo(VideoStreamTrack):
    """A moving colour pattern (small, so encoding costs little CPU on a shared machine)."""

    def __init__(self, width: int = 320, height: int = 240):
        super().__init__()
        x = np.linspace(0, 255, width, dtype=np.uint8)
        self._base = np.stack([np.tile(x, (height, 1))] * 3, axis=-1)
        self._n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        img = np.roll(self._base, self._n * 4, axis=1)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class TonePoint(AudioStreamTrack):
    """A 440 Hz tone instead of silence, so what the agent hears is not empty."""

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        samples = frame.samples
        t = (np.arange(samples) + (frame.pts or 0)) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * 3000).astype(np.int16)
        data = np.tile(tone, (len(frame.layout.channels), 1)).T.reshape(1, -1)
        out = av.AudioFrame.from_ndarray(data, format="s16", layout=frame.layout.name)
        out.sample_rate, out.pts, out.time_base = 48000, frame.pts, fractions.Fraction(1, 48000)
        return out


def loopback_only(candidate: str) -> bool:
    """Only UDP candidates on 127.0.0.1: no test traffic may leave loopback."""
    parts = candidate.split()
    return len(parts) > 5 and parts[2].lower() == "udp" and parts[4] == "127.0.0.1"


class TestPoint:
    __test__ = False

    def __init__(
        self,
        base_url: str,
        point_id: str,
        credential: str,
        card: CardIdentity | None = None,
        relay_only: bool = False,
    ):
        self.url = base_url.replace("http://", "ws://") + "/ws/point"
        self.point_id, self.credential, self.card = point_id, credential, card
        self.relay_only = relay_only
        self.http = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[Any] = []
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.frames: dict[str, dict[str, int]] = defaultdict(lambda: {"video": 0, "audio": 0})
        self.dc: RTCDataChannel | None = None
        self.call: str | None = None
        self.ice_servers: list[p.IceServer] = []
        self.rtt_current, self.rtt_lines = "", []  # type: tuple[str, list[str]]
        self.printed: list[tuple[str, bytes]] = []
        self.acks: list[p.DocAck] = []
        self.scan_pdf: bytes = b""
        self._incoming: dict[str, Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._low = asyncio.Event()

    # ------------------------------------------------------------------------------------------- plumbing

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _note(self) -> None:
        self._changed.set()

    async def until(self, check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        return await until_changed(check, self._changed, timeout, lambda: f"the point never saw: {what}")

    def seen(self, kind: str) -> list[Any]:
        return [m for m in self.messages if m.type == kind]

    async def send(self, message: p.BaseModel) -> None:
        assert self.ws is not None
        await self.ws.send_str(p.encode(message))

    async def connect(self) -> p.Welcome:
        self.ws = await self.http.ws_connect(self.url)
        await self.send(p.PointHello(protocol=p.PROTOCOL_VERSION, point=self.point_id, credential=self.credential,
                                     features=list(p.POINT_FEATURES)))
        self._spawn(self._read())
        welcome = await self.until(lambda: next(iter(self.seen("welcome")), None), 10, "welcome")
        self.ice_servers = welcome.ice_servers
        return welcome  # type: ignore[no-any-return]

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = p.parse_signal(msg.data)
            self.messages.append(message)
            try:
                await self._on_signal(message)
            finally:
                self._note()

    async def close(self) -> None:
        for pc in list(self.pcs.values()):
            await pc.close()
        if self.ws is not None:
            await self.ws.close()
        for task in list(self._tasks):
            task.cancel()
        await self.http.close()

    # ------------------------------------------------------------------------------------------- signalling

    async def _on_signal(self, m: Any) -> None:
        if m.type == "call.start":
            self.call = m.call
            self.ice_servers = m.ice_servers or self.ice_servers
            roles = {peer.id: peer.role for peer in m.peers}
            for peer in m.offer_to:
                await self._offer(peer, data_channel=roles.get(peer) == "agent")
        elif m.type == "call.peer_joined" and m.offer:
            await self._offer(m.peer.id, data_channel=False)
        elif m.type == "signal.answer":
            await self.pcs[m.peer].setRemoteDescription(RTCSessionDescription(sdp=m.sdp, type="answer"))
        elif m.type == "signal.ice" and m.candidate and m.peer in self.pcs:
            text = m.candidate.removeprefix("candidate:")
            if loopback_only(text):
                cand = candidate_from_sdp(text)
                cand.sdpMid, cand.sdpMLineIndex = m.sdp_mid, m.sdp_mline_index
                await self.pcs[m.peer].addIceCandidate(cand)
        elif m.type == "call.peer_left" and m.peer in self.pcs:
            await self.pcs.pop(m.peer).close()
        elif m.type == "call.ended":
            for pc in list(self.pcs.values()):
                await pc.close()
            self.pcs.clear()
            self.dc, self.call = None, None
        elif m.type == "identity.request":
            self._spawn(self._identify(m))

    async def _offer(self, peer: str, data_channel: bool) -> None:
        servers = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in self.ice_servers]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        self.pcs[peer] = pc
        pc.addTrack(TonePoint())
        pc.addTrack(PatternVideo())
        if data_channel:
            self._setup_data(pc.createDataChannel(p.DATA_CHANNEL_LABEL))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._spawn(self._consume(peer, track))

        await pc.setLocalDescription(await pc.createOffer())
        assert self.call is not None
        await self.send(p.Offer(call=self.call, peer=peer, sdp=pc.localDescription.sdp))

    async def _consume(self, peer: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames[peer][track.kind] += 1
                self._note()

    # ------------------------------------------------------------------------------------------- data channel

    def _setup_data(self, dc: RTCDataChannel) -> None:
        self.dc = dc
        dc.bufferedAmountLowThreshold = p.BUFFER_LOW_BYTES

        @dc.on("open")
        def on_open() -> None:
            self._note()

        @dc.on("bufferedamountlow")
        def on_low() -> None:
            self._low.set()

        @dc.on("message")
        def on_message(data: str | bytes) -> None:
            if isinstance(data, bytes):
                self._on_chunk(data)
            else:
                self._spawn(self._on_data(p.parse_data(data)))
            self._note()

    def dc_send(self, message: p.BaseModel) -> None:
        assert self.dc is not None and self.dc.readyState == "open", "the data channel is not open"
        self.dc.send(p.encode(message))

    async def _on_data(self, m: Any) -> None:
        if m.type == "rtt":
            if m.final:
                self.rtt_lines.append(m.text)
                self.rtt_current = ""
            else:
                self.rtt_current = m.text
        elif m.type == "doc.begin":
            self._incoming = {"begin": m, "data": bytearray()}
        elif m.type == "doc.end":
            await self._on_doc_end(m)
        elif m.type == "doc.ack":
            self.acks.append(m)
        elif m.type == "scan.request":
            await self._scan(m)
        self._note()

    def _on_chunk(self, data: bytes) -> None:
        if self._incoming is not None:
            self._incoming["data"] += data

    async def _on_doc_end(self, m: p.DocEnd) -> None:
        incoming, self._incoming = self._incoming, None
        assert incoming is not None and incoming["begin"].transfer == m.transfer
        begin: p.DocBegin = incoming["begin"]
        data = bytes(incoming["data"])
        ok = len(data) == begin.size and hashlib.sha256(data).hexdigest() == begin.sha256 and data[:5] == b"%PDF-"
        self.dc_send(p.DocAck(transfer=begin.transfer, ok=ok, reason=None if ok else "checksum_mismatch"))
        if not ok:
            return
        self.printed.append((begin.name, data))
        # What the kiosk reports while its printer works (the printer itself is the drivers' tests' business).
        for state, done in (("received", 0), ("printing", 1), ("done", 2)):
            self.dc_send(p.PrintStatus(transfer=begin.transfer, state=state, pages=2, pages_done=done))
            await asyncio.sleep(0.05)

    async def send_document(self, purpose: str, name: str, data: bytes) -> str:
        transfer = f"x{int(time.monotonic() * 1000)}"
        self.dc_send(
            p.DocBegin(
                transfer=transfer, purpose=purpose, name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest()
            )
        )
        assert self.dc is not None
        for off in range(0, len(data), p.CHUNK_BYTES):
            if self.dc.bufferedAmount > p.BUFFER_HIGH_BYTES:
                self._low.clear()
                await asyncio.wait_for(self._low.wait(), 30)
            self.dc.send(data[off : off + p.CHUNK_BYTES])
        self.dc_send(p.DocEnd(transfer=transfer))
        return transfer

    async def _scan(self, m: p.ScanRequest) -> None:
        for state in ("waiting_customer", "scanning", "preview", "sending"):
            self.dc_send(p.ScanStatus(request=m.request, state=state, pages=1))
            await asyncio.sleep(0.05)
        await self.send_document("scan", "skannaus.pdf", self.scan_pdf)
        await self.until(lambda: self.acks, 30, "doc.ack for the scan")
        self.dc_send(p.ScanStatus(request=m.request, state="sent", pages=1))

    async def _identify(self, m: p.IdentityRequest) -> None:
        for state in ("insert_card", "enter_pin", "signing"):
            if self.dc is not None:
                self.dc_send(p.IdentityStatus(request=m.request, state=state))
            await asyncio.sleep(0.05)
        if self.card is None:
            await self.send(p.IdentityAbort(call=m.call, request=m.request, reason="no_card"))
            return
        await self.send(p.IdentityProof(call=m.call, request=m.request, token=sign_token(self.card, m.origin, m.nonce)))
