"""Invitations into a running call, whoever is invited: an agent asks, the switchboard sends the invitation
to every fitting free participant (interpreters of a language, or another producer's agents for a joint
call), the first of them to accept joins the call's mesh, the others see the invitation withdrawn. Those who
joined leave alone; the point or the answering agent ends the call for everyone.

One core for both kinds, so joining (the mesh's offers, ``call.start``) and leaving (``call.peer_left``)
work the same for an interpreter and a joint call's second agent; :mod:`~switchboard.hub.interpreters` and
:mod:`~switchboard.hub.joint` only choose whom to invite and what the invitation says.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from etapiste import protocol as p
from switchboard.hub.core import HubCore
from switchboard.hub.participant import Participant
from switchboard.state import Call, Invite

log = logging.getLogger("switchboard")


def _gone(invite: Invite) -> p.InterpreterInviteGone | p.AgentInviteGone:
    """The withdrawal in the invitation's own kind (a desk listens for the kind it was invited by)."""
    if invite.producer is not None:
        return p.AgentInviteGone(invite=invite.id)
    return p.InterpreterInviteGone(invite=invite.id)


class Invitations(HubCore):
    """Opening, accepting and withdrawing invitations; joining and leaving a call."""

    async def _open_invite(
        self, call: Call, invited: list[Participant], language: str | None = None, producer: str | None = None
    ) -> Invite:
        """Record an invitation to ``invited`` (the caller sends it: what it says depends on its kind)."""
        prefix = "i" if producer is None else "j"
        invite = Invite(
            id=f"{prefix}-{secrets.token_hex(6)}",
            call=call.id,
            language=language,
            interpreters=[part.id for part in invited],
            producer=producer,
        )
        await self.state.put_invite(invite)
        return invite

    async def _accept_invite(self, part: Participant, msg: Any, producer_invite: bool) -> None:
        """``part`` accepts invitation ``msg.invite``: the first of those invited joins the call."""
        pending = next((i for i in await self.state.invites() if i.id == msg.invite), None)
        if pending is not None and (pending.producer is not None) != producer_invite:
            # An interpreter invitation is not taken with agent.accept, nor the other way round.
            return await self._error(part, msg, "invite_gone", "the invitation is no longer open")
        if pending is not None and part.id not in pending.interpreters:
            # Only those the invitation went to may take it (a leaked or guessed id is not enough); the
            # invitation stays open for them.
            log.warning("%s %s tried to accept invitation %s, which was not sent to it", part.role, part.id, msg.invite)
            return await self._error(part, msg, "not_allowed", "you were not invited to this call")
        if part.call is not None:
            return await self._error(part, msg, "invite_gone", "end your current call first")
        invite = await self.state.take_invite(msg.invite)
        call = await self.state.get_call(invite.call) if invite else None
        if invite is None or call is None:
            return await self._error(part, msg, "invite_gone", "the invitation is no longer open")
        await self._join(call, part, invite.producer)
        for pid in invite.interpreters:
            other = self._find(pid)
            if other is not None and other is not part:
                await other.send(_gone(invite))

    async def _join(self, call: Call, part: Participant, producer: str | None = None) -> None:
        """``part`` becomes the call's latest participant: those already in it offer to it (the mesh).
        ``producer``: the one a joining agent serves the customer for (the others' desks and the kiosk name it)."""
        call.interpreters.append(part.id)
        if producer is not None:
            call.joined_producers[part.id] = producer
        await self.state.put_call(call)
        part.call = call.id
        self._publish(part)
        peer = self._peer(part.id, call)
        for pid in call.participants[:-1]:
            other = self._find(pid)
            if other is not None:
                await other.send(p.PeerJoined(call=call.id, peer=peer, offer=True))
        await self._send_call_start(call, part)
        log.info("call %s: %s %s joined", call.id, part.role, part.id)

    async def _withdraw_invite(self, invite: Invite) -> None:
        if await self.state.take_invite(invite.id) is None:
            return
        for pid in invite.interpreters:
            part = self._find(pid)
            if part is not None:
                await part.send(_gone(invite))

    async def _guest_leaves(self, call: Call, guest: Participant) -> None:
        """One who joined (an interpreter, a joint call's second agent) leaves; the call goes on."""
        if guest.id in call.interpreters:
            call.interpreters.remove(guest.id)
            call.joined_producers.pop(guest.id, None)
            await self.state.put_call(call)
        guest.call = None
        self._publish(guest)
        await guest.send(p.CallEnded(call=call.id, reason="hangup", by=guest.role))
        for pid in call.participants:
            part = self._find(pid)
            if part is not None:
                await part.send(p.PeerLeft(call=call.id, peer=guest.id))
        log.info("call %s: %s %s left", call.id, guest.role, guest.id)
