"""Waiting, in a simulated peer, for something it records to happen.

The simulated point and agents note every message or event they receive and set an :class:`asyncio.Event`;
a test waits for a condition over what they recorded, woken at each change (and at least every 0.2 s), and
fails with what it waited for when it never came — a bounded wait that says what was missing, not a timing
assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any


async def until_changed(
    check: Callable[[], Any], changed: asyncio.Event, timeout: float, failure: Callable[[], str]
) -> Any:
    """``check()``'s first true result, re-checked whenever ``changed`` is set; after ``timeout`` seconds an
    :class:`AssertionError` with ``failure()``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(failure())
        changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), 0.2)


async def polled(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) every 20 ms until it gives something true, and return that; bounded, so a
    failure names ``what``. For state no recorder announces (a switchboard's store, an instance's cache)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)
