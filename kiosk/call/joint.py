"""A joint call (issue 22): two agents of different producers serve the customer together. Each agent has
their own data channel from the point; what one agent asked for (a scan, a print job's progress, the
identification's steps) is answered to that agent alone, and the identity the customer proved to one agent
is shown to another only when the customer says yes on the kiosk (``identity.share``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from etapiste import protocol as p
from kiosk.call.core import EngineCore
from kiosk.call.events import ShareIdentityAsked

if TYPE_CHECKING:
    from kiosk.call.peer import Peer

log = logging.getLogger("kiosk.call")


class JointCall(EngineCore):
    """Which agent asked for what, and the customer's consent to show their identity to another agent."""

    def _agents(self) -> list[Peer]:
        """The call's agents, the answering agent first (it was offered to first)."""
        return [peer for peer in self.peers.values() if peer.role == "agent"]

    def _agent_for(self, asked: str | None) -> Peer | None:
        """The agent a scan request, print transfer or identity request ``asked`` concerns: the one who asked.
        None when that agent has left (what they asked for must not go to another producer's agent); the
        answering agent for anything nobody in particular asked for."""
        pid = self._requester.get(asked) if asked is not None else None
        if pid is not None:
            peer = self.peers.get(pid)
            return peer if peer is not None and peer.role == "agent" else None
        agents = self._agents()
        return agents[0] if agents else None

    def _producer_of(self, peer_id: str) -> str | None:
        return self._peer_producers.get(peer_id, self._call_producer)

    def _identity_proven(self, request: str) -> None:
        """The switchboard verified the customer's proof for ``request`` (shown to the agent who asked)."""
        asker = self._agent_for(request)
        if asker is None:
            return
        self._proven = (request, asker.id)
        self._consent_asked = {asker.id}
        self._ask_consent()

    def _ask_consent(self) -> None:
        """Ask the customer, once per agent, whether each other agent in the call may see the proven identity."""
        if self._proven is None:
            return
        request, _ = self._proven
        for peer in self._agents():
            if peer.id not in self._consent_asked:
                self._consent_asked.add(peer.id)
                self._emit(ShareIdentityAsked(request, peer.id, self._producer_of(peer.id)))

    def share_identity(self, request: str, peer: str) -> None:
        """The customer said yes: the switchboard shows ``peer`` the identity verified for ``request``."""
        if self.call is None or self._proven is None or self._proven[0] != request or peer not in self.peers:
            return
        log.info("identity %s shared with %s with the customer's consent", request, peer)
        self._spawn(self._send(p.IdentityShare(call=self.call, request=request, peer=peer)))
