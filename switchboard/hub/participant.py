"""A live connection to the switchboard, and the frames held for it while its network is cut."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from etapiste import protocol as p
from switchboard.relay import MAX_HELD_FRAMES, LocalRelay

log = logging.getLogger("switchboard")

Clock = Callable[[], float]
__all__ = ["MAX_HELD_FRAMES", "Clock", "Connection", "HeldFrames", "Participant", "RemoteParticipant"]


class Connection(Protocol):
    async def send(self, text: str) -> None: ...
    async def close(self) -> None: ...


class HeldFrames(Protocol):
    """Where frames wait for a participant who is away (:class:`switchboard.relay.Relay`: in Redis with
    several instances, so it gets them on whichever instance it comes back to)."""

    async def hold(self, pid: str, text: str) -> None: ...
    async def take_held(self, pid: str) -> list[str]: ...


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
    features: frozenset[str] = frozenset()
    """What a point's software understands (``hello.point.features``)."""
    call: str | None = None
    sent: int = field(default=0)
    away_since: float | None = None
    """When this participant's connection dropped mid-call; the call is held for it until the grace ends."""
    held_frames: HeldFrames = field(default_factory=LocalRelay)
    """Where frames for it wait while it is away, delivered in order when it comes back (the hub's relay)."""

    async def send(self, message: BaseModel) -> None:
        await self.send_text(p.encode(message))

    async def send_text(self, text: str) -> None:
        if self.away_since is not None:
            try:
                await self.held_frames.hold(self.id, text)
            except Exception as exc:  # Redis down: the frame is lost, as it would be in a dropped socket
                log.warning("a frame for %s %s could not be held: %s", self.role, self.id, type(exc).__name__)
            return
        try:
            await self.conn.send(text)
            self.sent += 1
        except Exception as exc:  # a peer that vanished mid-send is cleaned up by its own loop
            log.info("send to %s failed: %s", self.id, type(exc).__name__)


class _Elsewhere:
    """The connection of a participant whose socket another instance holds: nothing to send or close here."""

    async def send(self, text: str) -> None:
        raise RuntimeError("connected to another instance")

    async def close(self) -> None:
        pass


@dataclass(eq=False)
class RemoteParticipant(Participant):
    """A participant connected to another switchboard instance, as this one sees it: what it is doing (its
    instance's record, :class:`switchboard.relay.Member`), and a ``send`` that relays the frame there. The
    instance holding its socket decides whether it is delivered or held (it may be away)."""

    instance: str = ""
    forward: Callable[[str, str, str], Awaitable[None]] | None = None
    """``(instance, participant, frame)``: the hub's relay."""

    async def send_text(self, text: str) -> None:
        if self.forward is None:
            return
        try:
            await self.forward(self.instance, self.id, text)
            self.sent += 1
        except Exception as exc:  # Redis down: as a dropped socket, the participant resumes and resyncs
            log.info("relay to %s on %s failed: %s", self.id, self.instance, type(exc).__name__)


def elsewhere() -> Connection:
    return _Elsewhere()
