"""The desk's appointment API and each agent's calendar feed (HTTP, beside the desk's WebSocket).

* ``GET /api/appointments`` — the logged-in agent's bookings (with their codes, which only they see), the points
  they may book at, their producers, and the address of their calendar feed;
* ``GET /api/appointments/slots?point=&producer=&day=YYYY-MM-DD`` — free slot starts (epoch seconds);
* ``POST /api/appointments`` ``{point, producer, start}`` — book; the answer carries the code to tell the customer;
* ``POST /api/appointments/<id>/cancel`` — cancel one of one's own bookings;
* ``GET /calendar/<token>.ics`` — the agent's bookings as iCalendar, for their own calendar program. The token
  (:func:`switchboard.appointments.calendar_token`) is the only authentication, as calendar programs cannot log
  in; the feed holds times, places and producers, never a code or a customer.

Changes go through the same checks as login (the desk page's ``Origin`` and a JSON body), so another site cannot
book or cancel in an agent's name.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from aiohttp import web

from switchboard.appointments import Booking, calendar_token, icalendar
from switchboard.config import User
from switchboard.hub import Hub
from switchboard.hub.appointments import BookingRefused
from switchboard.web import HUB, _refuse_cross_site, user_in_role


def _booking(b: Booking) -> dict[str, Any]:
    return {"id": b.id, "point": b.point, "producer": b.producer, "start": b.start, "length_s": b.length_s,
            "code": b.code, "checked_in": b.checked_in is not None}


async def overview(request: web.Request) -> web.Response:
    user = await user_in_role(request, "agent")
    if isinstance(user, web.Response):
        return user
    hub = request.app[HUB]
    token = calendar_token(user.username, user.password_hash)
    return web.json_response({
        "bookings": [_booking(b) for b in await hub.agent_bookings(user.username)],
        "points": [{"id": pt.id, "place": pt.place} for pt in hub.config.points],
        "producers": user.producers,
        "calendar": f"/calendar/{token}.ics",
        "slot_s": hub.config.appointments.slot_s,
        "today": hub.config.local(hub.clock()).date().isoformat(),
        "timezone": hub.config.timezone,
    })


async def slots(request: web.Request) -> web.Response:
    user = await user_in_role(request, "agent")
    if isinstance(user, web.Response):
        return user
    q = request.query
    try:
        day = dt.date.fromisoformat(q.get("day", ""))
    except ValueError:
        return web.json_response({"error": "bad_day"}, status=400)
    try:
        found = await request.app[HUB].slots(user, q.get("point", ""), q.get("producer", ""), day)
    except BookingRefused as exc:
        return web.json_response({"error": exc.code}, status=400)
    return web.json_response({"slots": found})


async def _agent_changing(request: web.Request) -> tuple[Hub, User] | web.Response:
    """The hub and the signed-in agent for a request that changes bookings, or the refusal to send back (a
    request from another site, no agent session)."""
    hub = request.app[HUB]
    refused = _refuse_cross_site(request, hub)
    if refused is not None:
        return refused
    user = await user_in_role(request, "agent")
    if isinstance(user, web.Response):
        return user
    return hub, user


async def book(request: web.Request) -> web.Response:
    allowed = await _agent_changing(request)
    if isinstance(allowed, web.Response):
        return allowed
    hub, user = allowed
    try:
        body = await request.json()
        point, producer, start = str(body["point"]), str(body["producer"]), float(body["start"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "malformed"}, status=400)
    try:
        booking = await hub.book(user, point, producer, start)
    except BookingRefused as exc:
        return web.json_response({"error": exc.code}, status=409 if exc.code == "slot_taken" else 400)
    return web.json_response(_booking(booking), status=201)


async def cancel(request: web.Request) -> web.Response:
    allowed = await _agent_changing(request)
    if isinstance(allowed, web.Response):
        return allowed
    hub, user = allowed
    if not await hub.cancel_booking(user, request.match_info["id"]):
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response({"cancelled": request.match_info["id"]})


async def calendar(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    token = request.match_info["token"]
    user = next(
        (u for u in hub.config.users
         if u.role == "agent" and hmac.compare_digest(calendar_token(u.username, u.password_hash), token)),
        None,
    )
    if user is None:
        return web.Response(status=404)
    producers = {prod.id: prod.name.en for prod in hub.config.producers}
    places = {pt.id: pt.place for pt in hub.config.points}
    host = hub.config.origin.split("://", 1)[1]
    text = icalendar(await hub.agent_bookings(user.username), places, producers, host, hub.clock())
    return web.Response(text=text, content_type="text/calendar", charset="utf-8",
                        headers={"Cache-Control": "private, no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/appointments", overview)
    app.router.add_get("/api/appointments/slots", slots)
    app.router.add_post("/api/appointments", book)
    app.router.add_post("/api/appointments/{id}/cancel", cancel)
    app.router.add_get("/calendar/{token}.ics", calendar)
