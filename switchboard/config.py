"""The switchboard's own configuration (YAML): where it listens, its origin, TURN, points, producers, users.

Secrets never appear in clear: agents' and interpreters' passwords are scrypt hashes (``etapiste switchboard
hash-password``), points' credentials are SHA-256 hashes of a 256-bit random token (``etapiste switchboard
point-credential``; a slow hash adds nothing for a random token and would make 500 reconnecting points
cost seconds of CPU), and the TURN shared secret is read from a file.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, field_validator, model_validator

from etapiste.config.loader import ConfigError, parse_document, read_text
from etapiste.hours import Schedule, TimeZoneName
from etapiste.language import Text
from etapiste.model import ID_PATTERN, FrozenModel
from etapiste.webeid.origin import check_origin
from etapiste.webeid.validator import check_policy_pattern
from switchboard.credentials import PUBLISHED_DEMO_HASHES, parse_password_hash


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(entry.strip())
    except ValueError:
        pass
    try:
        meant = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{entry!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24)") from None
    raise ValueError(f"{entry!r} has host bits set; the network is {meant}")


def _proxy_entry(entry: str) -> str:
    _network(entry)
    return entry


class Tls(FrozenModel):
    """Certificate and key for HTTPS/WSS; production always sets this (see docs/switchboard.md)."""

    cert_file: str
    key_file: str


class Turn(FrozenModel):
    """coturn instances sharing ``static-auth-secret`` with the switchboard (``use-auth-secret``)."""

    urls: list[str] = Field(min_length=1)
    """e.g. ``turn:turn.example.fi:3478?transport=udp``, ``turns:turn.example.fi:443?transport=tcp``."""
    secret_file: str | None = None
    secret: str | None = None
    """Only for tests and demos; production reads ``secret_file``."""
    ttl_s: int = Field(3600, ge=60, le=86400)
    """How long issued credentials stay valid (a call must start within it; running calls keep going)."""

    @model_validator(mode="after")
    def _one_secret(self) -> Turn:
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError("give exactly one of turn.secret_file (production) or turn.secret (tests)")
        return self

    def shared_secret(self) -> str:
        if self.secret is not None:
            return self.secret
        assert self.secret_file is not None
        return Path(self.secret_file).read_text().strip()


class Login(FrozenModel):
    """Login rate-limiting. A username is locked *from one address* after ``max_failures`` wrong passwords
    within ``window_s``, for ``lockout_s``; each further lock of that name from that address lasts twice
    as long, up to ``max_lockout_s`` (a day without a lock, or a successful login, starts afresh). An
    address is locked for all names after ``address_max_failures`` (password spraying). Nobody elsewhere
    can lock an agent out by guessing the agent's name; the client's address is the TCP peer's, or the
    one a ``trusted_proxies`` entry put in ``X-Forwarded-For``."""

    max_failures: int = Field(5, ge=1, le=100)
    window_s: int = Field(300, ge=10)
    lockout_s: int = Field(300, ge=10)
    max_lockout_s: int = Field(3600, ge=10, le=7 * 86400)
    address_max_failures: int | None = Field(None, ge=1, le=100_000)
    """Unset: 4 × ``max_failures``. Raise it for an office whose many agents share one public address."""

    @model_validator(mode="after")
    def _consistent(self) -> Login:
        if self.max_lockout_s < self.lockout_s:
            raise ValueError(f"max_lockout_s ({self.max_lockout_s}) is shorter than lockout_s ({self.lockout_s})")
        return self

    @property
    def address_limit(self) -> int:
        return self.address_max_failures or 4 * self.max_failures


#: DVV's production policy arc, the counterpart of the test cards' 1.2.246.517.99.10.* (DVV's published practice
#: statements use it, e.g. 1.2.246.517.1.10.305.2); the exact citizen-authentication OIDs were not confirmed
#: from a public source, so operators narrow this from a production card (docs/switchboard.md).
FINEID_PRODUCTION_POLICIES = ("1.2.246.517.1.10.*",)


class Ocsp(FrozenModel):
    """Revocation checks at the issuing CA's OCSP responder (see docs/switchboard.md, "Revocation")."""

    required: bool = True
    """Fail closed (``revocation_unknown``) when the card's status cannot be found out. ``false`` lets such a
    card through with a warning in the log; a card the responder says is revoked is refused either way."""
    responder_url: str | None = Field(None, pattern=r"^https?://[^/\s]+(/\S*)?$")
    """Ask this responder instead of the one each certificate names in its AIA (e.g. DVV's for FINEID)."""
    timeout_s: float = Field(5.0, gt=0, le=30)
    """The whole exchange (DNS, connect, answer); the agent waits at most this long for the verdict."""
    cache_s: int = Field(60, ge=0, le=3600)
    """How long an answer (good or revoked) is reused; 0: ask every time. Failures are never reused."""
    require_nonce: bool = True
    """The answer must echo the request's nonce (a replayed old "good" is refused). Set ``false`` only for a
    responder that pre-signs its answers; then an answer older than ``max_age_s`` is refused."""
    max_age_s: int = Field(300, ge=10, le=86400)


class Identity(FrozenModel):
    """How customers' ID cards are accepted beyond the CA list (``trusted_ca_files``)."""

    policies: list[str] = Field(default_factory=lambda: list(FINEID_PRODUCTION_POLICIES), min_length=1)
    """Certificate policies accepted (exact OIDs or ``<arc>.*``): the production arc by default; a staging
    switchboard trusting DVV's test CAs lists ``1.2.246.517.99.10.*``."""
    ocsp: Ocsp = Field(default_factory=Ocsp)

    @field_validator("policies")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return [check_policy_pattern(p) for p in value]


class PointEntry(FrozenModel):
    id: str = Field(pattern=ID_PATTERN)
    place: str = Field(min_length=1, max_length=120)
    """Shown to agents with each waiting customer (the host's name, e.g. "Oulu City Library")."""
    credential_hash: str = Field(pattern=r"^sha256\$[0-9a-f]{64}$")
    hours: Schedule | None = None
    """The point's opening hours (its host's), in the switchboard's time zone: appointments are booked inside
    them (and inside the producer queue's service hours). Absent: the queue's service hours alone."""


class AppointmentsConfig(FrozenModel):
    """Booked video appointments (docs/agent-guide.md, "Appointments")."""

    slot_s: int = Field(1800, ge=300, le=4 * 3600)
    """Length of one appointment; free slots start every this many seconds from the opening time."""
    early_s: int = Field(900, ge=0, le=3600)
    """A customer may check in this long before the booked time (earlier: told when to come back)."""
    late_s: int = Field(600, ge=0, le=3600)
    """… and this long after it; later the code has expired and they queue as a walk-in."""
    days_ahead: int = Field(60, ge=1, le=365)
    """How far ahead agents may book."""
    reserve_s: int = Field(300, ge=0, le=3600)
    """A checked-in customer is offered only to the booked agent (when online) for this long, then to every
    agent of the producer (the booked agent may be stuck in a long call)."""


class QueueConfig(FrozenModel):
    id: str = Field(pattern=ID_PATTERN)
    service_hours: Schedule
    timeout_s: int = Field(1200, ge=30, le=7200)
    """A customer waiting this long is told nobody could answer (``queue.left timeout``)."""
    average_call_s: int = Field(480, ge=30, le=7200)
    """Seed of the wait estimate until real calls have been measured."""
    language_wait_s: int = Field(120, ge=0, le=3600)
    """A customer who chose a language is offered first only to the queue's agents online who speak it; after
    this many seconds (or at once when none of them is online) to every agent of the queue. 0: no routing."""


class ProducerConfig(FrozenModel):
    id: str = Field(pattern=ID_PATTERN)
    name: Text
    queues: list[QueueConfig] = Field(min_length=1)


class User(FrozenModel):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")
    name: str = Field(min_length=1, max_length=120)
    """Shown to the customer and colleagues (e.g. "Anna / Kela")."""
    role: Literal["agent", "interpreter", "organiser", "host"]
    password_hash: str
    """``scrypt$n$r$p$salt$hash`` from ``etapiste switchboard hash-password``."""
    producers: list[str] = Field(default_factory=list)
    """The producers whose queues an agent answers."""
    points: list[str] = Field(default_factory=list)
    """The points (rooms) a ``host`` user looks after in the host view (``/host``): that user sees these only."""
    languages: list[str] = Field(default_factory=list)
    """An interpreter's languages (free text such as ``ar``, ``so``, ``fi-sign``); an agent's customer
    languages (``fi``, ``sv``, ``en``), the default the desk's login offers (empty: Finnish only)."""

    @field_validator("password_hash")
    @classmethod
    def _checkable(cls, value: str) -> str:
        """A hash that can never match would only show as that person never getting in."""
        try:
            parse_password_hash(value)
        except ValueError as exc:
            raise ValueError(f"{exc}; make it with `etapiste switchboard hash-password`") from None
        return value


def _redis_url(value: str) -> str:
    """Refused at load with what is accepted: a typo would otherwise show only as every instance failing."""
    if not re.fullmatch(r"(redis|rediss|unix)://\S+", value):
        raise ValueError("must start with redis://, rediss:// (TLS) or unix:// and contain no spaces")
    return value


def _listen(value: str) -> str:
    """``host:port`` (``[::1]:9464`` for IPv6): refused at load rather than found by a failed scrape."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not host:port (such as 127.0.0.1:9464 or [::1]:9464)")
    return value


class Connections(FrozenModel):
    """Per-connection limits, so one socket or one client cannot hold up or flood everyone else.

    The defaults are far above what a real point or desk sends: a call's set-up is a few dozen frames
    (offers, answers, trickled ICE candidates for each peer), a whole day's queueing a few hundred."""

    outbox_frames: int = Field(512, ge=16, le=65536)
    """Frames that may wait for a connection's socket; one more aborts it (it reconnects and resumes)."""
    send_stall_s: float = Field(5.0, gt=0, le=60)
    """A single frame's send taking longer aborts the connection: its reader stopped reading."""
    rate_per_s: float = Field(50.0, gt=0, le=1_000_000)
    """Frames per second a connection may send on average (a token bucket); more are answered
    ``error rate_limited`` and not acted on."""
    burst: int = Field(200, ge=1, le=1_000_000)
    """Frames a connection may send at once before the average rate applies."""
    snapshot_interval_s: float = Field(0.2, ge=0, le=5)
    """At most one queue snapshot per desk per this many seconds (a burst of changes is one snapshot)."""


class SwitchboardConfig(FrozenModel):
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8443, ge=0, le=65535)
    origin: str = Field(pattern=r"^https?://[^/]+$")
    """The public origin (``https://host[:port]``, no slash) that Web eID proofs are bound to; plain
    ``http://`` only for a switchboard on loopback (the demo, development), as browsers allow it."""
    tls: Tls | None = None
    timezone: TimeZoneName = "Europe/Helsinki"
    session_ttl_s: int = Field(8 * 3600, ge=60, le=7 * 86400)
    """A desk login lasts this long (a working day); then the agent logs in again."""
    login: Login = Field(default_factory=Login)
    connections: Connections = Field(default_factory=Connections)
    metrics_listen: Annotated[str, AfterValidator(_listen)] | None = None
    """``host:port`` of Prometheus's ``/metrics`` (e.g. ``127.0.0.1:9464``), a listener of its own apart from
    the public one; ``null`` or absent: no metrics endpoint."""
    heartbeat_s: float = Field(20.0, ge=1.0, le=120.0)
    """WebSocket ping interval; a connection that misses its pong for half of it is taken as gone."""
    rejoin_grace_s: int = Field(60, ge=0, le=600)
    """How long a call waits for a participant whose connection dropped to come back (0: end at once).
    Matches the point's 60 s media recovery, so a network cut of up to a minute does not end the call."""
    turn: Turn | None = None
    stun_urls: list[str] = Field(default_factory=list)
    trusted_ca_files: list[str] = Field(default_factory=list)
    """PEM files of the CAs whose certificates identify customers (DVV's, or test CAs in tests)."""
    trusted_proxies: list[Annotated[str, AfterValidator(_proxy_entry)]] = Field(default_factory=list)
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``) of the reverse proxies in front:
    only from these is ``X-Forwarded-For`` believed for the client's address (login limits, audit log)."""
    identity: Identity = Field(default_factory=Identity)
    """Certificate policy allow-list and revocation (OCSP) settings for identification."""
    redis_url: Annotated[str, AfterValidator(_redis_url)] | None = Field(None, max_length=1000)
    """Where the state shared by several instances lives (``redis://host:6379/0``, ``rediss://`` for TLS,
    ``unix:///run/redis/redis.sock``); ``null`` or absent: this process's memory (one instance, the demo)."""
    redis_prefix: str = Field("etapiste:switchboard:", pattern=r"^[A-Za-z0-9:_.-]{1,100}$")
    """Every key this switchboard writes starts with it, so one Redis can serve several switchboards."""
    appointments: AppointmentsConfig = Field(default_factory=AppointmentsConfig)
    points: list[PointEntry] = Field(default_factory=list)
    producers: list[ProducerConfig] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)

    @field_validator("origin")
    @classmethod
    def _proof_origin(cls, value: str) -> str:
        """Refused at load, by the very check the kiosk signs with and the validator uses: an origin no
        card will sign for would otherwise only show as every identification failing."""
        return check_origin(value)

    @model_validator(mode="after")
    def _consistent(self) -> SwitchboardConfig:
        for kind, ids in (
            ("point", [p.id for p in self.points]),
            ("producer", [p.id for p in self.producers]),
            ("queue", [q.id for p in self.producers for q in p.queues]),
            ("user", [u.username for u in self.users]),
        ):
            dupes = {i for i in ids if ids.count(i) > 1}
            if dupes:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(sorted(dupes))}")
        known = {p.id for p in self.producers}
        for u in self.users:
            unknown = set(u.producers) - known
            if unknown:
                raise ValueError(f"user {u.username!r} names unknown producers: {', '.join(sorted(unknown))}")
        points = {p.id for p in self.points}
        for u in self.users:
            unknown = set(u.points) - points
            if unknown:
                raise ValueError(f"user {u.username!r} names unknown points: {', '.join(sorted(unknown))}")
            if (u.role == "host") != bool(u.points):
                raise ValueError(f"user {u.username!r}: a host user names its points, and only a host user does")
        return self

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(_network(entry) for entry in self.trusted_proxies)

    def published_demo_secrets(self) -> list[str]:
        """Users and points whose secret is one printed in the sample (``users: anna`` …), in file order."""
        found = [f"users: {u.username}" for u in self.users if u.password_hash in PUBLISHED_DEMO_HASHES]
        found += [f"points: {pt.id}" for pt in self.points if pt.credential_hash in PUBLISHED_DEMO_HASHES]
        return found

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, epoch: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(epoch, self.zone)


class SwitchboardConfigError(ConfigError):
    """The configuration file cannot be used; the message names the file, and the line, of each problem."""


def load_config(path: str | Path) -> SwitchboardConfig:
    """The switchboard's configuration at ``path``, or :class:`SwitchboardConfigError` listing every problem
    with its line (the same loader as the point's configuration)."""
    try:
        return parse_document(
            SwitchboardConfig,
            read_text(Path(path)),
            str(path),
            not_a_mapping="the document must be a mapping of settings (listen_host, origin, …)",
        )
    except ConfigError as exc:
        raise SwitchboardConfigError(exc.problems) from None
