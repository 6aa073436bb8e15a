"""A burst of work on one instance (200 desks logging in at once, a reconnect storm after another instance
died) must wait for a Redis connection, not fail: redis-py's default pool refuses the 101st concurrent command
with ``MaxConnectionsError``, which made ``/healthz`` report Redis unreachable and HAProxy take a busy instance
out of rotation in the middle of the storm (seen in ``bench/bench_switchboard.py --instances 2``)."""

from __future__ import annotations

import asyncio

from simulation.services.redis import Redis
from switchboard.redis_state import MAX_REDIS_CONNECTIONS, RedisState


async def test_a_burst_far_beyond_the_pool_waits_for_connections_and_every_command_succeeds(redis_server: Redis):
    state = RedisState(redis_server.url, prefix="burst:")
    try:
        burst = 5 * MAX_REDIS_CONNECTIONS
        results = await asyncio.gather(
            *(state.get_session(f"no-such-session-{n}") for n in range(burst)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, f"{len(failures)} of {burst} failed, e.g. {failures[0]!r}"
        assert await state.ping()
        clients = int(redis_server.cli("info", "clients").split("connected_clients:")[1].split()[0])
        assert clients <= MAX_REDIS_CONNECTIONS + 2  # the pool's, the health probe's and redis-cli's own
    finally:
        await state.close()


async def test_health_asks_redis_itself_even_while_every_pooled_connection_is_busy(redis_server: Redis):
    """``/healthz`` reports Redis, not the pool: with all connections held (here by blocking pops), the probe
    still answers, so a burst cannot get a healthy instance taken out of HAProxy's rotation."""
    state = RedisState(redis_server.url, prefix="busy:")
    key = "busy:wake"
    holders = [asyncio.ensure_future(state.redis.blpop([key], timeout=0)) for _ in range(MAX_REDIS_CONNECTIONS)]
    try:
        await asyncio.sleep(0)
        assert await asyncio.wait_for(state.ping(), 30)
    finally:
        redis_server.cli("rpush", key, *["x"] * MAX_REDIS_CONNECTIONS)
        await asyncio.gather(*holders, return_exceptions=True)
        await state.close()


async def test_replies_are_parsed_by_hiredis_the_c_parser_the_install_brings(redis_server: Redis):
    """redis-py falls back to its pure-Python parser without a word when ``hiredis`` is missing; the storm in
    ``bench/bench_switchboard.py --instances 2`` then costs the instances ~13 % more CPU. The connections the
    switchboard really uses must parse in C."""
    state = RedisState(redis_server.url, prefix="parser:")
    try:
        assert await state.ping()
        await state.get_session("none")  # one pooled connection made and used
        pool = state.redis.connection_pool
        parsers = {type(c._parser).__name__ for c in [*pool._available_connections, *pool._in_use_connections]}
        assert parsers == {"_AsyncHiredisParser"}, parsers
    finally:
        await state.close()
