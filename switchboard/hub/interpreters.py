"""Interpreters: the agent invites every free interpreter of the language, the first to accept joins the
call (only those invited may), the others see the invitation withdrawn; an interpreter leaves alone.
Joining and leaving are :mod:`~switchboard.hub.invitations`' (shared with a joint call's agents)."""

from __future__ import annotations

from etapiste import protocol as p
from switchboard.hub.invitations import Invitations
from switchboard.hub.participant import Participant


class Interpreters(Invitations):
    """Inviting interpreters and their accepting."""

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
        invite = await self._open_invite(call, fitting, language=wanted)
        for interpreter in fitting:
            await interpreter.send(
                p.InterpreterInvited(  # in a joint call: the inviting agent's producer, not the answering one's
                    invite=invite.id, call=call.id, producer=call.producer_of(agent.id), language=wanted,
                    agent=agent.name,
                )
            )

    async def _interpreter_accept(self, interpreter: Participant, msg: p.InterpreterAccept) -> None:
        await self._accept_invite(interpreter, msg, producer_invite=False)
