""":class:`~switchboard.state.StateStore` in Redis, so several switchboard instances behind a load balancer see
one set of queues, calls, desk sessions, identity nonces, interpreter invitations and login records.

Why it is safe for two instances to act at once: everything that *takes* something — a ticket (two agents
answering one customer), a nonce (one proof), a call (ending it once), an invitation (one interpreter) — is one
Lua script or ``GETDEL``, which Redis runs alone; whoever gets ``None`` lost the race and says so, as with
:class:`~switchboard.state.MemoryState`. The login counters are Lua scripts for the same reason: concurrent
guesses on two instances are all counted before any password is checked.

Layout (every key under ``prefix``, so one Redis can serve several switchboards or a test's own namespace):

* ``tickets`` hash id → ticket JSON, ``tickets:order`` sorted set by ``since``, ``tickets:point`` point → id;
* ``calls`` hash id → call JSON (each write also publishes ``{"op": "call"}`` on the relay's ``events``
  channel, for :mod:`switchboard.known_calls`); ``durations:<queue>`` list of the last 20 call lengths;
* ``session:<token>`` JSON with a key TTL (the login's expiry plus a minute; the sweep drops them on time by
  the hub's clock, the TTL only makes sure an instance that dies leaves nothing behind), ``sessions`` set of
  tokens;
* ``nonce:<request>`` JSON with a key TTL likewise, ``nonces`` sorted set by expiry;
* ``invites`` hash id → invitation JSON;
* ``bookings`` and ``bookings:code`` (appointments, :mod:`switchboard.redis_bookings`);
* ``login:<key>`` hash (``locked_until``, ``strikes``) and ``login:<key>:attempts`` sorted set by time,
  ``logins`` set of keys (for the sweep's :meth:`drop_idle_logins`).

Times are sent to Redis as ``repr(float)`` and come back as strings, never as Lua numbers (a Lua number
returned to Redis is truncated to an integer, and Lua's ``tostring`` keeps 14 digits): an attempt recorded at
``at`` is found again by exactly ``at``.

Live connections stay in the instance that holds their socket (:class:`switchboard.hub.Participant`); who is
connected where, the frames between instances, the frames held for a participant who is away and the sweep
lease are :class:`switchboard.relay.RedisRelay`'s, on the same client and prefix.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from redis.asyncio import BlockingConnectionPool, Redis

from switchboard.known_calls import KnownCalls
from switchboard.redis_bookings import RedisBookings
from switchboard.rooms_state import RedisRooms
from switchboard.state import Call, DeskSession, Invite, LoginRecord, Nonce, Ticket

#: Kept beyond a session's or nonce's own expiry before Redis drops the key itself (the sweep is first).
EXPIRY_SLACK_S = 60
#: Call lengths kept per queue for the estimate (as :class:`MemoryState`).
DURATIONS_KEPT = 20

_T = TypeVar("_T")

# KEYS[1] tickets, KEYS[2] tickets:order, KEYS[3] tickets:point; ARGV[1] ticket id.
_TAKE_TICKET = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local point = cjson.decode(v)['point']
if redis.call('HGET', KEYS[3], point) == ARGV[1] then redis.call('HDEL', KEYS[3], point) end
return v
"""

# KEYS[1] tickets, KEYS[2] tickets:point; ARGV[1] point: its ticket, in one round trip (asked on every queue
# request, connection and disconnection of a point).
_TICKET_OF_POINT = """
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
"""

# KEYS[1] tickets:order, KEYS[2] tickets: every waiting ticket in queue order, in one round trip (read on
# every burst of queue changes, by every instance).
_ALL_TICKETS = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
"""

# KEYS[1] calls, KEYS[2] events channel; ARGV[1] call id, ARGV[2] the notice: the call is connected, written
# with its notice in the same step. The record's own text is edited (written by _dump: compact, and a string
# value cannot hold an unescaped quote), not decoded and encoded again: Lua's numbers keep 14 digits of a time.
_MARK_CONNECTED = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local marked, n = string.gsub(v, '"connected":false', '"connected":true', 1)
if n == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], marked)
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
"""

# KEYS[1] calls, KEYS[2] events channel; ARGV[1] call id, ARGV[2] the notice: end the call once and say so
# in the same step (switchboard.known_calls: no instance may see it gone without the notice following).
_ENDS_CALL = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[2])
"""
_DROP_CALL = _ENDS_CALL + "return v\n"

# KEYS[1] calls, KEYS[2] events channel, KEYS[3] durations:<queue>; ARGV[1] call id, ARGV[2] the notice,
# ARGV[3] its length, ARGV[4] how many lengths are kept: end the call once, say so and count its length, in
# one step (a queue and a start never change in a call, so the length is the caller's to compute).
_END_CALL = _ENDS_CALL + """
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
return v
"""

# KEYS[1] a hash; ARGV[1] a field: remove and return it (a call ended once, an invitation taken once).
_HTAKE = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return v
"""

# KEYS[1] nonces (sorted set); KEYS[2..] nonce keys to look at; ARGV[1] call id. Drop that call's nonces.
_DROP_CALL_NONCES = """
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if not v or cjson.decode(v)['call'] == ARGV[1] then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return 0
"""

# KEYS[1] login:<key>, KEYS[2] login:<key>:attempts, KEYS[3] logins; ARGV: at, since, member, key.
_LOGIN_ATTEMPT = """
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
local locked = redis.call('HGET', KEYS[1], 'locked_until') or '0'
if tonumber(locked) <= tonumber(ARGV[1]) then redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3]) end
return {locked, redis.call('HGET', KEYS[1], 'strikes') or '0', redis.call('ZRANGE', KEYS[2], 0, -1)}
"""

# KEYS[1] login:<key>:attempts; ARGV[1] at: forget one attempt recorded at exactly that time.
_FORGET_ATTEMPT = """
local m = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if m[1] then redis.call('ZREM', KEYS[1], m[1]) end
return 0
"""

# KEYS[1] login:<key>, KEYS[2] login:<key>:attempts, KEYS[3] logins; ARGV: at, first_s, max_s, forget_s, key.
_LOCK_LOGIN = """
redis.call('SADD', KEYS[3], ARGV[5])
local at = tonumber(ARGV[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or '0')
local strikes = tonumber(redis.call('HGET', KEYS[1], 'strikes') or '0')
if strikes > 0 and at - locked > tonumber(ARGV[4]) then strikes = 0 end
strikes = strikes + 1
local until_ = at + math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (strikes - 1))
local text = string.format('%.17g', until_)
if locked > until_ then text = redis.call('HGET', KEYS[1], 'locked_until') end
redis.call('HSET', KEYS[1], 'locked_until', text, 'strikes', strikes)
redis.call('DEL', KEYS[2])
return text
"""

# KEYS[1] logins; ARGV: prefix, since, strikes_since. Forget keys idle since then (as MemoryState does).
_DROP_IDLE_LOGINS = """
local since, strikes_since = tonumber(ARGV[2]), tonumber(ARGV[3])
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec, att = ARGV[1] .. 'login:' .. key, ARGV[1] .. 'login:' .. key .. ':attempts'
  local recent = redis.call('ZCOUNT', att, since, '+inf')
  local strikes = tonumber(redis.call('HGET', rec, 'strikes') or '0')
  local locked = tonumber(redis.call('HGET', rec, 'locked_until') or '0')
  if recent == 0 and (strikes == 0 or locked < strikes_since) then
    redis.call('DEL', rec, att)
    redis.call('SREM', KEYS[1], key)
  end
end
return 0
"""


def _dump(obj: Any) -> str:
    return json.dumps(dataclasses.asdict(obj), separators=(",", ":"))


def _load(kind: type[_T], raw: str | bytes | None) -> _T | None:
    return None if raw is None else kind(**json.loads(raw))


def _float(raw: str | bytes) -> float:
    return float(raw.decode() if isinstance(raw, bytes) else raw)


#: Connections one instance keeps to Redis at most; more commands at once wait up to :data:`POOL_WAIT_S` for one.
MAX_REDIS_CONNECTIONS = 64
POOL_WAIT_S = 10.0


class RedisState(RedisBookings, RedisRooms):
    """:class:`~switchboard.state.StateStore` in Redis (``redis_url:`` in the switchboard's configuration).

    ``clock`` is the hub's: key TTLs are counted from it, so a session's key outlives its ``expires`` by
    :data:`EXPIRY_SLACK_S` whatever clock the hub runs on.
    """

    def __init__(
        self, url: str, *, prefix: str = "etapiste:switchboard:", clock: Callable[[], float] = time.time
    ) -> None:
        # A blocking pool: a burst (logins, a reconnect storm) waits for a free connection instead of failing
        # with MaxConnectionsError past redis-py's default 100, which also failed /healthz mid-storm.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_REDIS_CONNECTIONS,
            timeout=POOL_WAIT_S,
            decode_responses=True,
            health_check_interval=10,
        )
        self.redis: Redis = Redis.from_pool(pool)  # closed with the client (aclose)
        # /healthz asks Redis on a connection of its own: a busy pool says nothing about Redis.
        self._probe: Redis = Redis.from_url(url, decode_responses=True, max_connections=2)
        self.prefix = prefix
        self.clock = clock
        self.known_calls = KnownCalls()
        """The calls this instance has read, for the relay's per-frame check; kept only while the relay
        (:class:`switchboard.relay.RedisRelay`, given this object) hears every instance's notices."""
        self._take_ticket = self.redis.register_script(_TAKE_TICKET)
        self._ticket_of_point = self.redis.register_script(_TICKET_OF_POINT)
        self._drop_call = self.redis.register_script(_DROP_CALL)
        self._end_call = self.redis.register_script(_END_CALL)
        self._all_tickets = self.redis.register_script(_ALL_TICKETS)
        self._mark_connected = self.redis.register_script(_MARK_CONNECTED)
        self._htake = self.redis.register_script(_HTAKE)
        self._drop_call_nonces = self.redis.register_script(_DROP_CALL_NONCES)
        self._login_attempt = self.redis.register_script(_LOGIN_ATTEMPT)
        self._forget_attempt = self.redis.register_script(_FORGET_ATTEMPT)
        self._lock_login = self.redis.register_script(_LOCK_LOGIN)
        self._drop_idle_logins = self.redis.register_script(_DROP_IDLE_LOGINS)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _ttl_ms(self, expires: float) -> int:
        return max(1, int((expires - self.clock() + EXPIRY_SLACK_S) * 1000))

    async def ping(self) -> bool:
        """Whether Redis answers (``/healthz``), on the probe's own connection: during a burst every pooled
        connection may be busy for a moment, which must not make the instance look unhealthy."""
        return bool(await self._probe.ping())

    async def close(self) -> None:
        await self.redis.aclose()
        await self._probe.aclose()

    # queues
    async def enqueue(self, ticket: Ticket) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("tickets"), ticket.id, _dump(ticket))
            pipe.zadd(self._k("tickets", "order"), {ticket.id: ticket.since})
            pipe.hset(self._k("tickets", "point"), ticket.point, ticket.id)
            await pipe.execute()

    async def take_ticket(self, ticket_id: str) -> Ticket | None:
        keys = [self._k("tickets"), self._k("tickets", "order"), self._k("tickets", "point")]
        return _load(Ticket, await self._take_ticket(keys=keys, args=[ticket_id]))

    async def ticket_of_point(self, point: str) -> Ticket | None:
        keys = [self._k("tickets"), self._k("tickets", "point")]
        return _load(Ticket, await self._ticket_of_point(keys=keys, args=[point]))

    async def ticket(self, ticket_id: str) -> Ticket | None:
        return _load(Ticket, await self.redis.hget(self._k("tickets"), ticket_id))

    async def all_tickets(self) -> list[Ticket]:
        raws = await self._all_tickets(keys=[self._k("tickets", "order"), self._k("tickets")])
        return [cast(Ticket, _load(Ticket, raw)) for raw in raws if raw is not None]

    async def tickets(self, queue: str) -> list[Ticket]:
        return [t for t in await self.all_tickets() if t.queue == queue]

    # calls
    def _call_notice(self, call_id: str) -> str:
        """What every instance's relay hears when a call is written (module switchboard.known_calls)."""
        notice = {"op": "call", "id": call_id, "writer": self.known_calls.writer}
        return json.dumps(notice, separators=(",", ":"))

    async def put_call(self, call: Call) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:  # the write and its notice, in one step
            pipe.hset(self._k("calls"), call.id, _dump(call))
            pipe.publish(self._k("events"), self._call_notice(call.id))
            await pipe.execute()
        self.known_calls.written(call.id)

    async def get_call(self, call_id: str) -> Call | None:
        return _load(Call, await self.redis.hget(self._k("calls"), call_id))

    async def known_call(self, call_id: str) -> Call | None:
        call = self.known_calls.get(call_id)
        if call is not None:
            return call
        read, call = self.known_calls.reading(call_id), None
        try:
            call = await self.get_call(call_id)
        finally:
            self.known_calls.read(read, call)
        return call

    async def mark_connected(self, call_id: str) -> None:
        keys, args = [self._k("calls"), self._k("events")], [call_id, self._call_notice(call_id)]
        await self._mark_connected(keys=keys, args=args)
        self.known_calls.written(call_id)

    async def drop_call(self, call_id: str) -> Call | None:
        keys, args = [self._k("calls"), self._k("events")], [call_id, self._call_notice(call_id)]
        raw = await self._drop_call(keys=keys, args=args)
        self.known_calls.written(call_id)
        return _load(Call, raw)

    async def end_call(self, call: Call, at: float) -> Call | None:
        keys = [self._k("calls"), self._k("events"), self._k("durations", call.queue)]
        args: list[str | int] = [call.id, self._call_notice(call.id), repr(float(at - call.started)), DURATIONS_KEPT]
        raw = await self._end_call(keys=keys, args=args)
        self.known_calls.written(call.id)
        return _load(Call, raw)

    async def calls(self) -> list[Call]:
        return [cast(Call, _load(Call, raw)) for raw in await self.redis.hvals(self._k("calls"))]

    async def record_call_duration(self, queue: str, seconds: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._k("durations", queue), repr(float(seconds)))
            pipe.ltrim(self._k("durations", queue), -DURATIONS_KEPT, -1)
            await pipe.execute()

    async def average_call_s(self, queue: str) -> float | None:
        recent = [_float(v) for v in await self.redis.lrange(self._k("durations", queue), 0, -1)]
        return sum(recent) / len(recent) if recent else None

    # desk sessions
    async def put_session(self, session: DeskSession) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("session", session.token), _dump(session), px=self._ttl_ms(session.expires))
            pipe.sadd(self._k("sessions"), session.token)
            await pipe.execute()

    async def get_session(self, token: str) -> DeskSession | None:
        return _load(DeskSession, await self.redis.get(self._k("session", token)))

    async def drop_session(self, token: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("session", token))
            pipe.srem(self._k("sessions"), token)
            await pipe.execute()

    async def sessions(self) -> list[DeskSession]:
        tokens = sorted(cast(set[str], await self.redis.smembers(self._k("sessions"))))
        if not tokens:
            return []
        raws = await self.redis.mget([self._k("session", t) for t in tokens])
        gone = [t for t, raw in zip(tokens, raws, strict=True) if raw is None]
        if gone:  # expired by their TTL while no instance was sweeping
            await self.redis.srem(self._k("sessions"), *gone)
        return [cast(DeskSession, _load(DeskSession, raw)) for raw in raws if raw is not None]

    # identity nonces
    async def put_nonce(self, nonce: Nonce) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._k("nonce", nonce.request), _dump(nonce), px=self._ttl_ms(nonce.expires))
            pipe.zadd(self._k("nonces"), {nonce.request: nonce.expires})
            await pipe.execute()

    async def take_nonce(self, request: str) -> Nonce | None:
        raw = await self.redis.getdel(self._k("nonce", request))  # atomic: one proof per nonce
        await self.redis.zrem(self._k("nonces"), request)
        return _load(Nonce, raw)

    async def drop_expired_nonces(self, now: float) -> None:
        expired = cast(list[str], await self.redis.zrangebyscore(self._k("nonces"), "-inf", f"({now!r}"))
        if expired:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(*[self._k("nonce", r) for r in expired])
                pipe.zrem(self._k("nonces"), *expired)
                await pipe.execute()

    async def drop_call_nonces(self, call: str) -> None:
        requests = cast(list[str], await self.redis.zrange(self._k("nonces"), 0, -1))
        if requests:
            await self._drop_call_nonces(
                keys=[self._k("nonces"), *[self._k("nonce", r) for r in requests]], args=[call, *requests]
            )

    # interpreter invitations
    async def put_invite(self, invite: Invite) -> None:
        await self.redis.hset(self._k("invites"), invite.id, _dump(invite))

    async def take_invite(self, invite_id: str) -> Invite | None:
        return _load(Invite, await self._htake(keys=[self._k("invites")], args=[invite_id]))

    async def invites(self) -> list[Invite]:
        return [cast(Invite, _load(Invite, raw)) for raw in await self.redis.hvals(self._k("invites"))]

    # login rate-limiting
    def _login_keys(self, key: str) -> list[str]:
        return [self._k("login", key), self._k("login", key, "attempts"), self._k("logins")]

    async def login_attempt(self, key: str, at: float, since: float) -> LoginRecord:
        member = f"{at!r}:{secrets.token_hex(4)}"  # two attempts at one instant are two attempts
        locked, strikes, members = await self._login_attempt(
            keys=self._login_keys(key), args=[repr(at), repr(since), member, key]
        )
        return LoginRecord([float(m.split(":", 1)[0]) for m in members], _float(locked), int(strikes))

    async def forget_login_attempt(self, key: str, at: float) -> None:
        await self._forget_attempt(keys=[self._k("login", key, "attempts")], args=[repr(at)])

    async def lock_login(self, key: str, at: float, first_s: float, max_s: float, forget_s: float) -> float:
        text = await self._lock_login(
            keys=self._login_keys(key), args=[repr(at), repr(first_s), repr(max_s), repr(forget_s), key]
        )
        return _float(text)

    async def clear_login_failures(self, key: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("login", key), self._k("login", key, "attempts"))
            pipe.srem(self._k("logins"), key)
            await pipe.execute()

    async def drop_idle_logins(self, since: float, strikes_since: float) -> None:
        await self._drop_idle_logins(keys=[self._k("logins")], args=[self.prefix, repr(since), repr(strikes_since)])
