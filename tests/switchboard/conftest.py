"""Fixtures the switchboard's state tests share."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from simulation.services.redis import Redis
from switchboard.redis_state import RedisState
from switchboard.state import MemoryState, StateStore


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    """Each state-level test runs against the memory state and against Redis (a test's own prefix): both must
    behave alike."""
    if request.param == "memory":
        yield MemoryState()
        return
    redis: Redis = request.getfixturevalue("redis_server")
    state = RedisState(redis.url, prefix=f"t{secrets.token_hex(3)}:")
    yield state
    await state.close()
