"""An agent's desk played by an aiortc peer, for the call tests and benchmarks: it logs in to the real switchboard,
answers the queue, answers the point's offers, sends video and audio, and speaks the call data protocol by
hand (independently of :mod:`kiosk.transfer`, so the two sides are not the same code checking itself).

Frames can be sent raw (:meth:`raw`) to inject malformed, out-of-order and oversize frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from etapiste import protocol as p
from kiosk.media import CameraTrack, PatternSource, ToneTrack
from simulation.switchboard import Switchboard
from simulation.waiting import until_changed


class MutedMicrophone(MediaStreamTrack):
    """An audio track that sends nothing, as a muted microphone: the connection carries no audio packets.

    What a test with many calls on two cores uses: each tone costs an Opus encoder and decoder and 50
    packets a second each way, so twenty calls with sound would not fit beside the rest of the test.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._stopped = asyncio.Event()

    async def recv(self) -> Any:
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self._stopped.set()
        super().stop()


class AiortcAgent:
    __test__ = False

    def __init__(self, sb: Switchboard, username: str = "anna", heartbeat_s: float | None = None) -> None:
        self.sb, self.username = sb, username
        self.heartbeat_s = sb.hub.config.heartbeat_s if heartbeat_s is None else heartbeat_s
        """The desk socket's ping interval (``heartbeat_s``: for a switchboard in another process)."""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[Any] = []
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.offers: dict[str, int] = defaultdict(int)
        self.frames: dict[str, int] = defaultdict(int)
        self.channel: RTCDataChannel | None = None
        self.data: list[Any] = []
        self.incoming: dict[str, Any] | None = None
        self.received: list[tuple[p.DocBegin, bytes]] = []
        self.ice_servers: list[p.IceServer] = []
        self.last_video: Any = None
        self.auto_answer = True
        self.drop_answers = False
        self.relay_only = False
        """Offer only relayed candidates: an agent behind a firewall that lets nothing direct through."""
        self.video = (320, 240, 30)
        """The desk camera's pattern: width, height, frames a second (smaller: many calls on one machine)."""
        self.muted = False
        """The desk's microphone muted: no audio is sent (many calls on one machine)."""
        self.answers: list[str] = []
        self.you: str | None = None
        self.rejoins: list[p.Welcome] = []
        self.lost: set[str] = set()
        """Welcomes after a dropped signalling socket (as the desk page does: back into the held call)."""
        self._http: aiohttp.ClientSession | None = None
        self._closing = False
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _note(self) -> None:
        self._changed.set()

    async def until(self, check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        return await until_changed(check, self._changed, timeout, lambda: f"the agent never saw: {what}")

    def seen(self, kind: str) -> list[Any]:
        return [m for m in self.messages if m.type == kind]

    def data_seen(self, kind: str) -> list[Any]:
        return [m for m in self.data if getattr(m, "type", None) == kind]

    async def connect(self) -> None:
        self._http = await self.sb.login(self.username)
        self.sb._extra.append(self._http)
        self.ws = await self._http.ws_connect(f"{self.sb.base}/ws/desk", heartbeat=self.heartbeat_s)
        await self.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
        self._spawn(self._read())
        welcome = await self.until(lambda: self.seen("welcome"), 10, "welcome")
        self.ice_servers, self.you = welcome[0].ice_servers, welcome[0].you

    async def _rejoin(self, call: str) -> None:
        """The signalling socket dropped in a call: come back as the same participant, like the desk page."""
        assert self._http is not None
        deadline = time.monotonic() + 60
        while not self._closing and time.monotonic() < deadline:
            try:  # a silent connect is retried after 3 s, as the desk page does
                self.ws = await asyncio.wait_for(
                    self._http.ws_connect(f"{self.sb.base}/ws/desk", heartbeat=self.heartbeat_s), 3
                )
            except (aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.sleep(0.5)
                continue
            await self.send(p.DeskHello(protocol=p.PROTOCOL_VERSION, resume=self.you, call=call))
            self._spawn(self._read())
            return

    async def send(self, message: p.BaseModel) -> None:
        assert self.ws is not None
        await self.ws.send_str(p.encode(message))

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            m = p.parse_signal(msg.data)
            if m.type == "welcome" and self.you is not None:
                self.rejoins.append(m)
                if m.call is None and self.call is not None:  # the call ended while we were away
                    self.lost.add(self.call)
                    await self.close_pcs()
                self._note()
                continue
            self.messages.append(m)
            try:
                await self._on_signal(m)
            finally:
                self._note()
        call = self.call
        if call is not None and not self._closing:
            await self._rejoin(call)

    async def accept_next(self) -> str:
        snap = await self.until(
            lambda: next((m for m in reversed(self.seen("queue.snapshot")) if any(q.entries for q in m.queues)), None),
            what="a waiting customer",
        )
        ticket = next(e.ticket for q in snap.queues for e in q.entries)
        await self.send(p.QueueAccept(ticket=ticket))
        start = await self.until(lambda: self.seen("call.start"), what="call.start")
        return str(start[-1].call)

    @property
    def call(self) -> str | None:
        starts, ends = self.seen("call.start"), self.seen("call.ended")
        current = starts[-1].call if len(starts) > len(ends) else None
        return None if current in self.lost else current

    async def _on_signal(self, m: Any) -> None:
        if m.type == "call.start":
            self.ice_servers = m.ice_servers or self.ice_servers
        elif m.type == "signal.offer" and self.auto_answer:
            await self._answer(m)
        elif m.type == "call.ended":
            await self.close_pcs()

    async def _answer(self, m: p.Offer) -> None:
        self.offers[m.peer] += 1
        old = self.pcs.pop(m.peer, None)
        if old is not None:  # a renegotiation after a network loss: a fresh connection
            await old.close()
        servers = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in self.ice_servers]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        self.pcs[m.peer] = pc
        pc.addTrack(MutedMicrophone() if self.muted else ToneTrack())
        width, height, fps = self.video
        pc.addTrack(CameraTrack(PatternSource(width, height), width, height, fps))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._spawn(self._consume(track))

        @pc.on("datachannel")
        def on_dc(channel: RTCDataChannel) -> None:
            self._setup(channel)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=m.sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.answers.append(pc.localDescription.sdp)
        if not self.drop_answers:
            await self.send(p.Answer(call=m.call, peer=m.peer, sdp=pc.localDescription.sdp))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame: Any = await track.recv()
                self.frames[track.kind] += 1
                if track.kind == "video" and self.frames["video"] % 5 == 0:
                    self.last_video = frame.to_ndarray(format="bgr24")
                self._note()

    async def close_pcs(self) -> None:
        for pc in list(self.pcs.values()):
            await pc.close()
        self.pcs.clear()

    async def close(self) -> None:
        self._closing = True
        await self.close_pcs()
        if self.ws is not None:
            await self.ws.close()
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------------------------------------- data channel

    def _setup(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.bufferedAmountLowThreshold = p.BUFFER_LOW_BYTES
        self._low = asyncio.Event()

        @channel.on("bufferedamountlow")
        def on_low() -> None:
            self._low.set()

        @channel.on("message")
        def on_message(data: str | bytes) -> None:
            if isinstance(data, bytes):
                inc = self.incoming
                if inc is not None:
                    inc["data"] += data
                    if len(inc["data"]) - inc.get("reported", 0) >= p.BUFFER_LOW_BYTES:
                        inc["reported"] = len(inc["data"])
                        self.dc_send(p.DocProgress(transfer=inc["begin"].transfer, received=len(inc["data"])))
            else:
                m = p.parse_data(data)
                self.data.append(m)
                if m.type == "doc.begin":
                    self.incoming = {"begin": m, "data": bytearray()}
                elif m.type == "doc.end" and self.incoming is not None:
                    begin, body = self.incoming["begin"], bytes(self.incoming["data"])
                    self.incoming = None
                    ok = len(body) == begin.size and hashlib.sha256(body).hexdigest() == begin.sha256
                    self.dc_send(p.DocAck(transfer=begin.transfer, ok=ok, reason=None if ok else "checksum_mismatch"))
                    if ok:
                        self.received.append((begin, body))
            self._note()

        self._note()

    async def channel_open(self) -> RTCDataChannel:
        channel: RTCDataChannel = await self.until(
            lambda: self.channel if self.channel and self.channel.readyState == "open" else None, what="data channel"
        )
        return channel

    def dc_send(self, message: p.BaseModel) -> None:
        self.raw(p.encode(message))

    def raw(self, data: str | bytes) -> None:
        assert self.channel is not None and self.channel.readyState == "open"
        self.channel.send(data)

    async def send_document(
        self, data: bytes, name: str = "lomake.pdf", *, transfer: str = "t1", declared_size: int | None = None,
        declared_sha: str | None = None, chunk: int = p.CHUNK_BYTES, end: bool = True,
    ) -> None:
        """Send ``data`` for printing; ``declared_*``/``chunk`` let a test lie about it."""
        self.dc_send(
            p.DocBegin(
                transfer=transfer, purpose="print", name=name, size=declared_size or len(data),
                sha256=declared_sha or hashlib.sha256(data).hexdigest(),
            )
        )
        assert self.channel is not None
        for off in range(0, len(data), chunk):
            while self.channel.bufferedAmount > p.BUFFER_HIGH_BYTES:
                self._low.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._low.wait(), 1)
            self.raw(data[off : off + chunk])
        if end:
            self.dc_send(p.DocEnd(transfer=transfer))
