"""The provisioning agent of one point: MQTT on one side, the kiosk on the other.

It keeps one persistent MQTT session (clean_session false, QoS 1, client id = username = point id)
so commands published while the point was offline are delivered when it returns, and a retained
``online`` flag whose last will turns it ``false`` when the point vanishes. It applies bundles one at a
time — a newer bundle arriving during an apply waits, and only the newest waiting one is applied —
and reports its state after every change. The kiosk is reached only through
:mod:`provisioning.kiosk_link`; this module never imports the kiosk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import json
import logging
import shlex
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from etapiste import __version__
from etapiste.config.loader import ConfigError
from etapiste.config.point import PointConfig, load_point_config
from etapiste.hours import Schedule
from etapiste.retry import Backoff
from provisioning import broker
from provisioning.alerts import Alert, AlertAck, AlertBook
from provisioning.apply import Applier, Outcome
from provisioning.command import CommandRejected, RemoteCommand, SeenCommands, verify_command
from provisioning.kiosk_link import Fault, KioskLinkServer, Minutes, Service, SessionReport
from provisioning.nightly import NightlyRestart, point_jitter
from provisioning.out_of_service import OutOfServiceStore
from provisioning.privacy import scrub
from provisioning.statistics import Statistics
from provisioning.update import SoftwareUpdater

log = logging.getLogger("etapiste.agent")

SOFTWARE_VERSION = __version__


#: Minutes alone (the kiosk adds one every minute of opening hours) republish the statistics at most this
#: often; a session or a fault republishes them with the next report. The document is the last 35 days
#: (a few hundred KiB at the end of a busy month): not something to send every minute from every point.
STATS_MINUTES_EVERY_S = 900.0

#: Broker reconnect delays: full jitter (etapiste.retry) under a ceiling doubling from 0.5 s to 30 s. A broker
#: restart has the whole fleet reconnecting at once; the jitter spreads the points out.
BROKER_RETRY_BASE_S = 0.5
BROKER_RETRY_CAP_S = 30.0

#: Alerts waiting for the broker (published in order on reconnect); beyond this the oldest go.
MAX_PENDING_ALERTS = 100

#: The largest acknowledgement published (diagnostics are cut to fit): well under the broker's packet limit.
MAX_ACK_BYTES = 256 * 1024


class RingLog(logging.Handler):
    """The agent's recent log lines, for the ``diagnostics`` command (the agent logs no personal data)."""

    def __init__(self, size: int = 500):
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


@dataclass
class AgentSettings:
    point: str
    state_dir: Path
    host: str
    port: int
    password: str
    kiosk_socket: Path
    tls: ssl.SSLContext | None = None
    health_timeout: float = 60.0
    command_timeout: float = 30.0
    state_interval: float = 60.0
    reboot_cmd: str = "systemctl reboot"
    restart_kiosk_cmd: str | None = None
    crash_at: str | None = None
    keepalive: int = 30
    run_dir: Path | None = None
    """/run/etapiste on a point: software update requests and the root helper's status
    (provisioning/update.py); ``None``: this agent does not update software."""
    ring: RingLog = field(default_factory=RingLog)
    crash_restarts: int = 5
    """Kiosk starts within ``crash_window_s`` that make a crash-loop alert."""
    crash_window_s: float = 600.0


class Agent:
    def __init__(self, settings: AgentSettings):
        broker.check_point_id(settings.point)
        broker.check_transport(settings.host, settings.tls)
        self.s = settings
        self.started = time.monotonic()
        self.stats = Statistics(settings.state_dir / "stats.json", point=settings.point)
        self.service = OutOfServiceStore(settings.state_dir)
        self.alerts = AlertBook(settings.point, crash_restarts=settings.crash_restarts,
                                crash_window_s=settings.crash_window_s)  # fmt: skip
        self._alerts_out: collections.deque[Alert] = collections.deque(maxlen=MAX_PENDING_ALERTS)
        self._alerts_ready = asyncio.Event()
        self._kiosk_starts_seen = 0
        self.kiosk = KioskLinkServer(
            settings.kiosk_socket, on_session=self._session, on_fault=self._fault, on_minutes=self._minutes,
            on_change=self._changed, on_help=self._help, on_service=self._service_from_kiosk,
            service_state=lambda: self.service.current,
        )  # fmt: skip
        self.applier = Applier(
            settings.state_dir, settings.point, self.kiosk,
            health_timeout=settings.health_timeout, crash_at=settings.crash_at,
        )  # fmt: skip
        self.updater = (
            SoftwareUpdater(settings.state_dir, settings.run_dir, SOFTWARE_VERSION) if settings.run_dir else None
        )
        self.last_error: str | None = None
        self._client: aiomqtt.Client | None = None
        self._dirty = asyncio.Event()
        self._stats_dirty = asyncio.Event()
        self._minutes_pending = False
        self._stats_published_at = 0.0
        self._desired: bytes | None = None
        self._desired_ready = asyncio.Event()
        self._seen_commands: SeenCommands | None = None
        """Ids of the commands that reached this point (replay protection), loaded when the agent runs."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.nightly = NightlyRestart(
            self._host_hours, self._restart_nightly, clock=self._host_now,
            sessions_by_hour=self._sessions_by_hour, jitter=point_jitter(settings.point),
        )  # fmt: skip
        """The kiosk's restart once a night while the host is closed (provisioning/nightly.py)."""

    # ---- kiosk callbacks
    def _changed(self) -> None:
        self.stats.set_timezone(self.kiosk.view.timezone)  # the host's days, as the kiosk counts them
        v = self.kiosk.view
        if self.kiosk.connections > self._kiosk_starts_seen:  # a kiosk (re)started: a crash loop?
            self._kiosk_starts_seen = self.kiosk.connections
            self._raise(self.alerts.kiosk_started())
        if v.connected and v.devices:
            for alert in self.alerts.devices({n: (d.ok, d.code) for n, d in v.devices.items()}):
                self._raise(alert)
        self._dirty.set()

    # ---- alerts (provisioning/alerts.py): published on point/<id>/alert, acknowledged by the notifier
    def _raise(self, alert: Alert | None) -> None:
        if alert is None:
            return
        log.info("alert %s: %s %s %s %s", alert.id, alert.kind, alert.state, alert.device or "-", alert.code or "-")
        self._alerts_out.append(alert)
        self._alerts_ready.set()

    def _help(self) -> None:
        self._raise(self.alerts.help())

    async def _alert_sender(self) -> None:
        """Publish raised alerts in order while connected; what the broker did not take waits for the next
        connection (an alert raised while the broker was away still goes out)."""
        while True:
            await self._alerts_ready.wait()
            self._alerts_ready.clear()
            while self._alerts_out and self._client is not None:
                alert = self._alerts_out[0]
                try:
                    await self._client.publish(
                        broker.topic(self.s.point, "alert"), alert.model_dump_json().encode(), qos=1
                    )
                except aiomqtt.MqttError as exc:
                    log.warning("could not publish alert %s: %s", alert.id, exc)
                    break
                self._alerts_out.popleft()

    async def _alert_acknowledged(self, payload: bytes) -> None:
        try:
            ack = AlertAck.model_validate_json(payload)
        except ValueError:
            log.warning("malformed alert acknowledgement ignored")
            return
        alert = self.alerts.acknowledged(ack.id)
        if alert is None or alert.state != "open" or alert.kind == "offline":
            return
        log.info("alert %s accepted by the notifier", alert.id)
        await self.kiosk.alert_acknowledged(alert.kind, alert.device)

    # ---- out of service, held in the state directory (provisioning/out_of_service.py)
    def _service_from_kiosk(self, msg: Service) -> None:
        if (msg.on, msg.message) == (self.service.current.on, self.service.current.message):
            return
        try:
            self.service.set(msg.on, scrub(msg.message) if isinstance(msg.message, str) else msg.message, "staff")
        except OSError as exc:
            log.error("out-of-service state not written: %s", exc.strerror)
        log.info("staff at the screen: %s", "out of service" if msg.on else "back in service")
        self._dirty.set()

    # Statistics (provisioning/statistics.py): each change is saved at once and republished, retained,
    # with the next report (debounced with the state's).
    def _session(self, s: SessionReport) -> None:
        if self.stats.add_session(s):
            self._stats_dirty.set()
            self._dirty.set()

    def _fault(self, f: Fault) -> None:
        if self.stats.add_fault(f):
            self._stats_dirty.set()
            self._dirty.set()

    def _minutes(self, m: Minutes) -> None:
        if self.stats.add_minutes(m):
            self._minutes_pending = True  # published with the next session or fault, or within 15 minutes

    # ---- state
    def state(self) -> dict[str, Any]:
        v = self.kiosk.view
        last: Outcome | None = self.applier.last
        return {
            "point": self.s.point,
            "software": SOFTWARE_VERSION,
            "uptime_s": round(time.monotonic() - self.started),
            "applied_version": self.applier.applied_version,
            "applied_expires": self.applier.applied_expires,
            "last_result": last.to_json() if last else None,
            "last_error": self.last_error,
            "out_of_service": self.service.report(),
            "open_alerts": sorted(self.alerts.open),
            "kiosk": {
                "connected": v.connected,
                "software": v.software,
                "version": v.version,
                "healthy": v.healthy,
                "devices": {k: d.model_dump() for k, d in v.devices.items()},
                "error": v.error,
            },
            "staff_pin": self._staff_pin_state(),
            "software_update": self.updater.state(self.applier.config_path) if self.updater else None,
            "reported_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _staff_pin_state(self) -> dict[str, Any] | None:
        """Wrong staff PINs and lockouts as the kiosk reported them: repeated failures are someone guessing
        (or staff who forgot the PIN), and either way ops should know (``etapiste ops status`` shows it)."""
        p = self.kiosk.view.staff_pin
        if p is None:
            return None
        until = p.locked_until.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if p.locked_until else None
        return {"failures": p.failures, "lockouts": p.lockouts, "locked_until": until}

    async def _publish(self, kind: str, payload: Any, *, retain: bool) -> None:
        if self._client is None:
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        try:
            await self._client.publish(broker.topic(self.s.point, kind), data, qos=1, retain=retain)
        except aiomqtt.MqttError as exc:  # the reconnect loop notices; state is re-sent on reconnect
            log.warning("could not publish %s: %s", kind, exc)

    # ---- main loop
    # ---- the nightly restart, from the host's hours in the applied configuration
    def _host_config(self) -> PointConfig | None:
        try:
            return load_point_config(self.applier.config_path) if self.applier.config_path.exists() else None
        except (ConfigError, OSError):
            return None

    def _host_hours(self) -> Schedule | None:
        config = self._host_config()
        return config.host.opening_hours if config else None

    def _host_now(self) -> dt.datetime:
        config = self._host_config()
        zone = config.host.zone if config else dt.UTC
        return dt.datetime.now(zone).replace(tzinfo=None)

    def _sessions_by_hour(self) -> list[int]:
        """Sessions started per hour of the host's day, over the days the statistics hold."""
        totals = [0] * 24
        for day in self.stats.days.values():
            for hour, n in enumerate(day.get("hours", [])[:24]):
                totals[hour] += int(n)
        return totals

    async def _restart_nightly(self) -> None:
        """Ask the kiosk to restart: it does once no customer is served. Without a kiosk on the link (hung or
        not started), the unit's restart request instead, if this point has one."""
        if self.kiosk.view.connected:
            result = await self.kiosk.command("restart", {}, self.s.command_timeout)
            log.info("nightly restart: %s", result.detail)
        elif self.s.restart_kiosk_cmd:
            ok, detail = await self._shell(self.s.restart_kiosk_cmd)
            log.info("nightly restart without a kiosk on the link: %s", "requested" if ok else detail)

    async def run(self) -> None:
        """Run until cancelled: the kiosk link, recovery, then MQTT with reconnects."""
        self.s.state_dir.mkdir(parents=True, exist_ok=True)
        self._seen_commands = SeenCommands(self.s.state_dir / "commands.json")
        await self.kiosk.start()
        try:
            outcome = await self.applier.recover()
            if outcome is not None:
                self.last_error = outcome.reason
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._apply_loop())
                tg.create_task(self._mqtt_loop())
                tg.create_task(self.nightly.run())
                if self.updater is not None:
                    tg.create_task(self._update_loop())
        finally:
            await self.kiosk.close()

    async def _mqtt_loop(self) -> None:
        backoff = Backoff(BROKER_RETRY_BASE_S, BROKER_RETRY_CAP_S)
        while True:
            client = aiomqtt.Client(
                self.s.host,
                self.s.port,
                username=self.s.point,
                password=self.s.password,
                identifier=self.s.point,
                clean_session=False,
                keepalive=self.s.keepalive,
                tls_context=self.s.tls,
                will=aiomqtt.Will(broker.topic(self.s.point, "online"), b"false", qos=1, retain=True),
            )
            try:
                async with client:
                    self._client = client
                    backoff.reset()
                    if self.last_error and self.last_error.startswith("broker:"):
                        self.last_error = None
                    log.info("connected to the broker %s:%s", self.s.host, self.s.port)
                    await client.subscribe(broker.topic(self.s.point, "desired"), qos=1)
                    await client.subscribe(broker.topic(self.s.point, "command"), qos=1)
                    await client.subscribe(broker.topic(self.s.point, "alert_ack"), qos=1)
                    await self._publish("online", b"true", retain=True)
                    self._dirty.set()
                    self._stats_dirty.set()
                    reporter = asyncio.create_task(self._report_loop())
                    sender = asyncio.create_task(self._alert_sender())
                    self._alerts_ready.set()
                    try:
                        async for message in client.messages:
                            self._on_message(message)
                    except asyncio.CancelledError:
                        # A clean stop sends DISCONNECT, which suppresses the last will: say it ourselves.
                        with contextlib.suppress(Exception):
                            async with asyncio.timeout(2):
                                await self._publish("online", b"false", retain=True)
                        raise
                    finally:
                        reporter.cancel()
                        sender.cancel()
            except aiomqtt.MqttError as exc:
                self.last_error = f"broker: {exc}"
                delay = next(backoff)
                log.warning("broker connection lost (%s); retrying in %.1f s", exc, delay)
            else:
                delay = next(backoff)
            finally:
                self._client = None
            await asyncio.sleep(delay)

    def _on_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        if message.topic.matches(broker.topic(self.s.point, "desired")):
            if payload:
                self._desired = payload
                self._desired_ready.set()
        elif message.topic.matches(broker.topic(self.s.point, "command")):
            task = asyncio.create_task(self._command(payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif message.topic.matches(broker.topic(self.s.point, "alert_ack")):
            task = asyncio.create_task(self._alert_acknowledged(payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _report_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.s.state_interval):
                    await self._dirty.wait()
            await asyncio.sleep(0.05)  # coalesce bursts of kiosk changes into one report
            self._dirty.clear()
            self._raise(self.alerts.tick(self.kiosk.view.connected))
            await self._publish("state", self.state(), retain=True)
            quiet = time.monotonic() - self._stats_published_at
            if self._stats_dirty.is_set() or (self._minutes_pending and quiet >= STATS_MINUTES_EVERY_S):
                self._stats_dirty.clear()
                self._minutes_pending = False
                self._stats_published_at = time.monotonic()
                try:
                    payload = self.stats.to_payload()
                except ValueError as exc:  # each change is checked against the contract: a bug if reached
                    log.error("statistics not published: %s", str(exc)[:300])
                else:
                    await self._publish("stats", payload, retain=True)

    async def _update_loop(self) -> None:
        """Software updates: request one in the maintenance window, give the root helper its verdict."""
        assert self.updater is not None
        last: dict[str, Any] | None = None
        while True:
            try:
                self.updater.tick(self.applier.config_path, self.kiosk.view)
                now = self.updater.state(self.applier.config_path)
            except (OSError, ValueError) as exc:  # a damaged status file must not stop the agent
                log.warning("software update: %s", exc)
                now = None
            if now != last:
                last = now
                self._dirty.set()
            await asyncio.sleep(2.0)

    async def _apply_loop(self) -> None:
        while True:
            await self._desired_ready.wait()
            self._desired_ready.clear()
            payload, self._desired = self._desired, None
            if payload is None:
                continue
            try:
                outcome = await self.applier.offer(payload)
            except Exception as exc:  # a full disk or a damaged state file must not stop the agent
                log.exception("applying a bundle failed")
                self.last_error = f"apply failed: {type(exc).__name__}: {exc}"
                with contextlib.suppress(Exception):
                    await self.applier.recover()
                self._dirty.set()
                continue
            if outcome.status in ("rejected", "rolled_back"):
                self.last_error = f"bundle {outcome.version}: {outcome.reason}"
            elif outcome.status == "applied":
                self.last_error = None
            self._dirty.set()

    # ---- commands
    def _verified(self, payload: bytes) -> RemoteCommand:
        """The command in ``payload`` if it is signed for this point, current and new; it is recorded as
        seen before it runs (see :class:`provisioning.command.SeenCommands`)."""
        try:
            trust = self.applier.trust
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandRejected(
                "trust_store", f"the point's trust store cannot be read ({exc}); no command can be verified"
            ) from None
        cmd = verify_command(payload, point=self.s.point, trust=trust)
        if self._seen_commands is None:
            self._seen_commands = SeenCommands(self.s.state_dir / "commands.json")
        self._seen_commands.claim(cmd)
        return cmd

    async def _command(self, payload: bytes) -> None:
        try:
            cmd = self._verified(payload)
        except CommandRejected as exc:
            log.warning("command %s refused (%s): %s", exc.id or "?", exc.code, exc)
            await self._ack(exc.id, exc.name, False, str(exc), code=exc.code)
            return
        except OSError as exc:  # the seen-store could not be written: do not run what might run twice
            log.error("command refused: cannot record it (%s)", exc)
            await self._ack(None, None, False, f"the point cannot record the command ({exc.strerror})", code="state")
            return
        log.info("command %s: %s", cmd.id, cmd.name)
        if cmd.name == "out_of_service":
            ok, detail = await self._out_of_service(cmd)
            await self._ack(cmd.id, cmd.name, ok, detail)
            return
        if cmd.name == "test_print" and not await self.kiosk.wait_connected(self.s.command_timeout):
            # Commands queued while the point was offline arrive at once; the kiosk may still be starting.
            wait = self.s.command_timeout
            await self._ack(cmd.id, cmd.name, False, f"no kiosk is connected (waited {wait:g} s)")
            return
        try:
            ok, detail = await self._run(cmd)
        except (ConnectionError, TimeoutError) as exc:
            ok, detail = False, f"the kiosk did not answer: {exc or type(exc).__name__}"
        await self._ack(cmd.id, cmd.name, ok, detail)
        if ok and cmd.name == "reboot":
            await self._shell(self.s.reboot_cmd)

    async def _out_of_service(self, cmd: RemoteCommand) -> tuple[bool, str]:
        """Ops set or cleared out of service: held first (it lasts whatever the kiosk does), then the kiosk
        is told if it comes within the command timeout; otherwise it is told when it starts."""
        on = bool(cmd.args.get("on", True))  # the arguments were checked with the signature (verify_command)
        message = cmd.args.get("message")
        try:
            self.service.set(on, message, "ops")
        except OSError as exc:
            return False, f"the point cannot hold the state ({exc.strerror})"
        self._dirty.set()
        if not await self.kiosk.wait_connected(self.s.command_timeout):
            return True, "held by the agent; the kiosk shows it from its start (no kiosk is connected now)"
        try:
            result = await self.kiosk.command("out_of_service", {"on": on, "message": message if on else None},
                                              self.s.command_timeout)  # fmt: skip
        except (ConnectionError, TimeoutError) as exc:
            return True, f"held by the agent; the kiosk did not answer now ({exc or type(exc).__name__})"
        return result.ok, result.detail

    async def _ack(self, cid: str | None, name: str | None, ok: bool, detail: str, *, code: str | None = None) -> None:
        """Tell ops what became of a command: ``code`` says why one was refused (``None`` when it ran)."""
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"id": cid, "name": name, "ok": ok, "code": code, "detail": scrub(detail), "at": at}
        data = json.dumps(body, ensure_ascii=False).encode()
        while len(data) > MAX_ACK_BYTES:  # keep the end of a long diagnostics text; stay under the broker's limit
            body["detail"] = "…" + str(body["detail"])[-(len(str(body["detail"])) * 3 // 4):]
            data = json.dumps(body, ensure_ascii=False).encode()
        await self._publish("ack", data, retain=False)

    async def _shell(self, command: str) -> tuple[bool, str]:
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            async with asyncio.timeout(self.s.command_timeout):
                out, _ = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False, f"{command!r} did not finish within {self.s.command_timeout:g} s"
        text = out.decode(errors="replace")[-2000:]
        return proc.returncode == 0, f"exit {proc.returncode}: {text}".strip()

    async def _run(self, cmd: RemoteCommand) -> tuple[bool, str]:
        t = self.s.command_timeout
        if cmd.name == "reboot":
            return True, f"rebooting ({self.s.reboot_cmd})"
        if cmd.name == "restart":
            before = self.kiosk.connections
            if self.s.restart_kiosk_cmd:
                ok, detail = await self._shell(self.s.restart_kiosk_cmd)
                if not ok:
                    return ok, detail
            else:
                result = await self.kiosk.command("restart", {}, t)
                if not result.ok:
                    return False, result.detail
            if await self.kiosk.wait_connected(t, after=before):
                return True, "the kiosk restarted and is connected"
            return False, f"the kiosk did not come back within {t:g} s"
        if cmd.name == "test_print":
            result = await self.kiosk.command("test_print", {}, t)
            return result.ok, result.detail
        # diagnostics: the agent's recent log, its state, and what the kiosk adds — all scrubbed.
        parts = ["== agent state ==", json.dumps(self.state(), indent=1), "== agent log ==", *self.s.ring.lines]
        try:
            result = await self.kiosk.command("diagnostics", {}, t)
            parts += ["== kiosk ==", result.detail]
        except (ConnectionError, TimeoutError):
            parts += ["== kiosk ==", "(the kiosk did not answer)"]
        return True, scrub("\n".join(parts))[-150_000:]
