"""What each point last reported of its room for the host view (:mod:`switchboard.hub.rooms`), kept in the
shared state so that a host's page served by any instance sees the room, whichever instance the point's
connection is on. A report is a small JSON text (device codes, times, a staff member's name: nothing of a
customer); the hub reads and writes it whole. "I'm on it" is kept apart, one entry per alert set only if
absent: the point's instance rewrites the report from what it read a moment before, and a host's
acknowledgement written in between on another instance must not vanish with that rewrite.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

#: A report not written for this long is forgotten (a point gone for good); any point reports after every
#: connect, so a room that comes back has a fresh one at once.
ROOM_TTL_S = 86400


class RoomStore(Protocol):
    """The rooms' part of :class:`~switchboard.state.StateStore`."""

    async def get_room(self, point: str) -> str | None: ...
    async def put_room(self, point: str, report: str) -> None: ...
    async def room_acks(self, point: str) -> dict[str, str]: ...
    async def ack_room_alert(self, point: str, alert: str, ack: str) -> bool:
        """Record ``ack`` for ``alert`` unless one is there already; whether this one was recorded."""
        ...


class MemoryRooms:
    """:class:`RoomStore` in memory (a base of :class:`~switchboard.state.MemoryState`)."""

    _rooms: dict[str, str]
    _room_acks: dict[str, dict[str, str]]

    def _room_map(self) -> dict[str, str]:
        if not hasattr(self, "_rooms"):
            self._rooms, self._room_acks = {}, {}
        return self._rooms

    async def get_room(self, point: str) -> str | None:
        return self._room_map().get(point)

    async def put_room(self, point: str, report: str) -> None:
        self._room_map()[point] = report

    async def room_acks(self, point: str) -> dict[str, str]:
        self._room_map()
        return dict(self._room_acks.get(point, {}))

    async def ack_room_alert(self, point: str, alert: str, ack: str) -> bool:
        self._room_map()
        acks = self._room_acks.setdefault(point, {})
        if alert in acks:
            return False
        acks[alert] = ack
        return True


class RedisRooms:
    """:class:`RoomStore` in Redis (a base of :class:`~switchboard.redis_state.RedisState`): ``room:<point>``
    under the state's prefix, expiring :data:`ROOM_TTL_S` after its last write. Needs the state's ``redis``
    client and key maker ``_k``."""

    redis: Redis

    def _k(self, *parts: str) -> str:  # pragma: no cover - RedisState's
        raise NotImplementedError

    async def get_room(self, point: str) -> str | None:
        raw = await self.redis.get(self._k("room", point))
        return None if raw is None else str(raw)

    async def put_room(self, point: str, report: str) -> None:
        await self.redis.set(self._k("room", point), report, ex=ROOM_TTL_S)

    async def room_acks(self, point: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self._k("room_acks", point))
        return {str(k): str(v) for k, v in raw.items()}

    async def ack_room_alert(self, point: str, alert: str, ack: str) -> bool:
        key = self._k("room_acks", point)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, alert, ack)
            pipe.expire(key, ROOM_TTL_S)
            added, _ = await pipe.execute()
        return bool(added)
