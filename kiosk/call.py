"""The kiosk's call engine: signalling to the switchboard, the WebRTC call to the agent, and everything that
travels on the call's data channel. Plain asyncio and aiortc — no Qt — so it runs headless in tests and
benchmarks and under qasync in the kiosk app.

Public surface (what :mod:`kiosk.session` drives)
=================================================

Build one engine per point and keep it for the life of the app::

    engine = CallEngine.from_config(point_config, media)   # or CallEngine(url=…, point_id=…, credential=…)
    unsubscribe = engine.subscribe(listener)               # listener(event) for every event below
    await engine.start()                                   # connects (and reconnects) to the switchboard
    …
    await engine.close()

**Intents** (all return at once; the outcome arrives as events; none raises for a network problem):

========================================== =========================================================
``request_call(producer_id, language)``    queue for the producer's queue (from the configuration)
``cancel_queue()``                          leave the queue before an agent answers
``hang_up()``                               end the call (the agent is told)
``send_rtt(text, final=False)``             real-time text: the customer's whole current line
``send_document(pdf, kind, name, request)`` a scan (``kind="scan"``) to the agent → Task[TransferDone]
``cancel_document()``                       stop the document being sent
``send_proof(request, token)``              the card's Web eID token for an ``IdentifyRequested``
``abort_identity(request, reason)``         no proof will come (cancelled, pin_blocked, card_error…)
``report_identity_status(request, state)``  the customer's progress (insert_card, enter_pin, signing…)
``report_scan_status(request, state, …)``   waiting_customer, scanning, preview, declined, failed…
``report_print_progress(transfer, state…)`` printing, done, failed (reason = the printer error's code)
========================================== =========================================================

**Events** (frozen dataclasses, delivered in order on the event loop's thread):

- :class:`SwitchboardStatus` — connected or not, and why (``unauthorised``, ``unreachable`` …)
- :class:`QueuePosition` — position (1 = next), estimate in seconds (``None``: no agent online)
- :class:`QueueLeft` — cancelled / timeout / closed / network_lost; :class:`QueueRefused` — the queue refused
  the request (a dropped signalling socket does not leave the queue: the switchboard holds the place)
- :class:`CallAnswered` — an agent answered (their display name); media is being set up
- :class:`CallConnected` — media and the data channel are up (also after a recovery)
- :class:`RemoteVideoFrame` / :class:`SelfVideoFrame` — RGB arrays to paint (newest only)
- :class:`RttReceived` — the agent's current line, or a committed line when ``final``
- :class:`IdentifyRequested` (request, nonce, origin) and :class:`IdentityResult` (ok, reason; no name);
  :class:`IdentifyRefused` when the request names another origin than the configured switchboard URL's
- :class:`ScanRequested` (request)
- :class:`PrintRequested` (transfer, name, pdf bytes already checked against size and SHA-256)
- :class:`TransferProgress` / :class:`TransferDone` — documents both ways, never silent on failure
- :class:`InterpreterJoined` / :class:`InterpreterLeft`
- :class:`CallQuality` — bitrate, fps, loss and round trip per peer (see :mod:`kiosk.stats`)
- :class:`CallTrouble` — ``reconnecting``, ``recovered``, ``turn_refused``, ``turn_unreachable``,
  ``camera_unavailable``, ``camera_back``: something the customer and staff should see now
- :class:`CallEnded` — reason: ``hangup`` (by whom), ``agent_gone``, ``point_gone``, ``setup_failed``,
  ``network_lost`` (no recovery within 60 s), ``media_failed`` (no route, e.g. TURN refused)

Why the engine creates a new peer connection to recover instead of an ICE restart: aiortc 1.16 has no ICE
restart. The point is always the offerer, so after a network loss it offers again on a fresh connection
(new ICE credentials and DTLS) to the same agent through the switchboard; the agent's side treats it as a
renegotiation. Media and the data channel come back; a transfer that was running fails with
``call_dropped`` (the customer is told and may send again). When the signalling socket drops too (a cut
longer than its heartbeat), the switchboard holds the call for a minute: the engine reconnects every second,
names its call in the hello, and on a ``welcome`` that resumes it offers afresh to every peer without media.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import numpy as np
from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

from drivers.camera import CameraStatus
from etapiste import protocol as p
from etapiste.webeid.origin import same_origin, switchboard_origin
from kiosk import consent
from kiosk import stats as quality
from kiosk.media import CameraTrack, MediaConfig, PatternSource, TrackSink
from kiosk.transfer import DocumentLink, DocumentReceived, Purpose, TransferDone, TransferEvent, TransferProgress

log = logging.getLogger(__name__)

__all__ = [
    "CallAnswered",
    "CallConnected",
    "CallEnded",
    "CallEngine",
    "CallEvent",
    "CallQuality",
    "CallTrouble",
    "IdentifyRefused",
    "IdentifyRequested",
    "IdentityResult",
    "InterpreterJoined",
    "InterpreterLeft",
    "PrintRequested",
    "QueueLeft",
    "QueuePosition",
    "QueueRefused",
    "RemoteVideoFrame",
    "RttReceived",
    "ScanRequested",
    "SelfVideoFrame",
    "SwitchboardStatus",
    "TransferDone",
    "TransferProgress",
]

#: A call whose media does not come back within this many seconds of a loss ends (both sides are told).
RECOVERY_S = 60.0
#: How often media statistics are sampled for :class:`CallQuality`.
STATS_INTERVAL_S = 2.0
#: Self view frames are handed to the UI at most this often (the customer's own picture needs less).
SELF_VIEW_FPS = 15
#: After an answer, how long a fresh connection may take to connect before recovery offers again.
ANSWERED_CONNECT_S = 10.0
#: WebSocket ping interval; the switchboard uses the same. A shorter one would drop the signalling during
#: a brief network cut that media survives.
HEARTBEAT_S = 20.0
#: Switchboard reconnect delays (seconds), the last one repeating.
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
#: In a call or the queue the switchboard holds our place for a minute, and media should be back within 10 s
#: of the network returning: retry at least this often.
IN_CALL_RECONNECT_S = 1.0
#: A connection attempt to the switchboard that has not completed by then is given up and retried.
CONNECT_TIMEOUT_S = 10.0
#: A TCP connect whose SYN is not answered by then is retried afresh: when the network returns, a pending
#: attempt would otherwise wait for the kernel's next SYN retransmission (1, 3, 7 s… after the first).
SOCKET_CONNECT_TIMEOUT_S = 3.0

RGB = np.ndarray[Any, np.dtype[np.uint8]]


# ----------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class SwitchboardStatus:
    connected: bool
    reason: str | None = None
    """When not connected: ``unreachable``, ``unauthorised``, ``unsupported_version``, ``replaced``, ``closed``."""


@dataclass(frozen=True)
class QueuePosition:
    position: int
    estimate_s: int | None
    agents_online: int


@dataclass(frozen=True)
class QueueLeft:
    reason: Literal["cancelled", "timeout", "closed", "network_lost"]
    """``network_lost``: the switchboard could not be reached for :data:`RECOVERY_S`, or it no longer held
    the point's place when the point came back."""


@dataclass(frozen=True)
class QueueRefused:
    code: str
    """The switchboard's error code: ``queue_closed``, ``unknown_queue``, ``already_queued``, ``not_connected``."""


@dataclass(frozen=True)
class CallAnswered:
    call: str
    agent_name: str


@dataclass(frozen=True)
class CallConnected:
    call: str
    recovered: bool = False


@dataclass(frozen=True)
class RemoteVideoFrame:
    peer: str
    role: str
    image: RGB


@dataclass(frozen=True)
class SelfVideoFrame:
    image: RGB


@dataclass(frozen=True)
class RttReceived:
    text: str
    final: bool


@dataclass(frozen=True)
class IdentifyRequested:
    request: str
    nonce: str
    origin: str
    expires_in_s: int


@dataclass(frozen=True)
class IdentifyRefused:
    """The switchboard asked for a proof for another origin than the configured switchboard URL's: the
    point refused (``origin_mismatch``) and told the agent; the customer should see identification fail."""

    request: str
    reason: str


@dataclass(frozen=True)
class IdentityResult:
    request: str
    ok: bool
    reason: str | None


@dataclass(frozen=True)
class ScanRequested:
    request: str


@dataclass(frozen=True)
class PrintRequested:
    transfer: str
    name: str
    pdf: bytes = field(repr=False)
    sha256: str


@dataclass(frozen=True)
class InterpreterJoined:
    peer: str
    name: str


@dataclass(frozen=True)
class InterpreterLeft:
    peer: str


@dataclass(frozen=True)
class CallQuality:
    peer: str
    role: str
    sample: quality.QualitySample


@dataclass(frozen=True)
class CallTrouble:
    kind: Literal[
        "reconnecting", "recovered", "turn_refused", "turn_unreachable", "camera_unavailable", "camera_back"
    ]
    detail: str = ""


@dataclass(frozen=True)
class CallEnded:
    call: str
    reason: str
    by: str | None = None


CallEvent = (
    SwitchboardStatus
    | QueuePosition
    | QueueLeft
    | QueueRefused
    | CallAnswered
    | CallConnected
    | RemoteVideoFrame
    | SelfVideoFrame
    | RttReceived
    | IdentifyRequested
    | IdentifyRefused
    | IdentityResult
    | ScanRequested
    | PrintRequested
    | InterpreterJoined
    | InterpreterLeft
    | CallQuality
    | CallTrouble
    | CallEnded
    | TransferProgress
    | TransferDone
)
Listener = Callable[[CallEvent], None]
CandidateFilter = Callable[[str], bool]


# ----------------------------------------------------------------------------------------------- peers


#: Data-channel messages kept while the channel opens (a customer typing fast: ~2 per keystroke at most).
MAX_PENDING_DATA = 200


@dataclass
class _Peer:
    """One participant of the call and our peer connection to it."""

    id: str
    role: str
    name: str
    pc: RTCPeerConnection
    we_offer: bool
    sinks: list[TrackSink] = field(default_factory=list)
    channel: RTCDataChannel | None = None
    link: DocumentLink | None = None
    pending_ice: list[p.Ice] = field(default_factory=list)
    pending_data: list[str] = field(default_factory=list)
    """Data-channel messages (real-time text, statuses) said before the channel opened; sent on open."""
    connected_once: bool = False
    lost_at: float | None = None
    answered_at: float | None = None
    closing: bool = False
    reoffer: bool = False
    """Offer again even though an offer is outstanding: it went into a signalling socket that died."""
    recovery: asyncio.Task[None] | None = None
    meter: quality.QualityMeter = field(default_factory=quality.QualityMeter)


class CallEngine:
    """See the module docstring for the public surface."""

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
        max_print_bytes: int = p.MAX_DOCUMENT_BYTES,
        candidate_filter: CandidateFilter | None = None,
        recovery_s: float = RECOVERY_S,
        stats_interval_s: float = STATS_INTERVAL_S,
        software: str = "etapiste-kiosk",
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.url = url
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
        consent.install()  # a late consent answer on a busy point is not a lost network

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
        self.peers: dict[str, _Peer] = {}
        self._video: CameraTrack | None = None
        self._audio: MediaStreamTrack | None = None
        self._relay: MediaRelay | None = None
        self._rtt_seq = 0
        self._rtt_seen = -1
        self._stats_task: asyncio.Task[None] | None = None
        self._last_self = 0.0
        self.malformed_frames = 0
        self.quality_log: list[quality.QualitySample] = []
        self.aggregate = quality.QualityAggregate()
        self._this_call = quality.QualityAggregate()
        """The agent's connection's samples in the call under way (its summary goes to the statistics)."""
        self.last_call_quality: quality.CallSummary | None = None
        self.turn_problem: str | None = None
        self.camera: CameraStatus | None = None
        self._camera_told_ok = True
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_config(cls, config: Any, media: MediaConfig | None = None, **overrides: Any) -> CallEngine:
        """An engine from the point's :class:`etapiste.config.point.PointConfig`."""
        credential = Path(config.switchboard.credential_file).read_text().strip()
        args: dict[str, Any] = {
            "url": config.switchboard.url,
            "point_id": config.point.id,
            "credential": credential,
            "media": media,
            "queues": {prod.id: prod.queue for prod in config.producers},
            "ice_urls": [url for server in config.ice.servers for url in server.urls],
            "relay_only": config.ice.relay_only,
            "max_print_bytes": config.devices.printer.max_bytes,
        }
        args.update(overrides)
        return cls(**args)

    # ------------------------------------------------------------------------------------------- events

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: CallEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one listener's bug must not break the call
                log.exception("call event listener failed on %s", type(event).__name__)

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

    # ------------------------------------------------------------------------------------------- lifecycle

    async def start(self, timeout: float | None = None) -> None:
        """Connect to the switchboard (and keep reconnecting); with ``timeout``, wait until connected."""
        if self._runner is None:
            self._loop = asyncio.get_running_loop()
            self._closing = False
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=None, connect=CONNECT_TIMEOUT_S, sock_connect=SOCKET_CONNECT_TIMEOUT_S
            ))
            self._runner = asyncio.ensure_future(self._signalling())
        if timeout is not None:
            await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        """Leave everything: the call (the agent is told), the queue, the switchboard."""
        self._closing = True
        if self.call is not None:
            await self._send(p.Hangup(call=self.call))
            await self._end_call("hangup", "point")
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _signalling(self) -> None:
        attempt = 0
        assert self._http is not None
        while not self._closing:
            reason = "closed"
            try:
                limit = 4 * p.MAX_SIGNAL_BYTES
                connect = self._http.ws_connect(self.url, heartbeat=self.heartbeat_s, max_msg_size=limit)
                async with connect as ws:
                    self._ws = ws
                    hello = p.PointHello(
                        protocol=p.PROTOCOL_VERSION, point=self.point_id, credential=self._credential,
                        software=self.software,
                        # what to come back to after a dropped connection: the call, or the place in the queue
                        call=self.call,
                        ticket=self.ticket if self.state == "queued" else None,
                    )
                    await ws.send_str(p.encode(hello))
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        attempt = 0
                        reason = await self._on_frame(msg.data) or reason
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("switchboard unreachable: %s", type(exc).__name__)
                reason = "unreachable"
            finally:
                self._ws = None
            was = self.connected.is_set()
            self.connected.clear()
            if was or reason != "closed" or attempt == 0:
                self._emit(SwitchboardStatus(False, reason))
            if self.state not in ("in_call", "queued"):
                self.state = "offline"
            elif was and not self._closing:
                self._spawn(self._without_switchboard())
            if self._closing:
                return
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            if reason in ("unauthorised", "unsupported_version"):
                delay = 30.0  # a configuration problem: staff must act; do not hammer the switchboard
            elif self.state in ("in_call", "queued"):
                delay = min(delay, IN_CALL_RECONNECT_S)
            attempt += 1
            await asyncio.sleep(delay)

    async def _send(self, message: p.BaseModel) -> bool:
        ws = self._ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(p.encode(message))
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            return False
        return True

    # ------------------------------------------------------------------------------------------- signalling in

    async def _on_frame(self, raw: str) -> str | None:
        """Handle one switchboard frame; return a disconnect reason when the switchboard refused us."""
        try:
            m = p.parse_signal(raw)
        except p.ProtocolError as exc:
            self.malformed_frames += 1
            log.warning("malformed frame from the switchboard: %s", exc.code)
            return None
        try:
            return await self._dispatch(m)
        except Exception:
            log.exception("handling %s failed", m.type)
            return None

    async def _dispatch(self, m: Any) -> str | None:
        if isinstance(m, p.Welcome):
            self.me, self.origin, self.ice_servers = m.you, m.origin, list(m.ice_servers)
            self.connected.set()
            if self.call is not None and m.call == self.call:
                self._resumed()
            elif self.call is not None:
                # The switchboard no longer holds our call: it ended while we were away (and the agent was told).
                await self._end_call("network_lost", None)
            elif self.state == "queued" and m.call is None and (self.ticket is None or m.ticket != self.ticket):
                self._queue_lost()  # (with ``m.call``, an agent answered meanwhile: call.start follows)
            if self.state == "offline":
                self.state = "idle"
            self._emit(SwitchboardStatus(True))
        elif isinstance(m, p.Error):
            return self._on_error(m)
        elif isinstance(m, p.QueuePosition):
            self.state, self.ticket = "queued", m.ticket
            self._emit(QueuePosition(m.position, m.estimate_s, m.agents_online))
        elif isinstance(m, p.QueueLeft):
            if self.ticket is not None and m.ticket != self.ticket:
                return None  # an earlier place's, e.g. one the customer cancelled before queueing again
            if self.state == "queued":
                self.state = "idle"
            self.ticket = None
            self._emit(QueueLeft(m.reason))
        elif isinstance(m, p.CallStart):
            await self._on_call_start(m)
        elif isinstance(m, p.PeerJoined):
            await self._on_peer_joined(m)
        elif isinstance(m, p.PeerLeft):
            await self._on_peer_left(m)
        elif isinstance(m, p.Answer):
            await self._on_answer(m)
        elif isinstance(m, p.Offer):
            log.warning("unexpected offer from %s: the point always offers", m.peer)
        elif isinstance(m, p.Ice):
            await self._on_ice(m)
        elif isinstance(m, p.CallEnded):
            if m.call == self.call:
                await self._end_call(m.reason, m.by)
        elif isinstance(m, p.IdentityRequest):
            if m.call == self.call:
                # Sign only for the switchboard we are configured to reach, never for an origin it names:
                # a compromised or impersonated switchboard could otherwise relay the customer's PIN-1
                # authentication to another site. The card is not asked; the agent is told why.
                try:
                    ours = switchboard_origin(self.url)
                except ValueError:  # a URL no origin follows from (the configuration check refuses it)
                    ours = ""
                if same_origin(m.origin, ours):
                    self._emit(IdentifyRequested(m.request, m.nonce, m.origin, m.expires_in_s))
                else:
                    log.error("identification refused: the switchboard asked to sign for another origin")
                    self.abort_identity(m.request, "origin_mismatch")
                    self._emit(IdentifyRefused(m.request, "origin_mismatch"))
        elif isinstance(m, p.IdentityResult) and m.call == self.call:
            self._emit(IdentityResult(m.request, m.ok, m.reason))
        return None

    def _resumed(self) -> None:
        """Back in our call after the signalling dropped. An offer that went into the dead socket never
        arrived: any peer still without media is offered to afresh."""
        log.info("signalling back; call %s resumed", self.call)
        for peer in self.peers.values():
            if peer.pc.connectionState != "connected":
                peer.reoffer = True
                if peer.recovery is None:
                    peer.lost_at = peer.lost_at or time.monotonic()
                    peer.recovery = self._spawn(self._recover(peer.id))

    def _on_error(self, m: p.Error) -> str | None:
        log.warning("switchboard error %s", m.code)
        if m.code in ("unauthorised", "unsupported_version"):
            return m.code
        if m.code == "not_allowed" and not self.connected.is_set():
            return m.code
        if m.code == "not_allowed" and "replaced" in m.message:
            return "replaced"
        if m.code in ("unknown_queue", "queue_closed", "already_queued"):
            if self.state == "queued":
                self.state = "idle"
            self._emit(QueueRefused(m.code))
        return None

    # ------------------------------------------------------------------------------------------- intents

    def request_call(self, producer_id: str, language: str = "fi", queue: str | None = None) -> None:
        """Queue for ``producer_id``'s queue; :class:`QueuePosition` (or :class:`QueueRefused`) follows."""
        queue = queue or self.queues.get(producer_id)
        if queue is None:
            raise ValueError(f"producer {producer_id!r} has no queue at this point")
        if not self.connected.is_set():
            self._emit(QueueRefused("not_connected"))
            return
        self.state = "queued"
        message = p.QueueRequest(producer=producer_id, queue=queue, language=language)
        self._spawn(self._send_or_refuse(message))

    async def _send_or_refuse(self, message: p.BaseModel) -> None:
        if not await self._send(message):
            self.state = "idle"
            self._emit(QueueRefused("not_connected"))

    def cancel_queue(self) -> None:
        if self.state != "queued":
            return
        self.ticket = None  # never come back to a place the customer gave up

        async def go() -> None:
            if not await self._send(p.QueueCancel()) and self.state == "queued":
                # The switchboard is out of reach: it lets go of the place when its hold runs out, or when
                # this point comes back without naming it.
                self.state = "idle" if self.connected.is_set() else "offline"
                self._emit(QueueLeft("cancelled"))

        self._spawn(go())

    def hang_up(self) -> asyncio.Task[None] | None:
        """End the call; the agent is told. Returns the task that finishes when everything is closed."""
        if self.call is None:
            return None
        call = self.call

        async def go() -> None:
            await self._send(p.Hangup(call=call))
            await self._end_call("hangup", "point")

        return self._spawn(go())

    def send_rtt(self, text: str, final: bool = False) -> bool:
        """Send the customer's whole current line (≤ 2000 characters); ``final`` commits it."""
        message = p.Rtt(seq=self._rtt_seq, text=text[:2000], final=final)
        self._rtt_seq += 1
        return self._data_send(message)

    def send_document(
        self, pdf: bytes, kind: Purpose = "scan", name: str = "skannaus.pdf", request: str | None = None
    ) -> asyncio.Task[TransferDone]:
        """Send a PDF to the agent; the task ends with the agent's verdict or raises ``TransferFailed``.

        With ``request`` (a scan request's id), ``scan.status`` ``sending`` and then ``sent``/``failed`` are
        reported to the agent around the transfer.
        """
        agent = self._agent()
        link = agent.link if agent is not None else None

        async def go() -> TransferDone:
            from kiosk.transfer import TransferFailed

            if link is None:
                raise TransferFailed("", "not_connected")
            if request is not None:
                self.report_scan_status(request, "sending")
            try:
                done = await link.send(pdf, kind, name)
            except TransferFailed as exc:
                if request is not None:
                    self.report_scan_status(request, "failed", reason=exc.reason)
                raise
            if request is not None:
                self.report_scan_status(request, "sent")
            return done

        task: asyncio.Task[TransferDone] = asyncio.ensure_future(go())
        return task

    def cancel_document(self) -> None:
        agent = self._agent()
        if agent is not None and agent.link is not None:
            agent.link.cancel_outgoing()

    def send_proof(self, request: str, token: p.WebEidToken | dict[str, Any]) -> None:
        if self.call is None:
            return
        token = token if isinstance(token, p.WebEidToken) else p.WebEidToken.model_validate(token)
        self._spawn(self._send(p.IdentityProof(call=self.call, request=request, token=token)))
        self.report_identity_status(request, "sent")

    def abort_identity(self, request: str, reason: str) -> None:
        if self.call is None:
            return
        message = p.IdentityAbort(call=self.call, request=request, reason=reason)
        self._spawn(self._send(message))
        self.report_identity_status(request, "cancelled" if reason == "cancelled" else "failed", reason)

    def report_identity_status(self, request: str, state: str, reason: str | None = None) -> bool:
        return self._data_send(p.IdentityStatus(request=request, state=state, reason=reason))

    def report_scan_status(self, request: str, state: str, pages: int | None = None, reason: str | None = None) -> bool:
        message = p.ScanStatus(request=request, state=state, pages=pages, reason=reason)
        return self._data_send(message)

    def report_print_progress(
        self,
        transfer: str,
        state: str,
        pages: int | None = None,
        pages_done: int | None = None,
        reason: str | None = None,
    ) -> bool:
        message = p.PrintStatus(
            transfer=transfer, state=state, pages=pages, pages_done=pages_done, reason=reason
        )
        return self._data_send(message)

    def camera_changed(self, status: CameraStatus) -> None:
        """From the camera reader's thread: the track already sends the placeholder; tell the UI, staff and
        the agent (the placeholder picture says it in fi/sv/en, ``device.status`` puts it on the desk)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.camera = status
            return
        loop.call_soon_threadsafe(self._camera_changed, status)

    def _camera_changed(self, status: CameraStatus) -> None:
        was = self.camera
        self.camera = status
        if status.ready and was is not None and not was.ready:
            self._emit(CallTrouble("camera_back", status.state))
        elif not status.ready and (was is None or was.ready):
            self._emit(CallTrouble("camera_unavailable", status.state))
        self._tell_camera()

    def _tell_camera(self) -> None:
        """Tell the agent the camera's state when it differs from what they were last told in this call
        (a call starts as "working"). Also run when a data channel opens, so a change during a recovery,
        when no channel was open, still reaches the desk."""
        ok = self.camera is None or self.camera.ready
        if self.call is None or ok == self._camera_told_ok:
            return
        reason = None if ok or self.camera is None else self.camera.state
        if self._data_send(p.DeviceStatus(device="camera", ok=ok, reason=reason)):
            self._camera_told_ok = ok

    def call_quality(self) -> quality.CallSummary | None:
        """The call's quality summary for the session's record: the call under way's so far, or the last
        call's once it ended (``None`` until the call had samples with every figure)."""
        return self._this_call.summary() if self.call is not None else self.last_call_quality

    def health(self) -> dict[str, Any]:
        """The engine's part of the point's health report (no customer data): for staff and the organiser."""
        return {
            "switchboard": "connected" if self.connected.is_set() else "disconnected",
            "state": self.state,
            "turn": self.turn_problem or "ok",
            "camera": self.camera.to_dict() if self.camera is not None else None,
            "quality": self.aggregate.to_dict(),
            "malformed_frames": self.malformed_frames,
        }

    # ------------------------------------------------------------------------------------------- data channel

    def _agent(self) -> _Peer | None:
        return next((peer for peer in self.peers.values() if peer.role == "agent"), None)

    def _data_send(self, message: p.BaseModel) -> bool:
        """Send on the agent's data channel; while it is still opening (the agent answered, media is being
        set up, the customer already types) the message waits and goes out on open, in order."""
        agent = self._agent()
        if agent is None:
            return False
        channel = agent.channel
        if channel is not None and channel.readyState == "open":
            channel.send(p.encode(message))
            return True
        if (channel is None or channel.readyState == "connecting") and len(agent.pending_data) < MAX_PENDING_DATA:
            agent.pending_data.append(p.encode(message))
            return True
        return False

    def _setup_channel(self, peer: _Peer, channel: RTCDataChannel) -> None:
        if peer.link is not None:
            peer.link.close("call_dropped")
        peer.channel = channel
        channel.bufferedAmountLowThreshold = p.BUFFER_LOW_BYTES
        link = DocumentLink(channel, self._on_transfer, max_incoming_bytes=self.max_print_bytes)
        peer.link = link

        @channel.on("open")
        def on_open() -> None:
            log.info("data channel to %s open", peer.id)
            pending, peer.pending_data = peer.pending_data, []
            for frame in pending:
                channel.send(frame)
            self._tell_camera()

        @channel.on("bufferedamountlow")
        def on_low() -> None:
            link.on_low()

        @channel.on("close")
        def on_close() -> None:
            link.close("call_dropped")

        @channel.on("message")
        def on_message(data: str | bytes) -> None:
            # Nothing may escape from here: aiortc's DTLS loop ends the transport (the whole call) on an
            # exception out of a message handler, so a frame that cannot be handled costs that frame only.
            try:
                if isinstance(data, bytes):
                    link.on_binary(data)
                    return
                try:
                    message = p.parse_data(data)
                except p.ProtocolError as exc:
                    self.malformed_frames += 1
                    log.warning("malformed data-channel frame from %s: %s", peer.role, exc.code)
                    return
                self._on_data(message, link)
            except Exception:
                self.malformed_frames += 1
                log.exception("a data-channel frame from %s could not be handled; dropped", peer.role)

    def _on_data(self, m: Any, link: DocumentLink) -> None:
        if link.on_message(m):
            return
        if isinstance(m, p.Rtt):
            # Whole-line frames: an older frame arriving late must not overwrite a newer line.
            if m.seq <= self._rtt_seen and not m.final:
                return
            self._rtt_seen = max(self._rtt_seen, m.seq)
            self._emit(RttReceived(m.text, m.final))
        elif isinstance(m, p.ScanRequest):
            self._emit(ScanRequested(m.request))
        else:
            log.info("data-channel %s is not for the point: dropped", m.type)

    def _on_transfer(self, event: TransferEvent) -> None:
        if isinstance(event, DocumentReceived):
            if event.purpose == "print":
                self.report_print_progress(event.transfer, "received")
                self._emit(PrintRequested(event.transfer, event.name, event.data, event.sha256))
            return
        self._emit(event)

    # ------------------------------------------------------------------------------------------- the call

    def _rtc_configuration(self) -> RTCConfiguration:
        servers = [RTCIceServer(urls=url) for url in self.ice_urls]
        servers += [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in self.ice_servers
        ]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        # Never iceServers=None: aiortc would add a public STUN server (stack-notes).
        return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)

    def _local_tracks(self) -> tuple[MediaStreamTrack, MediaStreamTrack]:
        if self._video is None:
            m = self.media
            self._video = CameraTrack(m.video, m.width, m.height, m.fps, on_self_frame=self._self_frame)
            self._audio = m.audio() if m.audio is not None else AudioStreamTrack()
            self._relay = MediaRelay()
        assert self._audio is not None and self._relay is not None
        # Video unbuffered: each connection's encoder takes the newest picture. A buffered relay queues every
        # frame without limit, and an encoder slower than the camera (a busy machine, 720p) then grows
        # memory by ~80 MB a second until the kiosk is killed. Audio frames are small and must not be dropped.
        return self._relay.subscribe(self._audio), self._relay.subscribe(self._video, buffered=False)

    def _self_frame(self, image: RGB) -> None:
        now = time.monotonic()
        if now - self._last_self >= 1.0 / SELF_VIEW_FPS and self._listeners:
            self._last_self = now
            self._emit(SelfVideoFrame(image))

    async def _on_call_start(self, m: p.CallStart) -> None:
        if self.call is not None and self.call != m.call:
            await self._end_call("hangup", None)
        self.call, self.state, self.ticket = m.call, "in_call", None
        self._rtt_seq, self._rtt_seen = 0, -1
        self._camera_told_ok = True
        if m.ice_servers:
            self.ice_servers = list(m.ice_servers)
        agent = next((peer for peer in m.peers if peer.role == "agent"), None)
        self._emit(CallAnswered(m.call, agent.name if agent else ""))
        roles = {peer.id: peer for peer in m.peers}
        for peer_id in m.offer_to:
            info = roles.get(peer_id)
            try:
                await self._offer(peer_id, info.role if info else "agent", info.name if info else "")
            except Exception:
                # No media can be set up (no usable network interface, a codec missing…): say so at once
                # rather than leave the customer and the agent waiting for the switchboard's timeout.
                log.exception("offering to %s failed", peer_id)
                await self._send(p.Hangup(call=m.call))
                await self._end_call("media_failed", "point")
                return
        if self._stats_task is None:
            self._stats_task = self._spawn(self._sample_stats())

    async def _on_peer_joined(self, m: p.PeerJoined) -> None:
        if m.call != self.call:
            return
        if m.peer.role == "interpreter":
            self._emit(InterpreterJoined(m.peer.id, m.peer.name))
        if m.offer:
            await self._offer(m.peer.id, m.peer.role, m.peer.name)

    async def _on_peer_left(self, m: p.PeerLeft) -> None:
        peer = self.peers.pop(m.peer, None)
        if peer is not None:
            await self._close_peer(peer)
            if peer.role == "interpreter":
                self._emit(InterpreterLeft(peer.id))

    def _new_pc(self, peer_id: str, role: str, name: str, old: _Peer | None = None) -> _Peer:
        pc = RTCPeerConnection(self._rtc_configuration())
        peer = _Peer(peer_id, role, name, pc, we_offer=True)
        if old is not None:
            peer.connected_once, peer.lost_at, peer.recovery, peer.meter = (
                old.connected_once, old.lost_at, old.recovery, old.meter,
            )
        audio, video = self._local_tracks()
        pc.addTrack(audio)
        pc.addTrack(video)
        if role == "agent":
            self._setup_channel(peer, pc.createDataChannel(p.DATA_CHANNEL_LABEL, ordered=True))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            on_video = None
            if track.kind == "video":
                def on_video(image: RGB) -> None:
                    self._emit(RemoteVideoFrame(peer.id, peer.role, image))
            speaker = None
            if track.kind == "audio" and self.media.speaker is not None:
                try:
                    speaker = self.media.speaker()
                    speaker.addTrack(track)
                    self._spawn(speaker.start())
                except Exception as exc:  # no speaker: the call goes on; staff see the device error
                    log.error("speaker unavailable: %s", exc)
                    speaker = None
            if speaker is None:
                sink = TrackSink(track, on_video=on_video)
                sink.start()
                peer.sinks.append(sink)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            await self._on_connection_state(peer)

        return peer

    async def _offer(self, peer_id: str, role: str, name: str, old: _Peer | None = None) -> None:
        peer = self._new_pc(peer_id, role, name, old)
        self.peers[peer_id] = peer
        await peer.pc.setLocalDescription(await peer.pc.createOffer())  # aiortc gathers before returning
        sdp = peer.pc.localDescription.sdp
        if self.call is None or self.peers.get(peer_id) is not peer:
            return
        if await self._check_turn(sdp) and self.relay_only:
            await self._send(p.Hangup(call=self.call))
            await self._end_call("media_failed", "point")
            return
        await self._send(p.Offer(call=self.call, peer=peer_id, sdp=sdp))

    async def _check_turn(self, sdp: str) -> bool:
        """Return True (and tell staff why) when TURN was configured but gave no relay candidate.

        aiortc fails silently with a wrong TURN password (no candidates, then a call that times out), so
        the point asks the TURN server itself and reports what it said.
        """
        turn = [s for s in self.ice_servers if any(u.startswith(("turn:", "turns:")) for u in s.urls)]
        if not turn:
            return False
        if " typ relay" in sdp:
            self.turn_problem = None
            return False
        kind, detail = await probe_turn(turn[0])
        self.turn_problem = f"{kind}: {detail}"
        log.error("TURN gave no relay: %s", self.turn_problem)
        self._emit(CallTrouble(kind, detail))
        return True

    async def _on_answer(self, m: p.Answer) -> None:
        peer = self.peers.get(m.peer)
        if peer is None or m.call != self.call:
            return
        if peer.pc.signalingState != "have-local-offer":
            log.warning("answer from %s in state %s: dropped", m.peer, peer.pc.signalingState)
            return
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=m.sdp, type="answer"))
        peer.answered_at = time.monotonic()
        for ice in peer.pending_ice:
            await self._add_ice(peer, ice)
        peer.pending_ice.clear()

    async def _on_ice(self, m: p.Ice) -> None:
        peer = self.peers.get(m.peer)
        if peer is None or m.call != self.call or not m.candidate:
            return
        if peer.pc.remoteDescription is None:
            peer.pending_ice.append(m)
            return
        await self._add_ice(peer, m)

    async def _add_ice(self, peer: _Peer, m: p.Ice) -> None:
        assert m.candidate is not None
        text = m.candidate.removeprefix("candidate:")
        if self.candidate_filter is not None and not self.candidate_filter(text):
            return
        try:
            candidate = candidate_from_sdp(text)
        except (ValueError, IndexError):
            log.warning("unreadable ICE candidate from %s: dropped", peer.role)
            return
        candidate.sdpMid, candidate.sdpMLineIndex = m.sdp_mid, m.sdp_mline_index
        with contextlib.suppress(Exception):
            await peer.pc.addIceCandidate(candidate)

    # ------------------------------------------------------------------------------------------- recovery

    async def _on_connection_state(self, peer: _Peer) -> None:
        if self.peers.get(peer.id) is not peer:
            return
        state = peer.pc.connectionState
        log.info("connection to %s: %s", peer.role, state)
        if state == "connected":
            recovered = peer.lost_at is not None
            peer.connected_once, peer.lost_at = True, None
            if peer.recovery is not None and peer.recovery is not asyncio.current_task():
                peer.recovery.cancel()
            peer.recovery = None
            if recovered:
                self._emit(CallTrouble("recovered", peer.role))
            if peer.role == "agent" and self.call is not None:
                self._emit(CallConnected(self.call, recovered))
        elif state in ("failed", "closed") and self.call is not None and not peer.closing:
            # aiortc closes the whole connection right after ICE consent expires, so the handler (which runs
            # later) may already read "closed" instead of "failed": both mean the path is lost.
            if peer.lost_at is None:
                peer.lost_at = time.monotonic()
                self._emit(CallTrouble("reconnecting", peer.role))
            if peer.recovery is None:
                peer.recovery = self._spawn(self._recover(peer.id))

    async def _recover(self, peer_id: str) -> None:
        """Offer again on a fresh connection until media returns or :data:`RECOVERY_S` runs out.

        Only one recovery offer is outstanding at a time: while the network is down the offer waits in the
        signalling socket's TCP buffer and is delivered when the network returns. Sending more would have
        the agent answer stale offers whose answers then reach the wrong connection.
        """
        loop = asyncio.get_running_loop()
        first = self.peers.get(peer_id)
        if first is None:
            return
        lost_at = first.lost_at or time.monotonic()
        deadline = loop.time() + self.recovery_s - (time.monotonic() - lost_at)
        while loop.time() < deadline and self.call is not None:
            current = self.peers.get(peer_id)
            if current is None:
                return
            state = current.pc.connectionState
            if state == "connected":
                return
            waiting_answer = current.pc.signalingState == "have-local-offer"
            stale = (
                current.answered_at is not None and time.monotonic() - current.answered_at > ANSWERED_CONNECT_S
            )
            lost = state in ("failed", "closed")
            if self.connected.is_set() and (current.reoffer or lost or (stale and not waiting_answer)):
                await self._close_peer(current)
                await self._offer(peer_id, current.role, current.name, current)
            await asyncio.sleep(0.25)
        current = self.peers.get(peer_id)
        if self.call is None or current is None or current.pc.connectionState == "connected":
            return
        if current.role == "interpreter":
            self.peers.pop(peer_id, None)
            await self._close_peer(current)
            self._emit(InterpreterLeft(peer_id))
            return
        log.warning("media did not come back within %.0f s: ending the call", self.recovery_s)
        call = self.call
        await self._send(p.Hangup(call=call))
        await self._end_call("network_lost", "point")

    async def _without_switchboard(self) -> None:
        """The signalling socket dropped in a call or in the queue. The switchboard holds both for a while;
        media may go on, but without the switchboard nobody can hang up, identify or answer: give it
        :data:`RECOVERY_S` to come back, then end the call or leave the queue on the point."""
        call = self.call
        try:
            await asyncio.wait_for(self.connected.wait(), self.recovery_s)
        except TimeoutError:
            if call is not None and self.call == call:
                log.warning("no switchboard for %.0f s during a call: ending it", self.recovery_s)
                await self._end_call("network_lost", "point")
            elif call is None and self.state == "queued":
                log.warning("no switchboard for %.0f s in the queue: the place is lost", self.recovery_s)
                self._queue_lost()

    def _queue_lost(self) -> None:
        self.state = "idle" if self.connected.is_set() else "offline"
        self.ticket = None
        self._emit(QueueLeft("network_lost"))

    # ------------------------------------------------------------------------------------------- ending

    async def _close_peer(self, peer: _Peer) -> None:
        peer.closing = True
        if peer.link is not None:
            peer.link.close("call_dropped")
        for sink in peer.sinks:
            await sink.stop()
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
        self._emit(CallEnded(call, reason, by))

    # ------------------------------------------------------------------------------------------- quality

    async def _sample_stats(self) -> None:
        while self.call is not None:
            await asyncio.sleep(self.stats_interval_s)
            for peer in list(self.peers.values()):
                if peer.pc.connectionState != "connected":
                    continue
                try:
                    report = await peer.pc.getStats()
                except Exception:
                    continue
                frames = sum(s.frames for s in peer.sinks if s.kind == "video")
                sample = peer.meter.sample(report, frames_received=frames, now=time.monotonic())
                if sample is not None:
                    self.quality_log.append(sample)
                    self.aggregate.add(sample)
                    if peer.role == "agent":
                        self._this_call.add(sample)
                    self._emit(CallQuality(peer.id, peer.role, sample))


TurnProblem = Literal["turn_refused", "turn_unreachable"]


async def probe_turn(server: p.IceServer, timeout: float = 5.0) -> tuple[TurnProblem, str]:
    """Ask the TURN server for an allocation with the call's credentials and say why it failed."""
    url = next(u for u in server.urls if u.startswith("turn:"))
    rest = url.split(":", 1)[1]
    hostport, _, query = rest.partition("?")
    host, _, port = hostport.rpartition(":")
    transport = "tcp" if "transport=tcp" in query else "udp"

    class _Sink(asyncio.DatagramProtocol):
        pass

    try:
        endpoint, _ = await asyncio.wait_for(
            create_turn_endpoint(
                _Sink,
                (host or hostport, int(port or 3478)),
                server.username,
                server.credential,
                transport=transport,
            ),
            timeout,
        )
    except stun.TransactionFailed as exc:
        text = str(exc)
        if "401" in text or "Unauthorized" in text or "403" in text:
            return "turn_refused", "the TURN server refused the credentials (401)"
        return "turn_refused", f"the TURN server refused: {text[:120]}"
    except (stun.TransactionTimeout, TimeoutError, OSError) as exc:
        return "turn_unreachable", f"the TURN server did not answer ({type(exc).__name__})"
    endpoint.close()
    return "turn_unreachable", "the TURN server allocates, but gave the call no relay candidate"
