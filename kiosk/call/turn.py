"""Why TURN gave a call no relay: aiortc fails silently with a wrong TURN password (no candidates, then a
call that times out), so the point asks the TURN server itself and reports what it said."""

from __future__ import annotations

import asyncio
from typing import Literal

from aioice import stun
from aioice.turn import create_turn_endpoint

from etapiste import protocol as p

TurnProblem = Literal["turn_refused", "turn_unreachable"]


async def probe_turn(server: p.IceServer, timeout: float = 5.0) -> tuple[TurnProblem, str]:
    """Ask the TURN server for an allocation with the call's credentials and say why it failed."""
    url = next(u for u in server.urls if u.startswith("turn:"))
    rest = url.split(":", 1)[1]
    hostport, _, query = rest.partition("?")
    host, _, port = hostport.rpartition(":")
    transport = "tcp" if "transport=tcp" in query else "udp"

    class _Sink(asyncio.DatagramProtocol):
        pass

    try:
        endpoint, _ = await asyncio.wait_for(
            create_turn_endpoint(
                _Sink,
                (host or hostport, int(port or 3478)),
                server.username,
                server.credential,
                transport=transport,
            ),
            timeout,
        )
    except stun.TransactionFailed as exc:
        text = str(exc)
        if "401" in text or "Unauthorized" in text or "403" in text:
            return "turn_refused", "the TURN server refused the credentials (401)"
        return "turn_refused", f"the TURN server refused: {text[:120]}"
    except (stun.TransactionTimeout, TimeoutError, OSError) as exc:
        return "turn_unreachable", f"the TURN server did not answer ({type(exc).__name__})"
    endpoint.close()
    return "turn_unreachable", "the TURN server allocates, but gave the call no relay candidate"
