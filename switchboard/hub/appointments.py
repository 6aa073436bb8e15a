"""Appointments in the hub: an agent books, lists and cancels (the desk's HTTP API in
:mod:`switchboard.appointments_web` calls these), a point checks a customer in with the booking's code, and
the point's staff mode asks for the day's bookings.

Check-in: the code must be an open booking *of this point*, inside its window (``appointments.early_s`` before
the start to ``late_s`` after), not used yet. The customer then waits as a ticket at the front of the booked
producer's queue; the ticket is *reserved* for the booked agent while that agent is online anywhere (only
their desk sees and may answer it, and it is alerted with ``appointment.arrived``); when they are not, every
agent of the producer sees the customer first in line. A booking never holds a place before check-in, so
walk-in customers are never blocked by one.

Guessing: every code typed at a point counts as an attempt of that point (the login limiter's atomic
counters in the shared state, key ``appointment:<point>``); after :data:`MAX_WRONG_CODES` wrong codes in
:data:`WRONG_CODE_WINDOW_S` the point is refused ``too_many_tries`` for :data:`WRONG_CODE_LOCK_S` (doubling
on repeat). A right code forgets its attempt. Logs carry the booking id and the reason, never the code.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from etapiste import protocol as p
from etapiste.codes import AppointmentRefusalCode
from switchboard.appointments import Booking, check_window, free_slots, new_booking_id, new_code
from switchboard.config import User
from switchboard.hub.participant import Participant
from switchboard.hub.queues import Queues
from switchboard.state import Ticket

log = logging.getLogger("switchboard")

#: Wrong codes a point may type within :data:`WRONG_CODE_WINDOW_S` before it must wait.
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW_S = 600
WRONG_CODE_LOCK_S = 300
#: A booking is history this long after its end: forgotten (its code free again), gone from lists and feeds.
BOOKING_KEPT_S = 86400
#: Attempts to draw a code that no open booking has (a million codes, a few hundred open bookings).
CODE_DRAWS = 20


class BookingRefused(Exception):
    """A booking the desk asked for cannot be made; ``code`` is for the desk's text."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Appointments(Queues):
    """Booking (for the desk's API), check-in and the day's list (for points)."""

    # -- booking (the desk's HTTP API) -------------------------------------------------------------------

    def _producer_queue(self, producer: str) -> str:
        """The queue a producer's appointments wait in: its first configured queue."""
        return next(q for q, (prod, _) in self._queues.items() if prod == producer)

    async def slots(self, user: User, point: str, producer: str, day: dt.date) -> list[float]:
        """Free slot starts of ``day`` at ``point`` for ``producer`` (one of ``user``'s)."""
        entry = next((pt for pt in self.config.points if pt.id == point), None)
        if entry is None:
            raise BookingRefused("unknown_point", f"no point {point}")
        if producer not in user.producers:
            raise BookingRefused("not_allowed", f"{user.username} does not serve {producer}")
        conf = self.config.appointments
        today = self.config.local(self.clock()).date()
        if not today <= day <= today + dt.timedelta(days=conf.days_ahead):
            return []
        _, qconf = self._queues[self._producer_queue(producer)]
        taken = [b for b in await self.state.bookings() if b.point == point]
        return free_slots(day, self.config.zone, entry.hours, qconf.service_hours, conf.slot_s, taken, self.clock())

    async def book(self, user: User, point: str, producer: str, start: float) -> Booking:
        """Book ``start`` (one of :meth:`slots`) at ``point`` for ``user``; the booking carries its code."""
        now = self.clock()
        await self.state.drop_bookings_before(now - BOOKING_KEPT_S)
        day = self.config.local(start).date()
        if start not in await self.slots(user, point, producer, day):
            raise BookingRefused("slot_taken", "that time is not free at that point")
        conf = self.config.appointments
        for _ in range(CODE_DRAWS):
            booking = Booking(
                id=new_booking_id(),
                point=point,
                producer=producer,
                queue=self._producer_queue(producer),
                agent=user.username,
                start=start,
                length_s=conf.slot_s,
                code=new_code(),
                created=now,
            )
            if await self.state.add_booking(booking):
                log.info("booking %s: %s at %s for %s", booking.id, producer, point, user.username)
                return booking
        raise BookingRefused("unavailable", "no free code could be drawn; try again")

    async def agent_bookings(self, username: str) -> list[Booking]:
        await self.state.drop_bookings_before(self.clock() - BOOKING_KEPT_S)
        return [b for b in await self.state.bookings() if b.agent == username]

    async def cancel_booking(self, user: User, booking_id: str) -> bool:
        """Cancel one of ``user``'s own bookings; ``False`` when there is none by that id."""
        mine = next((b for b in await self.state.bookings() if b.id == booking_id), None)
        if mine is None or mine.agent != user.username:
            return False
        taken = await self.state.take_booking(booking_id)
        log.info("booking %s cancelled by its agent", booking_id)
        return taken is not None

    # -- the point's side --------------------------------------------------------------------------------

    async def _refuse_check_in(self, part: Participant, msg: Any, reason: AppointmentRefusalCode,
                               booking: Booking | None = None) -> None:
        log.info("point %s: check-in refused: %s%s", part.principal, reason,
                 f" (booking {booking.id})" if booking else "")
        start = opens = None
        if reason == "too_early" and booking is not None:
            start, opens = booking.start, booking.start - self.config.appointments.early_s
        await part.send(p.AppointmentRefused(reason=reason, start=start, opens_at=opens, ref=msg.ref))

    def _agent_online(self, username: str) -> bool:
        return any(a.role == "agent" and a.principal == username for a in self._everyone())

    async def _appointment_check_in(self, part: Participant, msg: p.AppointmentCheckIn) -> None:
        now = self.clock()
        key = f"appointment:{part.principal}"
        record = await self.state.login_attempt(key, now, now - WRONG_CODE_WINDOW_S)
        if record.locked_until > now:
            return await self._refuse_check_in(part, msg, "too_many_tries")
        booking = await self.state.booking_by_code(msg.code)
        if booking is None or booking.point != part.principal:
            if len(record.attempts) >= MAX_WRONG_CODES:
                await self.state.lock_login(key, now, WRONG_CODE_LOCK_S, 8 * WRONG_CODE_LOCK_S, 3600)
            return await self._refuse_check_in(part, msg, "wrong_code")
        await self.state.forget_login_attempt(key, now)
        conf = self.config.appointments
        reason = check_window(booking, now, conf.early_s, conf.late_s)
        if reason is not None:
            return await self._refuse_check_in(part, msg, reason, booking)
        if part.call is not None or await self.state.ticket_of_point(part.principal) is not None:
            return await self._refuse_check_in(part, msg, "already_queued", booking)
        _, qconf = self._queues[booking.queue]
        if not self.queue_open(qconf):
            return await self._refuse_check_in(part, msg, "queue_closed", booking)
        if await self.state.check_in_booking(booking.id, now) is None:
            return await self._refuse_check_in(part, msg, "used", booking)
        waiting = await self.state.tickets(booking.queue)
        ticket = Ticket(
            id=f"t-{secrets.token_hex(6)}",
            point=part.principal,
            producer=booking.producer,
            queue=booking.queue,
            language=msg.language,
            since=min([t.since for t in waiting] + [now]) - 0.001,  # first in line
            joined=now,  # the queue's timeout counts from the check-in
            appointment_start=booking.start,
            reserved_for=booking.agent,
        )
        await self.state.enqueue(ticket)
        online = self._agent_online(booking.agent)
        log.info("point %s checked in for booking %s as %s (agent online: %s)", part.principal, booking.id,
                 ticket.id, online)
        await part.send(p.AppointmentCheckedIn(ticket=ticket.id, producer=booking.producer, queue=booking.queue,
                                               start=booking.start, agent_online=online, ref=msg.ref))
        if online:
            alert = p.AppointmentArrived(booking=booking.id, ticket=ticket.id, point=part.principal,
                                         place=self._point_places.get(part.principal, part.principal),
                                         start=booking.start)
            for agent in self._everyone():
                if agent.role == "agent" and agent.principal == booking.agent:
                    await agent.send(alert)
        await self._queue_changed(booking.queue)

    async def _appointment_day(self, part: Participant, msg: p.AppointmentDayRequest) -> None:
        today = self.config.local(self.clock()).date()
        day = [
            p.AppointmentSlot(start=b.start, length_s=b.length_s, producer=b.producer,
                              checked_in=b.checked_in is not None)
            for b in await self.state.bookings()
            if b.point == part.principal and self.config.local(b.start).date() == today
        ]
        await part.send(p.AppointmentDay(bookings=day, ref=msg.ref))
