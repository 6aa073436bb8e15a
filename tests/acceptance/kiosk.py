"""The kiosk app wired in-process, as :func:`kiosk.app.run` wires it, for the acceptance test.

``kiosk.app.run`` builds and runs in one function under its own qasync loop; a test needs the parts in
hand (the session to read, the window to press, the engine to watch) on the test's asyncio loop. So this
repeats its wiring — session, call engine from the point's configuration, journey controller with the
drivers, window with the video view, card monitor, health monitor and the link to the provisioning
agent — and nothing else. Qt runs offscreen without its own event loop: widgets update synchronously
from the session's snapshots, and :meth:`Kiosk.grab` lets Qt lay out and paint before a screenshot.
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

import pytest
from PySide6.QtWidgets import QApplication

from drivers.cardreader import CardMonitor, EventKind, threadsafe
from kiosk import call as c
from kiosk.agentlink import AgentLink
from kiosk.call import CallEngine
from kiosk.health import (
    DeviceHealth,
    HealthMonitor,
    probe_camera,
    probe_card_reader,
    probe_printer,
    probe_scanner,
    unavailable,
)
from kiosk.journey import Journey
from kiosk.session import Session
from kiosk.views.video import VideoView
from kiosk.views.window import KioskWindow
from provisioning.schema import PointConfig
from tests.kiosk.call_support import loopback_only, pattern_media

#: A Monday noon: every producer of the sample configuration serves, whenever the test runs.
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0)


def running_clock(start: dt.datetime) -> Callable[[], dt.datetime]:
    """Host-local time that starts at ``start`` and then runs (waits and call durations are real)."""
    began = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - began)


@dataclass
class Kiosk:
    config: PointConfig
    session: Session
    engine: CallEngine
    journey: Journey
    window: KioskWindow
    video: VideoView
    health: HealthMonitor
    printer: Any
    scanner: Any
    card_reader: Any
    monitor: CardMonitor | None = None
    link: AgentLink | None = None
    events: list[Any] = field(default_factory=list)
    sent_documents: list[bytes] = field(default_factory=list)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def grab(self, path: Path) -> None:
        """Save what the customer sees now as a PNG."""
        app = QApplication.instance()
        assert app is not None
        for _ in range(3):
            app.processEvents()
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.window.grab().save(str(path)), f"could not save {path}"

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.session.reset()
        await self.journey.idle()
        await self.health.stop()
        await self.engine.close()
        if self.monitor is not None:
            self.monitor.stop()
        self.card_reader.shutdown()
        self.window.allow_close()
        self.window.close()


def build_kiosk(config: PointConfig, *, printer: Any, scanner: Any, card_reader: Any,
                monkeypatch: pytest.MonkeyPatch, agent_socket: Path | None = None) -> Kiosk:
    """The kiosk's parts for ``config``, wired as in :func:`kiosk.app.run` (devices given by the caller,
    so the test can point them at its private services)."""
    app = QApplication.instance() or QApplication([])
    assert app is not None
    session = Session(config, running_clock(MONDAY_NOON))
    engine = CallEngine.from_config(config, media=pattern_media(), candidate_filter=loopback_only)
    journey = Journey(session, engine, card_reader=card_reader, scanner=scanner, printer=printer)
    health = HealthMonitor({
        "printer": lambda: probe_printer(printer),
        "scanner": lambda: probe_scanner(scanner),
        "card_reader": lambda: probe_card_reader(card_reader),
        "camera": lambda: probe_camera(None),
    })
    video = VideoView()
    window = KioskWindow(session, kiosk_mode=False, actions=journey, video=video)
    window.resize(1280, 1024)
    window.show()
    kiosk = Kiosk(config, session, engine, journey, window, video, health, printer, scanner, card_reader)

    def on_health(report: Any) -> None:
        session.set_unavailable_devices(unavailable(report))

    health.subscribe(on_health)

    original_send = engine.send_document

    def send_document(pdf: bytes, *args: Any, **kwargs: Any) -> Any:
        kiosk.sent_documents.append(pdf)  # a spy: what the kiosk put on the data channel, byte for byte
        return original_send(pdf, *args, **kwargs)

    engine.send_document = send_document  # type: ignore[method-assign]

    def on_engine(event: Any) -> None:
        kiosk.events.append(event)
        if isinstance(event, c.SwitchboardStatus):
            health.set("switchboard", DeviceHealth("ok") if event.connected
                       else DeviceHealth("missing", event.reason or "unreachable"))
        elif isinstance(event, c.RemoteVideoFrame):
            video.show_remote(event.image)
        elif isinstance(event, c.SelfVideoFrame):
            video.show_self(event.image)
        elif isinstance(event, c.CallEnded):
            video.clear()

    engine.subscribe(on_engine)
    if agent_socket is not None:
        kiosk.link = AgentLink(str(agent_socket), session, health, config_path=None,
                               test_print=lambda: None, restart=lambda: None)
    return kiosk


async def start_kiosk(kiosk: Kiosk) -> None:
    """Start what :func:`kiosk.app.run` starts in its loop: card monitor, health, engine, agent link."""
    loop = asyncio.get_running_loop()

    def on_card(event: Any) -> None:
        if event.kind is EventKind.CARD_INSERTED:
            kiosk.journey.spawn(kiosk.journey.card_inserted())
        elif event.kind is EventKind.CARD_REMOVED:
            kiosk.journey.card_removed()

    kiosk.monitor = CardMonitor()
    kiosk.monitor.add_listener(threadsafe(loop, on_card))
    kiosk.monitor.start()
    kiosk.health.start()
    await kiosk.engine.start(timeout=15)
    if kiosk.link is not None:
        kiosk._tasks.append(loop.create_task(kiosk.link.run()))
