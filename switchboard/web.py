"""The switchboard's HTTP face (aiohttp): the desk and organiser pages, login, and the two WebSocket endpoints.

``/ws/point`` takes points (credential in the first frame), ``/ws/desk`` takes desks (the login's session
cookie). Each socket's loop only moves frames between the socket and :class:`switchboard.hub.Hub`, so the
logic stays testable without a network. TLS is terminated here when the configuration has ``tls`` (or by a
reverse proxy in front, see docs/switchboard.md); tests run plain on loopback.

The login is internet-facing, so (issue 23): every attempt is counted before its password is checked (no
number of concurrent guesses gets past the limit), checks run on two threads of their own (a login flood
neither eats the memory of many 128 MiB scrypt runs nor fills the default executor identity validation
uses), the client's address is taken from ``X-Forwarded-For`` only when a ``trusted_proxies`` entry wrote
it, and a name is locked per (name, address) with growing back-off, so nobody can lock an agent out by
guessing at the agent's name. Login, logout and the desk socket answer the configured origin only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import secrets
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST

from etapiste import protocol as p
from etapiste import safejson
from switchboard.config import SwitchboardConfig, User
from switchboard.credentials import dummy_hash, verify_password
from switchboard.hub import Clock, Hub, Participant
from switchboard.hub.outbox import Outbox, TokenBucket
from switchboard.identity import ProofValidator
from switchboard.redis_state import EXPIRY_SLACK_S, RedisState
from switchboard.relay import LocalRelay, RedisRelay, Relay
from switchboard.state import DeskSession, StateStore
from switchboard.tasks import stop_task

log = logging.getLogger("switchboard.web")

HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
METRICS: web.AppKey[web.AppRunner] = web.AppKey("metrics", web.AppRunner)
VERIFIER: web.AppKey[ThreadPoolExecutor] = web.AppKey("verifier", ThreadPoolExecutor)
DUMMY: web.AppKey[str] = web.AppKey("dummy_hash", str)
COOKIE = "etapiste_session"
#: How long ``/healthz`` waits for Redis's PONG before it calls the instance unhealthy.
REDIS_HEALTH_TIMEOUT_S = 2.0
#: Password checks run on this many threads of their own: scrypt at n=2^17 takes 128 MiB and about half a
#: second of a core each, so more at once would only trade memory for nothing, and the loop's default
#: executor (identity validation) is never filled by logins.
LOGIN_VERIFIERS = 2
#: A (name, address) or address that has gone a day past its last lock starts its back-off afresh.
STRIKES_FORGOTTEN_S = 86400
#: A participant of an instance that stopped refreshing it is gone after this long (at least the rejoin grace).
MEMBER_TTL_S = 15.0
#: A point or desk must say hello within this many seconds of connecting.
HELLO_TIMEOUT_S = 10.0
_STATIC = {
    "desk.js": "application/javascript",
    "desk.css": "text/css",
    "i18n.js": "application/javascript",
    "organiser.js": "application/javascript",
    "appointments.js": "application/javascript",
    "host.js": "application/javascript",
    "host.css": "text/css",
}
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; frame-src 'self' blob:; "
    "object-src 'self' blob:; connect-src 'self' blob:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class _WsConnection:
    """The socket under a connection's :class:`Outbox`: the writer task alone sends on it."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None):
        self.ws = ws
        self.transport = transport

    async def send(self, text: str) -> None:
        if not self.ws.closed:
            await self.ws.send_str(text)

    async def close(self) -> None:
        await self.ws.close()

    def abort(self) -> None:
        """A real TCP reset, so the stalled peer is told at once and its megabytes are dropped here.

        A closing handshake would wait on the very window that is full. ``transport.abort()`` alone is no reset
        either: it closes the socket and the kernel keeps every unsent byte, with the FIN behind them, for a
        peer that does not read; the peer never learns it was cut off (a thawed tab would first read
        megabytes of stale frames), and the server's memory stays held. ``SO_LINGER`` with a zero timeout makes
        the close discard them and send a reset (through TLS too: the socket under it is the one reset)."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone: the abort below is all that is left to do
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


def _connection(request: web.Request, ws: web.WebSocketResponse, hub: Hub) -> Outbox:
    limits = hub.config.connections
    return Outbox(_WsConnection(ws, request.transport), size=limits.outbox_frames, stall_s=limits.send_stall_s)


def _count(conn: Outbox, hub: Hub, role: str) -> None:
    """Count ``conn``'s frames and abort under its role, now that its hello said which."""
    metrics = hub.metrics
    sent = metrics.frames_out.labels(role)
    conn.on_sent = sent.inc
    conn.on_abort = lambda reason: metrics.aborts.labels(role, reason).inc()


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
    """Up, or 503 naming what is not: with ``redis_url:`` an instance that cannot reach Redis can neither
    queue nor answer anyone, so the load balancer should stop sending it customers. Nor can one whose relay
    has not subscribed again since Redis came back (up to a couple of seconds): what the other instances
    send it meanwhile (an agent's ``call.start`` for its point) is lost."""
    hub = request.app[HUB]
    if isinstance(hub.state, RedisState):
        try:
            await asyncio.wait_for(hub.state.ping(), REDIS_HEALTH_TIMEOUT_S)
            problem = None if hub.relay.listening else "the relay is not subscribed again yet"
        except Exception as exc:
            problem = type(exc).__name__
        if problem is not None:
            log.warning("health: Redis unreachable: %s", problem)
            return web.json_response(
                {"ok": False, "protocol": p.PROTOCOL_VERSION, "error": "redis_unreachable"}, status=503
            )
    return web.json_response({"ok": True, "protocol": p.PROTOCOL_VERSION})


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> _Address | None:
    """An address as a proxy writes it in ``X-Forwarded-For`` (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


def client_address(request: web.Request, trusted: Sequence[_Network]) -> str:
    """The address the request came from: the TCP peer, unless the peer is a trusted proxy.

    Then ``X-Forwarded-For`` is read from the right: each entry was written by the hop to its right, so
    entries are believed while that hop is a trusted proxy, and the first address that is not one is the
    client. Whatever the client put in the header itself lies further left and is never reached, so a
    client cannot choose its address; a peer that is not a trusted proxy cannot either."""
    peer = request.remote or "unknown"
    address = _ip(peer)
    if address is None:
        return peer

    def is_trusted(ip: _Address) -> bool:
        return any(ip.version == net.version and ip in net for net in trusted)

    if not is_trusted(address):
        return str(address)
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    for entry in reversed([e for e in forwarded if e.strip()]):
        hop = _ip(entry)
        if hop is None:  # a proxy wrote something that is no address: the last proxy is all we know
            return str(address)
        address = hop
        if not is_trusted(hop):
            break
    return str(address)


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` as browsers send it: lower case, no default port."""
    origin = origin.strip().lower()
    for scheme, port in (("https://", ":443"), ("http://", ":80")):
        if origin.startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def _from_desk_page(request: web.Request, hub: Hub) -> bool:
    """Whether ``Origin`` is the configured origin. Browsers send it on every POST and WebSocket and no
    page can forge it, so a missing or other one is another site (login CSRF, cross-site WebSocket
    hijacking) or a script that must say where it stands."""
    origin = request.headers.get("Origin")
    return origin is not None and _normal_origin(origin) == _normal_origin(hub.config.origin)


def _refuse_cross_site(request: web.Request, hub: Hub) -> web.Response | None:
    """The checks of ``/api/login`` and ``/api/logout``: the desk page's own origin, and a JSON body
    (``application/json`` cannot be sent cross-site without a CORS preflight, which gets no approval)."""
    if not _from_desk_page(request, hub):
        log.warning("%s refused: Origin is not %s", request.path, hub.config.origin)
        return web.json_response({"error": "cross_origin"}, status=403)
    if request.content_type != "application/json":
        return web.json_response({"error": "json_required"}, status=415)
    return None


def _rate_limited(retry_after_s: float) -> web.Response:
    seconds = max(1, math.ceil(retry_after_s))
    return web.json_response(
        {"error": "rate_limited", "retry_after_s": seconds}, status=429, headers={"Retry-After": str(seconds)}
    )


async def login(request: web.Request) -> web.Response:
    """Check a desk user's password; counted first, then checked on the login threads (see the module)."""
    hub = request.app[HUB]
    refused = _refuse_cross_site(request, hub)
    if refused is not None:
        return refused
    try:
        body = await request.json(loads=safejson.loads)  # nested JSON is a 400, not a RecursionError
        username, password = str(body["username"]).strip().lower(), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "malformed"}, status=400)
    if len(username) > 64 or len(password) > 1024:
        return web.json_response({"error": "malformed"}, status=400)
    limits, state = hub.config.login, hub.state
    address = client_address(request, hub.config.proxy_networks)
    now = hub.clock()
    pair, per_address = "pair:" + json.dumps([username, address]), f"address:{address}"
    keys = ((pair, limits.max_failures), (per_address, limits.address_limit))
    counted: dict[str, int] = {}
    for key, limit in keys:
        record = await state.login_attempt(key, now, now - limits.window_s)
        if record.locked_until > now or len(record.attempts) > limit:
            # Locked, or the limit's worth of attempts is already being checked: this one is not checked,
            # so it does not count (a locked key recorded nothing).
            recorded = [*counted, key] if record.locked_until <= now else list(counted)
            for earlier in recorded:
                await state.forget_login_attempt(earlier, now)
            retry = record.locked_until - now if record.locked_until > now else limits.lockout_s
            log.warning("login refused for %r from %s: too many attempts, retry in %d s", username, address, retry)
            hub.metrics.login_failures.labels("rate_limited").inc()
            return _rate_limited(retry)
        counted[key] = len(record.attempts)
    user = hub.users.get(username)
    stored = user.password_hash if user else request.app[DUMMY]
    ok = await asyncio.get_running_loop().run_in_executor(request.app[VERIFIER], verify_password, password, stored)
    if not ok or user is None:
        log.warning("login failed for %r from %s", username, address)
        for key, limit in keys:
            if counted[key] >= limit:
                until = await state.lock_login(key, now, limits.lockout_s, limits.max_lockout_s, STRIKES_FORGOTTEN_S)
                who = f"{username!r} from {address}" if key == pair else f"every name from {address}"
                log.warning("login locked for %s for %d s", who, until - now)
        hub.metrics.login_failures.labels("wrong_credentials").inc()
        return web.json_response({"error": "wrong_credentials"}, status=401)
    await state.clear_login_failures(pair)
    await state.forget_login_attempt(per_address, now)
    token = secrets.token_urlsafe(32)
    await hub.state.put_session(DeskSession(token=token, username=username, expires=now + hub.config.session_ttl_s))
    log.info("%s logged in", user.role)
    resp = web.json_response({"name": user.name, "role": user.role, "expires_in_s": hub.config.session_ttl_s})
    resp.set_cookie(
        COOKIE,
        token,
        max_age=hub.config.session_ttl_s,
        httponly=True,
        samesite="Strict",
        secure=hub.config.origin.startswith("https://"),  # also behind a TLS proxy, whatever it forwards
        path="/",
    )
    return resp


async def logout(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    refused = _refuse_cross_site(request, hub)
    if refused is not None:
        return refused
    token = request.cookies.get(COOKIE)
    if token:
        await hub.state.drop_session(token)
    resp = web.json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


async def user_in_role(request: web.Request, role: str) -> User | web.Response:
    """The logged-in user when their role is ``role``; else the answer to send (401 to log in, 403)."""
    user = await request.app[HUB].session_user(request.cookies.get(COOKIE))
    if user is None:
        return web.json_response({"error": "session_expired"}, status=401)
    if user.role != role:
        return web.json_response({"error": "not_allowed"}, status=403)
    return user


async def me(request: web.Request) -> web.Response:
    user = await request.app[HUB].session_user(request.cookies.get(COOKIE))
    if user is None:
        return web.json_response({"error": "session_expired"}, status=401)
    return web.json_response({"name": user.name, "role": user.role, "producers": user.producers})


async def transfer_targets(request: web.Request) -> web.Response:
    """The queues an agent may transfer a customer to, with whether each would take one now (issue 22)."""
    user = await user_in_role(request, "agent")
    if isinstance(user, web.Response):
        return user
    return web.json_response({"queues": request.app[HUB].transfer_targets(user.username)})


async def overview(request: web.Request) -> web.Response:
    user = await user_in_role(request, "organiser")
    if isinstance(user, web.Response):
        return user
    return web.json_response(await request.app[HUB].overview())


async def _first_frame(ws: web.WebSocketResponse) -> str | None:
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        return None
    return msg.data if msg.type == WSMsgType.TEXT else None


async def _serve(ws: web.WebSocketResponse, hub: Hub, part: Participant, conn: Outbox) -> None:
    limits, metrics = hub.config.connections, hub.metrics
    bucket = TokenBucket(limits.rate_per_s, limits.burst, asyncio.get_running_loop().time)
    frames_in, limited = metrics.frames_in.labels(part.role), metrics.rate_limited.labels(part.role)
    _count(conn, hub, part.role)
    warned = False
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
            frames_in.inc()
            if not bucket.take():
                limited.inc()
                if not warned:  # one line per connection, not one per frame of a flood
                    warned = True
                    log.warning("%s %s is rate-limited", part.role, part.id)
                await part.send(p.Error(code="rate_limited", message="too many messages; slow down and try again"))
            elif msg.type == WSMsgType.TEXT:
                await hub.handle(part, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await part.send(p.Error(code="malformed", message="signalling frames are JSON text"))
    finally:
        await hub.disconnect(part, conn)
        conn.stop()


def _new_ws(hub: Hub) -> web.WebSocketResponse:
    """``writer_limit=0``: each send waits while the transport holds more than its high-water mark (64 KiB)
    unsent, so a peer that stops reading blocks the writer as soon as its TCP window and that buffer are full,
    and the outbox's ``send_stall_s`` sees it. aiohttp's default checks only once per 256 KiB written, so a
    desk getting small frames piled them up in memory and was cut off minutes late, or never."""
    return web.WebSocketResponse(
        heartbeat=hub.config.heartbeat_s, max_msg_size=4 * p.MAX_SIGNAL_BYTES, writer_limit=0
    )


async def point_socket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    ws = _new_ws(hub)
    await ws.prepare(request)
    conn = _connection(request, ws, hub)
    raw = await _first_frame(ws)
    try:
        hello = p.parse_signal(raw) if raw is not None else None
    except p.ProtocolError as exc:
        await conn.send(p.encode(exc.reply()))
        hello = None
    if not isinstance(hello, p.PointHello):
        await conn.send(p.encode(p.Error(code="unauthorised", message="first say hello.point")))
        await conn.close()
        return ws
    result = await hub.connect_point(hello, conn)
    if isinstance(result, p.Error):
        await conn.send(p.encode(result))
        await conn.close()
        return ws
    await _serve(ws, hub, result, conn)
    return ws


async def desk_socket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    if not _from_desk_page(request, hub):  # no cross-site WebSocket hijacking; a script must say Origin too
        raise web.HTTPForbidden(text="desk connections are taken from the configured origin only")
    ws = _new_ws(hub)
    await ws.prepare(request)
    conn = _connection(request, ws, hub)
    raw = await _first_frame(ws)
    try:
        hello = p.parse_signal(raw) if raw is not None else None
    except p.ProtocolError as exc:
        await conn.send(p.encode(exc.reply()))
        hello = None
    if not isinstance(hello, p.DeskHello):
        await conn.send(p.encode(p.Error(code="not_allowed", message="first say hello.desk")))
        await conn.close()
        return ws
    result = await hub.connect_desk(hello, request.cookies.get(COOKIE), conn)
    if isinstance(result, p.Error):
        await conn.send(p.encode(result))
        await conn.close()
        return ws
    await _serve(ws, hub, result, conn)
    return ws


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer: no MIME sniffing, and HSTS whenever the public origin is https (also behind a
    TLS proxy; a browser ignores HSTS over plain http, and the demo's http origin gets none)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.app[HUB].config.origin.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")


async def _going_away(app: web.Application) -> None:
    """A stop (SIGTERM: a rolling restart, an upgrade): every socket is closed now, so its points and desks
    reconnect through the load balancer to another instance at once and are taken back into their calls and
    queue places there. Left open, they would hang on this stopping instance until aiohttp's shutdown timeout
    (a minute) ran out."""
    conns = [part.conn for part in list(app[HUB].participants.values())]
    if conns:
        log.info("stopping: closing %d connections", len(conns))
        await asyncio.gather(*(conn.close() for conn in conns), return_exceptions=True)


async def _sweeper(app: web.Application, interval: float) -> AsyncIterator[None]:
    hub = app[HUB]

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await hub.watch_state()  # desks told when Redis goes out of reach
                if await hub.sweep():  # this instance holds the sweep lease
                    now, limits = hub.clock(), hub.config.login
                    await hub.state.drop_idle_logins(now - limits.window_s, now - STRIKES_FORGOTTEN_S)
            except Exception:
                log.exception("sweep failed")

    task = asyncio.create_task(loop())
    yield
    await stop_task(task)  # a Redis call in flight may swallow one cancellation


async def metrics(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    body = await hub.metrics.render(hub)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """``/metrics`` on ``metrics_listen``, a listener apart from the public one: the figures (queue lengths,
    login failures) stay on the ops network without a token to hand out, and no firewall rule or proxy
    path has to keep them off the internet-facing port."""
    listen = app[HUB].config.metrics_listen
    assert listen is not None
    host, _, port = listen.rpartition(":")
    scrape = web.Application()
    scrape[HUB] = app[HUB]
    scrape.router.add_get("/metrics", metrics)
    runner = web.AppRunner(scrape, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host.strip("[]"), int(port)).start()
    app[METRICS] = runner
    log.info("metrics on http://%s/metrics", listen)
    yield
    await runner.cleanup()


def create_app(
    config: SwitchboardConfig,
    *,
    state: StateStore | None = None,
    clock: Clock = time.time,
    validator: ProofValidator | None = None,
    sweep_interval: float | None = 1.0,
) -> web.Application:
    """The switchboard as an aiohttp application. ``sweep_interval=None`` leaves upkeep to the caller (tests)."""
    app = web.Application(client_max_size=64 * 1024)
    if state is None and config.redis_url is not None:
        state = RedisState(config.redis_url, prefix=config.redis_prefix, clock=clock)
    relay: Relay = LocalRelay()
    if isinstance(state, RedisState):  # several instances may share it: they talk through it too
        grace = float(config.rejoin_grace_s)
        relay = RedisRelay(state.redis, prefix=state.prefix, member_ttl_s=max(MEMBER_TTL_S, grace),
                           held_ttl_s=grace + EXPIRY_SLACK_S, known_calls=state.known_calls)  # fmt: skip
    app[HUB] = Hub(config, state=state, clock=clock, validator=validator, relay=relay)
    app[VERIFIER] = ThreadPoolExecutor(LOGIN_VERIFIERS, thread_name_prefix="login-verify")
    app[DUMMY] = dummy_hash([u.password_hash for u in config.users])
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", desk_page)
    app.router.add_get("/organiser", organiser_page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/healthz", health)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/overview", overview)
    app.router.add_get("/api/transfer-targets", transfer_targets)
    app.router.add_get("/ws/point", point_socket)
    app.router.add_get("/ws/desk", desk_socket)
    from switchboard.appointments_web import add_routes  # imports this module: here, not at the top

    add_routes(app)
    from switchboard.host import add_routes as add_host_routes  # here: switchboard.host builds on this module

    add_host_routes(app)

    async def start_hub(app: web.Application) -> None:
        await app[HUB].start()

    app.on_startup.append(start_hub)

    async def close_hub(app: web.Application) -> None:
        await app[HUB].close()
        state = app[HUB].state
        if isinstance(state, RedisState):
            await state.close()
        app[VERIFIER].shutdown(wait=False, cancel_futures=True)

    app.on_shutdown.append(_going_away)
    app.on_cleanup.append(close_hub)
    if config.metrics_listen is not None:
        app.cleanup_ctx.append(_metrics_listener)
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
