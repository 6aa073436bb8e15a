"""When the point is open: today's hours and the next opening, from the host's schedule.

Plain functions over :class:`etapiste.hours.Schedule` so the session state machine, the views
and the tests share one answer. Times are in the host's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etapiste.hours import Schedule, TimeRange

#: How far ahead to look for the next opening (a long holiday season still fits).
_LOOKAHEAD_DAYS = 21


@dataclass(frozen=True)
class Opening:
    """A concrete opening period on a date."""

    date: dt.date
    period: TimeRange

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.period.start)


def periods_on(schedule: Schedule, day: dt.date) -> list[TimeRange]:
    """Opening periods of ``day`` in order (an exception day replaces the weekly hours)."""
    return sorted(schedule.on(day), key=lambda r: r.start)


def is_open(schedule: Schedule, at: dt.datetime) -> bool:
    return schedule.is_open(at)


def next_opening(schedule: Schedule, after: dt.datetime) -> Opening | None:
    """The first opening period that starts after ``after`` (naive, host-local), or ``None``."""
    for offset in range(_LOOKAHEAD_DAYS + 1):
        day = after.date() + dt.timedelta(days=offset)
        for period in periods_on(schedule, day):
            start = dt.datetime.combine(day, period.start)
            if start > after:
                return Opening(day, period)
    return None


def closes_at(schedule: Schedule, at: dt.datetime) -> dt.datetime | None:
    """When the period that contains ``at`` ends (``None`` if closed now)."""
    for period in periods_on(schedule, at.date()):
        if period.contains(at.time()):
            if period.end is None:
                return dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(0))
            return dt.datetime.combine(at.date(), period.end)
    return None
