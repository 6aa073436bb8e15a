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
- **Statistics**: each finished session as the anonymous record the session state machine makes.
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
from typing import Any

from etapiste import __version__
from kiosk.health import DeviceHealth as KioskDeviceHealth
from kiosk.health import HealthMonitor, Report
from kiosk.session import CUSTOMER_STATES, Session, SessionRecord
from provisioning.kiosk_link import Command, DeviceHealth, KioskLinkClient, Reload, read_config_version
from provisioning.loader import ConfigError, load_point_config
from provisioning.schema import Text

log = logging.getLogger(__name__)

#: What the kiosk tells the agent in its hello: the agent checks an update by it (provisioning/update.py).
SOFTWARE = f"etapiste-kiosk {__version__}"


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
    ) -> None:
        self._session = session
        self._health = health
        self._config_path = config_path
        self._test_print = test_print
        self._restart = restart
        self.version = read_config_version(config_path) if config_path else 0
        self._switchboard_ok = False
        self.client = KioskLinkClient(
            socket_path, software=SOFTWARE, version=self.version,
            on_reload=self._on_reload, on_command=self._on_command, on_connect=self.send_health,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        health.subscribe(self._on_report)
        session.on_record(self._on_record)

    async def run(self) -> None:
        await self.client.run()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- health --------------------------------------------------------------------------------------

    @staticmethod
    def _devices(report: Report) -> dict[str, DeviceHealth]:
        return {name: DeviceHealth(ok=h.health == "ok", reason=_code(h.reason) or _code(h.health))
                for name, h in report.items()}

    async def send_health(self) -> None:
        switchboard = self._health.report.get("switchboard", KioskDeviceHealth("unknown"))
        healthy = switchboard.health == "ok"
        error = None if healthy else f"switchboard: {switchboard.reason or switchboard.health}"
        await self.client.health(self.version, healthy=healthy, devices=self._devices(self._health.report),
                                 error=error)

    def _on_report(self, report: Report) -> None:
        self._spawn(self.send_health())

    def _on_record(self, record: SessionRecord) -> None:
        if record.producer is None:
            return
        self._spawn(self.client.session(dt.date.today(), record.producer, duration_s=record.call_s,
                                        wait_s=record.waited_s, rating=record.rating))

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
        await self._when_no_customer()
        log.info("configuration version %d: restarting on it", msg.version)
        self._restart()

    async def _on_command(self, cmd: Command) -> tuple[bool, str]:
        if cmd.name == "out_of_service":
            if cmd.args.get("on", True):
                message = cmd.args.get("message")
                text = Text(**message) if isinstance(message, dict) else (message or None)
                self._session.set_out_of_service(text)
                return True, "out of service (after the current customer, if any)"
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


def _code(reason: str) -> str | None:
    """A device reason as the link's short code (``media-empty-error, offline`` → ``media-empty-error-offline``)."""
    code = re.sub(r"[^a-z0-9_.:-]+", "-", reason.lower()).strip("-_.:")[:64]
    return code or None


def reexec() -> None:
    """Replace this process with a fresh kiosk on the same command line (systemd keeps the same unit)."""
    argv = getattr(sys, "orig_argv", [sys.executable, *sys.argv])
    os.execv(argv[0], argv)
