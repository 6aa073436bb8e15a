"""How long to wait before trying a lost connection again: exponential back-off with full jitter.

Every part that keeps a connection open retries it: the kiosk its switchboard socket, the provisioning
agent its broker, the kiosk its link to the agent. When the far side comes back after an outage, a whole
fleet retries at once; with plain exponential back-off the points stay in lock-step and arrive in waves.
"Full jitter" (AWS Architecture Blog, *Exponential Backoff And Jitter*, 2015) draws each delay uniformly
from ``[0, min(cap, base·2ⁿ)]`` after the n-th failure in a row, which spreads them out and, for the same
cap, finishes the herd sooner than the other schemes. One helper, so the three policies cannot drift apart
in how they grow, cap and reset::

    backoff = Backoff(base_s=0.5, cap_s=30.0)
    while True:
        try:
            await connect()
            backoff.reset()            # connected: the next loss starts small again
            ...
        except ConnectionError:
            pass
        await asyncio.sleep(next(backoff))

The random source is injectable so that a test can pin the draw (a seeded ``random.Random``, or an object
whose ``uniform`` returns the upper bound) instead of asserting on timing.
"""

from __future__ import annotations

import random
from typing import Protocol


class UniformSource(Protocol):
    """What :class:`Backoff` draws from: ``random.Random`` and ``random.SystemRandom`` fit."""

    def uniform(self, a: float, b: float) -> float: ...


class Backoff:
    """Delays (seconds) for consecutive failed attempts: uniform in ``[0, min(cap_s, base_s·2ⁿ)]``.

    An iterator that never ends: ``next(backoff)`` is the delay after one more failure. :meth:`reset`
    after a success, so the next outage starts from ``base_s`` again.
    """

    def __init__(self, base_s: float, cap_s: float, rng: UniformSource | None = None) -> None:
        if not base_s > 0:
            raise ValueError(f"base_s must be greater than 0, not {base_s!r}")
        if not cap_s >= base_s:
            raise ValueError(f"cap_s must be at least base_s ({base_s!r}), not {cap_s!r}")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng: UniformSource = rng if rng is not None else random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        """Delays handed out since the last :meth:`reset` (it stops growing once the cap is reached)."""
        return self._failures

    def ceiling(self, cap_s: float | None = None) -> float:
        """The upper bound of the next delay: ``min(cap_s, base_s·2ⁿ)`` (``cap_s`` only ever lowers the cap)."""
        cap = self.cap_s if cap_s is None else min(self.cap_s, cap_s)
        return min(cap, self.base_s * 2.0**self._failures)

    def next_delay(self, cap_s: float | None = None) -> float:
        """The delay before the next attempt. ``cap_s`` lowers the cap for this one draw (a call the
        switchboard holds must be retried at least that often) without forgetting how many failed."""
        delay = self._rng.uniform(0.0, self.ceiling(cap_s))
        if self.base_s * 2.0**self._failures < self.cap_s:  # past the cap the count no longer matters
            self._failures += 1
        return delay

    def reset(self) -> None:
        """A success: the next failure waits at most ``base_s`` again."""
        self._failures = 0

    def __iter__(self) -> Backoff:
        return self

    def __next__(self) -> float:
        return self.next_delay()
