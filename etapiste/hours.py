"""Opening and service hours, and the time zone they are read in.

The point's host hours, each producer's service hours (point configuration) and each queue's hours (the
switchboard's configuration) are the same kind of schedule, written the same way in YAML
(``mon: 09:00-16:00``, ``closed``, dated exceptions); they are defined here once so both configurations
read and check them alike. Times are wall-clock times in the host's (or the switchboard's) time zone,
which :func:`check_timezone` checks at load with a message that says what to write.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator

from etapiste.language import Text
from etapiste.model import FrozenModel

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def check_timezone(value: str) -> str:
    """``value`` if it is an IANA time zone this machine knows; else ``ValueError`` saying what to write.

    Both configurations validate their ``timezone`` with this, so a misspelt zone is a configuration error
    with a line number, never a ``ZoneInfoNotFoundError`` traceback."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        hint = "use an IANA name such as 'Europe/Helsinki'"
        raise ValueError(f"{value!r} is not a known time zone; {hint}") from None
    return value


#: A configuration field holding an IANA time zone name, checked at load.
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


class TimeRange(FrozenModel):
    """An opening period within one day, e.g. ``09:00-16:00`` (end exclusive; ``24:00`` allowed)."""

    start: dt.time
    end: dt.time | None
    """``None`` means midnight at the end of the day (written ``24:00``)."""

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        m = _RANGE.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a time range; write it like '09:00-16:00'")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 != 0:
            raise ValueError(f"{text!r}: the latest end time is 24:00")
        start = dt.time(h1, m1)
        end = None if h2 == 24 else dt.time(h2, m2)
        if end is not None and end <= start:
            raise ValueError(f"{text!r}: the end must be after the start (periods cannot cross midnight)")
        return cls(start=start, end=end)

    def contains(self, t: dt.time) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}"


def _parse_ranges(value: object) -> object:
    """Accept ``"closed"``, one ``"09:00-16:00"`` or a list of them."""
    if value is None or value == "closed":
        return []
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [TimeRange.parse(v) if isinstance(v, str) else v for v in value]
    return value


DayHours = Annotated[list[TimeRange], Field(default_factory=list)]


class WeeklyHours(FrozenModel):
    """Opening periods per weekday; a missing day or ``closed`` means closed that day."""

    mon: DayHours
    tue: DayHours
    wed: DayHours
    thu: DayHours
    fri: DayHours
    sat: DayHours
    sun: DayHours

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _ranges(cls, value: object) -> object:
        return _parse_ranges(value)

    def on(self, day: dt.date) -> list[TimeRange]:
        return list(getattr(self, WEEKDAYS[day.weekday()]))


class HoursException(FrozenModel):
    """A day whose hours differ from the week's: a holiday (closed) or shorter hours."""

    date: dt.date
    hours: DayHours
    """Opening periods that day; empty (or ``closed``) means closed all day."""
    note: Text | None = None
    """Why, shown to customers (e.g. "Christmas Eve")."""

    @field_validator("hours", mode="before")
    @classmethod
    def _ranges(cls, value: object) -> object:
        return _parse_ranges(value)


class Schedule(FrozenModel):
    """Weekly hours plus dated exceptions, in the host's time zone."""

    weekly: WeeklyHours
    exceptions: list[HoursException] = Field(default_factory=list)

    def on(self, day: dt.date) -> list[TimeRange]:
        """The opening periods of ``day``, exceptions first."""
        for exc in self.exceptions:
            if exc.date == day:
                return list(exc.hours)
        return self.weekly.on(day)

    def exception_on(self, day: dt.date) -> HoursException | None:
        return next((e for e in self.exceptions if e.date == day), None)

    def is_open(self, at: dt.datetime) -> bool:
        """Whether ``at`` (already in the host's time zone) falls in an opening period."""
        return any(r.contains(at.time()) for r in self.on(at.date()))
