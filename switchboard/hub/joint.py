"""Joint calls (issue 22): an agent in a call invites another producer's agents; the invitation goes to that
producer's free agents on every instance (nothing of the customer in it: which producer asks, and the
inviting agent's name), the first to accept joins the call as interpreters do (:mod:`~switchboard.hub.
invitations`), and leaves alone. Either agent may identify the customer; the proof is shown to the agent who
asked, and to another agent in the call only when the point says the customer agreed (``identity.share``,
:mod:`~switchboard.hub.identity`)."""

from __future__ import annotations

import logging

from etapiste import protocol as p
from switchboard.hub.invitations import Invitations
from switchboard.hub.participant import Participant

log = logging.getLogger("switchboard")


class JointCalls(Invitations):
    """Inviting another producer's agent into a call, and their accepting."""

    def _producer_ids(self) -> set[str]:
        return {prod.id for prod in self.config.producers}

    async def _agent_invite(self, agent: Participant, msg: p.AgentInvite) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        inviting = call.producer_of(agent.id)
        if msg.producer == inviting:
            return await self._error(agent, msg, "not_allowed", "invite another producer's agent")
        present = set(call.participants)
        free = [
            a
            for a in self._everyone()  # on every instance
            if a.role == "agent"
            and msg.producer in self._producer_ids()
            and msg.producer in a.producers
            and a.call is None
            and a.away_since is None
            and a.id not in present
        ]
        if not free:
            return await self._error(agent, msg, "no_agent", f"no agent of {msg.producer} is free")
        invite = await self._open_invite(call, free, producer=msg.producer)
        for other in free:
            await other.send(
                p.AgentInvited(invite=invite.id, call=call.id, producer_from=inviting, agent=agent.name)
            )
        log.info("call %s: agents of %s invited (%d)", call.id, msg.producer, len(free))

    async def _agent_accept(self, agent: Participant, msg: p.AgentAccept) -> None:
        await self._accept_invite(agent, msg, producer_invite=True)
