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
from dataclasses import dataclass

from switchboard.state import Call

log = logging.getLogger("switchboard.relay")


def _copy(call: Call) -> Call:
    """A copy the caller may change without changing what is kept (its lists and dict are its own)."""
    return dataclasses.replace(call, interpreters=list(call.interpreters), joined_producers=dict(call.joined_producers))


@dataclass(eq=False)
class Read:
    """A read of one call from Redis under way; ``void`` once a notice about that call (or a lapse of the
    subscription) arrived meanwhile: what it brings back may predate that write, so it is not kept."""

    call_id: str
    void: bool = False


class KnownCalls:
    """This instance's copies of calls, valid while :attr:`live` (the relay's subscription is confirmed)."""

    def __init__(self) -> None:
        self.writer = secrets.token_hex(6)
        """Names this instance's own notices: :meth:`written` has already done what they would do."""
        self.live = False
        """Whether notices reach us: only then is anything kept or answered from here."""
        self._calls: dict[str, Call] = {}
        self._reads: dict[str, list[Read]] = {}
        """Reads under way, by call: a notice voids only those of its call (during a storm of set-ups notices
        about other calls arrive every few milliseconds, which must not void every read)."""

    def get(self, call_id: str) -> Call | None:
        """A copy of the call as last known, or ``None`` when it is not known here (read it from Redis)."""
        call = self._calls.get(call_id) if self.live else None
        return None if call is None else _copy(call)

    def reading(self, call_id: str) -> Read:
        """A read of ``call_id`` from Redis begins; hand what it gives to :meth:`read` (also on failure)."""
        read = Read(call_id, void=not self.live)
        self._reads.setdefault(call_id, []).append(read)
        return read

    def read(self, read: Read, call: Call | None) -> None:
        """``read`` gave ``call`` (``None``: no such call, or the read failed): kept unless it is void."""
        pending = self._reads.get(read.call_id, [])
        if read in pending:
            pending.remove(read)
            if not pending:
                del self._reads[read.call_id]
        if call is not None and not read.void and self.live:
            self._calls[call.id] = _copy(call)

    def _void(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        for read in self._reads.get(call_id, []):
            read.void = True

    def written(self, call_id: str) -> None:
        """This instance has just written ``call_id``: it is read afresh next time (not kept from the write:
        two writes of one call by two of our tasks may come back in the other order than Redis ran them).
        Reads begun before are void; our own notice, when it arrives, changes nothing more."""
        self._void(call_id)

    def changed(self, call_id: str, writer: str | None) -> None:
        """A notice: ``writer`` has written ``call_id``. Ours was handled when written (:meth:`written`)."""
        if writer != self.writer:
            self._void(call_id)

    def suspend(self) -> None:
        """Notices may be missed from now on (the subscription was lost, or the relay stopped)."""
        if self.live:
            log.info("known calls: not kept until the relay listens again")
        self.live = False
        self._forget_all()

    def resume(self) -> None:
        """The subscription is confirmed: notices arrive from now on; anything from before is forgotten."""
        self._forget_all()
        self.live = True

    def _forget_all(self) -> None:
        self._calls.clear()
        for reads in self._reads.values():
            for read in reads:
                read.void = True
