"""The calls one switchboard instance has read from Redis, kept coherent with every instance's writes, so that
relaying a signalling frame (an offer, an answer, an ICE candidate: a dozen per call set-up, more while a
connection is renegotiated) needs no Redis round trip to check that sender and receiver share the call.

Why it stays coherent: every write of a call in Redis (:class:`switchboard.redis_state.RedisState`'s
``put_call`` and ``drop_call``) publishes a notice on the ``events`` channel *in the same atomic step* (a
``MULTI`` or one Lua script), so no instance can see the write without the notice following it, not even
when the writer is killed right after. Every instance's relay (:class:`switchboard.relay.RedisRelay`) hears
the notices on the same subscription as the frames, in the order Redis ran them; it forgets the call here
before it handles anything the writer sent after its write (a ``peer.joined``, a ``call.ended``). A frame a
participant sends in answer to such news is therefore checked against the call as written.

What it does not know it does not guess: until the relay's subscription is confirmed, and from the moment it
is lost until it is confirmed again (Redis away: notices published meanwhile are lost), nothing is kept and
every read goes to Redis. A read that was under way while any notice arrived is not kept either (it may
predate the write the notice is about).

Only the relay's check reads through here (``known_call``); whatever changes a call (joining, leaving,
ending, the answer that connects it) reads the call afresh from Redis, as before.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets

from switchboard.state import Call

log = logging.getLogger("switchboard.relay")


def _copy(call: Call) -> Call:
    """A copy the caller may change without changing what is kept (its lists and dict are its own)."""
    return dataclasses.replace(call, interpreters=list(call.interpreters), joined_producers=dict(call.joined_producers))


class KnownCalls:
    """This instance's copies of calls, valid while :attr:`live` (the relay's subscription is confirmed)."""

    def __init__(self) -> None:
        self.writer = secrets.token_hex(6)
        """Names this instance's own notices: :meth:`written` has already done what they would do."""
        self.live = False
        """Whether notices reach us: only then is anything kept or answered from here."""
        self._calls: dict[str, Call] = {}
        self._generation = 0
        """Bumped by every notice and every change of :attr:`live`: a read begun before it is not kept."""

    def generation(self) -> int:
        """Taken before reading a call from Redis, handed to :meth:`keep` with what was read."""
        return self._generation

    def get(self, call_id: str) -> Call | None:
        """A copy of the call as last known, or ``None`` when it is not known here (read it from Redis)."""
        call = self._calls.get(call_id) if self.live else None
        return None if call is None else _copy(call)

    def keep(self, call: Call, generation: int) -> None:
        """Keep ``call`` as read from Redis, unless a notice arrived since the read began (``generation``)."""
        if self.live and generation == self._generation:
            self._calls[call.id] = _copy(call)

    def written(self, call_id: str) -> None:
        """This instance has just written ``call_id``: it is read afresh next time (not kept from the write:
        two writes of one call by two of our tasks may come back in the other order than Redis ran them).
        Reads begun before are void; our own notice, when it arrives, changes nothing more."""
        self._generation += 1
        self._calls.pop(call_id, None)

    def changed(self, call_id: str, writer: str | None) -> None:
        """A notice: ``writer`` has written ``call_id``. Ours was handled when written (:meth:`written`)."""
        if writer == self.writer:
            return
        self._generation += 1
        self._calls.pop(call_id, None)

    def suspend(self) -> None:
        """Notices may be missed from now on (the subscription was lost, or the relay stopped)."""
        if self.live:
            log.info("known calls: not kept until the relay listens again")
        self.live = False
        self._generation += 1
        self._calls.clear()

    def resume(self) -> None:
        """The subscription is confirmed: notices arrive from now on; anything from before is forgotten."""
        self._calls.clear()
        self._generation += 1
        self.live = True
