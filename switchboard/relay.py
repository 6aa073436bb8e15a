"""What several switchboard instances tell each other: who is connected where, frames for a participant
connected to another instance, "these queues changed", frames held for a participant who is away, and which
instance runs the shared sweep.

A point, an agent, an interpreter and a desk may each be connected to a different instance behind the load
balancer. The hub sends to a participant wherever it is (:class:`switchboard.hub.RemoteParticipant` forwards
through here to the instance that holds its socket); every instance renders queue snapshots and positions for
its own sockets when any instance says a queue changed; a participant that comes back on another instance
takes its held frames from Redis.

:class:`LocalRelay` is the one-instance implementation (memory state, the demo): nobody else to tell, held
frames in memory, the sweep lease always ours. :class:`RedisRelay` does it over Redis (``redis_url:``):

* ``members`` hash participant id → :class:`Member` JSON (its instance, role, call, away…); each instance
  rewrites its own every sweep tick (``refreshed``), and a record not refreshed for :attr:`RedisRelay.member_ttl_s`
  counts as gone (its instance died);
* ``held:<participant>`` list of frames for a participant who is away, with a key TTL (the rejoin grace and a
  minute), at most :data:`MAX_HELD_FRAMES`;
* ``lease:sweep`` the sweep lease: the holder's token, ``SET NX PX``, renewed each tick by its holder only;
* pub/sub channel ``relay:<instance>`` (frames and orders for one instance) and ``events`` (members, queue
  changes and the notices of written calls, for every instance; :mod:`switchboard.known_calls`). Pub/sub is
  neither stored nor written to the append-only file.

Privacy: a frame that names the customer (``identity.result`` with the verified holder) is never written to a
Redis key (whose contents go to the append-only file on disk): if its agent is away it is held in the memory
of the instance that had the agent's socket, and is lost if the agent comes back elsewhere (it can ask again).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline, PubSub

from etapiste.retry import Backoff
from switchboard.known_calls import KnownCalls
from switchboard.tasks import stop_task

log = logging.getLogger("switchboard.relay")

#: Frames kept for a participant who is away (offers, answers, ICE, identity…), delivered when it comes back.
#: A call's signalling is a few dozen frames; the cap bounds a peer that never returns.
MAX_HELD_FRAMES = 256
#: How long the sweep lease lasts unless its holder renews it (every tick): a dead holder's successor takes
#: over within this long.
LEASE_S = 3.0
#: A relay round trip (``/metrics``) that takes longer than this is reported as missing.
PING_TIMEOUT_S = 2.0

Handler = Callable[[dict[str, Any]], Awaitable[None]]
"""The hub's entry for what other instances send: ``{"op": "frame" | "let_go" | "moved" | "queues" |
"member" | "gone" | "resync", ...}``."""


@dataclass
class Member:
    """One live participant as every instance sees it: where its socket is and what it is doing. Holds no
    customer data: a point's place, an agent's display name, ids."""

    id: str
    role: str
    name: str
    principal: str
    instance: str
    producers: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    call: str | None = None
    away_since: float | None = None
    """The hub's clock when its connection dropped (it is held for the rejoin grace), or ``None``."""
    refreshed: float = 0.0
    """Wall-clock time its instance last wrote it."""


def _personal(text: str) -> bool:
    """Whether a frame names the customer (an identity result with the verified holder)."""
    if '"identity.result"' not in text:
        return False
    frame = json.loads(text)
    return bool(frame.get("given_name") or frame.get("surname") or frame.get("satu"))


class _HeldInMemory:
    """Frames for participants who are away, in this process (capped, in order)."""

    def __init__(self) -> None:
        self.frames: dict[str, list[str]] = {}

    def hold(self, pid: str, text: str) -> None:
        held = self.frames.setdefault(pid, [])
        if len(held) < MAX_HELD_FRAMES:
            held.append(text)
        elif len(held) == MAX_HELD_FRAMES:
            log.warning("%s is away and %d frames wait for it: later ones are dropped", pid, MAX_HELD_FRAMES)
            held.append("")  # marks the warning as given; skipped on delivery

    def take(self, pid: str) -> list[str]:
        return [t for t in self.frames.pop(pid, []) if t]


class Relay(Protocol):
    """What the hub needs from the other instances; one path for one instance and for many."""

    instance: str
    """This instance's name (unique per process)."""
    listening: bool
    """Whether what other instances send reaches us now."""

    async def start(self, handler: Handler) -> None:
        """Listen for other instances; ``handler`` gets each of their messages, in order."""
        ...

    async def close(self) -> None: ...
    def publish_member(self, member: Member) -> None:
        """Record ``member`` (one of ours) and tell every instance, without waiting for it: in order with
        everything this relay writes after it (a failure is logged; the next tick's :meth:`refresh` writes
        the record again)."""
        ...

    async def refresh(self, members: list[Member]) -> None:
        """Rewrite our members' records (each tick): their ``refreshed`` keeps them alive."""
        ...

    async def forget_member(self, pid: str) -> None:
        """``pid`` has gone: drop its record (unless another instance has taken it over) and the frames held
        for it, and tell everyone."""
        ...

    async def member(self, pid: str) -> Member | None:
        """``pid``'s live record, read from the source (not a cache)."""
        ...

    async def members(self) -> list[Member]:
        """Every other instance's live members."""
        ...

    async def send(self, instance: str, message: dict[str, Any]) -> None:
        """A message for one instance (a frame for one of its participants, an order)."""
        ...

    async def broadcast(self, message: dict[str, Any]) -> None:
        """A message for every other instance."""
        ...

    async def hold(self, pid: str, text: str) -> None:
        """Keep a frame for ``pid``, who is away, until it comes back on any instance."""
        ...

    async def take_held(self, pid: str) -> list[str]:
        """The frames held for ``pid``, in order; they are gone from the store."""
        ...

    async def sweep_lease(self) -> bool:
        """Whether this instance runs the shared sweep this tick (takes or renews the lease)."""
        ...

    async def holds_lease(self) -> bool:
        """Whether the lease is still ours: asked before each effect of the shared sweep (the fence)."""
        ...

    async def roundtrip(self) -> float | None:
        """Seconds for a message through the relay and back (0 for one instance; ``None``: no answer)."""
        ...


class LocalRelay:
    """One instance: no one else to tell; held frames in memory; the sweep is always ours."""

    def __init__(self, instance: str = "local") -> None:
        self.instance = instance
        self.listening = True
        self._held = _HeldInMemory()

    async def start(self, handler: Handler) -> None:
        pass

    async def close(self) -> None:
        pass

    def publish_member(self, member: Member) -> None:
        pass

    async def refresh(self, members: list[Member]) -> None:
        pass

    async def forget_member(self, pid: str) -> None:
        self._held.frames.pop(pid, None)

    async def member(self, pid: str) -> Member | None:
        return None

    async def members(self) -> list[Member]:
        return []

    async def send(self, instance: str, message: dict[str, Any]) -> None:
        log.warning("no instance %s to send %s to", instance, message.get("op"))

    async def broadcast(self, message: dict[str, Any]) -> None:
        pass

    async def hold(self, pid: str, text: str) -> None:
        self._held.hold(pid, text)

    async def take_held(self, pid: str) -> list[str]:
        return self._held.take(pid)

    async def sweep_lease(self) -> bool:
        return True

    async def holds_lease(self) -> bool:
        return True

    async def roundtrip(self) -> float | None:
        return 0.0


# KEYS[1] lease; ARGV[1] our token, ARGV[2] milliseconds. Renew it if ours, take it if free.
_LEASE = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""

# KEYS[1] members; ARGV[1] participant, ARGV[2] our instance. Drop the record if it is still ours.
_FORGET = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and cjson.decode(v)['instance'] == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) return 1 end
return 0
"""


Write = Callable[[Pipeline], object]
"""Queues one or more commands on a pipeline."""


class _Writes:
    """What an instance writes to Redis without needing an answer — frames and orders for other instances,
    member records and their events, broadcasts —, sent in the order they were made, as one pipeline per turn
    of the event loop.

    Why: under a storm of call set-ups each of these was a round trip of its own (a connection taken from the
    pool, a socket write, a wait, a read), about a third of an instance's time in a profile; and the relay's
    listener, which handles the other instances' messages one after another, waited for one (a member record)
    on every ``call.start`` and ``call.ended`` it delivered, so every frame behind it waited too. One ordered
    queue also keeps what the others hear in the order this instance did it (a record before the ``moved``
    that follows it). A caller that must know its write went through awaits what :meth:`add` returns (it
    fails with the batch: Redis away); others let it go. A failed batch is logged once."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queue: list[tuple[Write, asyncio.Future[None] | None]] = []
        self._flusher: asyncio.Task[None] | None = None

    def add(self, write: Write, *, wait: bool = True) -> asyncio.Future[None] | None:
        """Queue ``write``; with ``wait`` a future that ends when its batch has run in Redis."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] | None = loop.create_future() if wait else None
        self._queue.append((write, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="relay writes")
        return future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # what the rest of this turn of the loop writes goes in the same batch
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for write, _ in batch:
                        write(pipe)
                    await pipe.execute()
            except asyncio.CancelledError:
                for _, future in batch:
                    if future is not None:
                        future.cancel()
                raise
            except Exception as exc:
                log.warning("relay: %d writes to Redis failed: %s", len(batch), type(exc).__name__)
                for _, future in batch:
                    if future is not None and not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if future is not None and not future.done():
                        future.set_result(None)

    async def drain(self, timeout: float) -> None:
        """Let what is queued go out (a graceful stop), for at most ``timeout`` seconds."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.wait([self._flusher], timeout=timeout)

    async def drop(self) -> None:
        """Forget what is queued and stop (as a killed process would)."""
        queued, self._queue = self._queue, []
        for _, future in queued:
            if future is not None:
                future.cancel()
        if self._flusher is not None:
            await stop_task(self._flusher, PING_TIMEOUT_S)
            self._flusher = None


def instance_name() -> str:
    """``host-pid-random``: unique per process, readable in logs."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class RedisRelay:
    """The relay over Redis pub/sub, with members, held frames and the sweep lease in keys (module doc).

    ``redis`` is the state's client (``decode_responses=True``); pub/sub takes a connection of its own from
    its pool. ``member_ttl_s``: a member whose instance stopped refreshing it is gone after this long — at
    least the rejoin grace, so a participant whose instance died keeps its call until it could have come
    back through another instance."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        instance: str | None = None,
        member_ttl_s: float = 60.0,
        held_ttl_s: float = 120.0,
        lease_s: float = LEASE_S,
        known_calls: KnownCalls | None = None,
    ) -> None:
        self.redis = redis
        self.known_calls = known_calls
        """The state's copies of calls (:mod:`switchboard.known_calls`): told of every write of a call, and
        whether notices reach us at all."""
        self.prefix = prefix
        self.instance = instance or instance_name()
        self.member_ttl_s = member_ttl_s
        self.held_ttl_s = held_ttl_s
        self.lease_s = lease_s
        self._lease = redis.register_script(_LEASE)
        self._channel = self._k("relay", self.instance)
        self._writes = _Writes(redis)
        self._events = self._k("events")
        self._handler: Handler | None = None
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None
        self._pings: dict[str, asyncio.Future[None]] = {}
        self._personal = _HeldInMemory()
        self.holder = False
        """Whether we held the lease at the last tick (for logs: a change is logged once)."""
        self.listening = False
        """Whether our subscription is confirmed: while it is not (Redis went away and we have not subscribed
        again), what other instances send us is lost, so ``/healthz`` says this instance is not ready."""

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # -- listening ----------------------------------------------------------------------------------------

    async def start(self, handler: Handler) -> None:
        if self._listener is not None:
            return
        self._handler = handler
        self._pubsub = await self._subscribe()
        if self.known_calls is not None:
            self.known_calls.resume()
        self.listening = True
        self._listener = asyncio.get_running_loop().create_task(self._listen(self._pubsub))

    async def _subscribe(self) -> PubSub:
        """A pub/sub connection on our channel and the events, once Redis has confirmed both (so a message
        published after this returns reaches us)."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(self._channel, self._events)
            confirmed = 0
            while confirmed < 2:
                msg = await pubsub.get_message(timeout=PING_TIMEOUT_S)
                if msg is None:
                    raise ConnectionError("Redis did not confirm the subscription")
                confirmed += msg["type"] == "subscribe"
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        return pubsub

    async def _listen(self, pubsub: PubSub) -> None:
        """Deliver messages in order; when Redis goes away, subscribe again (full-jitter back-off) and tell
        the hub to resynchronise (what was published meanwhile was lost)."""
        backoff = Backoff(0.1, 2.0)
        while True:
            try:
                async for msg in pubsub.listen():
                    if msg["type"] == "message":
                        await self._dispatch(msg["data"])
                raise ConnectionError("the subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay: lost Redis (%s); subscribing again", type(exc).__name__)
            self.listening = False
            if self.known_calls is not None:  # notices are missed from here on
                self.known_calls.suspend()
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            while True:
                await asyncio.sleep(backoff.next_delay())
                try:
                    pubsub = self._pubsub = await self._subscribe()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    continue
            backoff.reset()
            log.info("relay: Redis is back")
            if self.known_calls is not None:
                self.known_calls.resume()
            self.listening = True
            await self._deliver({"op": "resync"})

    async def _dispatch(self, data: str) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            log.warning("relay: a message that is not JSON was dropped")
            return
        if msg.get("op") == "call":  # a call was written (switchboard.redis_state): handled here, in order
            if self.known_calls is not None:
                self.known_calls.changed(str(msg.get("id")), msg.get("writer"))
            return
        if msg.get("from") == self.instance:
            return  # our own broadcast
        if msg.get("op") == "ping":
            future = self._pings.pop(str(msg.get("id")), None)
            if future is not None and not future.done():
                future.set_result(None)
            return
        await self._deliver(msg)

    async def _deliver(self, msg: dict[str, Any]) -> None:
        if self._handler is None:
            return
        try:
            await self._handler(msg)
        except Exception:  # one message must not stop the relay
            log.exception("relay: handling %s failed", msg.get("op"))

    async def close(self) -> None:
        """Let queued writes go out, stop listening and give the lease up, so another instance sweeps at once
        (a graceful stop)."""
        await self._writes.drain(PING_TIMEOUT_S)
        await self.crash()
        with contextlib.suppress(Exception):
            if await self.holds_lease():
                await self.redis.delete(self._k("lease", "sweep"))

    async def crash(self) -> None:
        """Stop listening and leave everything as it is, as a killed process would (tests)."""
        self.listening = False
        await self._writes.drop()
        if self.known_calls is not None:
            self.known_calls.suspend()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            # redis-py's pub/sub read may swallow the cancellation while it reconnects after a Redis restart:
            # closing the subscription's connection ends that read (switchboard.tasks).
            await asyncio.wait([listener], timeout=PING_TIMEOUT_S)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        if listener is not None:
            await stop_task(listener, PING_TIMEOUT_S)

    # -- members ------------------------------------------------------------------------------------------

    def _record(self, member: Member) -> str:
        member.refreshed = time.time()
        return json.dumps(dataclasses.asdict(member), separators=(",", ":"))

    def publish_member(self, member: Member) -> None:
        record = self._record(member)
        event = json.dumps({"op": "member", "from": self.instance, "member": json.loads(record)}, separators=(",", ":"))

        def write(pipe: Pipeline) -> None:
            pipe.hset(self._k("members"), member.id, record)
            pipe.publish(self._events, event)

        self._writes.add(write, wait=False)

    async def refresh(self, members: list[Member]) -> None:
        if members:
            records: dict[Any, str] = {m.id: self._record(m) for m in members}
            await self._wrote(lambda pipe: pipe.hset(self._k("members"), mapping=records))

    async def forget_member(self, pid: str) -> None:
        keys_and_args = [self._k("members"), pid, self.instance]
        gone = self._broadcast_text({"op": "gone", "pid": pid, "instance": self.instance})

        held = self._k("held", pid)

        def write(pipe: Pipeline) -> None:
            pipe.eval(_FORGET, 1, *keys_and_args)  # a small script, sent whole: no NOSCRIPT in a pipeline
            pipe.delete(held)
            pipe.publish(self._events, gone)

        self._personal.frames.pop(pid, None)
        await self._wrote(write)

    def _alive(self, raw: str, now: float) -> Member | None:
        member = Member(**json.loads(raw))
        return member if now - member.refreshed < self.member_ttl_s else None

    async def member(self, pid: str) -> Member | None:
        raw = cast(str | None, await self.redis.hget(self._k("members"), pid))
        return None if raw is None else self._alive(raw, time.time())

    async def members(self) -> list[Member]:
        now = time.time()
        found, dead = [], []
        for pid, raw in cast(dict[str, str], await self.redis.hgetall(self._k("members"))).items():
            member = self._alive(raw, now)
            if member is None:
                dead.append(pid)
            elif member.instance != self.instance:
                found.append(member)
        if dead:  # their instance died: nobody else will drop them
            await self.redis.hdel(self._k("members"), *dead)
        return found

    # -- messages -----------------------------------------------------------------------------------------

    async def _wrote(self, write: Write) -> None:
        """``write`` in its turn among the queued writes; returns once Redis has run it."""
        future = self._writes.add(write)
        assert future is not None
        await future

    async def send(self, instance: str, message: dict[str, Any]) -> None:
        channel, text = self._k("relay", instance), json.dumps(message, separators=(",", ":"))
        await self._wrote(lambda pipe: pipe.publish(channel, text))

    def _broadcast_text(self, message: dict[str, Any]) -> str:
        return json.dumps({**message, "from": self.instance}, separators=(",", ":"))

    async def broadcast(self, message: dict[str, Any]) -> None:
        text = self._broadcast_text(message)
        await self._wrote(lambda pipe: pipe.publish(self._events, text))

    async def roundtrip(self) -> float | None:
        """A ping to our own channel and back through Redis."""
        ping = secrets.token_hex(4)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[ping] = future
        began = time.perf_counter()
        try:
            await self.send(self.instance, {"op": "ping", "id": ping})
            await asyncio.wait_for(future, PING_TIMEOUT_S)
        except Exception:
            return None
        finally:
            self._pings.pop(ping, None)
        return time.perf_counter() - began

    # -- held frames --------------------------------------------------------------------------------------

    async def hold(self, pid: str, text: str) -> None:
        if _personal(text):
            self._personal.hold(pid, text)
            return
        key = self._k("held", pid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, text)
            pipe.ltrim(key, 0, MAX_HELD_FRAMES - 1)
            pipe.pexpire(key, int(self.held_ttl_s * 1000))
            length, *_ = await pipe.execute()
        if length == MAX_HELD_FRAMES + 1:
            log.warning("%s is away and %d frames wait for it: later ones are dropped", pid, MAX_HELD_FRAMES)

    async def take_held(self, pid: str) -> list[str]:
        key = self._k("held", pid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            frames, _ = await pipe.execute()
        return [*cast(list[str], frames), *self._personal.take(pid)]

    # -- the sweep lease ----------------------------------------------------------------------------------

    async def sweep_lease(self) -> bool:
        held = bool(await self._lease(keys=[self._k("lease", "sweep")], args=[self.instance, int(self.lease_s * 1000)]))
        if held != self.holder:
            log.info("instance %s %s the sweep lease", self.instance, "holds" if held else "no longer holds")
            self.holder = held
        return held

    async def holds_lease(self) -> bool:
        return await self.redis.get(self._k("lease", "sweep")) == self.instance
