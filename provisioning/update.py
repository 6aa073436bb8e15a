"""Software updates on a point, the agent's side: *when* to update, and the verdict on the new version.

The organiser's signed configuration names the software version (``software.version``, see
:class:`etapiste.config.point.Software`); staged publishing (canary points first) therefore stages software
exactly as it stages configuration. The agent, which has no root, only decides when: inside the
maintenance window (``software.window``, default 02:00–05:00 local time) and never while the host is
open. It then writes a request that ``etapiste-update.path`` hands to the root helper
``/usr/libexec/etapiste/etapiste-update``, which installs the version from the organiser's repository,
restarts the kiosk, and waits for this module's verdict: the kiosk reported healthy on the new version
(``update-health``: ``healthy=yes``), or unhealthy (``healthy=no`` and why). Silence past the timeout
counts as unhealthy, so a new version whose agent never starts is rolled back too — by the helper.

Files (``run_dir`` = /run/etapiste, ``state_dir`` = /var/lib/etapiste):

``run_dir/commands/update``   the request (key=value lines; the helper validates every field)
``run_dir/update/status``     the helper's progress and outcome (key=value lines, written by root)
``state_dir/update-health``   this module's verdict on the version being checked
``state_dir/update-failed.json``  versions that were refused or rolled back: never requested again
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from etapiste.hours import Schedule, TimeRange
from provisioning.bundle import atomic_write

log = logging.getLogger("etapiste.update")

VERSION_RE = re.compile(r"^[0-9][A-Za-z0-9.+~]{0,63}$")
FINAL = {"done", "rolled-back", "refused", "failed", "unhealthy"}
IN_FLIGHT = {"checking-repository", "installing", "checking", "rolling-back", "security-updating"}


class KioskState(Protocol):
    """What the verdict needs from :class:`provisioning.kiosk_link.KioskView`."""

    connected: bool
    software: str | None
    healthy: bool | None
    error: str | None


@dataclass(frozen=True)
class Desired:
    """The ``software`` section of the applied configuration."""

    version: str
    window: TimeRange
    health_timeout_s: int
    security_updates: bool


def kiosk_version(software: str | None) -> str | None:
    """The version in the kiosk's hello (``"etapiste-kiosk 0.1.1"`` → ``"0.1.1"``)."""
    if not software:
        return None
    return software.split()[-1]


def read_desired(config_path: Path) -> tuple[Desired | None, Schedule | None, str]:
    """The configured software version, the host's opening hours and time zone, from ``point.yaml``
    (already verified and validated when the bundle was applied)."""
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None, None, "Europe/Helsinki"
    if not isinstance(data, dict):
        return None, None, "Europe/Helsinki"
    host = data.get("host") or {}
    zone = str(host.get("timezone") or "Europe/Helsinki")
    schedule = Schedule.model_validate(host["opening_hours"]) if host.get("opening_hours") else None
    sw = data.get("software")
    if not isinstance(sw, dict) or not VERSION_RE.match(str(sw.get("version", ""))):
        return None, schedule, zone
    desired = Desired(
        version=str(sw["version"]),
        window=TimeRange.parse(str(sw.get("window", "02:00-05:00"))),
        health_timeout_s=int(sw.get("health_timeout_s", 300)),
        security_updates=bool(sw.get("security_updates", True)),
    )
    return desired, schedule, zone


def read_status(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")[:4096]
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z_]{1,32}", key):
            out[key] = value[:400]
    return out


class SoftwareUpdater:
    """See the module's docstring. ``tick`` is called by the agent every few seconds."""

    def __init__(self, state_dir: Path, run_dir: Path, running: str, *, clock: Any = None):
        self.state_dir = state_dir
        self.run_dir = run_dir
        self.running = running
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.request = run_dir / "commands" / "update"
        self.status_path = run_dir / "update" / "status"
        self.health_path = state_dir / "update-health"
        self.failed_path = state_dir / "update-failed.json"
        self.note: str | None = None
        """Why nothing happens now (outside the window, host open, version failed before)."""
        self._last_security_day: str | None = None

    def failed(self) -> dict[str, str]:
        try:
            data = json.loads(self.failed_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _remember_failure(self, version: str, reason: str) -> None:
        failed = self.failed()
        if failed.get(version) == reason:
            return
        failed[version] = reason
        atomic_write(self.failed_path, json.dumps(failed).encode(), mode=0o640)

    def in_window(self, desired: Desired, schedule: Schedule | None, zone: str) -> tuple[bool, str]:
        from zoneinfo import ZoneInfo

        now = self.clock().astimezone(ZoneInfo(zone))
        if schedule is not None and schedule.is_open(now):
            return False, "the host is open: updates wait for the maintenance window"
        if not desired.window.contains(now.time()):
            return False, f"waiting for the maintenance window {desired.window}"
        return True, ""

    def _write_request(self, fields: dict[str, str]) -> None:
        body = "".join(f"{k}={v}\n" for k, v in fields.items()).encode()
        tmp = self.request.with_name(".update.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, self.request)  # the path unit sees a whole request, never half of one

    def _verdict(self, version: str, healthy: bool, reason: str = "") -> None:
        text = f"version={version}\nhealthy={'yes' if healthy else 'no'}\n"
        if reason:
            text += "reason=" + reason.replace("\n", " ")[:200] + "\n"
        try:
            current = self.health_path.read_text(encoding="utf-8")
        except OSError:
            current = ""
        if current != text:
            atomic_write(self.health_path, text.encode(), mode=0o644)
            log.info("update: verdict on %s: %s", version, "healthy" if healthy else f"unhealthy ({reason})")

    def tick(self, config_path: Path, kiosk: KioskState) -> None:
        """One look: give the verdict the helper waits for, note outcomes, request an update when due."""
        status = read_status(self.status_path)
        state = status.get("state", "")
        version = status.get("version", "")
        if state == "checking" and version:
            if kiosk.connected and kiosk_version(kiosk.software) == version and version == self.running:
                if kiosk.healthy is True:
                    self._verdict(version, True)
                elif kiosk.healthy is False:
                    self._verdict(version, False, f"the kiosk reports unhealthy: {kiosk.error or 'no reason given'}")
            return
        if state in ("rolled-back", "refused", "failed") and status.get("action") == "install" and version:
            self._remember_failure(version, status.get("reason", state))
        if state in IN_FLIGHT or self.request.exists():
            return
        desired, schedule, zone = read_desired(config_path)
        if desired is None:
            self.note = None
            return
        due, why = self.in_window(desired, schedule, zone)
        if desired.version != self.running:
            failed = self.failed()
            if desired.version in failed:
                self.note = f"version {desired.version} failed before ({failed[desired.version]}); publish another"
                return
            if not due:
                self.note = why
                return
            self.note = None
            log.info("update: requesting version %s (running %s)", desired.version, self.running)
            self._write_request(
                {"action": "install", "version": desired.version, "health_timeout": str(desired.health_timeout_s)}
            )
            return
        today = self.clock().date().isoformat()
        if desired.security_updates and due and self._last_security_day != today and state != "security-updating":
            last_at = status.get("at", "") if status.get("action") == "security" else ""
            if not last_at.startswith(today):
                self._last_security_day = today
                self._write_request({"action": "security", "health_timeout": str(desired.health_timeout_s)})
                return
        self.note = None if due or desired.version == self.running else why

    def state(self, config_path: Path) -> dict[str, Any]:
        """For the agent's report (``etapiste ops status``)."""
        status = read_status(self.status_path)
        desired, _, _ = read_desired(config_path)
        return {
            "running": self.running,
            "desired": desired.version if desired else None,
            "state": status.get("state") or ("requested" if self.request.exists() else None),
            "action": status.get("action"),
            "version": status.get("version"),
            "previous": status.get("previous"),
            "reason": status.get("reason") or self.note,
            "upgraded": status.get("upgraded"),
            "at": status.get("at"),
        }
