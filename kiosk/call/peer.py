"""Peer connections: one per participant of the call, the point always offering. Local tracks are shared
through one relay; remote tracks go to the speaker or a sink that hands frames to the UI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

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

from etapiste import protocol as p
from kiosk import stats as quality
from kiosk.call import encoder
from kiosk.call.datachannel import DataChannel
from kiosk.call.events import (
    RGB,
    AgentJoined,
    AgentLeft,
    CallAnswered,
    CallQuality,
    CallTrouble,
    InterpreterJoined,
    InterpreterLeft,
    RemoteVideoFrame,
    SelfVideoFrame,
)
from kiosk.call.turn import probe_turn
from kiosk.media import CameraTrack, TrackSink
from kiosk.transfer import DocumentLink

log = logging.getLogger("kiosk.call")

#: Self view frames are handed to the UI at most this often (the customer's own picture needs less).
SELF_VIEW_FPS = 15


@dataclass
class Peer:
    """One participant of the call and our peer connection to it."""

    id: str
    role: str
    name: str
    pc: RTCPeerConnection
    we_offer: bool
    sinks: list[TrackSink] = field(default_factory=list)
    speakers: list[Any] = field(default_factory=list)
    """The speaker outputs playing this peer's voice (a sound device stream each), stopped with the peer."""
    channel: RTCDataChannel | None = None
    link: DocumentLink | None = None
    pending_ice: list[p.Ice] = field(default_factory=list)
    rtt_seen: int = -1
    """The newest real-time text line number seen from this peer (each agent numbers their own)."""
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
    silent_s: float = 0.0
    """How long nothing at all has arrived from this peer (no picture, no voice, not even RTCP reports)."""
    stalled: bool = False
    """The customer was told the connection is interrupted because of that silence (:data:`SILENT_S`)."""
    sampled: bool = False
    """This connection has had a quality sample (its first one's interval may reach back into the connection it
    replaced, whose meter it carries on: a recovered call's gap is not this connection's silence)."""

    @property
    def in_trouble(self) -> bool:
        """The customer is being told this participant's connection is interrupted (silent, or lost)."""
        return self.stalled or self.lost_at is not None


#: Nothing at all from a connected peer for this long, and the customer is told the connection is interrupted.
#: A working peer sends RTCP reports every second or so even when it sends no picture or sound; ICE consent,
#: which ends the connection and starts recovery, waits ~30 s (kiosk/consent.py) so as not to end a call on a
#: busy point — far too long for a customer to look at a frozen agent with nothing said (the chaos soak's
#: network cuts of 15–31 s showed nothing at all before this).
SILENT_S = 3.0


class PeerConnections(DataChannel):
    """Setting up, offering to, feeding ICE to and sampling the call's peer connections."""

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
            self._video = CameraTrack(
                m.video, m.width, m.height, m.fps, on_self_frame=self._self_frame, self_view_fps=SELF_VIEW_FPS
            )
            self._audio = m.audio() if m.audio is not None else AudioStreamTrack()
            self._relay = MediaRelay()
        assert self._audio is not None and self._relay is not None
        # Video unbuffered: each connection's encoder takes the newest picture. A buffered relay queues every
        # frame without limit, and an encoder slower than the camera (a busy machine, 720p) then grows
        # memory by ~80 MB a second until the kiosk is killed. Audio frames are small and must not be dropped.
        return self._relay.subscribe(self._audio), self._relay.subscribe(self._video, buffered=False)

    def _self_frame(self, image: RGB) -> None:
        if self._listeners:
            self._emit(SelfVideoFrame(image))

    async def _on_call_start(self, m: p.CallStart) -> None:
        if self.call is not None and self.call != m.call:
            await self._end_call("hangup", None)
        self.call, self.state, self.ticket = m.call, "in_call", None
        self._rtt_seq, self._rtt_seen = 0, -1
        self._camera_told_ok = True
        if m.ice_servers:
            self.ice_servers = list(m.ice_servers)
        self._call_producer = m.producer
        self._peer_producers.update({peer.id: peer.producer for peer in m.peers if peer.producer})
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
        if m.peer.role == "agent":
            if m.peer.producer:
                self._peer_producers[m.peer.id] = m.peer.producer
            self._emit(AgentJoined(m.peer.id, m.peer.name, m.peer.producer))
        if m.offer:
            await self._offer(m.peer.id, m.peer.role, m.peer.name)
        if m.peer.role == "agent":
            self._ask_consent()  # the customer proved who they are already: may this agent see it too?

    async def _on_peer_left(self, m: p.PeerLeft) -> None:
        peer = self.peers.pop(m.peer, None)
        if peer is not None:
            await self._close_peer(peer)
            if peer.in_trouble:  # its trouble left with it: the screen says no more of it
                self._trouble_over(peer)
            if peer.role == "interpreter":
                self._emit(InterpreterLeft(peer.id))
            elif peer.role == "agent":
                self._emit(AgentLeft(peer.id))

    def _new_pc(self, peer_id: str, role: str, name: str, old: Peer | None = None) -> Peer:
        pc = RTCPeerConnection(self._rtc_configuration())
        peer = Peer(peer_id, role, name, pc, we_offer=True)
        if old is not None:
            peer.connected_once, peer.lost_at, peer.recovery, peer.meter = (
                old.connected_once, old.lost_at, old.recovery, old.meter,
            )
            peer.rtt_seen = old.rtt_seen
        audio, video = self._local_tracks()
        pc.addTrack(audio)
        sender = pc.addTrack(video)
        for transceiver in pc.getTransceivers():
            if transceiver.sender is sender:  # the point's codec first (kiosk/call/encoder.py); the answer decides
                transceiver.setCodecPreferences(encoder.codec_preferences("video"))
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
                    peer.speakers.append(speaker)
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

    async def _offer(self, peer_id: str, role: str, name: str, old: Peer | None = None) -> None:
        """Offer to ``peer_id`` on a fresh connection. ``old``: the connection it replaces, closed by the caller
        (recovery). Any other connection to the same participant is closed here: replaced in :attr:`peers`, it
        would keep its sockets and its speaker's sound stream open for the rest of the kiosk's life."""
        previous = self.peers.get(peer_id)
        peer = self._new_pc(peer_id, role, name, old)
        self.peers[peer_id] = peer
        if previous is not None and previous is not old:
            await self._close_peer(previous)
        await peer.pc.setLocalDescription(await peer.pc.createOffer())  # aiortc gathers before returning
        sdp = peer.pc.localDescription.sdp
        if self.call is None or self.peers.get(peer_id) is not peer:
            await self._close_peer(peer)  # the call ended, or another offer replaced this one, while it gathered
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

    async def _add_ice(self, peer: Peer, m: p.Ice) -> None:
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
                    self.aggregate.add(sample)
                    if peer.role == "agent":
                        self._this_call.add(sample)
                    self._emit(CallQuality(peer.id, peer.role, sample))
                    self._watch_silence(peer, sample)

    def _watch_silence(self, peer: Peer, sample: quality.QualitySample) -> None:
        """Tell the customer when a connected peer has gone silent for :data:`SILENT_S` (the network gone quiet
        on the way), and that it is back when anything arrives again; recovery, if ICE consent then expires,
        goes on as before without telling them twice."""
        first, peer.sampled = not peer.sampled, True
        if first:
            return
        if sample.receive_kbps > 0:
            peer.silent_s = 0.0
            if peer.stalled:
                peer.stalled = False
                if peer.lost_at is None:
                    log.info("%s heard from again", peer.role)
                    self._trouble_over(peer)
            return
        peer.silent_s += sample.interval_s
        if peer.silent_s >= SILENT_S and not peer.stalled and peer.lost_at is None:
            peer.stalled = True
            log.info("nothing from %s for %.0f s: the customer is told the connection is interrupted", peer.role,
                     peer.silent_s)  # fmt: skip
            self._emit(CallTrouble("reconnecting", peer.role))

    def _trouble_over(self, peer: Peer) -> None:
        """``peer``'s trouble is over (heard again, reconnected or gone). The customer's screen says the call is
        interrupted for as long as any participant's connection is: with an agent and an interpreter both cut
        off, the agent's return must not clear the notice while the interpreter is still frozen."""
        troubled = [other.role for other in self.peers.values() if other.id != peer.id and other.in_trouble]
        if troubled:
            log.info("%s back; still interrupted: %s", peer.role, ", ".join(troubled))
            return
        self._emit(CallTrouble("recovered", peer.role))

    async def _on_connection_state(self, peer: Peer) -> None:
        """A peer connection's state changed; :class:`kiosk.call.recovery.Recovery` acts on it."""
