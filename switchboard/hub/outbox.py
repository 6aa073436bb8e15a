"""One bounded outbox and writer task per connection, so no socket can hold up anyone else's frames.

The hub's fan-outs (queue snapshots, positions, the sweep, the signalling relay) only put a frame in the
receiver's outbox and go on; the connection's own writer task moves frames to its socket in order. A
receiver that stops reading (a frozen tab, a dead Wi-Fi with the TCP window full) first fills its socket,
then its outbox: on overflow, or a single send stalled for ``send_stall_s``, the connection is aborted
(a reset, not a closing handshake that would wait on the same full window). It then reconnects and resumes
like any dropped connection (the hub holds its call or queue place for the rejoin grace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("switchboard")


class Socket(Protocol):
    """What an outbox writes to: the WebSocket (or a test's stand-in)."""

    async def send(self, text: str) -> None: ...
    async def close(self) -> None: ...
    def abort(self) -> None: ...


class Outbox:
    """A :class:`switchboard.hub.Connection` whose ``send`` only queues: at most ``size`` frames wait."""

    def __init__(
        self,
        socket: Socket,
        *,
        size: int,
        stall_s: float,
        on_abort: Callable[[str], None] = lambda reason: None,
        on_sent: Callable[[], None] = lambda: None,
    ):
        self.socket = socket
        self.size = size
        self.stall_s = stall_s
        self.on_abort = on_abort
        """Told why, once, when the connection is aborted (metrics)."""
        self.on_sent = on_sent
        """Told of each frame written to the socket (metrics)."""
        self._frames: deque[str] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.aborted: str | None = None
        """Why the connection was aborted (``overflow``, ``stall``), or ``None``."""
        self._closing = False

    def __len__(self) -> int:
        return len(self._frames)

    async def send(self, text: str) -> None:
        """Queue ``text``; never waits for the socket. A full outbox aborts the connection."""
        if self.aborted is not None or self._closing:
            return
        if len(self._frames) >= self.size:
            self.abort("overflow")
            return
        self._frames.append(text)
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._frames:
                text = self._frames[0]
                try:
                    await asyncio.wait_for(self.socket.send(text), self.stall_s)
                except TimeoutError:
                    self.abort("stall")
                    return
                except Exception as exc:  # the socket is gone; its own loop cleans up
                    log.info("send failed: %s", type(exc).__name__)
                    self._frames.clear()
                    return
                self._frames.popleft()
                self.on_sent()
            if self._closing:
                return

    def abort(self, reason: str) -> None:
        """Reset the connection now; queued frames are dropped (they are re-sent on resume if they matter)."""
        if self.aborted is not None:
            return
        self.aborted = reason
        log.warning("connection aborted: %s (%d frames waiting)", reason, len(self._frames))
        self._frames.clear()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        self.socket.abort()
        self.on_abort(reason)

    async def close(self) -> None:
        """Send what is queued (each send within the stall limit), then close the socket."""
        self._closing = True
        self._wake.set()
        if self._writer is not None and not self._writer.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(self._writer)
        if self.aborted is None:
            try:
                await asyncio.wait_for(self.socket.close(), self.stall_s)
            except TimeoutError:
                self.abort("stall")
            except Exception as exc:
                log.info("close failed: %s", type(exc).__name__)

    def stop(self) -> None:
        """The connection has ended: the writer goes too."""
        self._closing = True
        if self._writer is not None and not self._writer.done() and self._writer is not asyncio.current_task():
            self._writer.cancel()


class TokenBucket:
    """A connection's frame allowance: ``burst`` at once, refilled at ``rate`` per second.

    Real clients stay far below it; a looping or hostile one is answered ``rate_limited`` instead of
    having every frame validated, looked up in the state and fanned out to every desk."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]):
        self.rate, self.burst, self.clock = rate, float(burst), clock
        self.tokens = float(burst)
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
