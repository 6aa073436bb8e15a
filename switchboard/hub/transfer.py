"""Transfer (issue 22): the answering agent sends the customer to another producer's queue, or another queue of
their own producer, without the customer queueing again.

Why it works the way it does:

- **Refused before anything moves.** The target is checked first (known, not the call's own, inside its service
  hours, an agent of its producer online on any instance other than the transferring one); a refusal is an
  ``error`` to the agent and the call simply goes on, so a customer is never sent to a queue nobody serves.
- **Priority kept.** The new ticket carries the ``since`` of the customer's first queueing (the call remembers
  it as ``queued_since``); every queue is ordered by ``since``, in memory and in Redis, so the customer stands
  ahead of everyone who joined the target queue later. The queue's timeout counts from the transfer
  (``Ticket.joined``), or a customer who waited and talked long would be timed out at once.
- **Nothing personal travels.** The receiving agents see the producer it came from and a reason from the fixed
  list (:data:`etapiste.codes.CallTransferReasonCode`); no name, no identity result, no free text. The
  interpreter need the customer gave before the first queue travels as it was given (a language code), so the
  receiving agent need not ask again.
- **The point is told first** (``queue.transferred``), so it leaves the call as a transfer and says where the
  customer is going; the ``call.ended`` that ending the call also sends it is then for a call it has left.
"""

from __future__ import annotations

import functools
import logging
import secrets
from typing import Any

from etapiste import protocol as p
from switchboard.hub.calls import Calls
from switchboard.hub.participant import Participant
from switchboard.state import Ticket

log = logging.getLogger("switchboard")


class Transfers(Calls):
    """``call.transfer`` and the list of queues a desk may transfer to."""

    def _receiving_agents(self, producer: str, besides: str) -> int:
        """Agents of ``producer`` online on any instance (not away), the transferring user (``besides``) not
        counted: a transfer to a queue only they serve would come back to them."""
        return sum(
            1
            for a in self._everyone()
            if a.role == "agent" and producer in a.producers and a.away_since is None and a.principal != besides
        )

    def transfer_targets(self, username: str) -> list[dict[str, Any]]:
        """Every queue with its producer's names and whether a transfer to it would be taken now (the desk's
        dialog shows this; the switchboard checks again when the agent transfers)."""
        names = {prod.id: prod.name for prod in self.config.producers}
        return [
            {
                "queue": qid,
                "producer": producer,
                "name": names[producer].model_dump(),
                "open": self.queue_open(qconf),
                "agents_online": self._receiving_agents(producer, username),
            }
            for qid, (producer, qconf) in self._queues.items()
        ]

    async def _refuse_transfer(self, agent: Participant, msg: p.CallTransfer, queue: str, code: str,
                               message: str) -> None:
        self.metrics.transfers_refused.labels(queue, code).inc()
        await self._error(agent, msg, code, message)

    async def _call_transfer(self, agent: Participant, msg: p.CallTransfer) -> None:
        call = await self._in_call(agent, msg)
        if call is None:
            return
        refuse = functools.partial(self._refuse_transfer, agent, msg, call.queue)
        if call.agent != agent.id:
            return await refuse("not_allowed", "only the answering agent transfers the customer")
        target = self._queues.get(msg.queue)
        if target is None:
            return await refuse("unknown_queue", f"no queue {msg.queue}")
        producer, qconf = target
        if msg.queue == call.queue:
            return await refuse("not_allowed", "the customer came from that queue")
        if not self.queue_open(qconf):
            return await refuse("queue_closed", f"{msg.queue} is outside its service hours")
        if not self._receiving_agents(producer, agent.principal):
            return await refuse("no_agent", f"no agent of {producer} is online")
        point = self._find(call.point)  # on this instance or another
        if point is None:
            return await refuse("not_in_call", "the point has gone")
        if p.TRANSFER_FEATURE not in point.features:  # it would stay in an ended call, its ticket unseen
            return await refuse("unsupported_version", "the customer's service point runs software too old to be "
                                "transferred: end the call and ask the customer to choose the other service")
        now = self.clock()
        ticket = Ticket(
            id=f"t-{secrets.token_hex(6)}",
            point=point.principal,
            producer=producer,
            queue=msg.queue,
            language=call.language,
            since=call.queued_since if call.queued_since is not None else call.started,
            interpreter=call.interpreter,
            transferred_from=call.producer,
            transfer_reason=msg.reason,
            joined=now,
        )
        name = next(prod.name for prod in self.config.producers if prod.id == producer)
        await point.send(p.QueueTransferred(
            call=call.id, ticket=ticket.id, queue=msg.queue, producer=producer, from_producer=call.producer,
            producer_name=name,
        ))
        await self.state.enqueue(ticket)
        await self._end_call(call, "transferred", "agent")
        self.metrics.transfers.labels(call.queue, msg.queue, msg.reason).inc()
        log.info("call %s: agent %s transferred the point to %s as %s (%s)", call.id, agent.id, msg.queue,
                 ticket.id, msg.reason)
        await self._queue_changed(msg.queue)
