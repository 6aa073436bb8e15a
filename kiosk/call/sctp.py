"""Documents over the call's data channel at less cost per packet: two small fixes to aiortc's SCTP.

Documents (scans to the agent, files from the agent to print) move over aiortc's SCTP, which is pure Python:
every packet costs packing, CRC32c, a DTLS record and a UDP send. The profile in ``bench/README.md``
("Documents: where aiortc's SCTP spends its time") put a third of the data path's time in acknowledgements.

**The receiver** (:func:`delay_sacks`). aiortc sends a SACK for every packet that carries DATA, and the sender
then handles every one of them (the acknowledged chunks, the T3 timer, the next burst). RFC 9260 §6.2 asks for
a SACK for *at least* every second packet carrying DATA, within 200 ms; usrsctp and dcSCTP (Chromium's SCTP)
do so. Here:

- a packet of in-order DATA with no SACK pending waits for the next one, or for :data:`SACK_DELAY_S`;
- the second such packet is acknowledged at once (so the sender's window still opens every two packets);
- a SACK goes at once, as aiortc sends it now, for anything that is not plain in-order DATA: a gap (a TSN out
  of order, so the sender can fast-retransmit after three reports), a packet that fills or narrows a gap, a
  duplicate, a DATA chunk with the I bit (RFC 7053, "acknowledge immediately"), a packet with any chunk other
  than DATA and SACK (FORWARD TSN, HEARTBEAT, RE-CONFIG …). A packet carrying only a SACK for the point's own
  data (as when both ends send) leaves a pending SACK's delay running.

**The sender** (:func:`fast_retransmit_on_evidence`). aiortc counts a chunk missing ("strikes" it) on every
SACK that reports it absent below a newly acknowledged TSN, resends it at three strikes, and then goes on
striking it: the SACKs for the packets already queued ahead of the resend still report it absent, so it is
resent again every third one until the resend arrives (7–30 times per lost packet in ``bench/bench_sctp.py``
over loopback, where a full socket buffer drops packets). Here a resent chunk is struck only by a SACK that
newly acknowledges a TSN sent *after* the resend, the rule usrsctp follows: a resend that is itself lost is
still found by three such SACKs, or by the T3 timer as before. Congestion control and timers stay aiortc's.

**Not installed by the engine** (2026-12-03): aiortc ↔ aiortc it pays (``bench/bench_sctp.py``: CPU × 0.6, half
the SACKs), but in ``bench/bench_call.py --parts 3`` documents from the agent's Chromium to the point were slower
with it (6.0 and 9.7 s against 4.2 s without, single runs under load 5–9), not faster; why is not known yet
(Chromium's sender, paced by one SACK a packet, may overrun the point's socket in bigger bursts). Figures and
commands in ``bench/README.md``. :func:`install` and :func:`uninstall` are for measuring and for the tests.
Fixes that belong upstream in aiortc (``RTCSctpTransport._handle_data`` and ``_receive_sack_chunk``), carried
here small and tested (``tests/kiosk/test_call_sctp.py``): written against aiortc 1.16.0's private
``RTCSctpTransport`` internals, so on any other version :func:`install` leaves aiortc untouched and a warning
says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiortc

log = logging.getLogger(__name__)

#: The longest a lone packet of DATA waits for its SACK, seconds (RFC 9260 allows 200 ms). The wait happens
#: only when no second packet follows, i.e. when the sender has stopped: at the end of a document, after a lone
#: message, or when its window is full and it waits for this very SACK. 20 ms keeps that stall below one video
#: frame and far below the senders' shortest retransmission timeout — aiortc's is 1 s, Chromium's dcSCTP 220 or
#: 400 ms depending on the version, "larger than an expected peer delayed ack timeout" (its options' comment),
#: which 200 ms plus a round trip would not reliably be — so a delayed SACK never makes a sender resend. A
#: longer delay would save only the SACKs of a trickle of lone messages, which cost nothing worth saving.
SACK_DELAY_S = 0.02
#: The one aiortc version whose ``RTCSctpTransport._handle_data`` and SACK state this was written against.
SUPPORTED_AIORTC = "1.16.0"
#: DATA chunk flag "I" (RFC 7053): the sender asks for its SACK without delay.
SCTP_DATA_SACK_IMMEDIATELY = 0x08

#: Set on a DATA chunk when aiortc sends it again: the highest TSN sent by then.
RESENT_AFTER = "_point_resent_after_tsn"
_OUT_OF_REACH = -(10**9)  # a chunk's miss count that aiortc's three strikes never reach
_TIMER = "_point_sack_timer"
_PATCHED = ("_handle_data", "_send_sack", "_send_chunk", "_receive_sack_chunk")
_installed = False
_originals: dict[str, Any] = {}
_timer_sacks: set[asyncio.Task[None]] = set()


def install() -> bool:
    """Put both halves in place for every aiortc SCTP transport (idempotent): :func:`delay_sacks` and
    :func:`fast_retransmit_on_evidence`. Returns whether they are in place; on an aiortc they were not written
    for, aiortc's own SCTP stays and a warning says so."""
    global _installed
    from aiortc import rtcsctptransport as sctp

    transport = sctp.RTCSctpTransport
    if aiortc.__version__ != SUPPORTED_AIORTC or not all(
        hasattr(transport, name) for name in (*_PATCHED, "_receive_chunk")
    ):
        log.warning("aiortc %s: its SCTP keeps acknowledging every packet", aiortc.__version__)
        return False
    if not _installed:
        _originals.update({name: getattr(transport, name) for name in _PATCHED})
        delay_sacks(transport)
        fast_retransmit_on_evidence(transport)
        _installed = True
    return True


def uninstall() -> None:
    """Put aiortc's own methods back (transports made meanwhile keep a pending SACK timer at most)."""
    global _installed
    from aiortc import rtcsctptransport as sctp

    for name, method in _originals.items():
        setattr(sctp.RTCSctpTransport, name, method)
    _originals.clear()
    _installed = False


def delay_sacks(transport: Any) -> None:
    """The receiver: a SACK every second packet of in-order DATA, or after :data:`SACK_DELAY_S`."""
    from aiortc import rtcsctptransport as sctp

    send_sack = transport._send_sack

    async def _send_sack(self: Any) -> None:
        # Any SACK acknowledges everything received so far: a pending delayed one is not needed any more.
        timer = getattr(self, _TIMER, None)
        if timer is not None:
            timer.cancel()
            setattr(self, _TIMER, None)
        await send_sack(self)

    def sack_timer_expired(self: Any) -> None:
        setattr(self, _TIMER, None)
        if self._sack_needed and self._association_state == transport.State.ESTABLISHED:
            task = asyncio.ensure_future(sack_quietly(self))
            _timer_sacks.add(task)
            task.add_done_callback(_timer_sacks.discard)

    async def sack_quietly(self: Any) -> None:
        with contextlib.suppress(ConnectionError):  # the DTLS transport closed in the meantime
            await self._send_sack()

    async def _handle_data(self: Any, data: bytes) -> None:
        # aiortc 1.16.0's RTCSctpTransport._handle_data, but for the SACK at the end.
        try:
            _, _, verification_tag, chunks = sctp.parse_packet(data)
        except ValueError:
            return
        init_chunk = len([x for x in chunks if isinstance(x, sctp.InitChunk)])
        if init_chunk:
            assert len(chunks) == 1
            expected_tag = 0
        else:
            expected_tag = self._local_verification_tag
        if verification_tag != expected_tag:
            return
        had_gap = bool(self._sack_misordered)
        for chunk in chunks:
            await self._receive_chunk(chunk)

        if not self._sack_needed:
            return
        data_chunks = [c for c in chunks if type(c) is sctp.DataChunk]
        other = any(type(c) not in (sctp.DataChunk, sctp.SackChunk) for c in chunks)
        pending = getattr(self, _TIMER, None) is not None
        if pending and not data_chunks and not other:
            return  # only a SACK for our own data came: the pending SACK keeps its delay
        in_order = (
            self._association_state == transport.State.ESTABLISHED
            and data_chunks
            and not other
            and not had_gap
            and not self._sack_misordered
            and not self._sack_duplicates
            and not any(c.flags & SCTP_DATA_SACK_IMMEDIATELY for c in data_chunks)
        )
        if in_order and not pending:
            # The first packet since the last SACK: wait for a second one (or the timer).
            setattr(self, _TIMER, self._loop.call_later(SACK_DELAY_S, sack_timer_expired, self))
        else:
            await self._send_sack()

    transport._handle_data = _handle_data
    transport._send_sack = _send_sack


def fast_retransmit_on_evidence(transport: Any) -> None:
    """The sender: a chunk already sent again is struck (counted missing) only by a SACK that newly acknowledges
    a TSN sent after that retransmission (:data:`RESENT_AFTER`)."""
    from aiortc import rtcsctptransport as sctp

    send_chunk, receive_sack_chunk = transport._send_chunk, transport._receive_sack_chunk

    async def _send_chunk(self: Any, chunk: Any) -> None:
        if type(chunk) is sctp.DataChunk and chunk._sent_count > 1:  # a retransmission (aiortc counted it)
            setattr(chunk, RESENT_AFTER, self._sent_queue[-1].tsn)
        await send_chunk(self, chunk)

    async def _receive_sack_chunk(self: Any, sack: Any) -> None:
        # aiortc strikes every chunk missing below the SACK's highest newly acknowledged TSN (HTNA) and resends
        # it at three strikes. Chunks resent after everything that SACK newly acknowledges sit out its strikes:
        # their misses are set out of reach for aiortc's method and put back afterwards.
        held: list[tuple[Any, int]] = []
        if sack.gaps and not sctp.uint32_gt(self._last_sacked_tsn, sack.cumulative_tsn):
            resent = [c for c in self._sent_queue if getattr(c, RESENT_AFTER, None) is not None and not c._acked]
            if resent:
                # aiortc's HTNA: the highest TSN in the SACK's gap blocks not acknowledged before.
                newly_acked, last = sack.cumulative_tsn, max(end for _, end in sack.gaps)
                for c in self._sent_queue:
                    offset = (c.tsn - sack.cumulative_tsn) % sctp.SCTP_TSN_MODULO  # 0 or ≥ 2³¹: acked cumulatively
                    if 0 < offset <= last:
                        if not c._acked and any(start <= offset <= end for start, end in sack.gaps):
                            newly_acked = c.tsn
                    elif last < offset < 2**31:
                        break  # past the last gap block
                for c in resent:
                    if sctp.uint32_gte(getattr(c, RESENT_AFTER), newly_acked):
                        held.append((c, c._misses))
                        c._misses = _OUT_OF_REACH
        try:
            await receive_sack_chunk(self, sack)
        finally:
            for c, misses in held:
                if c._misses < 0:  # not resent meanwhile (aiortc then set it to 0)
                    c._misses = misses

    transport._send_chunk = _send_chunk
    transport._receive_sack_chunk = _receive_sack_chunk
