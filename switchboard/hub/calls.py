"""Calls: an agent answers a ticket, the participants get ``call.start``, their offers, answers and ICE
candidates are relayed (earlier participants offer to later ones), and the call ends once, for everyone."""

from __future__ import annotations

import logging
import secrets

from etapiste import protocol as p
from switchboard.hub.interpreters import Interpreters
from switchboard.hub.joint import JointCalls
from switchboard.hub.participant import Participant, RemoteParticipant
from switchboard.hub.queues import Queues
from switchboard.state import Call

log = logging.getLogger("switchboard")

#: A call whose point and agent have not exchanged offer and answer by then is ended (``setup_failed``),
#: so neither side waits for ever on a peer that crashed between accepting and offering.
CALL_SETUP_TIMEOUT_S = 45


class Calls(Queues, Interpreters, JointCalls):
    """Answering, the signalling relay, hang-up and the end of a call."""

    async def _queue_accept(self, agent: Participant, msg: p.QueueAccept) -> None:
        if agent.call is not None:
            return await self._error(agent, msg, "not_allowed", "end the current call first")
        ticket = await self.state.ticket(msg.ticket)
        if ticket is None or ticket.producer not in agent.producers:
            return await self._error(agent, msg, "ticket_gone", "someone else answered, or the customer left")
        if not self.offered_to(agent, ticket):
            return await self._error(agent, msg, "not_allowed", "offered first to agents speaking its language")
        point = self._point(ticket.point)  # on this instance or another
        if point is None or await self.state.take_ticket(ticket.id) is None:
            return await self._error(agent, msg, "ticket_gone", "someone else answered, or the customer left")
        call = Call(
            id=f"c-{secrets.token_hex(8)}",
            point=point.id,
            agent=agent.id,
            producer=ticket.producer,
            queue=ticket.queue,
            language=ticket.language,
            started=self.clock(),
            ticket=ticket.id,
            queued_since=ticket.since,
            interpreter=ticket.interpreter,
        )
        await self.state.put_call(call)
        self.record_answer(ticket)
        self.metrics.answered.labels(ticket.queue).inc()
        point.call = agent.call = call.id  # a point on another instance: its instance sets it on call.start
        self._publish(point)
        self._publish(agent)
        log.info("call %s: agent %s answered ticket %s", call.id, agent.id, ticket.id)
        await self._send_call_start(call, point)
        await self._send_call_start(call, agent)
        await self._queue_changed(ticket.queue)

    async def _relay(self, part: Participant, msg: p.Offer | p.Answer | p.Ice) -> None:
        """Forward an offer, answer or ICE candidate to another participant of the sender's call. The call is
        checked as this instance knows it (no Redis read per frame while nobody changed it); a frame that
        check would refuse is checked again against the call as stored before it is refused."""
        call = await self._in_call(part, msg, known=True)
        if call is None:
            return
        if not self._relayable(call, part.id, msg):
            call = await self._in_call(part, msg)
            if call is None:
                return
        target = self._find(msg.peer)  # on this instance or another
        if target is None or msg.peer not in call.participants or msg.peer == part.id:
            return await self._error(part, msg, "not_in_call", f"{msg.peer} is not in call {call.id}")
        if msg.type == "signal.offer" and not self._offer_allowed(call, part.id, msg.peer):
            return await self._error(
                part, msg, "not_allowed", f"a {part.role} does not send an offer to {msg.peer}; that side offers"
            )
        await target.send(msg.model_copy(update={"peer": part.id, "ref": None}))
        if msg.type == "signal.answer" and not call.connected and {part.id, target.id} == {call.point, call.agent}:
            await self.state.mark_connected(call.id)

    def _relayable(self, call: Call, sender: str, msg: p.Offer | p.Answer | p.Ice) -> bool:
        """Whether ``call`` lets ``sender`` send ``msg`` to its peer (who must be in it, and be offered to)."""
        if msg.peer not in call.participants or sender not in call.participants or msg.peer == sender:
            return False
        return msg.type != "signal.offer" or self._offer_allowed(call, sender, msg.peer)

    @staticmethod
    def _offer_allowed(call: Call, sender: str, target: str) -> bool:
        """Earlier participants offer to later ones: the point to everyone (it alone opens the data channel),
        the agent to interpreters. An offer the other way is how an interpreter would push its own data
        channel onto the agent's desk (forged scans and texts, the agent's print jobs): never relayed."""
        order = call.participants
        return order.index(sender) < order.index(target)

    async def _hangup(self, part: Participant, msg: p.Hangup) -> None:
        # Who the call's point and answering agent are never changes: the call as known here tells whether
        # this hang-up ends it; one who joined leaves it as stored.
        call = await self._in_call(part, msg, known=True)
        if call is None:
            return
        if part.id not in (call.point, call.agent):
            call = await self._in_call(part, msg)
            if call is None:
                return
        if part.id in call.interpreters:  # one who joined (an interpreter, a joint call's agent) only leaves
            await self._guest_leaves(call, part)
        else:
            await self._end_call(call, "hangup", part.role)

    async def _end_call(self, call: Call, reason: str, by: p.Role) -> None:
        """End ``call`` once, for everyone in it as stored when it ended (``call`` may be an older copy)."""
        ended = await self.state.end_call(call, self.clock())
        if ended is None:
            return
        call = ended
        await self.state.drop_call_nonces(call.id)
        self._forget_proofs(call.id)
        for pid in call.participants:
            part = self._find(pid)
            # One on another instance: its instance checks it is still in this call (our record may lag).
            if part is not None and (isinstance(part, RemoteParticipant) or part.call == call.id):
                part.call = None
                self._publish(part)
                await part.send(p.CallEnded.model_validate({"call": call.id, "reason": reason, "by": by}))
        for invite in await self.state.invites():
            if invite.call == call.id:
                await self._withdraw_invite(invite)
        log.info("call %s ended: %s by %s", call.id, reason, by)
        await self._queue_changed(call.queue)  # a free agent changes the estimates
