"""Identification in a call: an agent asks, the switchboard issues a single-use nonce to the point, validates
the proof the point's card signed (off the event loop) and shows that agent the holder. In a joint call
(issue 22) either agent may ask; another agent in the call is shown the holder only when the point says the
customer agreed (``identity.share``)."""

from __future__ import annotations

import asyncio
import logging
import secrets

from etapiste import protocol as p
from etapiste.codes import IdentityAbortCode, IdentityResultCode
from switchboard.hub.core import HubCore, Proven
from switchboard.hub.participant import Participant, RemoteParticipant
from switchboard.identity import Holder, ProofRejected, new_nonce
from switchboard.state import Call, Nonce

log = logging.getLogger("switchboard")


class Identity(HubCore):
    """Identity requests, proofs and their results."""

    async def _identity_start(self, agent: Participant, msg: p.IdentityStart) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        if agent.id != call.agent and agent.id not in call.joined_producers:
            return await self._error(agent, msg, "not_allowed", "only an agent in the call identifies")
        nonce = Nonce(
            value=new_nonce(),
            request=f"r-{secrets.token_hex(8)}",
            call=call.id,
            agent=agent.id,
            expires=self.clock() + p.NONCE_TTL_S,
        )
        await self.state.put_nonce(nonce)
        point = self._find(call.point)
        if point is not None:
            await point.send(
                p.IdentityRequest(
                    call=call.id, request=nonce.request, nonce=nonce.value, origin=self.config.origin,
                    # Only in a joint call (an older point refuses the field): who asked, for the consent.
                    agent=agent.id if call.joined_producers else None,
                )
            )
        log.info("call %s: identity request %s issued", call.id, nonce.request)

    async def _identity_proof(self, point: Participant, msg: p.IdentityProof) -> None:
        call = await self._in_call(point, msg)
        if call is None:
            return
        nonce = await self.state.take_nonce(msg.request)
        if nonce is None or nonce.call != call.id:
            # Unknown, already used, or another call's: the same answer for all, so nothing leaks.
            return await self._identity_result(
                call, msg.request, None, "nonce_reused", "the request is not open", call.agent
            )
        if nonce.expires < self.clock():
            return await self._identity_result(
                call, msg.request, None, "nonce_expired", "the request expired", nonce.agent
            )
        if self.validator is None:
            return await self._identity_result(
                call, msg.request, None, "unavailable", "identity verification is not configured", nonce.agent
            )
        loop = asyncio.get_running_loop()
        try:
            holder = await loop.run_in_executor(
                None, self.validator, msg.token, nonce.value, self.config.origin, self.clock()
            )
        except ProofRejected as exc:
            return await self._identity_result(call, msg.request, None, exc.reason, str(exc), nonce.agent)
        self._proven[msg.request] = Proven(call=call.id, agent=nonce.agent, holder=holder)
        await self._identity_result(call, msg.request, holder, None, "", nonce.agent)

    async def _identity_abort(self, point: Participant, msg: p.IdentityAbort) -> None:
        call = await self._in_call(point, msg)
        if call is None:
            return
        nonce = await self.state.take_nonce(msg.request)
        if nonce is None:
            return await self._error(point, msg, "not_allowed", "no such identity request")
        await self._identity_result(call, msg.request, None, msg.reason, "", nonce.agent)

    async def _identity_share(self, point: Participant, msg: p.IdentityShare) -> None:
        """The customer agreed on the kiosk: show ``peer`` (another agent in the call) the identity verified
        for ``request``. Refused for anything else: an unknown, failed or other call's request, or a peer that
        is not an agent in this call."""
        call = await self._in_call(point, msg)
        if call is None:
            return
        proven = self._proven.get(msg.request)
        target = self._find(msg.peer)
        if (
            proven is None
            or proven.call != call.id
            or msg.peer == proven.agent
            or msg.peer not in {call.agent, *call.joined_producers}
            or target is None
        ):
            return await self._error(point, msg, "not_allowed", "no verified identity to show that participant")
        holder = proven.holder
        await target.send(
            p.IdentityResult(
                call=call.id,
                request=msg.request,
                ok=True,
                given_name=holder.given_name,
                surname=holder.surname,
                satu=holder.satu,
                shared_from=call.producer_of(proven.agent),
            )
        )
        log.info("call %s: identity %s shown to %s with the customer's consent", call.id, msg.request, msg.peer)

    async def _identity_result(
        self,
        call: Call,
        request: str,
        holder: Holder | None,
        reason: IdentityResultCode | IdentityAbortCode | None,
        message: str,
        to: str,
    ) -> None:
        """The verdict to the agent who asked (``to``), with the holder; to the point without."""
        log.info("call %s: identity request %s %s", call.id, request, "verified" if holder else f"failed: {reason}")
        agent = self._find(to)
        # One who left the call is not shown it (one on another instance: our record of it may lag).
        if agent is not None and (isinstance(agent, RemoteParticipant) or agent.call == call.id):
            await agent.send(
                p.IdentityResult(
                    call=call.id,
                    request=request,
                    ok=holder is not None,
                    given_name=holder.given_name if holder else None,
                    surname=holder.surname if holder else None,
                    satu=holder.satu if holder else None,
                    reason=reason,
                    message=message[:500],
                )
            )
        point = self._find(call.point)
        if point is not None:
            await point.send(p.IdentityResult(call=call.id, request=request, ok=holder is not None, reason=reason))
