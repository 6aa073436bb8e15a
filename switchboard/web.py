"""The switchboard's HTTP face (aiohttp): the desk and organiser pages, login, and the two WebSocket endpoints.

``/ws/point`` takes points (credential in the first frame), ``/ws/desk`` takes desks (the login's session
cookie). Each socket's loop only moves frames between the socket and :class:`switchboard.hub.Hub`, so the
logic stays testable without a network. TLS is terminated here when the configuration has ``tls`` (or by a
reverse proxy in front, see docs/switchboard.md); tests run plain on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from etapiste import protocol as p
from etapiste import safejson
from switchboard.config import SwitchboardConfig
from switchboard.credentials import DUMMY_HASH, verify_password
from switchboard.hub import Clock, Hub, Participant
from switchboard.identity import ProofValidator
from switchboard.state import Session, State

log = logging.getLogger("switchboard.web")

HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
COOKIE = "etapiste_session"
#: A point or desk must say hello within this many seconds of connecting.
HELLO_TIMEOUT_S = 10.0
_STATIC = {
    "desk.js": "application/javascript",
    "desk.css": "text/css",
    "i18n.js": "application/javascript",
    "organiser.js": "application/javascript",
}
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; frame-src 'self' blob:; "
    "object-src 'self' blob:; connect-src 'self' ws: wss: blob:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class _WsConnection:
    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws

    async def send(self, text: str) -> None:
        if not self.ws.closed:
            await self.ws.send_str(text)

    async def close(self) -> None:
        await self.ws.close()


def _asset(name: str) -> bytes:
    return (resources.files("switchboard") / "desk" / name).read_bytes()


def _page(name: str) -> web.Response:
    return web.Response(
        body=_asset(name),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def desk_page(request: web.Request) -> web.Response:
    return _page("index.html")


async def organiser_page(request: web.Request) -> web.Response:
    return _page("organiser.html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound()
    return web.Response(body=_asset(name), content_type=_STATIC[name], charset="utf-8")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "protocol": p.PROTOCOL_VERSION})


def _client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def login(request: web.Request) -> web.Response:
    """Check a desk user's password, with rate-limiting per username and per address."""
    hub = request.app[HUB]
    try:
        body = await request.json(loads=safejson.loads)  # nested JSON is a 400, not a RecursionError
        username, password = str(body["username"]).strip().lower(), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "malformed"}, status=400)
    if len(username) > 64 or len(password) > 1024:
        return web.json_response({"error": "malformed"}, status=400)
    limits = hub.config.login
    now = hub.clock()
    since = now - max(limits.window_s, limits.lockout_s)
    keys = (f"user:{username}", f"ip:{_client_ip(request)}")
    if (
        await hub.state.login_failures(keys[0], since) >= limits.max_failures
        or await hub.state.login_failures(keys[1], since) >= limits.max_failures * 4
    ):
        log.warning("login refused by rate limit")
        return web.json_response(
            {"error": "rate_limited", "retry_after_s": limits.lockout_s},
            status=429,
            headers={"Retry-After": str(limits.lockout_s)},
        )
    user = hub.users.get(username)
    stored = user.password_hash if user else DUMMY_HASH
    ok = await asyncio.get_running_loop().run_in_executor(None, verify_password, password, stored)
    if not ok or user is None:
        for key in keys:
            await hub.state.add_login_failure(key, now)
        log.info("login failed")
        return web.json_response({"error": "wrong_credentials"}, status=401)
    await hub.state.clear_login_failures(keys[0])
    token = secrets.token_urlsafe(32)
    await hub.state.put_session(Session(token=token, username=username, expires=now + hub.config.session_ttl_s))
    log.info("%s logged in", user.role)
    resp = web.json_response({"name": user.name, "role": user.role, "expires_in_s": hub.config.session_ttl_s})
    resp.set_cookie(
        COOKIE,
        token,
        max_age=hub.config.session_ttl_s,
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
        path="/",
    )
    return resp


async def logout(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    token = request.cookies.get(COOKIE)
    if token:
        await hub.state.drop_session(token)
    resp = web.json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


async def me(request: web.Request) -> web.Response:
    user = await request.app[HUB].session_user(request.cookies.get(COOKIE))
    if user is None:
        return web.json_response({"error": "session_expired"}, status=401)
    return web.json_response({"name": user.name, "role": user.role, "producers": user.producers})


async def overview(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    user = await hub.session_user(request.cookies.get(COOKIE))
    if user is None:
        return web.json_response({"error": "session_expired"}, status=401)
    if user.role != "organiser":
        return web.json_response({"error": "not_allowed"}, status=403)
    return web.json_response(await hub.overview())


def _same_origin(request: web.Request, hub: Hub) -> bool:
    """A desk socket must come from the desk page itself (no cross-site WebSocket hijacking)."""
    origin = request.headers.get("Origin")
    return origin is None or origin in (hub.config.origin, f"{request.scheme}://{request.host}")


async def _first_frame(ws: web.WebSocketResponse) -> str | None:
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        return None
    return msg.data if msg.type == WSMsgType.TEXT else None


async def _serve(ws: web.WebSocketResponse, hub: Hub, part: Participant, conn: _WsConnection) -> None:
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await hub.handle(part, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await part.send(p.Error(code="malformed", message="signalling frames are JSON text"))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        await hub.disconnect(part, conn)


def _new_ws(hub: Hub) -> web.WebSocketResponse:
    return web.WebSocketResponse(heartbeat=hub.config.heartbeat_s, max_msg_size=4 * p.MAX_SIGNAL_BYTES)


async def point_socket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    ws = _new_ws(hub)
    await ws.prepare(request)
    conn = _WsConnection(ws)
    raw = await _first_frame(ws)
    try:
        hello = p.parse_signal(raw) if raw is not None else None
    except p.ProtocolError as exc:
        await conn.send(p.encode(exc.reply()))
        hello = None
    if not isinstance(hello, p.PointHello):
        await conn.send(p.encode(p.Error(code="unauthorised", message="first say hello.point")))
        await ws.close()
        return ws
    result = await hub.connect_point(hello, conn)
    if isinstance(result, p.Error):
        await conn.send(p.encode(result))
        await ws.close()
        return ws
    await _serve(ws, hub, result, conn)
    return ws


async def desk_socket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    if not _same_origin(request, hub):
        raise web.HTTPForbidden(text="cross-origin desk connection refused")
    ws = _new_ws(hub)
    await ws.prepare(request)
    conn = _WsConnection(ws)
    raw = await _first_frame(ws)
    try:
        hello = p.parse_signal(raw) if raw is not None else None
    except p.ProtocolError as exc:
        await conn.send(p.encode(exc.reply()))
        hello = None
    if not isinstance(hello, p.DeskHello):
        await conn.send(p.encode(p.Error(code="not_allowed", message="first say hello.desk")))
        await ws.close()
        return ws
    result = await hub.connect_desk(hello, request.cookies.get(COOKIE), conn)
    if isinstance(result, p.Error):
        await conn.send(p.encode(result))
        await ws.close()
        return ws
    await _serve(ws, hub, result, conn)
    return ws


async def _sweeper(app: web.Application, interval: float) -> AsyncIterator[None]:
    hub = app[HUB]

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await hub.sweep()
            except Exception:
                log.exception("sweep failed")

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    config: SwitchboardConfig,
    *,
    state: State | None = None,
    clock: Clock = time.time,
    validator: ProofValidator | None = None,
    sweep_interval: float | None = 1.0,
) -> web.Application:
    """The switchboard as an aiohttp application. ``sweep_interval=None`` leaves upkeep to the caller (tests)."""
    app = web.Application(client_max_size=64 * 1024)
    app[HUB] = Hub(config, state=state, clock=clock, validator=validator)
    app.router.add_get("/", desk_page)
    app.router.add_get("/organiser", organiser_page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/healthz", health)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/overview", overview)
    app.router.add_get("/ws/point", point_socket)
    app.router.add_get("/ws/desk", desk_socket)

    async def close_hub(app: web.Application) -> None:
        await app[HUB].close()

    app.on_cleanup.append(close_hub)
    if sweep_interval is not None:
        interval = sweep_interval

        async def sweeper(app: web.Application) -> AsyncIterator[None]:
            async for _ in _sweeper(app, interval):
                yield

        app.cleanup_ctx.append(sweeper)
    return app


def ssl_context(config: SwitchboardConfig) -> ssl.SSLContext | None:
    if config.tls is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.tls.cert_file, config.tls.key_file)
    return ctx


def default_validator(config: SwitchboardConfig) -> ProofValidator | None:
    """The Web eID validator with the configured CAs, policy allow-list and OCSP settings, or ``None``
    (identify then answers ``unavailable``)."""
    if not config.trusted_ca_files:
        return None
    from switchboard.identity import proof_validator

    return proof_validator(config.trusted_ca_files, config.identity)


def run(config: SwitchboardConfig, **kwargs: Any) -> None:
    app = create_app(config, validator=default_validator(config), **kwargs)
    web.run_app(app, host=config.listen_host, port=config.listen_port, ssl_context=ssl_context(config), print=None)
