"""The organiser's switchboard in-process, for the tests and the benchmarks: a configuration with known
demo secrets (``PASSWORDS``, ``POINT_CREDENTIALS``), a clock the caller moves, the switchboard served on a
free loopback port, and a signalling client that speaks :mod:`etapiste.protocol`.

Here rather than in tests/, because bench/ starts the same switchboard and must not import the tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import BaseModel

from etapiste import protocol as p
from etapiste.language import Language
from simulation.clock import FakeClock
from simulation.services.common import free_port
from switchboard.config import SwitchboardConfig
from switchboard.credentials import hash_password, hash_point_credential
from switchboard.hub import Hub
from switchboard.identity import ProofValidator
from switchboard.web import HUB, create_app

#: A small scrypt cost keeps the tests quick; production hashes use n=16384 (the format records n).
FAST_N = 1024
PASSWORDS = {"anna": "anna-salasana-1", "bertil": "bertils-losen-2", "tulkki": "tulkin-sana-3", "ops": "ops-sana-44",
             "maija": "maijan-sana-55", "liisa": "liisan-sana-66", "kalle": "kallen-sana-77"}
POINT_CREDENTIALS = {
    "oulu-kirjasto": "oulu-credential-0123456789abcdef",
    "kemi-kirjasto": "kemi-credential-0123456789abcdef",
    "inari-kirjasto": "inari-credential-0123456789abcde",
}
ALWAYS = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NAME = {"fi": "Kela", "sv": "FPA", "en": "Kela"}
ORIGIN = "https://switchboard.test"


def make_config(**overrides: Any) -> SwitchboardConfig:
    doc: dict[str, Any] = {
        "origin": ORIGIN,
        "session_ttl_s": 3600,
        "login": {"max_failures": 3, "window_s": 60, "lockout_s": 120},
        "points": [
            {"id": pid, "place": f"{pid.split('-')[0].title()} library", "credential_hash": hash_point_credential(c)}
            for pid, c in POINT_CREDENTIALS.items()
        ],
        "producers": [
            {
                "id": "kela",
                "name": NAME,
                "queues": [
                    {
                        "id": "kela-general",
                        "service_hours": {"weekly": ALWAYS},
                        "timeout_s": 600,
                        "average_call_s": 300,
                    },
                    {"id": "kela-closed", "service_hours": {"weekly": {}}},
                ],
            },
            {
                "id": "migri",
                "name": {"fi": "Migri", "sv": "Migri", "en": "Migri"},
                "queues": [{"id": "migri-general", "service_hours": {"weekly": ALWAYS}}],
            },
        ],
        "users": [
            {
                "username": "anna",
                "name": "Anna / Kela",
                "role": "agent",
                "producers": ["kela"],
                "password_hash": hash_password(PASSWORDS["anna"], n=FAST_N),
            },
            {
                "username": "bertil",
                "name": "Bertil / Kela",
                "role": "agent",
                "producers": ["kela"],
                "password_hash": hash_password(PASSWORDS["bertil"], n=FAST_N),
            },
            {
                "username": "maija",
                "name": "Maija / Migri",
                "role": "agent",
                "producers": ["migri"],
                "password_hash": hash_password(PASSWORDS["maija"], n=FAST_N),
            },
            {
                "username": "tulkki",
                "name": "Tulkki Ar",
                "role": "interpreter",
                "languages": ["ar"],
                "password_hash": hash_password(PASSWORDS["tulkki"], n=FAST_N),
            },
            {
                "username": "ops",
                "name": "Ops",
                "role": "organiser",
                "password_hash": hash_password(PASSWORDS["ops"], n=FAST_N),
            },
            {  # the host view (issue 21): Liisa looks after the Oulu and Kemi rooms, Kalle after Inari's
                "username": "liisa",
                "name": "Liisa / Oulu library",
                "role": "host",
                "points": ["oulu-kirjasto", "kemi-kirjasto"],
                "password_hash": hash_password(PASSWORDS["liisa"], n=FAST_N),
            },
            {
                "username": "kalle",
                "name": "Kalle / Inari library",
                "role": "host",
                "points": ["inari-kirjasto"],
                "password_hash": hash_password(PASSWORDS["kalle"], n=FAST_N),
            },
        ],
    }
    doc.update(overrides)
    return SwitchboardConfig.model_validate(doc)


@dataclass
class Client:
    """One signalling WebSocket; ``expect`` returns the next message of a type, keeping others for later."""

    ws: aiohttp.ClientWebSocketResponse
    backlog: list[Any] = field(default_factory=list)

    async def send(self, message: BaseModel | dict[str, Any] | str) -> None:
        if isinstance(message, BaseModel):
            text = p.encode(message)
        elif isinstance(message, dict):
            text = json.dumps(message)
        else:
            text = message
        await self.ws.send_str(text)

    async def next(self, timeout: float = 5.0) -> Any:
        if self.backlog:
            return self.backlog.pop(0)
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed ({msg.type.name})")
        return p.parse_signal(msg.data)

    async def expect(self, kind: str, timeout: float = 5.0) -> Any:
        for i, m in enumerate(self.backlog):
            if m.type == kind:
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(0.01, deadline - loop.time()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed ({msg.type.name}) while waiting for {kind}")
            parsed = p.parse_signal(msg.data)
            if parsed.type == kind:
                return parsed
            self.backlog.append(parsed)

    def latest(self, kind: str) -> Any:
        found = [m for m in self.backlog if m.type == kind]
        return found[-1] if found else None

    async def drain(self, wait: float = 0.05) -> None:
        """Pull whatever has arrived into the backlog."""
        while True:
            try:
                msg = await self.ws.receive(timeout=wait)
            except TimeoutError:
                return
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            self.backlog.append(p.parse_signal(msg.data))

    async def closed(self, timeout: float = 5.0) -> bool:
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return True
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.backlog.append(p.parse_signal(msg.data))


@dataclass
class Switchboard:
    server: TestServer
    session: aiohttp.ClientSession
    clock: FakeClock

    @property
    def hub(self) -> Hub:
        return self.server.app[HUB]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def origin(self) -> str:
        """The configured public origin: what a browser on the desk page sends as ``Origin``."""
        return self.hub.config.origin

    async def login(self, username: str, password: str | None = None) -> aiohttp.ClientSession:
        """A fresh browser-like session (own cookie jar, the desk page's ``Origin`` on every request and
        socket, as a browser sends it) logged in as ``username``."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": self.origin})
        async with http.post(
            f"{self.base}/api/login", json={"username": username, "password": password or PASSWORDS[username]}
        ) as r:
            assert r.status == 200, await r.text()
        return http

    async def desk(self, username: str, languages: list[Language] | None = None) -> Client:
        """A desk logged in as ``username``; ``languages``: the customer languages chosen at login."""
        http = await self.login(username)
        self._extra.append(http)
        client = self._held(await http.ws_connect(f"{self.base}/ws/desk"))
        await client.send(p.DeskHello(protocol=p.PROTOCOL_VERSION, languages=languages))
        await client.expect("welcome")
        return client

    async def point(
        self,
        point_id: str,
        credential: str | None = None,
        call: str | None = None,
        ticket: str | None = None,
        features: tuple[str, ...] = p.POINT_FEATURES,
    ) -> Client:
        """A point's signalling socket after its hello; ``call``/``ticket``: what it comes back to after a drop;
        ``features``: what its software understands (this version's point's, unless a test says otherwise)."""
        client = self._held(await self.session.ws_connect(f"{self.base}/ws/point"))
        await client.send(
            p.PointHello(
                protocol=p.PROTOCOL_VERSION,
                point=point_id,
                credential=credential or POINT_CREDENTIALS[point_id],
                call=call,
                ticket=ticket,
                features=list(features),
            )
        )
        return client

    def __post_init__(self) -> None:
        self._extra: list[aiohttp.ClientSession] = []
        self._sockets: list[aiohttp.ClientWebSocketResponse] = []

    def _held(self, ws: aiohttp.ClientWebSocketResponse) -> Client:
        """A client on ``ws``, whose socket stays open until the switchboard's end even if the test drops the
        client (as a browser's tab stays open): aiohttp closes the socket of a response the garbage collector
        takes, at a moment of its choosing — a desk a test logged in and never spoke to again went offline
        a millisecond later, only with some library versions (redis-py 8.2's allocations)."""
        self._sockets.append(ws)
        return Client(ws)

    async def aclose(self) -> None:
        for http in self._extra:
            await http.close()


@asynccontextmanager
async def serve(
    config: SwitchboardConfig | None = None,
    validator: ProofValidator | None = None,
    clock: FakeClock | None = None,
    sweep_interval: float | None = None,
) -> AsyncIterator[Switchboard]:
    """The switchboard on a free loopback port. A configuration with the placeholder ``ORIGIN`` gets the
    served address as its origin instead, as a real deployment's origin is where browsers reach it (the
    switchboard accepts logins and desk sockets from its configured origin only). ``sweep_interval``: its
    own sweep every so many seconds (with a :class:`~simulation.clock.WallClock`, as in production);
    ``None``: the caller sweeps."""
    clock = clock or FakeClock()
    config = config or make_config()
    for attempt in range(5):
        port = free_port()
        served = config
        if config.origin == ORIGIN:
            served = config.model_copy(update={"origin": f"http://127.0.0.1:{port}"})
        app = create_app(served, clock=clock.time, validator=validator, sweep_interval=sweep_interval)
        server = TestServer(app, host="127.0.0.1", port=port)
        try:
            await server.start_server()
            break
        except OSError:  # another process took the port in between; try another
            await server.close()
            if attempt == 4:
                raise
    session = aiohttp.ClientSession()
    sb = Switchboard(server, session, clock)
    try:
        yield sb
    finally:
        await sb.aclose()
        await session.close()
        await server.close()


async def start_call(
    sb: Switchboard,
    point_id: str = "oulu-kirjasto",
    agent: str = "anna",
    connected: bool = False,
    features: tuple[str, ...] = p.POINT_FEATURES,
) -> tuple[Client, Client, Any]:
    """A point queued and answered by ``agent``; returns (point, desk, the point's call.start).

    ``connected``: offer and answer exchanged too (a call past set-up, which the set-up timeout spares);
    ``features``: what the point's software says it understands."""
    point = await sb.point(point_id, features=features)
    await point.expect("welcome")
    desk = await sb.desk(agent)
    await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
    position = await point.expect("queue.position")
    await desk.send(p.QueueAccept(ticket=position.ticket))
    start = await point.expect("call.start")
    await desk.expect("call.start")
    if connected:
        await point.send(p.Offer(call=start.call, peer=start.offer_to[0], sdp="v=0 first offer"))
        await desk.expect("signal.offer")
        await desk.send(p.Answer(call=start.call, peer=start.you, sdp="v=0 first answer"))
        await point.expect("signal.answer")
    return point, desk, start
