"""Identification in a call: the answering agent asks, the switchboard issues a single-use nonce to the
point, validates the proof the point's card signed (off the event loop) and shows the agent the holder."""

from __future__ import annotations

import asyncio
import logging
import secrets

from etapiste import protocol as p
from etapiste.codes import IdentityAbortCode, IdentityResultCode
from switchboard.hub.core import HubCore
from switchboard.hub.participant import Participant
from switchboard.identity import Holder, ProofRejected, new_nonce
from switchboard.state import Call, Nonce

log = logging.getLogger("switchboard")


class Identity(HubCore):
    """Identity requests, proofs and their results."""

    async def _identity_start(self, agent: Participant, msg: p.IdentityStart) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        if agent.id != call.agent:
            return await self._error(agent, msg, "not_allowed", "only the answering agent identifies")
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
                p.IdentityRequest(call=call.id, request=nonce.request, nonce=nonce.value, origin=self.config.origin)
            )
        log.info("call %s: identity request %s issued", call.id, nonce.request)

    async def _identity_proof(self, point: Participant, msg: p.IdentityProof) -> None:
        call = await self._in_call(point, msg)
        if call is None:
            return
        nonce = await self.state.take_nonce(msg.request)
        if nonce is None or nonce.call != call.id:
            # Unknown, already used, or another call's: the same answer for all, so nothing leaks.
            return await self._identity_result(call, msg.request, None, "nonce_reused", "the request is not open")
        if nonce.expires < self.clock():
            return await self._identity_result(call, msg.request, None, "nonce_expired", "the request expired")
        if self.validator is None:
            return await self._identity_result(
                call, msg.request, None, "unavailable", "identity verification is not configured"
            )
        loop = asyncio.get_running_loop()
        try:
            holder = await loop.run_in_executor(
                None, self.validator, msg.token, nonce.value, self.config.origin, self.clock()
            )
        except ProofRejected as exc:
            return await self._identity_result(call, msg.request, None, exc.reason, str(exc))
        await self._identity_result(call, msg.request, holder, None, "")

    async def _identity_abort(self, point: Participant, msg: p.IdentityAbort) -> None:
        call = await self._in_call(point, msg)
        if call is None:
            return
        if await self.state.take_nonce(msg.request) is None:
            return await self._error(point, msg, "not_allowed", "no such identity request")
        await self._identity_result(call, msg.request, None, msg.reason, "")

    async def _identity_result(
        self,
        call: Call,
        request: str,
        holder: Holder | None,
        reason: IdentityResultCode | IdentityAbortCode | None,
        message: str,
    ) -> None:
        log.info("call %s: identity request %s %s", call.id, request, "verified" if holder else f"failed: {reason}")
        agent = self._find(call.agent)
        if agent is not None:
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
