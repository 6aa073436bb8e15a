""":class:`~switchboard.appointments.BookingStore` in Redis (a base of :class:`~switchboard.redis_state.RedisState`).

Layout under the state's prefix: ``bookings`` hash id → booking JSON, ``bookings:code`` hash code → id. Adding
claims the code with ``HSETNX`` inside a Lua script (two instances booking at once never share a code);
checking in is a script too, so one code checks in once.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

from redis.asyncio import Redis

from switchboard.appointments import Booking

# KEYS[1] bookings, KEYS[2] bookings:code; ARGV[1] id, ARGV[2] code, ARGV[3] JSON.
_ADD = """
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# KEYS[1] bookings; ARGV[1] id, ARGV[2] time (as text). Set checked_in once.
_CHECK_IN = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local b = cjson.decode(v)
if b['checked_in'] ~= cjson.null and b['checked_in'] ~= nil then return false end
local at = string.format('%.17g', tonumber(ARGV[2]))
local out = string.gsub(v, '"checked_in":null', '"checked_in":' .. at, 1)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
"""

# KEYS[1] bookings, KEYS[2] bookings:code; ARGV ids. Remove those bookings and free their codes.
_TAKE = """
local out = {}
for i = 1, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    redis.call('HDEL', KEYS[1], ARGV[i])
    local code = cjson.decode(v)['code']
    if redis.call('HGET', KEYS[2], code) == ARGV[i] then redis.call('HDEL', KEYS[2], code) end
    out[#out + 1] = v
  end
end
return out
"""


def _load(raw: str | bytes) -> Booking:
    return Booking(**json.loads(raw))


class RedisBookings:
    """Needs the state's ``redis`` client and key maker ``_k``."""

    redis: Redis

    def _k(self, *parts: str) -> str:  # pragma: no cover - RedisState's
        raise NotImplementedError

    def _booking_keys(self) -> list[str]:
        return [self._k("bookings"), self._k("bookings", "code")]

    async def add_booking(self, booking: Booking) -> bool:
        raw = json.dumps(dataclasses.asdict(booking), separators=(",", ":"))
        script = self.redis.register_script(_ADD)
        return bool(await script(keys=self._booking_keys(), args=[booking.id, booking.code, raw]))

    async def bookings(self) -> list[Booking]:
        raws = cast(list[str], await self.redis.hvals(self._k("bookings")))
        return sorted((_load(r) for r in raws), key=lambda b: b.start)

    async def booking_by_code(self, code: str) -> Booking | None:
        booking_id = await self.redis.hget(self._k("bookings", "code"), code)
        if booking_id is None:
            return None
        raw = await self.redis.hget(self._k("bookings"), booking_id)
        return None if raw is None else _load(raw)

    async def check_in_booking(self, booking_id: str, at: float) -> Booking | None:
        script = self.redis.register_script(_CHECK_IN)
        raw = await script(keys=[self._k("bookings")], args=[booking_id, repr(at)])
        return None if not raw else _load(raw)

    async def _take(self, ids: list[str]) -> list[Any]:
        script = self.redis.register_script(_TAKE)
        return cast(list[Any], await script(keys=self._booking_keys(), args=ids))

    async def take_booking(self, booking_id: str) -> Booking | None:
        taken = await self._take([booking_id])
        return _load(taken[0]) if taken else None

    async def drop_bookings_before(self, end: float) -> None:
        old = [b.id for b in await self.bookings() if b.end < end]
        if old:
            await self._take(old)
