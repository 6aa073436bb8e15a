"""The call's UDP sockets read every datagram waiting (up to :data:`BATCH`) each time they are readable.

asyncio's datagram transport reads one datagram each time the selector reports its socket readable; the next
waits for the loop to go round again (a ``select``, the other ready callbacks, the task that consumes the packet
woken and run). A document from the agent arrives as ~4 500 SCTP packets a second on one socket, each its own
turn of the kiosk's loop, and under qasync each turn also crosses Qt's socket notifier. Reading what is already
waiting in one go lets the packets' consumer (aioice's queue, then DTLS and SCTP) take them back to back.
Measured with ``bench/bench_call.py --parts 3`` (bench/README.md, "The call's sockets read in batches"): the
5 MiB desk → kiosk print 749 ms instead of 997 (medians of ten runs each, alternating; faster in every pair).

Only the sockets of calls are batched (aioice's ``StunProtocol``: ICE's host and server-reflexive candidates);
:data:`BATCH` bounds how long one busy socket keeps the loop from the rest (16 packets, ~2 ms here). What a
datagram, an error or a closed transport does is asyncio's own, per datagram, in the order they came.

Written against CPython 3.11–3.13's ``asyncio.selector_events._SelectorDatagramTransport._read_ready``; on any
other Python :func:`install` leaves asyncio alone and a warning says so. Tested in
``tests/kiosk/test_call_datagrams.py``.
"""

from __future__ import annotations

import logging
import sys
from asyncio import selector_events
from collections.abc import Callable
from typing import Any

from aioice.ice import StunProtocol

log = logging.getLogger(__name__)

#: At most this many datagrams per readiness event of one socket.
BATCH = 16
#: The protocols whose transports read in batches.
BATCHED: tuple[type[Any], ...] = (StunProtocol,)
SUPPORTED_PYTHON = ((3, 11), (3, 12), (3, 13))

_Transport: Any = getattr(selector_events, "_SelectorDatagramTransport", None)  # private: typeshed omits it
_original: Callable[[Any], None] | None = None


def _read_ready(self: Any) -> None:
    """asyncio's ``_read_ready``, repeated while datagrams wait (at most :data:`BATCH`), for batched protocols."""
    if not isinstance(self._protocol, BATCHED):
        assert _original is not None
        _original(self)
        return
    for _ in range(BATCH):
        if self._conn_lost:
            return
        try:
            data, addr = self._sock.recvfrom(self.max_size)
        except (BlockingIOError, InterruptedError):
            return  # nothing more waiting
        except OSError as exc:
            self._protocol.error_received(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")
            return
        self._protocol.datagram_received(data, addr)


def install() -> bool:
    """Batch the reads of the call's sockets from now on (idempotent); ``False`` where it does not apply."""
    global _original
    if _original is not None:
        return True
    if sys.version_info[:2] not in SUPPORTED_PYTHON or not hasattr(_Transport, "_read_ready"):  # None has none
        log.warning("Python %d.%d: the call's sockets read one datagram a loop turn", *sys.version_info[:2])
        return False
    _original = _Transport._read_ready
    _Transport._read_ready = _read_ready
    return True


def uninstall() -> None:
    """asyncio's own reading again (for measuring against it, and for the tests)."""
    global _original
    if _original is not None:
        _Transport._read_ready = _original
        _original = None
