"""The host view's HTTP face (issue 21): ``/host`` for the host's staff (role ``host``), and its three calls.

``GET /api/host`` lists the rooms of the logged-in host user (only the ``points`` its configuration entry
names: another host's rooms are neither listed nor acted on), ``POST /api/host/ack`` is "I'm on it" for an
open help request or fault, ``POST /api/host/service`` sets or clears a room's out of service. The page polls
like the organiser's overview (every two seconds: staff keep it in a tab beside their own work, and a poll
needs no socket to hold). The two POSTs take the checks of the login: the configured ``Origin`` and a JSON
body, so no other site can make a logged-in browser act. The logic is :class:`switchboard.hub.rooms.Rooms`.
"""

from __future__ import annotations

from aiohttp import web

from etapiste import safejson
from switchboard.config import User
from switchboard.web import HUB, _page, _refuse_cross_site, user_in_role

#: The longest out-of-service message staff may type (what ``room.service`` carries).
MAX_MESSAGE = 300


async def host_page(request: web.Request) -> web.Response:
    return _page("host.html")


async def rooms(request: web.Request) -> web.Response:
    user = await user_in_role(request, "host")
    if isinstance(user, web.Response):
        return user
    return web.json_response({"name": user.name, "rooms": await request.app[HUB].host_rooms(user)})


async def _body(request: web.Request) -> tuple[User, dict[str, object]] | web.Response:
    refused = _refuse_cross_site(request, request.app[HUB])
    if refused is not None:
        return refused
    user = await user_in_role(request, "host")
    if isinstance(user, web.Response):
        return user
    try:
        body = await request.json(loads=safejson.loads)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("point"), str):
        return web.json_response({"error": "malformed"}, status=400)
    return user, body


def _answer(error: str | None) -> web.Response:
    status = {None: 200, "not_allowed": 403, "gone": 404, "offline": 409}[error]
    return web.json_response({"ok": error is None, "error": error}, status=status)


async def ack(request: web.Request) -> web.Response:
    got = await _body(request)
    if isinstance(got, web.Response):
        return got
    user, body = got
    if not isinstance(body.get("alert"), str):
        return web.json_response({"error": "malformed"}, status=400)
    return _answer(await request.app[HUB].host_ack(user, str(body["point"]), str(body["alert"])))


async def service(request: web.Request) -> web.Response:
    got = await _body(request)
    if isinstance(got, web.Response):
        return got
    user, body = got
    on, message = body.get("on"), body.get("message")
    if not isinstance(on, bool) or not (message is None or isinstance(message, str)):
        return web.json_response({"error": "malformed"}, status=400)
    text = message.strip()[:MAX_MESSAGE] if isinstance(message, str) and message.strip() else None
    return _answer(await request.app[HUB].host_service(user, str(body["point"]), on, text))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/host", host_page)
    app.router.add_get("/api/host", rooms)
    app.router.add_post("/api/host/ack", ack)
    app.router.add_post("/api/host/service", service)
