"""Harness plugin: the switchboard as a process of its own, the way an organiser runs it — ``python -m etapiste
switchboard --config FILE`` on a YAML file — so that an instance can be killed with SIGKILL, stopped with
SIGTERM and started again on the same port, while its siblings go on.

The configuration is :func:`simulation.switchboard.make_config`'s (the demo credentials the simulated points and
desks know), written out as YAML with what a deployment of several instances sets: the load balancer's origin,
``redis_url``, the proxy trusted for ``X-Forwarded-For``. The instance is ready when its ``/healthz`` answers 200;
one that exits or never gets there fails with its own last log lines, not with a bare timeout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from etapiste.hours import TimeRange
from simulation.services.common import Service
from switchboard.config import SwitchboardConfig

#: Lines of an instance's log quoted when it fails.
LOG_TAIL_LINES = 30


def _plain(value: Any) -> Any:
    """``value`` as YAML the configuration loader reads back: time ranges as ``09:00-16:00``, dates ISO."""
    if isinstance(value, TimeRange):
        end = "24:00" if value.end is None else value.end.strftime("%H:%M")
        return f"{value.start.strftime('%H:%M')}-{end}"
    if isinstance(value, BaseModel):
        out = {}
        for name in type(value).model_fields:
            item = getattr(value, name)
            if item is not None:
                out[name] = _plain(item)
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def config_yaml(config: SwitchboardConfig) -> str:
    """The switchboard configuration ``config`` as the YAML file ``etapiste switchboard --config`` reads."""
    return yaml.safe_dump(_plain(config), allow_unicode=True, sort_keys=False)


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class SwitchboardInstance:
    """One switchboard process on ``127.0.0.1:port``, its configuration and log in ``directory``."""

    name: str
    port: int
    directory: Path
    config: SwitchboardConfig
    service: Service | None = None
    starts: int = 0
    log_level: str = "INFO"
    """``INFO`` names each participant's comings and goings (the tests read them); a benchmark sets WARNING."""
    last_exit: int | None = None
    """The exit status of the last stop or kill (negative: the signal that ended it)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def point_url(self) -> str:
        """The points' signalling address at this instance itself (not through the load balancer)."""
        return f"ws://127.0.0.1:{self.port}/ws/point"

    @property
    def config_path(self) -> Path:
        return self.directory / "switchboard.yaml"

    @property
    def log_path(self) -> Path:
        return self.directory / "switchboard.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.service is not None and self.service.running()

    @property
    def pid(self) -> int:
        assert self.service is not None
        return self.service.pid

    def health(self, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
        """``/healthz``'s status and body; status 0 when nothing answered."""
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(ValueError):
                return exc.code, json.loads(exc.read() or b"{}")
            return exc.code, {}
        except (OSError, ValueError):
            return 0, {}

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until ``/healthz`` says 200; fail quoting its log if it exits first."""
        self.launch()
        self.wait_healthy(timeout)

    def launch(self) -> None:
        """Start the process without waiting (several instances start side by side; :meth:`wait_healthy`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config_yaml(self.config))
        self.starts += 1
        with self.log_path.open("a") as log:
            log.write(f"--- {self.name}: start {self.starts} ---\n")
        argv = [sys.executable, "-m", "etapiste", "switchboard", "--config", str(self.config_path)]
        argv += ["--log-level", self.log_level]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.service = Service(f"switchboard-{self.name}", argv, self.log_path, env=env, cwd=self.directory)
        self.service.start()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until ``/healthz`` says 200; fail quoting the instance's log if it exits or never gets there."""
        assert self.service is not None
        deadline = time.monotonic() + timeout
        last: tuple[int, dict[str, Any]] = (0, {})
        while time.monotonic() < deadline:
            if not self.service.running():
                code = self.service.proc.returncode if self.service.proc is not None else None
                raise RuntimeError(
                    f"switchboard instance {self.name} exited at start (status {code}); its log:\n"
                    f"{tail(self.log_text())}"
                )
            last = self.health(timeout=1.0)
            if last[0] == 200:
                return
            time.sleep(0.05)
        answered = f"/healthz answered {last[0]} {last[1]}" if last[0] else "/healthz never answered"
        raise TimeoutError(
            f"switchboard instance {self.name} not healthy after {timeout:.0f} s ({answered}); its log:\n"
            f"{tail(self.log_text())}"
        )

    def stop(self) -> None:
        """SIGTERM, as systemd stops it for a restart: it closes its sockets and exits (SIGKILL after 15 s:
        :attr:`exited_by_itself` then says it did not)."""
        if self.service is not None and self.service.proc is not None:
            self.service.stop(timeout=15.0)
            self.last_exit = self.service.proc.returncode

    @property
    def exited_by_itself(self) -> bool:
        """The last stop ended with the process's own exit, not with the SIGKILL after the SIGTERM."""
        return self.last_exit is not None and self.last_exit >= 0

    def kill(self) -> None:
        """SIGKILL, as a crash or a host lost: nothing is closed gracefully, the kernel resets its sockets."""
        if self.service is None or self.service.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.service.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.service.proc.wait(10)
        self.service.stop()  # unregisters it from the watchdog and closes its log
        self.last_exit = self.service.proc.returncode

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)
