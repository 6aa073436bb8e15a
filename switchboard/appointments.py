"""Booked video appointments (issue 22): an agent books a time at a point, the customer checks in there with a
short code, and the booked agent (or their producer's queue, at its front) gets them at once.

What a booking holds is deliberately thin — a point, a producer, the agent's username, a start and a length, and
the code — and **never the customer's name**: the agent tells the customer the code (by phone, a letter of their
own system), and whatever they know of the customer stays in their own system. The code is what links the
customer to the booking at the kiosk, so it is six digits drawn with :mod:`secrets`, unique among open
bookings, checked only at the booked point and only in its time window, with wrong guesses per point
rate-limited (:mod:`switchboard.hub.appointments`).

Free slots: the switchboard configuration says each point's opening hours (``points[].hours``); a slot is free
when it lies inside both the point's hours (when given) and the producer queue's service hours, starts after
now, and overlaps no other booking *at that point* (the room has one customer at a time, whatever the
producer). Walk-in customers are never blocked by a booking: only a checked-in booking takes a place, and then
at the front of its producer's queue.

This module is pure (no hub, no I/O): :class:`BookingStore` is the part of :class:`~switchboard.state.StateStore`
that keeps bookings, implemented by :class:`MemoryBookings` here and
:class:`switchboard.redis_bookings.RedisBookings`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from etapiste.hours import Schedule, TimeRange

#: Digits of a check-in code: a million codes for the few hundred open bookings a fleet has, and wrong guesses
#: are limited per point (``MAX_WRONG_CODES`` in :mod:`switchboard.hub.appointments`).
CODE_DIGITS = 6

CheckInRefusal = Literal["wrong_code", "too_early", "expired", "used"]


@dataclass
class Booking:
    """One booked video appointment. No personal data of the customer: only when, where, with whom."""

    id: str
    point: str
    producer: str
    queue: str
    agent: str
    """The booking agent's username (their desk is alerted when the customer checks in)."""
    start: float
    """Epoch seconds."""
    length_s: int
    code: str
    created: float = 0.0
    checked_in: float | None = None
    """When the customer checked in (once only)."""

    @property
    def end(self) -> float:
        return self.start + self.length_s


def new_code() -> str:
    """A fresh check-in code, uniformly drawn (:mod:`secrets`): ``"042917"``."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_booking_id() -> str:
    return f"b-{secrets.token_hex(6)}"


def check_window(booking: Booking, now: float, early_s: int, late_s: int) -> CheckInRefusal | None:
    """Why ``booking`` cannot be checked in at ``now`` (``None``: it can): too early before ``early_s`` ahead of
    its start, expired after ``late_s`` past it, used once checked in."""
    if booking.checked_in is not None:
        return "used"
    if now < booking.start - early_s:
        return "too_early"
    if now > booking.start + late_s:
        return "expired"
    return None


def _periods(schedule: Schedule | None, day: dt.date, zone: ZoneInfo) -> list[tuple[float, float]]:
    """``schedule``'s opening periods of ``day`` as epoch intervals; ``None`` (no hours given): the whole day."""
    ranges = [TimeRange(start=dt.time(0), end=None)] if schedule is None else schedule.on(day)
    out = []
    for r in ranges:
        start = dt.datetime.combine(day, r.start, zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone) if r.end is None else (
            dt.datetime.combine(day, r.end, zone))
        out.append((start.timestamp(), end.timestamp()))
    return out


def _inside(start: float, end: float, periods: list[tuple[float, float]]) -> bool:
    return any(a <= start and end <= b for a, b in periods)


def free_slots(
    day: dt.date,
    zone: ZoneInfo,
    point_hours: Schedule | None,
    queue_hours: Schedule,
    slot_s: int,
    taken: list[Booking],
    now: float,
) -> list[float]:
    """Start times (epoch seconds) of the free slots of ``day`` at a point: every ``slot_s`` from the start of
    each of the point's opening periods, inside the queue's service hours too, after ``now``, overlapping none
    of ``taken`` (the point's bookings)."""
    point_periods = _periods(point_hours, day, zone)
    queue_periods = _periods(queue_hours, day, zone)
    slots = []
    for begin, finish in point_periods:
        start = begin
        while start + slot_s <= finish:
            end = start + slot_s
            if (
                start > now
                and _inside(start, end, queue_periods)
                and not any(b.start < end and start < b.end for b in taken)
            ):
                slots.append(start)
            start += slot_s
    return slots


def calendar_token(username: str, password_hash: str) -> str:
    """The unguessable token of ``username``'s calendar feed, derived from their password hash (secret, salted):
    nothing to store, the same on every instance, and a new password revokes the old feed address."""
    return hmac.new(password_hash.encode(), f"etapiste-calendar:{username}".encode(), hashlib.sha256).hexdigest()[:40]


def _ics_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def icalendar(bookings: list[Booking], places: dict[str, str], producers: dict[str, str], host: str,
              now: float) -> str:
    """An iCalendar (RFC 5545) feed of ``bookings``: when, where (the point's place) and the producer; never a
    customer's name and never the check-in code (a calendar is often shared or synced to other services)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//etapiste//appointments//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", "X-WR-CALNAME:Etäpalvelupiste"]
    for b in sorted(bookings, key=lambda b: b.start):
        place = places.get(b.point, b.point)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{b.id}@{host}",
            f"DTSTAMP:{_ics_time(now)}",
            f"DTSTART:{_ics_time(b.start)}",
            f"DTEND:{_ics_time(b.end)}",
            f"SUMMARY:{_ics_text(producers.get(b.producer, b.producer))}: {_ics_text(place)}",
            f"LOCATION:{_ics_text(place)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


class BookingStore(Protocol):
    """The bookings' part of :class:`~switchboard.state.StateStore`; every method atomic."""

    async def add_booking(self, booking: Booking) -> bool:
        """Keep ``booking``; ``False`` (nothing kept) when its code is already an open booking's."""
        ...

    async def bookings(self) -> list[Booking]:
        """Every open booking, earliest first."""
        ...

    async def booking_by_code(self, code: str) -> Booking | None: ...
    async def check_in_booking(self, booking_id: str, at: float) -> Booking | None:
        """Mark the booking checked in at ``at`` and return it; ``None`` when gone or already checked in (two
        kiosks typing one code: exactly one gets it)."""
        ...

    async def take_booking(self, booking_id: str) -> Booking | None:
        """Remove and return (a cancel); its code is free again."""
        ...

    async def drop_bookings_before(self, end: float) -> None:
        """Forget bookings that ended before ``end`` (their codes are free again)."""
        ...


class MemoryBookings:
    """:class:`BookingStore` in memory (a base of :class:`~switchboard.state.MemoryState`)."""

    _bookings: dict[str, Booking]

    def _booking_map(self) -> dict[str, Booking]:
        if not hasattr(self, "_bookings"):
            self._bookings = {}
        return self._bookings

    async def add_booking(self, booking: Booking) -> bool:
        if any(b.code == booking.code for b in self._booking_map().values()):
            return False
        self._booking_map()[booking.id] = booking
        return True

    async def bookings(self) -> list[Booking]:
        return sorted(self._booking_map().values(), key=lambda b: b.start)

    async def booking_by_code(self, code: str) -> Booking | None:
        return next((b for b in self._booking_map().values() if b.code == code), None)

    async def check_in_booking(self, booking_id: str, at: float) -> Booking | None:
        booking = self._booking_map().get(booking_id)
        if booking is None or booking.checked_in is not None:
            return None
        booking.checked_in = at
        return booking

    async def take_booking(self, booking_id: str) -> Booking | None:
        return self._booking_map().pop(booking_id, None)

    async def drop_bookings_before(self, end: float) -> None:
        for key in [k for k, b in self._booking_map().items() if b.end < end]:
            del self._booking_map()[key]
