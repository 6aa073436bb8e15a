"""The kiosk's side of the link to the provisioning agent (:mod:`provisioning.kiosk_link`).

What goes over it, and why it is done this way:

- **Health**: after start and whenever it changes, the configuration version the kiosk runs, whether that
  configuration works (it loaded and the switchboard accepted the point) and each device's state. A
  device fault (paper out) is reported per device and does not make a configuration unhealthy.
- **Reload**: the agent has written a new configuration. The kiosk validates it first (a broken file is
  reported as unhealthy and the kiosk keeps running on the old one), waits until no customer is being
  served, and then **re-executes itself** on the new file. A fresh process is the one way to be sure
  nothing of the old configuration lingers (producers, queues, devices, the call engine's credential);
  the new process reports its health for the new version, which is what the agent waits for.
- **Commands**: out of service on/off with a message in three languages, test print, diagnostics (device
  states only, no personal data), restart (re-execute once no customer is served).
- **Out of service lasts**: the agent holds it (``provisioning/out_of_service.py``). Before the first frame
  the kiosk asks the agent (:func:`provisioning.kiosk_link.ask_service`, bounded), so a room staff closed
  shows the out-of-service screen from its first frame after any restart; after every connect the agent
  tells it again; staff setting or clearing it at the screen tell the agent, which writes it down.
- **Help and alerts**: the customer's "ask for help" goes to the agent as ``help``; the agent raises an
  alert, and only when the organiser's notifier accepted it (``alert_ack``) does the screen say the staff
  know (``Snapshot.help_request``); without an answer within :data:`HELP_ANSWER_S` the customer is told to
  ask the staff. Device faults reach the agent with their codes in the health report and become alerts
  there; an acknowledged one is noted in ``Snapshot.staff_told``.
- **Statistics** (docs/statistics.md, "How the point counts"): each finished session as the anonymous
  record the session state machine makes (its outcome, the host day and hour it started, waits, usage and
  the call's quality summary); each device fault's onset, seen in device health (a device that was ``ok``
  and no longer is), with the device's own code; and every minute of the host's opening hours, whether the
  point was open, out of service or without the switchboard. Days and hours are the host's
  (``host.timezone``, through the session's clock), never the machine's. The agent adds them up; nothing
  of a session is kept here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from etapiste import __version__
from etapiste.codes import DeviceFaultCode
from etapiste.config.loader import ConfigError
from etapiste.config.point import load_point_config
from etapiste.language import Language, Text
from kiosk import opening
from kiosk.health import DeviceHealth, HealthMonitor, Report
from kiosk.session import CUSTOMER_STATES, Session, SessionRecord, Snapshot
from provisioning.kiosk_link import (
    AlertAck,
    Command,
    DeviceHealthReport,
    KioskLinkClient,
    Reload,
    Service,
    SessionQuality,
    SessionReport,
    SessionUsage,
    ask_service,
    read_config_version,
)
from provisioning.stats_model import MAX_DAY_MINUTES, Device

log = logging.getLogger(__name__)

#: What the kiosk tells the agent in its hello: the agent checks an update by it (provisioning/update.py).
SOFTWARE = f"etapiste-kiosk {__version__}"

#: Device health entries whose faults the statistics count, by the contract's device names. The speaker
#: (speech output) is not one of the contract's devices; the switchboard link is the point's ``network``.
FAULT_DEVICES: dict[str, Device] = {
    "printer": "printer",
    "scanner": "scanner",
    "card_reader": "card_reader",
    "camera": "camera",
    "microphone": "microphone",
    "switchboard": "network",
}


#: Scanner faults seen only by a scan (not by the scanner's status afterwards): held until it scans again.
HELD_SCAN_FAULTS = frozenset({"scanner_jammed", "scanner_cover_open", "scanner_gone"})

#: How long a help request waits for the notifier's acknowledgement before the customer is told to ask the
#: staff themselves (an answer arriving later still turns the text to "the staff have been told").
HELP_ANSWER_S = 20.0

#: How long the kiosk waits for the agent's out-of-service answer before its first frame.
ASK_AGENT_S = 1.5


class AgentLink:
    """Wires a running kiosk to the agent; ``run()`` stays connected until cancelled."""

    def __init__(
        self,
        socket_path: str,
        session: Session,
        health: HealthMonitor,
        *,
        config_path: Path | None,
        test_print: Callable[[], None],
        restart: Callable[[], None],
        minute_s: float = 60.0,
        help_answer_s: float = HELP_ANSWER_S,
    ) -> None:
        self._session = session
        self._help_answer_s = help_answer_s
        self._health = health
        self._config_path = config_path
        self._test_print = test_print
        self._restart = restart
        self.version = read_config_version(config_path) if config_path else 0
        self._switchboard_ok = False
        self.client = KioskLinkClient(
            socket_path, software=SOFTWARE, version=self.version,
            on_reload=self._on_reload, on_command=self._on_command, on_connect=self._connected,
            timezone=session.config.host.timezone, on_service=self._on_service, on_alert_ack=self._on_alert_ack,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._minute_s = minute_s
        """How often a minute is counted (a test counts faster; each tick is one minute)."""
        self._minutes: dict[dt.date, dict[str, int]] = {}
        self.minutes_sent: dict[str, int] = {}
        """Minutes handed to the agent since start, by kind (staff diagnostics and tests)."""
        self._seen: dict[str, str] = {name: h.health for name, h in health.report.items()}
        self._device_trouble: tuple[str | None, str | None] = (None, None)
        self._held_scan: str | None = None
        self._service_seen: tuple[bool, Any] = (session.out_of_service, session.out_of_service_text)
        self._service_unsent = False
        """Staff changed out of service while the agent was away: told on the next connect."""
        self._help_seen: str | None = None
        self._help_round = 0
        held = ask_service(socket_path, ASK_AGENT_S)  # before the first frame: a closed room stays closed
        if held is not None:
            self._apply_service(held)
        health.subscribe(self._on_report)
        session.on_record(self._on_record)
        session.subscribe(self._on_snapshot)

    async def run(self) -> None:
        counting = asyncio.ensure_future(self._count_minutes())
        try:
            await self.client.run()
        finally:
            counting.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- health --------------------------------------------------------------------------------------

    @staticmethod
    def _devices(report: Report) -> dict[str, DeviceHealthReport]:
        return {name: DeviceHealthReport(ok=h.health == "ok", reason=_code(h.reason) or _code(h.health), code=h.code)
                for name, h in report.items()}

    async def send_health(self) -> None:
        switchboard = self._health.report.get("switchboard", DeviceHealth("unknown"))
        healthy = switchboard.health == "ok"
        error = None if healthy else f"switchboard: {switchboard.reason or switchboard.health}"
        await self.client.health(self.version, healthy=healthy, devices=self._devices(self._health.report),
                                 error=error)

    def _on_report(self, report: Report) -> None:
        self._spawn(self.send_health())
        self._note_faults(report)
        told = tuple(d for d in self._session.snapshot.staff_told if report.get(d, DeviceHealth("unknown")).health
                     in ("fault", "missing"))  # fmt: skip
        if told != self._session.snapshot.staff_told:  # a fixed device's next fault is a new alert
            self._session.set_staff_told(told)

    async def _connected(self) -> None:
        await self.send_health()
        if self._service_unsent:
            on, message = self._service_seen
            if await self.client.service(on, _wire_message(message)):
                self._service_unsent = False

    # -- out of service and help (see the module docstring) -----------------------------------------

    def _apply_service(self, msg: Service) -> None:
        """The agent's held state: show it (a message in three languages from ops, or the staff's words)."""
        message = Text(**msg.message) if isinstance(msg.message, dict) else msg.message
        self._service_seen = (msg.on, message if msg.on else None)  # first: the session's listeners run at once
        if msg.on:
            self._session.set_out_of_service(message)
        elif self._session.out_of_service:
            self._session.back_in_service()

    def _on_service(self, msg: Service) -> None:
        if self._service_unsent:
            return  # staff changed it here while the agent was away: ours goes to the agent (on connect)
        self._apply_service(msg)

    def _note_service(self) -> None:
        """Staff set or cleared out of service at the screen: the agent holds it from now on."""
        now = (self._session.out_of_service, self._session.out_of_service_text)
        if now == self._service_seen:
            return
        self._service_seen = now
        self._service_unsent = True

        async def tell() -> None:
            if await self.client.service(now[0], _wire_message(now[1])):
                self._service_unsent = False

        self._spawn(tell())

    def _note_help(self, snap: Snapshot) -> None:
        if snap.help_request == self._help_seen:
            return
        self._help_seen = snap.help_request
        if snap.help_request != "sending":
            return
        self._help_round += 1
        round_ = self._help_round

        async def ask() -> None:
            if not await self.client.help():
                self._session.help_answered(False)
                return
            await asyncio.sleep(self._help_answer_s)
            if round_ == self._help_round:  # not a later customer's request
                self._session.help_answered(False)  # no-op once told

        self._spawn(ask())

    def _on_alert_ack(self, msg: AlertAck) -> None:
        if msg.kind == "help":
            self._session.help_answered(True)
        elif msg.kind == "device" and msg.device and msg.device not in self._session.snapshot.staff_told:
            self._session.set_staff_told((*self._session.snapshot.staff_told, msg.device))

    # -- statistics ------------------------------------------------------------------------------------

    def _note_faults(self, report: Report) -> None:
        """Count each fault once, at its onset: a device that was ``ok`` and no longer is. A device already
        faulty when the kiosk started is not counted again (it was counted when it began, or it began while
        the point was off); a second reason while it is still faulty is the same fault."""
        day = self._session.now().date()
        for name, h in report.items():
            before, self._seen[name] = self._seen.get(name, "unknown"), h.health
            device = FAULT_DEVICES.get(name)
            if device is not None and before == "ok" and h.health in ("fault", "missing"):
                # The device's own code from etapiste.codes (``jammed``, ``scanner_unavailable``…), set where
                # its health was built; a fault always has one (DeviceHealth refuses one without).
                code = h.code or "internal_error"
                log.info("device fault: %s %s", device, code)
                self._spawn(self.client.fault(day, device, code))

    def _on_snapshot(self, snap: Snapshot) -> None:
        """A printout or a scan just ran into a device problem: probe the devices now, so the fault's onset
        is seen (and counted, with the device's own code) when it happens, not at the next round."""
        self._note_service()
        self._note_help(snap)
        call = snap.call
        trouble: tuple[str | None, str | None] = (None, None)
        if call is not None:
            trouble = (call.print_.error if call.print_ else None, call.scan.error if call.scan else None)
        if trouble != self._device_trouble:
            self._device_trouble = trouble
            if any(trouble):
                self._spawn(self._health.check())
        scan = call.scan if call is not None else None
        if scan is not None and scan.error in HELD_SCAN_FAULTS and scan.error != self._held_scan:
            # A jam the scanner reports only to the scan that met it: hold it, so the staff are alerted.
            self._held_scan = scan.error
            self._health.hold("scanner", DeviceHealth("fault", scan.error, cast(DeviceFaultCode, scan.error)))
        elif scan is not None and scan.step in ("preview", "sent") and self._health.release("scanner"):
            self._held_scan = None
            self._spawn(self._health.check())  # it scanned: the jam was cleared

    def _on_record(self, record: SessionRecord) -> None:
        try:
            msg = session_message(record)
        except ValidationError as exc:  # a bug: the record breaks the contract; never break the wipe for it
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            log.error("session record not sent: it breaks the statistics contract at %s", where)
            return
        self._spawn(self.client.session(msg))

    def minute_kind(self) -> str | None:
        """What this minute of the host's opening hours counts as: ``out_of_service`` (staff or ops put the
        point out of use and no customer is being served), ``offline`` (no switchboard connection: nobody
        could be served) or ``open`` (ready or serving); ``None`` outside the host's opening hours."""
        s = self._session
        if not opening.is_open(s.config.host.opening_hours, s.now()):
            return None
        if s.out_of_service and s.state not in CUSTOMER_STATES:
            return "out_of_service"
        if self._health.report.get("switchboard", DeviceHealth("unknown")).health != "ok":
            return "offline"
        return "open"

    async def _count_minutes(self) -> None:
        """Every minute, add it to its kind; send what was added up whenever the agent is there."""
        while True:
            await asyncio.sleep(self._minute_s)
            kind = self.minute_kind()
            if kind is not None:
                counts = self._minutes.setdefault(self._session.now().date(), {})
                counts[kind] = min(MAX_DAY_MINUTES, counts.get(kind, 0) + 1)
            if self._minutes and self.client.connected.is_set():
                pending, self._minutes = self._minutes, {}
                for day, c in sorted(pending.items()):
                    await self.client.minutes(day, **c)
                    for kind, n in c.items():
                        self.minutes_sent[kind] = self.minutes_sent.get(kind, 0) + n

    # -- reload and commands ------------------------------------------------------------------------

    async def _when_no_customer(self) -> None:
        while self._session.state in CUSTOMER_STATES:
            await asyncio.sleep(1.0)

    async def _on_reload(self, msg: Reload) -> None:
        try:
            load_point_config(msg.path)
        except ConfigError as exc:
            first = exc.problems[0] if exc.problems else None
            await self.client.health(msg.version, healthy=False, devices=self._devices(self._health.report),
                                     error=f"configuration refused: {first.field if first else ''}: "
                                           f"{first.message if first else exc}"[:200])
            return
        if self._session.state in CUSTOMER_STATES:  # the agent's health check waits for the visit too
            log.info("configuration version %d: restarting on it once the customer has left", msg.version)
            await self.client.reload_waits(msg.version)
        await self._when_no_customer()
        log.info("configuration version %d: restarting on it", msg.version)
        self._restart()

    async def _on_command(self, cmd: Command) -> tuple[bool, str]:
        if cmd.name == "out_of_service":
            if cmd.args.get("on", True):
                message = cmd.args.get("message")
                text = Text(**message) if isinstance(message, dict) else (message or None)
                self._service_seen = (True, text)  # the agent holds it already: not told back
                self._session.set_out_of_service(text)
                return True, "out of service (after the current customer, if any)"
            self._service_seen = (False, None)
            self._session.back_in_service()
            return True, "back in service"
        if cmd.name == "test_print":
            self._test_print()
            return True, "test page sent"
        if cmd.name == "diagnostics":
            states = ", ".join(f"{n}={h.health}" for n, h in sorted(self._health.report.items()))
            return True, f"state={self._session.state.value}; {states}"[:500]
        if cmd.name == "restart":
            self._spawn(self._restart_when_free())
            return True, "restarting once no customer is served"
        return False, f"unknown command {cmd.name}"

    async def _restart_when_free(self) -> None:
        await self._when_no_customer()
        self._restart()


def session_message(record: SessionRecord) -> SessionReport:
    """The kiosk-link message of a session's record: the host day and hour it started, never the time."""
    u, q = record.usage, record.quality
    return SessionReport(
        op="session",
        day=record.started.date(),
        hour=record.started.hour,
        outcome=record.outcome.value,  # the enum's values are the Literal's (tests/provisioning/…_schema.py)
        producer=record.producer,
        queue=record.queue,
        wait_s=record.waited_s,
        duration_s=record.call_s,
        rating=record.rating,
        quality=SessionQuality(bitrate_kbps=q.bitrate_kbps, fps=q.fps, loss_pct=q.loss_pct, rtt_ms=q.rtt_ms)
        if q is not None else None,
        usage=SessionUsage(
            language=u.language, identify_asked=u.identify_asked, identify_succeeded=u.identify_succeeded,
            identify_failed=u.identify_failed, scans=u.scans, scan_pages=u.scan_pages, prints=u.prints,
            print_pages=u.print_pages, interpreter_joined=u.interpreter_joined, text_used=u.text_used,
            speech_used=u.speech_used, large_text_used=u.large_text_used,
        ),
    )  # fmt: skip


def _wire_message(message: Text | str | None) -> dict[Language, str] | str | None:
    """An out-of-service message as the link carries it (the three languages as a mapping)."""
    return {"fi": message.fi, "sv": message.sv, "en": message.en} if isinstance(message, Text) else message


def _code(reason: str) -> str | None:
    """A device reason as the link's short code (``media-empty-error, offline`` → ``media-empty-error-offline``)."""
    code = re.sub(r"[^a-z0-9_.:-]+", "-", reason.lower()).strip("-_.:")[:64]
    return code or None


def reexec() -> None:
    """Replace this process with a fresh kiosk on the same command line (systemd keeps the same unit)."""
    argv = getattr(sys, "orig_argv", [sys.executable, *sys.argv])
    os.execv(argv[0], argv)
