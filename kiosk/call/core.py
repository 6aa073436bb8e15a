"""The call engine's shared state and the steps every part of it takes: emitting events, spawning tasks,
saying something to the switchboard, closing a peer connection and ending the call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from drivers.camera import CameraStatus
from etapiste import protocol as p
from kiosk import consent
from kiosk import stats as quality
from kiosk.call import bandwidth, datagrams, encoder, hardware, jitter
from kiosk.call.events import CallEnded, CallEvent, Listener, QueueLeft
from kiosk.media import CameraTrack, MediaConfig, PatternSource

if TYPE_CHECKING:
    from kiosk.call.peer import Peer

log = logging.getLogger("kiosk.call")

#: A call whose media does not come back within this many seconds of a loss ends (both sides are told).
RECOVERY_S = 60.0
#: How often media statistics are sampled for :class:`CallQuality`.
STATS_INTERVAL_S = 2.0
#: The health report's call quality is over this many of the newest samples (an hour of one connection at
#: :data:`STATS_INTERVAL_S`): the kiosk runs for months, and all of them grew it with every call.
HEALTH_QUALITY_SAMPLES = 1800
#: WebSocket ping interval; the switchboard uses the same. A shorter one would drop the signalling during
#: a brief network cut that media survives.
HEARTBEAT_S = 20.0

CandidateFilter = Callable[[str], bool]


class EngineCore:
    """The engine's state; signalling, peer connections, recovery and the data channel are mixins on it."""

    def __init__(
        self,
        *,
        url: str,
        point_id: str,
        credential: str,
        media: MediaConfig | None = None,
        queues: dict[str, str] | None = None,
        ice_urls: Sequence[str] = (),
        relay_only: bool = False,
        receive_floor_bps: int = bandwidth.FLOOR_BPS,
        max_print_bytes: int = p.MAX_DOCUMENT_BYTES,
        candidate_filter: CandidateFilter | None = None,
        recovery_s: float = RECOVERY_S,
        stats_interval_s: float = STATS_INTERVAL_S,
        software: str = "etapiste-kiosk",
        heartbeat_s: float = HEARTBEAT_S,
        fallback_urls: Sequence[str] = (),
        video_encoder: Literal["auto", "software"] = "software",
    ) -> None:
        self.urls = [url, *(u for u in fallback_urls if u != url)]
        """The switchboard's addresses in order of preference; on failure the next one is tried."""
        self.url = url
        """The address in use (identity proofs are signed for its origin only)."""
        self.point_id = point_id
        self._credential = credential
        self.media = media or MediaConfig(video=PatternSource())
        self.queues = dict(queues or {})
        self.ice_urls = list(ice_urls)
        self.relay_only = relay_only
        self.max_print_bytes = max_print_bytes
        self.candidate_filter = candidate_filter
        self.recovery_s = recovery_s
        self.stats_interval_s = stats_interval_s
        self.software = software
        self.heartbeat_s = heartbeat_s
        self.video_encoder = video_encoder
        """``auto``: look for the PC's hardware H.264 encoder at start (:mod:`kiosk.call.hardware`); the point's
        configuration says ``auto``, the engine's default is ``software`` (tests and benchmarks start many)."""
        consent.install()  # a late consent answer on a busy point is not a lost network
        encoder.install()  # VP8 and H.264 at the point's speed settings (kiosk/call/encoder.py)
        jitter.install()  # the agent's picture decoded on its last packet, not one frame later (kiosk/call/jitter.py)
        datagrams.install()  # the call's sockets read what waits in one go (kiosk/call/datagrams.py)
        bandwidth.install(receive_floor_bps)  # a busy point loop is not a slow network (kiosk/call/bandwidth.py)
        # kiosk/call/sctp.py (delayed SACKs) is not installed: measured slower from the desk (bench/README.md)

        self._listeners: list[Listener] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self.connected = asyncio.Event()
        self.me: str | None = None
        self.origin = ""
        self.ice_servers: list[p.IceServer] = []

        self.state: Literal["offline", "idle", "queued", "in_call"] = "offline"
        self.ticket: str | None = None
        """Our place in the queue while queued (named in the hello after a dropped connection)."""
        self.call: str | None = None
        self.peers: dict[str, Peer] = {}
        self._video: CameraTrack | None = None
        self._audio: MediaStreamTrack | None = None
        self._relay: MediaRelay | None = None
        self._rtt_seq = 0
        self._rtt_seen = -1
        self._stats_task: asyncio.Task[None] | None = None
        self.malformed_frames = 0
        self.aggregate = quality.QualityAggregate(window=HEALTH_QUALITY_SAMPLES)
        """Staff's figures in :meth:`health`; samples are not kept otherwise (each is an event, then gone)."""
        self._this_call = quality.QualityAggregate()
        """The agent's connection's samples in the call under way (its summary goes to the statistics)."""
        self.last_call_quality: quality.CallSummary | None = None
        self.turn_problem: str | None = None
        self.camera: CameraStatus | None = None
        self._camera_told_ok = True
        self._loop: asyncio.AbstractEventLoop | None = None
        # A joint call (issue 22): which agent asked for what, so each is answered on its own data channel
        # (a scan reaches the agent who asked for it), and the identity consent (kiosk/call/joint.py).
        self._requester: dict[str, str] = {}
        """Scan request, print transfer or identity request id → the agent's participant id that asked."""
        self._call_producer: str | None = None
        self._peer_producers: dict[str, str] = {}
        """A joined agent's participant id → the producer they serve the customer for."""
        self._proven: tuple[str, str] | None = None
        """(identity request, agent it was proven to) once the customer's identity was verified in this call."""
        self._consent_asked: set[str] = set()

    def _emit(self, event: CallEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one listener's bug must not break the call
                log.exception("call event listener failed on %s", type(event).__name__)

    async def _find_hardware_encoder(self) -> None:
        """Probe the PC's hardware H.264 encoders once per process and use the one that works (or none)."""
        if not encoder.claim_probe():
            return
        found = await hardware.find()
        log.info("%s", found.describe())
        encoder.use_hardware(found.codec)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("call engine task failed: %s", exc, exc_info=exc)

    async def _send(self, message: p.BaseModel) -> bool:
        ws = self._ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(p.encode(message))
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            return False
        return True

    async def _close_peer(self, peer: Peer) -> None:
        peer.closing = True
        if peer.link is not None:
            peer.link.close("call_dropped")
        for sink in peer.sinks:
            await sink.stop()
        # A speaker plays until stopped, even after its track ended: each call left its sound stream (an ALSA
        # device, a PulseAudio stream) open, and a hardware device then refused the next call's speaker.
        speakers, peer.speakers = peer.speakers, []
        for speaker in speakers:
            try:
                await speaker.stop()
            except Exception as exc:  # a device gone mid-call: nothing left to release
                log.warning("stopping the speaker: %s", type(exc).__name__)
        try:
            await peer.pc.close()
        except asyncio.CancelledError:
            # aiortc hands a second close() the first one's future; if that close was cancelled (its task
            # ended with the call), ours sees CancelledError although nobody cancelled us.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception as exc:
            log.debug("closing a peer connection: %s", type(exc).__name__)

    async def _end_call(self, reason: str, by: str | None) -> None:
        call, self.call = self.call, None
        if call is None:
            return
        self.last_call_quality, self._this_call = self._this_call.summary(), quality.QualityAggregate()
        self.state = "idle" if self.connected.is_set() else "offline"
        peers, self.peers = list(self.peers.values()), {}
        for peer in peers:
            if peer.recovery is not None and peer.recovery is not asyncio.current_task():
                peer.recovery.cancel()
            await self._close_peer(peer)
        if self._stats_task is not None:
            if self._stats_task is not asyncio.current_task():
                self._stats_task.cancel()
            self._stats_task = None
        for track in (self._video, self._audio):
            if track is not None:
                track.stop()
        self._video = self._audio = None
        self._relay = None
        self._requester.clear()
        self._peer_producers.clear()
        self._proven, self._call_producer = None, None
        self._consent_asked.clear()
        self._emit(CallEnded(call, reason, by))

    def _queue_lost(self) -> None:
        self.state = "idle" if self.connected.is_set() else "offline"
        self.ticket = None
        self._emit(QueueLeft("network_lost"))
