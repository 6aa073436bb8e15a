"""A live connection to the switchboard, and the frames held for it while its network is cut."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from etapiste import protocol as p

log = logging.getLogger("switchboard")

Clock = Callable[[], float]
#: Frames kept for a participant whose connection dropped mid-call (offers, answers, ICE, identity…), sent
#: when it comes back. A call's signalling is a few dozen frames; the cap bounds a peer that never returns.
MAX_HELD_FRAMES = 256


class Connection(Protocol):
    async def send(self, text: str) -> None: ...
    async def close(self) -> None: ...


@dataclass(eq=False)
class Participant:
    """One live connection: a point, or a desk (agent, interpreter, organiser)."""

    id: str
    role: p.Role
    name: str
    principal: str
    """The point's id or the desk user's username (for logs and rate-limits; never shown to customers)."""
    conn: Connection
    session: str | None = None
    producers: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    call: str | None = None
    sent: int = field(default=0)
    away_since: float | None = None
    """When this participant's connection dropped mid-call; the call is held for it until the grace ends."""
    held: list[str] = field(default_factory=list)
    """Frames for it while away, delivered in order when it comes back."""

    async def send(self, message: BaseModel) -> None:
        await self.send_text(p.encode(message))

    async def send_text(self, text: str) -> None:
        if self.away_since is not None:
            if len(self.held) < MAX_HELD_FRAMES:
                self.held.append(text)
            elif len(self.held) == MAX_HELD_FRAMES:
                log.warning("%s %s is away and %d frames wait for it: later ones are dropped", self.role, self.id,
                            MAX_HELD_FRAMES)
                self.held.append("")  # marks the warning as given; skipped on delivery
            return
        try:
            await self.conn.send(text)
            self.sent += 1
        except Exception as exc:  # a peer that vanished mid-send is cleaned up by its own loop
            log.info("send to %s failed: %s", self.id, type(exc).__name__)
