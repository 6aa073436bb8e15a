"""Harness plugin: the switchboard as a national service — Debian's HAProxy, started privately on loopback, in
front of several switchboard instances (:mod:`simulation.services.switchboard_instance`) sharing one private
Redis (:mod:`simulation.services.redis`, append-only file on).

:func:`haproxy_config` is the one template: the harness renders it for loopback, and docs/switchboard.md
("Deployment: several instances") shows it rendered with :data:`PRODUCTION` (a test keeps the two equal). It
balances by fewest connections (a WebSocket is long-lived, so round robin would pile them up on whichever
instance restarted last), checks each instance's ``/healthz`` (503 when it cannot reach Redis), re-dispatches a
connection that an instance refuses to another one, and keeps WebSockets open for the length of a call
(``timeout tunnel``; the point's and the desk's pings cross it every 20 s).

When something does not come up, the harness says what HAProxy or the instance said — HAProxy's alert lines,
the health check's verdict (``L4CON``, ``L7STS 503``…), the instance's last log lines — not just that time ran
out. HAProxy runs in the foreground (``-db``) and logs to its stderr; its admin socket (``show stat``,
``set server``) is how the tests read its view and drain an instance for a rolling restart.
"""

from __future__ import annotations

import contextlib
import csv
import io
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from simulation.services.common import Service, ServiceUnavailable, free_port, require_program
from simulation.services.redis import MAX_SOCKET_PATH, Redis, start_redis
from simulation.services.switchboard_instance import SwitchboardInstance, tail
from simulation.switchboard import Switchboard, make_config
from switchboard.config import SwitchboardConfig

#: The backend's name in the configuration (``set server switchboard/sb1 …``).
BACKEND = "switchboard"


@dataclass(frozen=True)
class BalancerSettings:
    """What differs between the harness's HAProxy and a production one; the rest of the template is shared."""

    bind: str
    """``bind`` line's arguments: the harness's ``127.0.0.1:PORT``, production's TLS listener."""
    servers: Sequence[tuple[str, str]]
    """(name, ``host:port``) of every switchboard instance."""
    admin_socket: str | None = None
    log: str = "stderr format raw local0"
    check_inter: str = "2s"
    """How often each instance's ``/healthz`` is asked; two failures mark it down, two successes up."""
    user: str | None = None
    """Drop to this user and group after binding (production); the harness runs as its caller."""
    maxconn: int = 4000
    """Connections at once (two file descriptors each); production raises it with the fleet."""


#: The production example docs/switchboard.md shows: TLS ends at HAProxy, instances on a private network.
PRODUCTION = BalancerSettings(
    bind=":443 ssl crt /etc/haproxy/certs/switchboard.pem alpn http/1.1",
    servers=[("sb1", "10.0.0.11:8443"), ("sb2", "10.0.0.12:8443"), ("sb3", "10.0.0.13:8443")],
    admin_socket="/run/haproxy/admin.sock",
    log="/dev/log local0",
    user="haproxy",
    maxconn=20000,
)


def haproxy_config(settings: BalancerSettings) -> str:
    """The HAProxy configuration (2.6, Debian 12) in front of the switchboard's instances."""
    lines = ["global", f"    log {settings.log}", f"    maxconn {settings.maxconn}"]
    if settings.user is not None:
        lines += [f"    user {settings.user}", f"    group {settings.user}"]
    if settings.admin_socket is not None:
        lines.append(f"    stats socket {settings.admin_socket} mode 600 level admin")
    lines += [
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    option forwardfor          # the switchboard reads X-Forwarded-For from its trusted_proxies",
        "    option redispatch          # a connection an instance refuses goes to another one",
        "    retries 3",
        "    timeout connect 2s",
        "    timeout check 5s           # a busy instance (a login burst) is slow to answer, not down",
        "    timeout http-request 10s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout tunnel 1h          # a WebSocket lives as long as a call; pings cross it every 20 s",
        "    timeout client-fin 5s",
        "    timeout server-fin 5s",
        "",
        "frontend switchboard_public",
        f"    bind {settings.bind}",
        f"    default_backend {BACKEND}",
        "",
        f"backend {BACKEND}",
        "    balance leastconn          # WebSockets are long-lived: count them, not requests",
        "    option httpchk GET /healthz",
        "    http-check expect status 200   # 503 when the instance cannot reach Redis",
        f"    default-server check inter {settings.check_inter} fall 2 rise 2",
    ]
    lines += [f"    server {name} {address}" for name, address in settings.servers]
    return "\n".join(lines) + "\n"


ServerState = Literal["ready", "drain", "maint"]


@dataclass
class HAProxy:
    """A running private HAProxy: ``base`` is the switchboard's public address as points and desks see it."""

    port: int
    directory: Path
    service: Service

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def point_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/point"

    @property
    def admin_socket(self) -> Path:
        return self.directory / "admin.sock"

    def log_text(self) -> str:
        return self.service.log_text()

    def admin(self, command: str) -> str:
        """One command on HAProxy's admin socket (``show stat``, ``set server switchboard/sb1 state drain``)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5.0)
            s.connect(str(self.admin_socket))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def servers(self) -> dict[str, dict[str, str]]:
        """HAProxy's view of each instance (``status`` UP/DOWN/MAINT/DRAIN, ``check_status``, ``scur``…)."""
        text = self.admin("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {row["svname"]: row for row in rows if row.get("pxname") == BACKEND and row["svname"] != "BACKEND"}

    def set_server(self, name: str, state: ServerState) -> None:
        answer = self.admin(f"set server {BACKEND}/{name} state {state}").strip()
        if answer:
            raise RuntimeError(f"HAProxy refused 'set server {BACKEND}/{name} state {state}': {answer}")

    def describe(self, name: str) -> str:
        row = self.servers().get(name, {})
        check = " ".join(filter(None, (row.get("check_status"), row.get("check_code"), row.get("last_chk"))))
        return f"{name}: {row.get('status', 'unknown')} (last check: {check or 'none'})"


def start_haproxy(directory: Path, settings: BalancerSettings, port: int) -> HAProxy:
    """HAProxy on ``settings`` (``port``: the one its ``bind`` names), ready when its admin socket answers;
    stopped by pid by the caller (``balancer.service.stop()``). Fails with HAProxy's own alert lines."""
    conf = directory / "haproxy.cfg"
    conf.write_text(haproxy_config(settings))
    binary = require_program("haproxy")
    argv = [binary, "-f", str(conf), "-db"]
    balancer = HAProxy(port, directory, Service("haproxy", argv, directory / "haproxy.log", cwd=directory))
    balancer.service.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not balancer.service.running():
            balancer.service.stop()
            raise RuntimeError(f"haproxy exited at start; it said:\n{tail(balancer.log_text())}")
        if balancer.admin_socket.exists():
            with contextlib.suppress(OSError):
                balancer.admin("show info")
                return balancer
        time.sleep(0.02)
    balancer.service.stop()
    raise TimeoutError(f"haproxy's admin socket never answered; it said:\n{tail(balancer.log_text())}")


class RemoteSwitchboard(Switchboard):
    """:mod:`simulation.switchboard`'s clients (``point``, ``desk``, ``login``) against a switchboard reached over
    the network at ``base`` — here HAProxy's address — rather than one served in this process."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self._base = base
        self.session = session
        self.__post_init__()  # what it opens, held and closed as the served one's

    @property
    def base(self) -> str:
        return self._base

    @property
    def origin(self) -> str:
        """The instances' configured origin is the load balancer's address: what the desk page sends."""
        return self._base


@dataclass
class SwitchboardCluster:
    """Several switchboard instances on one Redis behind one HAProxy."""

    redis: Redis
    balancer: HAProxy
    instances: list[SwitchboardInstance] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The public address: HAProxy's."""
        return self.balancer.base

    @property
    def point_url(self) -> str:
        return self.balancer.point_url

    @contextlib.asynccontextmanager
    async def clients(self) -> AsyncIterator[RemoteSwitchboard]:
        """Simulated points and desks (:class:`RemoteSwitchboard`) reaching the service through HAProxy."""
        async with aiohttp.ClientSession() as session:
            remote = RemoteSwitchboard(self.base, session)
            try:
                yield remote
            finally:
                await remote.aclose()

    def instance(self, name: str) -> SwitchboardInstance:
        return next(i for i in self.instances if i.name == name)

    def holder(self, *markers: str) -> str:
        """The running instance whose log says one of ``markers`` last (``point oulu-kirjasto online``, ``… came
        back``): the one holding that participant's socket."""
        found = {}
        for instance in self.instances:
            if instance.running():
                text = instance.log_text()
                at = max(text.rfind(marker) for marker in markers)
                if at >= 0:
                    found[instance.name] = at
        assert found, f"no running instance logged any of {markers}"
        return max(found, key=lambda name: found[name])

    def wait_server(self, name: str, status: str, timeout: float = 20.0) -> None:
        """Until HAProxy's health checks call ``name`` ``status`` (``UP``, ``DOWN``…); else what they said."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.balancer.servers().get(name)
            if row is not None and row["status"].split(" ")[0] == status:
                return
            time.sleep(0.05)
        instance = self.instance(name)
        raise TimeoutError(
            f"HAProxy never saw {status}: {self.balancer.describe(name)}; the instance's log:\n"
            f"{tail(instance.log_text())}\nHAProxy's log:\n{tail(self.balancer.log_text())}"
        )

    def serving(self) -> list[str]:
        """The instances HAProxy sends new connections to now."""
        return [name for name, row in self.balancer.servers().items() if row["status"] == "UP"]

    def sessions(self) -> dict[str, int]:
        """Current connections HAProxy holds to each instance (WebSockets and requests in flight)."""
        return {name: int(row["scur"] or 0) for name, row in self.balancer.servers().items()}

    def kill(self, name: str) -> None:
        """SIGKILL one instance (its sockets reset), and wait until HAProxy has marked it down."""
        self.instance(name).kill()
        self.wait_server(name, "DOWN")

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """The rolling-restart step for one instance: drain it in HAProxy (no new connections), stop it with
        SIGTERM (it closes its sockets; the clients reconnect through HAProxy to the others), start it
        again, wait until HAProxy's checks see it up, and put it back in rotation."""
        self.balancer.set_server(name, "drain")
        instance = self.instance(name)
        instance.stop()
        instance.start(timeout)
        self.balancer.set_server(name, "ready")
        self.wait_server(name, "UP", timeout)

    def start_again(self, name: str, timeout: float = 30.0) -> None:
        """Start a killed instance again and wait until HAProxy sends it connections."""
        self.instance(name).start(timeout)
        self.wait_server(name, "UP", timeout)

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()
        self.balancer.service.stop()


@contextlib.contextmanager
def start_cluster(
    base: Path,
    instances: int = 2,
    redis: Redis | None = None,
    check_inter: str = "250ms",
    base_config: SwitchboardConfig | None = None,
    log_level: str = "INFO",
    **config: Any,
) -> Iterator[SwitchboardCluster]:
    """``instances`` switchboards (``sb1``, ``sb2``…) on one private Redis (``redis``, or a new one) behind a
    private HAProxy, all on loopback; everything is stopped by pid at the end. ``config``: overrides of
    :func:`simulation.switchboard.make_config` (e.g. ``rejoin_grace_s``), or ``base_config`` a whole
    configuration (a benchmark's points and agents); either way the cluster sets origin, Redis and proxy."""
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="cluster-", dir=base))
    if len(str(directory / "admin.sock")) > MAX_SOCKET_PATH:
        raise ServiceUnavailable(f"{directory} is too long a path for a unix socket; use a shorter run directory")
    with contextlib.ExitStack() as stack:
        if redis is None:
            redis = stack.enter_context(start_redis(directory))
        front = free_port()
        deployment = {"origin": f"http://127.0.0.1:{front}", "redis_url": redis.url, "trusted_proxies": ["127.0.0.1"]}
        if base_config is not None:
            shared = base_config.model_copy(update=deployment)
        else:
            shared = make_config(**deployment, **config)
        members = [
            SwitchboardInstance(
                f"sb{n}",
                port,
                directory / f"sb{n}",
                shared.model_copy(update={"listen_host": "127.0.0.1", "listen_port": port}),
                log_level=log_level,
            )
            for n, port in enumerate((free_port() for _ in range(instances)), start=1)
        ]
        settings = BalancerSettings(
            bind=f"127.0.0.1:{front}",
            servers=[(m.name, f"127.0.0.1:{m.port}") for m in members],
            admin_socket=str(directory / "admin.sock"),
            check_inter=check_inter,
        )
        balancer = start_haproxy(directory, settings, front)
        cluster = SwitchboardCluster(redis, balancer, members)
        stack.callback(cluster.stop)
        for member in members:
            member.launch()
        for member in members:
            member.wait_healthy()
        for member in members:
            cluster.wait_server(member.name, "UP")
        yield cluster
