"""Interpreters: the agent invites every free interpreter of the language, the first to accept joins the
call (only those invited may), the others see the invitation withdrawn; an interpreter leaves alone."""

from __future__ import annotations

import logging
import secrets

from etapiste import protocol as p
from switchboard.hub.core import HubCore
from switchboard.hub.participant import Participant
from switchboard.state import Call, Invite

log = logging.getLogger("switchboard")


class Interpreters(HubCore):
    """Inviting, joining and leaving of interpreters."""

    async def _interpreter_invite(self, agent: Participant, msg: p.InterpreterInvite) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        wanted = msg.language
        fitting = [
            i
            for i in self._everyone()  # on every instance
            if i.role == "interpreter" and i.call is None and (wanted is None or wanted in i.languages)
        ]
        if not fitting:
            return await self._error(agent, msg, "no_interpreter", "no interpreter for that language is online")
        invite = Invite(
            id=f"i-{secrets.token_hex(6)}", call=call.id, language=wanted, interpreters=[i.id for i in fitting]
        )
        await self.state.put_invite(invite)
        for interpreter in fitting:
            await interpreter.send(
                p.InterpreterInvited(
                    invite=invite.id, call=call.id, producer=call.producer, language=wanted, agent=agent.name
                )
            )

    async def _interpreter_accept(self, interpreter: Participant, msg: p.InterpreterAccept) -> None:
        pending = next((i for i in await self.state.invites() if i.id == msg.invite), None)
        if pending is not None and interpreter.id not in pending.interpreters:
            # Only the interpreters the invitation went to may take it (a leaked or guessed id is not enough);
            # the invitation stays open for them.
            log.warning("interpreter %s tried to accept invitation %s, which was not sent to it", interpreter.id,
                        msg.invite)
            return await self._error(interpreter, msg, "not_allowed", "you were not invited to this call")
        invite = await self.state.take_invite(msg.invite)
        call = await self.state.get_call(invite.call) if invite else None
        if invite is None or call is None or interpreter.call is not None:
            return await self._error(interpreter, msg, "invite_gone", "the invitation is no longer open")
        call.interpreters.append(interpreter.id)
        await self.state.put_call(call)
        interpreter.call = call.id
        await self._publish(interpreter)
        for pid in invite.interpreters:
            other = self._find(pid)
            if other is not None and other is not interpreter:
                await other.send(p.InterpreterInviteGone(invite=invite.id))
        peer = self._peer(interpreter.id)
        for pid in call.participants[:-1]:
            part = self._find(pid)
            if part is not None:
                await part.send(p.PeerJoined(call=call.id, peer=peer, offer=True))
        await self._send_call_start(call, interpreter)
        log.info("call %s: interpreter %s joined", call.id, interpreter.id)

    async def _withdraw_invite(self, invite: Invite) -> None:
        if await self.state.take_invite(invite.id) is None:
            return
        for pid in invite.interpreters:
            part = self._find(pid)
            if part is not None:
                await part.send(p.InterpreterInviteGone(invite=invite.id))

    async def _interpreter_leaves(self, call: Call, interpreter: Participant) -> None:
        if interpreter.id in call.interpreters:
            call.interpreters.remove(interpreter.id)
            await self.state.put_call(call)
        interpreter.call = None
        await self._publish(interpreter)
        await interpreter.send(p.CallEnded(call=call.id, reason="hangup", by="interpreter"))
        for pid in call.participants:
            part = self._find(pid)
            if part is not None:
                await part.send(p.PeerLeft(call=call.id, peer=interpreter.id))
