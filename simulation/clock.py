"""The simulated clock (the tests, the in-process switchboard): time that moves only when the caller moves
it, so expiry, lockouts, opening hours and timeouts are tested without waiting and without reading the
machine's clock."""

from __future__ import annotations

import datetime as dt
import time


class FakeClock:
    """One instant, read the ways the code under test takes its clock.

    Called, it is a wall clock (a ``datetime``: naive host-local time for the kiosk's opening hours, aware
    UTC for certificates and nonces, as it was given); ``monotonic()`` gives seconds that never jump (the
    kiosk's time limits and lockouts); ``time()`` gives epoch seconds (the switchboard's clock).
    ``advance`` moves all of them; ``set`` moves the wall clock only, as a clock change does."""

    def __init__(self, at: dt.datetime | str | None = None) -> None:
        """``at``: the wall time to start at (a ``datetime`` or its ISO form); now (UTC) if not given."""
        if at is None:
            at = dt.datetime.now(dt.UTC)
        self.wall = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
        self.mono = 1000.0

    def __call__(self) -> dt.datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall.timestamp()

    def advance(self, seconds: float) -> None:
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds

    def set(self, at: dt.datetime) -> None:
        self.wall = at


class WallClock(FakeClock):
    """The machine's own clock, read the ways :class:`FakeClock` is: for a harness that runs a service as in
    production, where time passes by itself (the soak's switchboard, with its sweep: held calls and queue
    places expire, calls that never connected end). It cannot be moved."""

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        raise TypeError("the wall clock cannot be moved")

    def set(self, at: dt.datetime) -> None:
        raise TypeError("the wall clock cannot be moved")
