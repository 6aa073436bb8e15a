"""Recovery: a call that lost its media, or its signalling, comes back without the customer doing anything.

aiortc 1.16 has no ICE restart, so the engine creates a new peer connection to recover: the point is always
the offerer, so after a network loss it offers again on a fresh connection (new ICE credentials and DTLS) to
the same agent through the switchboard; the agent's side treats it as a renegotiation. Media and the data
channel come back; a transfer that was running fails with ``call_dropped`` (the customer is told and may send
again). When the signalling socket drops too (a cut longer than its heartbeat), the switchboard holds the
call for a minute: the engine reconnects at least every second, names its call in the hello, and on a ``welcome``
that resumes it offers afresh to every peer without media. A late ICE consent answer on a busy point is
not a lost network (:mod:`kiosk.consent`, installed by the engine).
"""

from __future__ import annotations

import asyncio
import logging
import time

from etapiste import protocol as p
from kiosk.call.events import AgentLeft, CallConnected, CallTrouble, InterpreterLeft
from kiosk.call.peer import Peer, PeerConnections

log = logging.getLogger("kiosk.call")

#: After an answer, how long a fresh connection may take to connect before recovery offers again.
ANSWERED_CONNECT_S = 10.0


class Recovery(PeerConnections):
    """Noticing a lost connection and offering again until media returns or the time runs out."""

    async def _on_connection_state(self, peer: Peer) -> None:
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
                self._trouble_over(peer)
            if peer.role == "agent" and self.call is not None:
                self._emit(CallConnected(self.call, recovered))
        elif state in ("failed", "closed") and self.call is not None and not peer.closing:
            # aiortc closes the whole connection right after ICE consent expires, so the handler (which runs
            # later) may already read "closed" instead of "failed": both mean the path is lost.
            if peer.lost_at is None:
                peer.lost_at = time.monotonic()
                if not peer.stalled:  # told already when it went silent (PeerConnections._watch_silence)
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
        if current.role == "interpreter" or peer_id in self._peer_producers:
            # One who joined (an interpreter, a joint call's second agent) is lost alone: the customer's call
            # with the answering agent goes on (their desk gives up and leaves the call on its own).
            self.peers.pop(peer_id, None)
            await self._close_peer(current)
            self._trouble_over(current)  # the call with the agent goes on, untroubled by this one
            self._emit(InterpreterLeft(peer_id) if current.role == "interpreter" else AgentLeft(peer_id))
            return
        log.warning("media did not come back within %.0f s: ending the call", self.recovery_s)
        call = self.call
        await self._send(p.Hangup(call=call))
        await self._end_call("network_lost", "point")

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
