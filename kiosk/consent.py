"""ICE consent freshness (RFC 7675) that a busy point does not mistake for a lost network.

aioice checks consent every ~5 s with a single STUN request and counts it as failed unless the answer arrives
within 0.5 s (``retransmissions=0``); six such "failures" in a row close the connection. On a point whose
processor is saturated, or behind a link queueing a document and video, the answers do come, but 0.5–3.5 s
late, and a working call was closed in the middle of a 5 MiB print job (seen under load 8; see
``docs/call-engine.md``). RFC 7675 asks only that consent expire after 30 s without *any* answer.

:func:`install` replaces ``aioice.ice.Connection.query_consent`` with :func:`query_consent`: a check is sent
every interval and stays open, retransmitted, for about the expiry time, so an answer counts however late it
comes; consent expires when nothing has been answered for ``CONSENT_FAILURES × CONSENT_INTERVAL`` (30 s with
aioice's values). A real network cut is still noticed after ~30–36 s, and the engine's recovery then offers
again as before. Written against aioice 0.13;
:func:`install` leaves aioice's own check in place on any other version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

import aioice
import aioice.ice
from aioice import stun

log = logging.getLogger(__name__)

#: Retransmissions of one consent check: aioice's RTO of 0.5 s doubles, so the check stays open (and its answer
#: counts) for 0.5 × (2⁶ − 1) = 31.5 s, about the expiry time: an answer that comes late still proves consent.
CHECK_RETRANSMISSIONS = 5
#: The aioice versions whose ``Connection`` internals (``_nominated``, ``build_request``,
#: ``remote_password``, ``_query_consent_task``) :func:`query_consent` was written against.
SUPPORTED_AIOICE = ("0.13.",)

_installed = False


async def query_consent(self: Any) -> None:
    """Check consent on every nominated pair until nothing has answered for the expiry time; then close
    the connection (aiortc then reports the peer connection closed, and the engine recovers).

    A check is sent every interval and is not awaited: each stays open in the background, retransmitted with
    aioice's doubling timeout, and *any* answer to it, however late, renews consent. Awaiting each check in turn
    (and giving up on it after 3.5 s) closed a working call under load: with a document filling the socket
    buffers and a busy processor, every answer arrived, but 4–10 s after its check (seen on a 2-core point
    beside other programs; ``tests/kiosk/test_call_cost.py``).
    """
    assert self.remote_password is not None
    last_answer = time.monotonic()
    checks: set[asyncio.Task[None]] = set()

    async def check(pair: Any) -> None:
        nonlocal last_answer
        request = self.build_request(pair, nominate=False)
        sent = time.monotonic()
        with contextlib.suppress(stun.TransactionError):
            await pair.protocol.request(
                request,
                pair.remote_addr,
                integrity_key=self.remote_password.encode("utf8"),
                retransmissions=CHECK_RETRANSMISSIONS,
            )
            last_answer = time.monotonic()
            log.debug("consent answered after %.1f s", last_answer - sent)

    try:
        while True:
            interval = aioice.ice.CONSENT_INTERVAL
            await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))
            for pair in list(self._nominated.values()):
                task = asyncio.ensure_future(check(pair))
                checks.add(task)
                task.add_done_callback(checks.discard)
            silent = time.monotonic() - last_answer
            if silent > aioice.ice.CONSENT_FAILURES * interval:
                log.info("ICE consent expired: no answer for %.0f s", silent)
                self._query_consent_task = None  # close() must not cancel the task it is called from
                await self.close()
                return
    finally:
        for task in list(checks):
            task.cancel()


def install() -> bool:
    """Use :func:`query_consent` for every aioice connection from now on (idempotent). Returns whether it is
    in place; on an aioice it was not written for, aioice's own check stays and a warning says so."""
    global _installed
    if _installed:
        return True
    version = getattr(aioice, "__version__", "")
    connection = aioice.ice.Connection
    if not version.startswith(SUPPORTED_AIOICE) or not all(
        hasattr(connection, name) for name in ("query_consent", "build_request", "close")
    ):
        log.warning("aioice %s: its own ICE consent check stays (a loaded point may drop calls)", version)
        return False
    connection.query_consent = query_consent  # type: ignore[method-assign]
    _installed = True
    return True
