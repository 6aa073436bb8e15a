"""The link between the provisioning agent and the kiosk on the same PC: a tiny local protocol.

Transport: a unix-domain stream socket (default ``/run/etapiste/agent.sock``, mode 0660) carrying
newline-delimited JSON objects, each with an ``op``. The **agent is the server and the kiosk the
client**, because the agent is the long-lived process: it restarts the kiosk, outlives the kiosk's
crashes, and must notice that no kiosk is there at all (no connection = not healthy). The kiosk
connects when it starts and reconnects if the agent restarts; it never needs to know about MQTT.

Messages, agent → kiosk:

* ``{"op":"reload","version":N,"path":"/var/lib/etapiste/point.yaml"}`` — a new configuration is in
  place; load it, apply it, then answer with ``health`` for version N.
* ``{"op":"command","id":"c-1","name":"out_of_service","args":{"on":true,"message":{"fi":…}}}`` —
  a remote command (``out_of_service``, ``restart``, ``test_print``, ``diagnostics``); answer with
  ``result`` carrying the same id.

Messages, kiosk → agent:

* ``{"op":"hello","software":"0.1.0","version":N,"timezone":"Europe/Helsinki"}`` — on every connect,
  with the configuration version the kiosk is running (read from the file's header,
  :func:`read_config_version`) and the host's time zone its days are counted in (``host.timezone``).
* ``{"op":"health","version":N,"healthy":true,"devices":{"printer":{"ok":false,"reason":"media-empty"}},
  "error":null}`` — whenever health changes and after every reload. ``healthy`` means "this
  configuration works" (it loaded and the switchboard is reachable); a device fault (paper out) is
  reported in ``devices`` and does not make a configuration unhealthy.
* ``{"op":"reload_waits","version":N}`` — the configuration of a ``reload`` loaded, and the kiosk restarts
  on it once the customer being served has left: the agent's health check for ``N`` starts then, not now
  (a visit outlasts the check; before this message a good configuration pushed mid-call was rolled back).
* ``{"op":"session","day":"2026-11-28","hour":14,"outcome":"served","producer":"kela","queue":"kela-general",
  "wait_s":45,"duration_s":312,"rating":5,"quality":{"bitrate_kbps":900,"fps":25,"loss_pct":0.1,"rtt_ms":40},
  "usage":{"language":"fi","identify_asked":true,…,"large_text_used":false}}`` — one finished session
  (docs/statistics.md), anonymous by construction: ids, codes, counts, yes/no, the host day and the hour
  it started; nothing else is accepted, and the fields must agree with the outcome (a session that left
  before choosing has no producer; only a served one has a duration, a rating and a quality summary).
* ``{"op":"fault","day":"2026-11-28","device":"printer","reason":"media-jam"}`` — a device stopped
  working (its onset, counted once); ``device`` is one of the contract's six, ``reason`` the driver's code.
* ``{"op":"minutes","day":"2026-11-28","open":1,"out_of_service":0,"offline":0}`` — minutes of the
  host's opening hours just spent open, out of service or without the switchboard (added up).
* ``{"op":"staff_pin","failures":7,"lockouts":1,"locked_until":"2026-11-28T12:05:00Z"}`` — wrong staff
  PINs since the last right one, lockouts since then, and when the current lockout ends (``null``: not
  locked); on every change and on every connect. Counts and a time only, never a PIN. The agent puts it
  in its state, where ops see repeated failures (``etapiste ops status``).
* ``{"op":"result","id":"c-1","ok":true,"detail":"…"}`` — a command's outcome.
* ``{"op":"help"}`` — a customer pressed "ask the staff for help"; the agent raises an alert
  (:mod:`provisioning.alerts`) and answers ``alert_ack`` once the notifier accepted it.
* ``{"op":"service","on":true,"message":"Printer broken","by":"staff"}`` — staff put the point out of
  service at the screen (or back in service): the agent holds it in its state directory, so it outlasts
  kiosk restarts, agent restarts, reloads and reboots until someone clears it.
* ``{"op":"ask"}`` — as the **first and only** line of a short connection the kiosk makes before it shows
  its first frame: the agent answers with ``service`` and closes (this is not a kiosk connection).

Messages, agent → kiosk, besides ``reload`` and ``command``:

* ``{"op":"service","on":true,"message":{"fi":…,"sv":…,"en":…},"by":"ops","since":"…"}`` — the
  out-of-service state the agent holds: after every ``hello`` and as the answer to ``ask``.
* ``{"op":"alert_ack","kind":"help","device":null}`` — the organiser's notifier accepted the alert
  (mailed the host's staff, or it was already told of this open fault): now the customer may be told so.

Every message is validated on receipt; an invalid one is answered with ``{"op":"error","reason":…}``
and logged, and never breaks the link. Free text (``error``, ``detail``) is limited in length and
scrubbed of anything that looks like personal data (:func:`provisioning.privacy.scrub`).

The kiosk side is :class:`KioskLinkClient` (a few lines to wire); the agent side is
:class:`KioskLinkServer`. This module imports neither the kiosk nor Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, model_validator

from etapiste.hours import check_timezone
from etapiste.language import Language
from etapiste.model import ID_PATTERN, FrozenModel
from etapiste.retry import Backoff
from provisioning.privacy import scrub
from provisioning.stats_model import (
    CODE_PATTERN,
    DEVICES,
    LANGUAGES,
    MAX_DAY_MINUTES,
    MAX_SESSION_S,
    OUTCOMES,
    Device,
)

log = logging.getLogger(__name__)

DEFAULT_SOCKET = "/run/etapiste/agent.sock"
MAX_LINE = 64 * 1024
_CODE = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
CommandName = Literal["out_of_service", "restart", "test_print", "diagnostics"]


class _Msg(FrozenModel):
    """A message on the kiosk link: the kernel's frozen, strict model, nothing added."""


class DeviceHealthReport(_Msg):
    """One device's health as the kiosk reports it to the agent (the wire's form of
    :class:`kiosk.health.DeviceHealth`)."""

    ok: bool
    reason: str | None = Field(None, pattern=_CODE)
    """A short code such as ``media-empty`` (never free text)."""
    code: str | None = Field(None, pattern=_CODE)
    """Why it is not ok, as a code from :mod:`etapiste.codes` (``out_of_paper``): what alerts name."""


def _zone(value: str | None) -> str | None:
    """``None`` (an older kiosk) or a time zone this machine knows (:func:`etapiste.hours.check_timezone`)."""
    return None if value is None else check_timezone(value)


class Hello(_Msg):
    op: Literal["hello"]
    software: str = Field(max_length=40)
    version: int = Field(ge=0)
    timezone: Annotated[str | None, AfterValidator(_zone)] = Field(
        None, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"
    )
    """The host's time zone the kiosk counts days and hours in (``None``: an older kiosk)."""


class ReloadWaits(_Msg):
    op: Literal["reload_waits"]
    version: int = Field(ge=0)


class Health(_Msg):
    op: Literal["health"]
    version: int = Field(ge=0)
    healthy: bool
    devices: dict[Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")], DeviceHealthReport] = Field(
        default_factory=dict, max_length=16
    )
    error: str | None = Field(None, max_length=300)


#: A session's outcome: the contract's six, and a visit that ended before a producer was chosen.
SessionOutcome = Literal[
    "served", "abandoned", "queue_timeout", "closed", "connection_lost", "technical_failure", "left_before_choosing"
]
if set(get_args(SessionOutcome)) != {*OUTCOMES, "left_before_choosing"}:  # pragma: no cover
    raise ImportError("kiosk_link.SessionOutcome has drifted from provisioning.stats_model.OUTCOMES")
if set(get_args(Device)) != set(DEVICES) or set(get_args(Language)) != set(LANGUAGES):  # pragma: no cover
    raise ImportError("kiosk_link has drifted from provisioning.stats_model")
_Seconds = Annotated[float, Field(ge=0, le=MAX_SESSION_S, allow_inf_nan=False)]
_Figure = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Docs = Annotated[int, Field(ge=0, le=100)]
"""Documents one session scanned or printed: a session is one visit, not a batch."""
_Pages = Annotated[int, Field(ge=0, le=10_000)]


class SessionQuality(_Msg):
    """The call's quality summary (medians over the call; :class:`kiosk.stats.CallSummary`)."""

    bitrate_kbps: _Figure = Field(le=1_000_000)
    fps: _Figure = Field(le=1000)
    loss_pct: _Figure = Field(le=100)
    rtt_ms: _Figure = Field(le=600_000)


class SessionUsage(_Msg):
    """What the session used (:class:`kiosk.session.Usage`): yes/no and counts only."""

    language: Language | None = None
    identify_asked: bool = False
    identify_succeeded: bool = False
    identify_failed: bool = False
    scans: _Docs = 0
    scan_pages: _Pages = 0
    prints: _Docs = 0
    print_pages: _Pages = 0
    interpreter_joined: bool = False
    text_used: bool = False
    speech_used: bool = False
    large_text_used: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.scans > self.scan_pages or self.prints > self.print_pages:
            raise ValueError("a scanned or printed document has at least one page")
        if (self.identify_succeeded or self.identify_failed) and not self.identify_asked:
            raise ValueError("identification succeeded or failed without being asked")
        if self.identify_succeeded and self.identify_failed:
            raise ValueError("identification both succeeded and failed")
        return self


class SessionReport(_Msg):
    """The statistics report of one finished session (a :class:`kiosk.session.Session`'s visit; see the module
    docstring)."""

    op: Literal["session"]
    day: dt.date
    """The host's day the session started on."""
    hour: int = Field(ge=0, le=23)
    """The host's hour it started in (only ever added to the day's hour histogram)."""
    outcome: SessionOutcome
    producer: str | None = Field(None, pattern=ID_PATTERN)
    queue: str | None = Field(None, pattern=ID_PATTERN)
    wait_s: _Seconds | None = None
    duration_s: _Seconds | None = None
    rating: int | None = Field(None, ge=1, le=5)
    """The customer's satisfaction (1–5), or ``None`` if they skipped the survey."""
    quality: SessionQuality | None = None
    usage: SessionUsage = SessionUsage()

    @model_validator(mode="after")
    def _agrees_with_outcome(self) -> Self:
        chose = self.outcome != "left_before_choosing"
        served = self.outcome == "served"
        if chose != (self.producer is not None and self.queue is not None and self.wait_s is not None):
            raise ValueError("producer, queue and wait_s are given exactly when a producer was chosen")
        if served != (self.duration_s is not None):
            raise ValueError("duration_s is given exactly for a served session")
        if not served and (self.rating is not None or self.quality is not None):
            raise ValueError("only a served session has a rating or a quality summary")
        u = self.usage
        if not chose and (u.identify_asked or u.text_used):
            raise ValueError("identification and real-time text happen in a call, after choosing a producer")
        if not served and (u.interpreter_joined or u.scans or u.prints):
            raise ValueError("interpreters, scans and prints happen in a call (a served session)")
        return self


class Fault(_Msg):
    op: Literal["fault"]
    day: dt.date
    """The host's day the fault began on."""
    device: Device
    reason: str = Field(pattern=CODE_PATTERN)


class Minutes(_Msg):
    op: Literal["minutes"]
    day: dt.date
    open: int = Field(0, ge=0, le=MAX_DAY_MINUTES)
    out_of_service: int = Field(0, ge=0, le=MAX_DAY_MINUTES)
    offline: int = Field(0, ge=0, le=MAX_DAY_MINUTES)


class StaffPin(_Msg):
    op: Literal["staff_pin"]
    failures: int = Field(ge=0, le=10_000_000)
    lockouts: int = Field(ge=0, le=1_000_000)
    locked_until: dt.datetime | None = None


class Result(_Msg):
    op: Literal["result"]
    id: str = Field(max_length=64)
    ok: bool
    detail: str = Field("", max_length=200_000)


class Help(_Msg):
    op: Literal["help"]


class Ask(_Msg):
    op: Literal["ask"]


_ServiceText = Annotated[str, Field(min_length=1, max_length=300)]
ServiceBy = Literal["staff", "ops", "host"]


class Service(_Msg):
    """The point's out-of-service state: set or cleared (kiosk → agent), or as the agent holds it."""

    op: Literal["service"]
    on: bool
    message: dict[Language, _ServiceText] | _ServiceText | None = None
    """What the out-of-service screen says: the three languages (ops), or the staff's own words."""
    by: ServiceBy | None = None
    since: dt.datetime | None = None


class AlertAck(_Msg):
    """The notifier accepted an alert of this kind (and device): the customer may be told the staff know."""

    op: Literal["alert_ack"]
    kind: Literal["help", "device", "crash_loop"]
    device: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")


class Reload(_Msg):
    op: Literal["reload"]
    version: int = Field(ge=0)
    path: str


class Command(_Msg):
    op: Literal["command"]
    id: str = Field(max_length=64)
    name: CommandName
    args: dict[str, Any] = Field(default_factory=dict)


class Error(_Msg):
    op: Literal["error"]
    reason: str


FromKiosk = Annotated[
    Hello | Health | ReloadWaits | SessionReport | Fault | Minutes | StaffPin | Result | Help | Service | Ask,
    Field(discriminator="op"),
]
ToKiosk = Annotated[Reload | Command | Error | Service | AlertAck, Field(discriminator="op")]
_from_kiosk: TypeAdapter[FromKiosk] = TypeAdapter(FromKiosk)
_to_kiosk: TypeAdapter[ToKiosk] = TypeAdapter(ToKiosk)


def encode(message: _Msg) -> bytes:
    return message.model_dump_json(exclude_none=False).encode() + b"\n"


def _decode(adapter: TypeAdapter[Any], line: bytes) -> Any:
    try:
        return adapter.validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"invalid message ({where}: {first['msg']})") from None


def _is_ask(line: bytes) -> bool:
    try:
        return isinstance(_decode(_from_kiosk, line), Ask)
    except ValueError:
        return False


VERSION_HEADER = "# etapiste-config-version:"


def read_config_version(path: str | Path) -> int:
    """The bundle version written in a configuration file's first line by the agent (0 if none)."""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except OSError:
        return 0
    if first.startswith(VERSION_HEADER):
        with contextlib.suppress(ValueError):
            return int(first[len(VERSION_HEADER) :].split()[0])
    return 0


# --------------------------------------------------------------------------------------------- agent side


@dataclass
class KioskView:
    """What the agent knows of the kiosk right now."""

    connected: bool = False
    software: str | None = None
    version: int = 0
    healthy: bool | None = None
    devices: dict[str, DeviceHealthReport] = field(default_factory=dict)
    error: str | None = None
    staff_pin: StaffPin | None = None
    """The staff PIN's wrong tries and lockout, as the kiosk last reported them."""
    timezone: str | None = None
    """The host's time zone the kiosk counts its statistics' days in (from its hello)."""
    reload_waits: int | None = None
    """The configuration version this kiosk process restarts on once its customer has left (``reload_waits``)."""


class KioskLinkServer:
    """The agent's end: listens on the socket, tracks the kiosk's health, sends reloads and commands.

    ``on_session`` / ``on_fault`` / ``on_minutes`` receive statistics; ``on_change`` is called whenever
    the kiosk's connection or health changes (the agent then re-reports its state).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        on_session: Callable[[SessionReport], None] | None = None,
        on_fault: Callable[[Fault], None] | None = None,
        on_minutes: Callable[[Minutes], None] | None = None,
        on_change: Callable[[], None] | None = None,
        on_help: Callable[[], None] | None = None,
        on_service: Callable[[Service], None] | None = None,
        service_state: Callable[[], Service] | None = None,
    ):
        self.path = Path(path)
        self.view = KioskView()
        self._on_help = on_help
        self._on_service = on_service
        self._service_state = service_state
        self._on_session = on_session
        self._on_fault = on_fault
        self._on_minutes = on_minutes
        self._on_change = on_change
        self._server: asyncio.AbstractServer | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._changed = asyncio.Condition()
        self._results: dict[str, asyncio.Future[Result]] = {}
        self._ids = itertools.count(1)
        self.connections = 0
        """How many times a kiosk has connected (a restart shows as a new connection)."""

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE)
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
        if self._on_change is not None:
            self._on_change()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.readline()
        except (ValueError, ConnectionError):
            writer.close()
            return
        if _is_ask(first):
            # A kiosk about to show its first frame asks whether the point is out of service; not a connection.
            with contextlib.suppress(ConnectionError):
                if self._service_state is not None:
                    await self._send(self._service_state(), writer)
            writer.close()
            return
        if self._writer is not None:  # a newer kiosk process replaces an older connection
            self._writer.close()
        self._writer = writer
        self.view = KioskView(connected=True)
        self.connections += 1
        await self._notify()
        first_line: bytes | None = first  # read above, to tell an ``ask`` from a kiosk's hello
        try:
            while True:
                try:
                    line, first_line = first_line if first_line is not None else await reader.readline(), None
                except ValueError:  # longer than MAX_LINE
                    await self._send(Error(op="error", reason=f"line longer than {MAX_LINE} bytes"), writer)
                    break
                if not line:
                    break
                try:
                    msg = _decode(_from_kiosk, line)
                except ValueError as exc:
                    log.warning("kiosk link: %s", exc)
                    await self._send(Error(op="error", reason=str(exc)), writer)
                    continue
                await self._handle(msg)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if self._writer is writer:
                self._writer = None
                self.view = KioskView(connected=False, software=self.view.software, version=self.view.version,
                                      staff_pin=self.view.staff_pin, timezone=self.view.timezone)  # fmt: skip
                for fut in self._results.values():
                    if not fut.done():
                        fut.set_exception(ConnectionError("the kiosk disconnected"))
                await self._notify()
            writer.close()

    async def _handle(self, msg: Any) -> None:
        if isinstance(msg, Hello):
            self.view.software, self.view.version = msg.software, msg.version
            self.view.timezone = msg.timezone or self.view.timezone
            if self._service_state is not None:  # the kiosk learns what the agent holds (after either restarted)
                with contextlib.suppress(ConnectionError):
                    await self._send(self._service_state())
        elif isinstance(msg, Help):
            if self._on_help is not None:
                self._on_help()
            return
        elif isinstance(msg, Service):
            if self._on_service is not None:
                self._on_service(msg)
            return
        elif isinstance(msg, Ask):
            return
        elif isinstance(msg, ReloadWaits):
            self.view.reload_waits = msg.version
        elif isinstance(msg, Health):
            self.view.version = msg.version
            self.view.healthy = msg.healthy
            self.view.devices = dict(msg.devices)
            self.view.error = scrub(msg.error) if msg.error else None
        elif isinstance(msg, SessionReport):
            if self._on_session is not None:
                self._on_session(msg)
            return
        elif isinstance(msg, Fault):
            if self._on_fault is not None:
                self._on_fault(msg)
            return
        elif isinstance(msg, Minutes):
            if self._on_minutes is not None:
                self._on_minutes(msg)
            return
        elif isinstance(msg, StaffPin):
            before = self.view.staff_pin
            self.view.staff_pin = msg
            if msg.lockouts and (before is None or msg.lockouts > before.lockouts):
                log.warning("staff PIN: %d wrong since the last right one; staff mode locked (lockout %d)",
                            msg.failures, msg.lockouts)  # fmt: skip
        elif isinstance(msg, Result):
            fut = self._results.get(msg.id)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        await self._notify()

    async def _send(self, message: _Msg, writer: asyncio.StreamWriter | None = None) -> None:
        writer = writer or self._writer
        if writer is None:
            raise ConnectionError("no kiosk is connected")
        writer.write(encode(message))
        await writer.drain()

    async def alert_acknowledged(self, kind: Literal["help", "device", "crash_loop"], device: str | None) -> None:
        """Tell the kiosk the notifier accepted an alert (dropped when no kiosk is connected: the customer who
        asked has gone with the kiosk, and an open fault's alert is acknowledged again on its next repeat)."""
        with contextlib.suppress(ConnectionError, OSError):
            await self._send(AlertAck(op="alert_ack", kind=kind, device=device))

    async def tell_service(self) -> None:
        """Send the kiosk the out-of-service state the agent holds (if a kiosk is connected)."""
        if self._service_state is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await self._send(self._service_state())

    async def reload(self, version: int, path: str | Path) -> None:
        """Tell the kiosk to load ``path`` (version ``version``); raises if no kiosk is connected."""
        self.view.healthy = None
        await self._send(Reload(op="reload", version=version, path=str(path)))

    async def wait_healthy(self, version: int, timeout: float, *, total: float | None = None) -> tuple[bool, str]:
        """Wait until the kiosk reports health for ``version``: ``(True, "")`` or ``(False, why)``.

        A kiosk that restarts and comes back running ``version`` counts; silence until ``timeout``
        is a failure (a kiosk that cannot start with a configuration never says so itself). A kiosk that
        says it waits for its customer to leave (``reload_waits``) is given the time of the visit, up to
        :data:`RELOAD_WAIT_CAP_S`, and then ``total`` again from the moment it stops waiting (it restarts).
        """

        total = timeout if total is None else total
        loop = asyncio.get_running_loop()
        deadline, cap = loop.time() + timeout, loop.time() + RELOAD_WAIT_CAP_S

        def settled() -> bool:
            return self.view.connected and self.view.version == version and self.view.healthy is not None

        def waits() -> bool:
            return self.view.connected and self.view.reload_waits == version

        while True:
            try:
                async with asyncio.timeout_at(deadline), self._changed:
                    await self._changed.wait_for(lambda: settled() or waits())
            except TimeoutError:
                if not self.view.connected:
                    return False, f"the kiosk was not running within {total:g} s"
                return False, f"the kiosk did not report health for version {version} within {total:g} s"
            if settled():
                break
            try:  # a customer is being served: the check starts when the kiosk stops waiting for them
                async with asyncio.timeout_at(cap), self._changed:
                    await self._changed.wait_for(lambda: settled() or not waits())
            except TimeoutError:
                return False, f"the kiosk was still serving a customer {RELOAD_WAIT_CAP_S / 3600:g} h after the reload"
            if settled():
                break
            deadline = loop.time() + total
        if self.view.healthy:
            return True, ""
        return False, f"the kiosk reported unhealthy: {self.view.error or 'no reason given'}"

    async def wait_connected(self, timeout: float, *, after: int = 0) -> bool:
        """Wait until a kiosk is connected (with ``after``: a connection newer than that count)."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.view.connected and self.connections > after)
        except TimeoutError:
            return False
        return True

    async def command(self, name: CommandName, args: dict[str, Any], timeout: float) -> Result:
        """Send a command to the kiosk and wait for its result (raises on no kiosk / timeout)."""
        cid = f"k{next(self._ids)}"
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._results[cid] = fut
        try:
            await self._send(Command(op="command", id=cid, name=name, args=args))
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            self._results.pop(cid, None)


# --------------------------------------------------------------------------------------------- kiosk side

#: How long the agent lets a kiosk that waits for its customer put off the restart on a new configuration: far
#: longer than any visit (the session's own limits end one long before), short of forever for a kiosk whose
#: session is stuck (then the configuration is rolled back and reported, as for a silent kiosk).
RELOAD_WAIT_CAP_S = 3 * 3600.0

ReloadHandler = Callable[[Reload], Awaitable[None]]
CommandHandler = Callable[[Command], Awaitable[tuple[bool, str]]]


class KioskLinkClient:
    """The kiosk's end. Wire it with a few lines::

        link = KioskLinkClient(socket_path, software=__version__, version=read_config_version(cfg),
                               on_reload=apply_new_config, on_command=run_command)
        asyncio.create_task(link.run())          # connects, reconnects, dispatches
        await link.health(version, healthy=True, devices={"printer": DeviceHealthReport(ok=True)})
        await link.session(SessionReport(op="session", day=day, hour=14, outcome="served", producer="kela", …))

    ``on_reload`` loads the new file and then calls :meth:`health`; ``on_command`` returns
    ``(ok, detail)``. While the agent is away, reports are dropped (health is re-sent on reconnect by
    the kiosk calling :meth:`health` from ``on_connect``); statistics (sessions, faults, minutes) are
    queued up to a bound and sent on reconnect.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        software: str,
        version: int,
        on_reload: ReloadHandler,
        on_command: CommandHandler,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        retry_s: float = 1.0,
        timezone: str | None = None,
        on_service: Callable[[Service], None] | None = None,
        on_alert_ack: Callable[[AlertAck], None] | None = None,
    ):
        self._on_service = on_service
        self._on_alert_ack = on_alert_ack
        self.path = Path(path)
        self.software = software
        self.version = version
        self.timezone = timezone
        self._on_reload = on_reload
        self._on_command = on_command
        self._on_connect = on_connect
        # Full jitter (etapiste.retry) capped at ``retry_s`` from the first attempt: one kiosk on a local
        # socket, so no growth is needed, and a restarted agent is reached within ``retry_s`` as before.
        self._backoff = Backoff(retry_s, retry_s)
        self._writer: asyncio.StreamWriter | None = None
        self._pending: list[_Msg] = []
        self._staff_pin: StaffPin | None = None
        self._background: set[asyncio.Task[None]] = set()
        """Sends and reloads under way, kept referenced until they end."""
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Stay connected to the agent until cancelled."""
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(str(self.path), limit=MAX_LINE)
            except OSError:
                await asyncio.sleep(next(self._backoff))
                continue
            self._backoff.reset()
            self._writer = writer
            try:
                await self._write(
                    Hello(op="hello", software=self.software, version=self.version, timezone=self.timezone)
                )
                for msg in self._pending:
                    await self._write(msg)
                self._pending.clear()
                if self._staff_pin is not None:  # a restarted agent learns the lockout again
                    await self._write(self._staff_pin)
                self.connected.set()
                if self._on_connect is not None:
                    await self._on_connect()
                await self._read(reader)
            except (ConnectionError, OSError):
                pass
            finally:
                self.connected.clear()
                self._writer = None
                writer.close()
            await asyncio.sleep(next(self._backoff))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            try:
                msg = _decode(_to_kiosk, line)
            except ValueError as exc:
                log.warning("agent link: %s", exc)
                continue
            if isinstance(msg, Reload):
                self.version = msg.version
                # Not awaited here: a kiosk serving a customer holds the reload until they leave, and meanwhile
                # the agent's commands and alert acknowledgements must still arrive (a help request answered).
                task = asyncio.ensure_future(self._on_reload(msg))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            elif isinstance(msg, Command):
                try:
                    ok, detail = await self._on_command(msg)
                except Exception as exc:  # a failing command is reported, never kills the link
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                await self._write(Result(op="result", id=msg.id, ok=ok, detail=detail[:200_000]))
            elif isinstance(msg, Service):
                if self._on_service is not None:
                    self._on_service(msg)
            elif isinstance(msg, AlertAck):
                if self._on_alert_ack is not None:
                    self._on_alert_ack(msg)
            elif isinstance(msg, Error):
                log.warning("agent refused a message: %s", msg.reason)

    async def _write(self, msg: _Msg) -> None:
        if self._writer is None:
            raise ConnectionError("not connected to the agent")
        self._writer.write(encode(msg))
        await self._writer.drain()

    async def _send_or_drop(self, msg: _Msg, *, queue: bool) -> None:
        try:
            await self._write(msg)
        except (ConnectionError, OSError):
            if queue and len(self._pending) < 1000:
                self._pending.append(msg)

    async def health(
        self,
        version: int,
        *,
        healthy: bool,
        devices: dict[str, DeviceHealthReport] | None = None,
        error: str | None = None,
    ) -> None:
        self.version = version
        msg = Health(op="health", version=version, healthy=healthy, devices=devices or {}, error=error)
        await self._send_or_drop(msg, queue=False)

    async def reload_waits(self, version: int) -> None:
        """The configuration ``version`` loaded; the kiosk restarts on it once its customer has left."""
        await self._send_or_drop(ReloadWaits(op="reload_waits", version=version), queue=False)

    async def session(self, msg: SessionReport) -> None:
        """One finished session's record (queued while the agent is away)."""
        await self._send_or_drop(msg, queue=True)

    async def fault(self, day: dt.date, device: Device, reason: str) -> None:
        """A device stopped working (its onset), on the host's ``day``."""
        await self._send_or_drop(Fault(op="fault", day=day, device=device, reason=reason), queue=True)

    async def minutes(self, day: dt.date, *, open: int = 0, out_of_service: int = 0, offline: int = 0) -> None:
        """Minutes of the host's opening hours just spent open, out of service or offline."""
        msg = Minutes(op="minutes", day=day, open=open, out_of_service=out_of_service, offline=offline)
        await self._send_or_drop(msg, queue=True)

    async def help(self) -> bool:
        """A customer asks for the staff's help: ``False`` if the agent is not there to pass it on (the
        customer is then told to ask at the desk; a help request is not worth queueing for later)."""
        try:
            await self._write(Help(op="help"))
        except (ConnectionError, OSError):
            return False
        return True

    async def service(self, on: bool, message: dict[Language, str] | str | None) -> bool:
        """Staff set (or cleared) out of service at the screen: the agent holds it. ``False`` if it is away."""
        try:
            await self._write(Service(op="service", on=on, message=message if on else None, by="staff"))
        except (ConnectionError, OSError):
            return False
        return True

    def staff_pin(self, failures: int, lockouts: int, locked_until: dt.datetime | None) -> None:
        """Report the staff PIN's lockout: sent now when connected, and again on every connect (so the
        agent knows it after either side restarted). May be called before the event loop runs."""
        self._staff_pin = StaffPin(op="staff_pin", failures=failures, lockouts=lockouts, locked_until=locked_until)
        if self._writer is not None:
            task = asyncio.ensure_future(self._send_or_drop(self._staff_pin, queue=False))
            self._background.add(task)
            task.add_done_callback(self._background.discard)


def ask_service(path: str | Path, timeout: float = 1.5) -> Service | None:
    """Ask the agent, before the kiosk's first frame, whether the point is out of service (blocking, bounded
    by ``timeout``): ``None`` when no agent answers (a development run, an agent not started yet — the
    kiosk then learns it after connecting)."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(encode(Ask(op="ask")))
            data = b""
            while not data.endswith(b"\n") and len(data) < MAX_LINE:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    try:
        msg = _decode(_to_kiosk, data)
    except ValueError:
        return None
    return msg if isinstance(msg, Service) else None
