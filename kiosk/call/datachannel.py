"""The call's data channels to the agents: real-time text, statuses, scan requests and documents (through
:class:`kiosk.transfer.DocumentLink`). Messages said while a channel is still opening wait and go out on
open, in order; a frame that cannot be handled costs that frame only, never the call. In a joint call each
agent has a channel of their own: text and the camera's state go to every agent, what one agent asked for
to that agent alone (:mod:`kiosk.call.joint`)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiortc import (
    RTCDataChannel,
)

from etapiste import protocol as p
from etapiste.codes import PrintFailureCode, ScanFailureCode
from kiosk.call.events import PrintRequested, RttReceived, ScanRequested
from kiosk.call.joint import JointCall
from kiosk.logsafe import where
from kiosk.transfer import DocumentLink, DocumentReceived, Purpose, TransferDone, TransferEvent

if TYPE_CHECKING:
    from kiosk.call.peer import Peer

log = logging.getLogger("kiosk.call")

#: Data-channel messages kept while the channel opens (a customer typing fast: ~2 per keystroke at most).
MAX_PENDING_DATA = 200


class DataChannel(JointCall):
    """Sending on and receiving from the agents' data channels."""

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
        reported to the agent around the transfer. The document goes to the agent who asked for it (in a
        joint call, never to the other agent; to nobody if they have left).
        """
        agent = self._agent_for(request)
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
        for agent in self._agents():
            if agent.link is not None:
                agent.link.cancel_outgoing()

    def report_identity_status(self, request: str, state: str, reason: str | None = None) -> bool:
        return self._data_send(p.IdentityStatus(request=request, state=state, reason=reason), asked=request)

    def report_scan_status(
        self, request: str, state: str, pages: int | None = None, reason: ScanFailureCode | None = None
    ) -> bool:
        message = p.ScanStatus(request=request, state=state, pages=pages, reason=reason)
        return self._data_send(message, asked=request)

    def report_print_progress(
        self,
        transfer: str,
        state: str,
        pages: int | None = None,
        pages_done: int | None = None,
        reason: PrintFailureCode | None = None,
    ) -> bool:
        message = p.PrintStatus(
            transfer=transfer, state=state, pages=pages, pages_done=pages_done, reason=reason
        )
        return self._data_send(message, asked=transfer)

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

    def _data_send(self, message: p.BaseModel, asked: str | None = None) -> bool:
        """Send to the agent who ``asked`` (a request's or transfer's id), or to every agent; True when at least
        one takes it."""
        if asked is not None:
            agent = self._agent_for(asked)
            return agent is not None and self._send_to(agent, message)
        sent = [self._send_to(agent, message) for agent in self._agents()]
        return any(sent)

    def _send_to(self, agent: Peer, message: p.BaseModel) -> bool:
        """Send on ``agent``'s data channel; while it is still opening (the agent answered, media is being
        set up, the customer already types) the message waits and goes out on open, in order."""
        channel = agent.channel
        if channel is not None and channel.readyState == "open":
            channel.send(p.encode(message))
            return True
        if (channel is None or channel.readyState == "connecting") and len(agent.pending_data) < MAX_PENDING_DATA:
            agent.pending_data.append(p.encode(message))
            return True
        return False

    def _setup_channel(self, peer: Peer, channel: RTCDataChannel) -> None:
        if peer.link is not None:
            peer.link.close("call_dropped")
        peer.channel = channel
        channel.bufferedAmountLowThreshold = p.BUFFER_LOW_BYTES
        link = DocumentLink(
            channel, lambda event: self._on_transfer(event, peer), max_incoming_bytes=self.max_print_bytes
        )
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
                self._on_data(message, link, peer)
            except Exception as exc:  # logged without its message: a frame carries the customer's text and documents
                self.malformed_frames += 1
                log.error("a data-channel frame from %s could not be handled; dropped: %s", peer.role, where(exc))

    def _on_data(self, m: Any, link: DocumentLink, peer: Peer) -> None:
        if link.on_message(m):
            return
        if isinstance(m, p.Rtt):
            # Whole-line frames: an older frame arriving late must not overwrite a newer line (each agent
            # numbers their own lines).
            if m.seq <= peer.rtt_seen and not m.final:
                return
            peer.rtt_seen = max(peer.rtt_seen, m.seq)
            self._emit(RttReceived(m.text, m.final))
        elif isinstance(m, p.ScanRequest):
            self._requester[m.request] = peer.id  # the scan goes back to this agent only
            self._emit(ScanRequested(m.request))
        else:
            log.info("data-channel %s is not for the point: dropped", m.type)

    def _on_transfer(self, event: TransferEvent, peer: Peer) -> None:
        if isinstance(event, DocumentReceived):
            if event.purpose == "print":
                self._requester[event.transfer] = peer.id  # its progress goes back to this agent
                self.report_print_progress(event.transfer, "received")
                self._emit(PrintRequested(event.transfer, event.name, event.data, event.sha256))
            return
        self._emit(event)
