"""The kiosk app in-process for the acceptance test and the chaos soak (bench/soak.py), assembled by the
app's own :func:`kiosk.app.assemble` and started with :func:`kiosk.app.start`, on the caller's asyncio loop,
so the caller has the parts in hand (the session to read, the window to press, the engine to watch). Only
the devices (pointed at the private services), the camera (a test pattern) and ICE (loopback only) differ
from a point. Qt runs offscreen without its own event loop: widgets update synchronously from the session's
snapshots, and :meth:`Kiosk.grab` lets Qt lay out and paint before a screenshot.

Here rather than in tests/acceptance, because bench/soak.py runs the same kiosk and must not import tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PySide6.QtWidgets import QApplication

from etapiste.config.point import PointConfig
from kiosk import app
from kiosk.agentlink import AgentLink
from kiosk.call import CallEngine
from kiosk.health import (
    HealthMonitor,
)
from kiosk.journey import Journey
from kiosk.session import Session
from kiosk.views.video import VideoView
from kiosk.views.window import KioskWindow
from simulation.call import Recorder, loopback_only, pattern_media

POINT = "oulu-kirjasto"
SAMPLE = Path(__file__).resolve().parents[1] / "etapiste" / "config" / "sample-point.yaml"

#: A Monday noon: every producer of the sample configuration serves, whenever the test runs.
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0)


def point_config(switchboard_ws: str, credential_file: Path, queue: str, relay_only: bool = False) -> PointConfig:
    """The sample point's configuration, pointed at this run's switchboard, CUPS queue and scanner."""
    data: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["ice"] = {"servers": [], "relay_only": relay_only}
    data["point"]["id"] = POINT
    data["switchboard"] = {"url": switchboard_ws, "credential_file": str(credential_file)}
    data["devices"]["printer"]["queue"] = queue
    data["devices"]["scanner"] = {"device": "test:0", "resolution": 100, "mode": "Color", "source": "ADF"}
    return PointConfig.model_validate(data)


def recent_monday_noon(config: PointConfig) -> dt.datetime:
    """The latest Monday noon up to now (host-local) on which the host and every producer serve: the
    statistics the session makes must fall in the agent's last 35 days (docs/statistics.md)."""
    today = dt.datetime.now(config.host.zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    for week in range(4):
        at = dt.datetime.combine(monday - dt.timedelta(weeks=week), dt.time(12, 0))
        schedules = [config.host.opening_hours, *(p.service_hours for p in config.producers)]
        if all(schedule.is_open(at) for schedule in schedules):
            return at
    return MONDAY_NOON


def running_clock(start: dt.datetime) -> Callable[[], dt.datetime]:
    """Host-local time that starts at ``start`` and then runs (waits and call durations are real)."""
    began = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - began)


@dataclass
class Kiosk:
    """The app's own assembled kiosk (:func:`kiosk.app.assemble`) plus what the test watches."""

    config: PointConfig
    parts: app.Kiosk
    recorder: Recorder = field(default_factory=Recorder)
    """The engine's events (only the first few video frames of each peer: a call makes ~45 pictures a
    second, and keeping them all grew the soak by a gigabyte in two minutes)."""
    sent_documents: list[bytes] = field(default_factory=list)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def events(self) -> list[Any]:
        return self.recorder.events

    @property
    def session(self) -> Session:
        return self.parts.session

    @property
    def engine(self) -> CallEngine:
        assert isinstance(self.parts.engine, CallEngine)
        return self.parts.engine

    @property
    def journey(self) -> Journey:
        return self.parts.journey

    @property
    def window(self) -> KioskWindow:
        return self.parts.window

    @property
    def video(self) -> VideoView:
        return self.parts.video

    @property
    def health(self) -> HealthMonitor:
        return self.parts.health

    @property
    def printer(self) -> Any:
        return self.parts.devices.printer

    @property
    def scanner(self) -> Any:
        return self.parts.devices.scanner

    @property
    def card_reader(self) -> Any:
        return self.parts.devices.card_reader

    @property
    def monitor(self) -> Any:
        return self.parts.devices.card_monitor

    @property
    def link(self) -> AgentLink | None:
        return self.parts.link

    def grab(self, path: Path) -> None:
        """Save what the customer sees now as a PNG."""
        qt = QApplication.instance()
        assert qt is not None
        for _ in range(3):
            qt.processEvents()
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.window.grab().save(str(path)), f"could not save {path}"

    async def close(self) -> None:
        await app.stop(self.parts, self._tasks)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.window.allow_close()
        self.window.close()


def build_kiosk(config: PointConfig, *, printer: Any, scanner: Any, card_reader: Any,
                agent_socket: Path | None = None, media: Any | None = None, camera: Any | None = None,
                restart: Callable[[], None] | None = None) -> Kiosk:
    """The kiosk assembled by the app's own :func:`kiosk.app.assemble`, with the devices given by the caller
    (pointed at the test's private services), a test-pattern camera and loopback-only ICE. ``media`` and
    ``camera``: a real camera reader instead of the test pattern (the chaos soak unplugs it), as the call's
    video and the health's camera. ``restart``: what the kiosk does where the app re-executes itself (a
    reload of its configuration), since an in-process kiosk cannot."""
    qt = QApplication.instance() or QApplication([])
    assert qt is not None
    engine = CallEngine.from_config(config, media=media or pattern_media(), candidate_filter=loopback_only)
    devices = app.Devices(printer=printer, scanner=scanner, card_reader=card_reader, camera=camera)
    parts = app.assemble(config, devices=devices, engine=engine, kiosk_mode=False,
                         clock=running_clock(recent_monday_noon(config)),
                         agent_socket=str(agent_socket) if agent_socket is not None else None,
                         restart=restart or (lambda: None))
    parts.window.resize(1280, 1024)
    parts.window.show()
    kiosk = Kiosk(config, parts)

    original_send = engine.send_document

    def send_document(pdf: bytes, *args: Any, **kwargs: Any) -> Any:
        kiosk.sent_documents.append(pdf)  # a spy: what the kiosk put on the data channel, byte for byte
        return original_send(pdf, *args, **kwargs)

    engine.send_document = send_document  # type: ignore[method-assign]
    engine.subscribe(kiosk.recorder)
    return kiosk


async def start_kiosk(kiosk: Kiosk) -> None:
    """Start what :func:`kiosk.app.run` starts (:func:`kiosk.app.start`) and wait for the switchboard."""
    kiosk._tasks = app.start(kiosk.parts)
    await asyncio.wait_for(kiosk.engine.connected.wait(), 15)
