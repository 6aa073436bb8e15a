"""The kiosk's nightly restart, at a time the host is closed (issue 21, item 8).

A fresh kiosk every night (new software picked up, memory and devices reset) used to come from a systemd
timer at a fixed 03:30, which restarts a shopping centre's kiosk that is open round the clock under a
customer. The agent now chooses the time from the host's own opening hours (the point's configuration,
:mod:`etapiste.hours`) and asks the kiosk to restart; the kiosk restarts only once no customer is served
(:mod:`kiosk.agentlink`), so even a wrong schedule never cuts a call.

How the time is chosen, for each stretch of time the host is closed:

* the restart may fall from :data:`MARGIN` after closing until :data:`MARGIN` + :data:`SPREAD` before
  opening (staff leaving late, a customer finishing); a stretch too short for that is not used;
* inside it, 03:30 (the fleet's habit: after the update window opens) if it fits, else the middle;
* each point adds its own fraction of :data:`SPREAD` (``jitter``), so a fleet does not reconnect to the
  switchboard and the broker at the same second.

A host that is never closed that long (24 hours a day) restarts in its quietest hour by the statistics the
agent keeps (sessions started per hour of the day, over the days it holds), at half past that hour; with no
statistics yet, it gets **no** nightly restart rather than a guessed one. :func:`next_restart` is pure and
takes the clock from its caller, so the tests drive it with the simulated clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from etapiste.hours import Schedule

log = logging.getLogger(__name__)

PREFERRED = dt.time(3, 30)
"""The restart time when the host is closed then."""
MARGIN = dt.timedelta(minutes=30)
"""Kept clear after closing and before opening."""
SPREAD = dt.timedelta(minutes=30)
"""How far a fleet's restarts are spread (each point's ``jitter`` × this)."""
LATE = dt.timedelta(minutes=5)
"""A restart found this late (the machine was busy or asleep) is still made; later, it waits for the next."""
LOOKAHEAD_DAYS = 8
"""How far ahead closed stretches are searched: a week and a day finds every weekly pattern."""


Stretch = tuple[dt.datetime, dt.datetime]


def closed_stretches(schedule: Schedule, start: dt.datetime, days: int = LOOKAHEAD_DAYS) -> list[Stretch]:
    """The stretches the host is closed from ``start``'s day for ``days`` days (host-local, naive), in order;
    periods that meet at midnight (``20:00-24:00`` then ``00:00-02:00``) count as one opening."""
    day0 = start.date()
    opened: list[Stretch] = []
    for n in range(days + 1):
        day = day0 + dt.timedelta(days=n)
        midnight = dt.datetime.combine(day, dt.time(0))
        for r in schedule.on(day):
            end = midnight + dt.timedelta(days=1) if r.end is None else dt.datetime.combine(day, r.end)
            opened.append((dt.datetime.combine(day, r.start), end))
    opened.sort()
    closed: list[Stretch] = []
    cursor = dt.datetime.combine(day0, dt.time(0))
    horizon = cursor + dt.timedelta(days=days + 1)
    for o_start, o_end in opened:
        if o_start > cursor:
            closed.append((cursor, o_start))
        cursor = max(cursor, o_end)
    if cursor < horizon:
        closed.append((cursor, horizon))
    return closed


def _in_stretch(c_start: dt.datetime, c_end: dt.datetime) -> list[dt.datetime]:
    """Restart times inside one closed stretch: 03:30 on each night it fits, else its middle."""
    earliest, latest = c_start + MARGIN, c_end - MARGIN - SPREAD
    if latest < earliest:
        return []
    preferred = []
    day = earliest.date()
    while day <= latest.date():
        at = dt.datetime.combine(day, PREFERRED)
        if earliest <= at <= latest:
            preferred.append(at)
        day += dt.timedelta(days=1)
    middle = earliest + (latest - earliest) / 2
    return preferred or [middle.replace(second=0, microsecond=0)]


def quietest_hour(sessions_by_hour: Sequence[int]) -> int | None:
    """The hour of the day with the fewest sessions (ties: the one nearest 03:00), ``None`` without data."""
    if len(sessions_by_hour) != 24 or sum(sessions_by_hour) == 0:
        return None
    return min(range(24), key=lambda h: (sessions_by_hour[h], min(abs(h - 3), 24 - abs(h - 3))))


def next_restart(
    schedule: Schedule,
    after: dt.datetime,
    *,
    sessions_by_hour: Sequence[int] | None = None,
    jitter: float = 0.0,
) -> dt.datetime | None:
    """The first restart time later than ``after`` (host-local, naive), or ``None`` when the host is never
    closed long enough and no statistics say when it is quiet. ``jitter`` (0 ≤ jitter < 1) is the point's
    own share of :data:`SPREAD`."""
    offset = SPREAD * min(max(jitter, 0.0), 0.999)
    for c_start, c_end in closed_stretches(schedule, after):
        for at in _in_stretch(c_start, c_end):
            if at + offset > after:
                return at + offset
    hour = quietest_hour(sessions_by_hour or [])
    if hour is None:
        return None
    at = dt.datetime.combine(after.date(), dt.time(hour, 30)) + offset
    return at if at > after else at + dt.timedelta(days=1)


class NightlyRestart:
    """Restarts the kiosk once a night at :func:`next_restart`'s time, re-reading the schedule each time (a
    new configuration may have changed the hours).

    ``clock`` is the host's local time (naive); ``sleep`` waits seconds (the tests pass one that moves the
    simulated clock); ``restart`` asks the kiosk to restart (it waits for no customer itself)."""

    def __init__(
        self,
        schedule: Callable[[], Schedule | None],
        restart: Callable[[], Awaitable[None]],
        *,
        clock: Callable[[], dt.datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sessions_by_hour: Callable[[], Sequence[int]] = lambda: (),
        jitter: float = 0.0,
        recheck_s: float = 3600.0,
    ) -> None:
        self._schedule, self._restart, self._clock, self._sleep = schedule, restart, clock, sleep
        self._sessions_by_hour, self._jitter, self._recheck_s = sessions_by_hour, jitter, recheck_s

    def due(self) -> dt.datetime | None:
        """When the next restart is due, by the schedule as it is now."""
        schedule = self._schedule()
        if schedule is None:
            return None
        # From a little before now: woken at the due minute, the restart is still the one due.
        return next_restart(schedule, self._clock() - LATE, sessions_by_hour=self._sessions_by_hour(),
                            jitter=self._jitter)  # fmt: skip

    async def run(self) -> None:
        """Forever: wait for the next due time (at most ``recheck_s`` at a time, so a new configuration or a
        clock change is seen), then restart if it is still due."""
        while True:
            due = self.due()
            if due is None:
                await self._sleep(self._recheck_s)
                continue
            wait = (due - self._clock()).total_seconds()
            if wait > 0:
                await self._sleep(min(wait, self._recheck_s))
                continue
            log.info("nightly restart of the kiosk (host closed)")
            try:
                await self._restart()
            except Exception as exc:  # a failed restart must not end the nightly schedule
                log.warning("nightly restart failed: %s", type(exc).__name__)
            # Past this night's restart: the next due time is tomorrow's.
            await self._sleep(max(60.0, (SPREAD + MARGIN).total_seconds()))


def point_jitter(point_id: str) -> float:
    """The point's own share of :data:`SPREAD` (0 ≤ share < 1), the same every night: derived from its id,
    so a fleet's restarts stay spread and each point's time is predictable for its staff."""
    return int.from_bytes(hashlib.sha256(point_id.encode()).digest()[:4], "big") / 2**32
