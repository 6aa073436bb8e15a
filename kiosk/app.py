"""The kiosk app: one asyncio loop driving Qt (qasync), the session, and the window.

qasync is used because aiortc's sockets need a real asyncio loop in the UI thread (PySide6's own
QtAsyncio cannot run them). The app follows the clock with a timer, quits cleanly on SIGTERM/SIGINT
(systemd stops it that way), and can save a screenshot of its first screen for docs and tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from etapiste.config.point import PointConfig
from etapiste.language import Language
from kiosk.agentlink import AgentLink, reexec
from kiosk.health import (
    DeviceHealth,
    HealthMonitor,
    Report,
    check_microphone,
    network_health,
    probe_camera,
    probe_card_reader,
    probe_printer,
    probe_scanner,
    probe_speaker,
    unavailable,
)
from kiosk.journey import Journey
from kiosk.session import Clock, Session, State
from kiosk.staff_lockout import LockoutState, StaffLockout
from kiosk.staff_lockout import default_path as default_lockout_path
from kiosk.views.video import VideoView
from kiosk.views.window import KioskWindow
from kiosk.watchdog import Watchdog

log = logging.getLogger(__name__)

#: How often the session follows the clock: opening, closing and the time-limit countdown (seconds shown).
TICK_MS = 1_000


@dataclass(frozen=True)
class Options:
    """How this run of the kiosk is started (from the command line)."""

    kiosk_mode: bool = True
    """Full screen and frameless; the window cannot be closed by the keyboard."""
    language: Language | None = None
    at: dt.datetime | None = None
    """Start the clock at this host-local moment (demos and screenshots); it then runs normally."""
    screenshot: Path | None = None
    """Save a PNG of the first screen and quit."""
    report_painted: bool = False
    """Print ``painted`` on stdout when the first screen has been drawn (for the cold-start benchmark)."""
    size: tuple[int, int] = (1280, 1024)
    """Window size when not in kiosk mode."""
    devices: bool = True
    """Start the drivers, the health monitor and the call engine (off for screenshots of the screens)."""
    config_path: Path | None = None
    """The configuration file the kiosk runs on (its first line carries the bundle version)."""


def _clock_from(at: dt.datetime) -> Clock:
    started = time.monotonic()
    return lambda: at + dt.timedelta(seconds=time.monotonic() - started)


class _SignalBridge:
    """Turns SIGTERM/SIGINT into a clean quit: Python signal handlers only run when Python code
    runs, so the signal is written to a socket that Qt watches."""

    def __init__(self, quit_: Callable[[], None]) -> None:
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        signal.set_wakeup_fd(self._wsock.fileno())
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        self._notifier = QSocketNotifier(self._rsock.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._on_signal)
        self._quit = quit_

    def _on_signal(self) -> None:
        try:
            self._rsock.recv(64)
        except BlockingIOError:
            return
        log.info("stopping on signal")
        self._quit()

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._notifier.setEnabled(False)
        self._rsock.close()
        self._wsock.close()


@dataclass
class Devices:
    """The point's devices as far as they could be set up; ``None`` where a driver could not start."""

    printer: Any | None = None
    scanner: Any | None = None
    card_reader: Any | None = None
    card_monitor: Any | None = None
    camera: Any | None = None
    """What the camera's health is read from (the media's camera reader when calls are possible)."""
    media: Any | None = None
    """:class:`kiosk.media.PointMedia`: the configured camera and audio devices for calls."""


def _try(what: str, make: Callable[[], Any]) -> Any | None:
    """Build a driver; a point runs with whatever devices exist, so a failure is logged, not raised."""
    try:
        return make()
    except Exception as exc:
        log.warning("%s unavailable: %s", what, type(exc).__name__)
        return None


def build_devices(config: PointConfig) -> Devices:
    def printer() -> Any:
        from drivers.printer import Printer

        return Printer(config.devices.printer) if config.devices.printer.queue else None

    def scanner() -> Any:
        from drivers.scanner import Scanner

        return Scanner(config.devices.scanner) if config.devices.scanner.enabled else None

    def card_reader() -> Any:
        from drivers.cardreader import CardReader

        return CardReader()

    return Devices(
        printer=_try("printer", printer),
        scanner=_try("scanner", scanner),
        card_reader=_try("card reader", card_reader),
    )


def build_engine(config: PointConfig, devices: Devices) -> Any | None:
    """The call engine with the point's own camera and microphone, or ``None`` when the point has no
    switchboard credential (shown to staff)."""
    from kiosk.call import CallEngine
    from kiosk.media import AudioDeviceError, PointMedia, open_microphone

    engine: Any | None = None

    def on_camera(status: Any) -> None:
        if engine is not None:
            asyncio.get_event_loop().call_soon_threadsafe(engine.camera_changed, status)

    media = _try("camera and sound", lambda: PointMedia(config.devices.camera, config.devices.audio, on_camera))
    media_config = None
    if media is not None:
        media_config = media.media_config()

        def microphone() -> Any:
            # A missing microphone must not stop the call: the customer can still type, and staff see it.
            try:
                return open_microphone(config.devices.audio)
            except AudioDeviceError as exc:
                log.error("microphone unavailable: %s", exc)
                from aiortc.mediastreams import AudioStreamTrack

                return AudioStreamTrack()

        media_config.audio = microphone
        devices.media = media
        devices.camera = media.reader  # health reads the camera the call really uses
    try:
        engine = CallEngine.from_config(config, media_config)
    except OSError as exc:
        log.warning("no switchboard credential (%s): calls are not possible", type(exc).__name__)
        return None
    return engine


class _StaffDeviceActions:
    """Staff's test print and test scan, run off the UI thread; the outcome shows in device health."""

    def __init__(self, devices: Devices, health: HealthMonitor, journey: Journey, config: PointConfig) -> None:
        self._devices = devices
        self._health = health
        self._journey = journey
        self._config = config

    def test_camera_and_microphone(self) -> None:
        """Re-probe the camera and measure a second of the microphone; both show on the staff screen."""

        async def go() -> None:
            self._health.set("microphone", await check_microphone(self._config.devices.audio))
            await self._health.check()

        self._journey.spawn(go())

    def test_print(self) -> None:
        printer = self._devices.printer
        if printer is None:
            return
        from drivers.printer import print_test_page

        async def go() -> None:
            try:
                await asyncio.to_thread(print_test_page, printer)
            except Exception as exc:
                log.warning("test print failed: %s", type(exc).__name__)
            await self._health.check()

        self._journey.spawn(go())

    def test_scan(self) -> None:
        scanner = self._devices.scanner
        if scanner is None:
            return

        async def go() -> None:
            def scan() -> None:
                result = scanner.scan().result()
                result.discard()  # a test scan is only for the staff to see that it works

            try:
                await asyncio.to_thread(scan)
            except Exception as exc:
                log.warning("test scan failed: %s", type(exc).__name__)
            await self._health.check()

        self._journey.spawn(go())


def _speaker() -> Any:
    from kiosk.speech import Speaker

    return Speaker(headset=os.environ.get("ETAPISTE_HEADSET_SINK"))


def _reset_volume(percent: int) -> None:
    """Back to the configured volume after each customer (EN 301 549: reset to ≤ 65 dBA); best effort."""
    import shutil
    import subprocess

    pactl = shutil.which("pactl")
    if pactl is None:
        return
    try:
        subprocess.run([pactl, "set-sink-volume", "@DEFAULT_SINK@", f"{percent}%"], timeout=2,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        log.warning("could not reset the speaker volume")


@dataclass
class Kiosk:
    """The assembled kiosk: the session (model), the journey (controller), the window (view) and what
    connects them to the devices, the call engine, device health and the provisioning agent."""

    session: Session
    journey: Journey
    window: KioskWindow
    health: HealthMonitor
    video: VideoView
    devices: Devices
    engine: Any | None
    speaker: Any | None = None
    link: AgentLink | None = None


def assemble(
    config: PointConfig,
    *,
    devices: Devices,
    engine: Any | None,
    kiosk_mode: bool = True,
    clock: Clock | None = None,
    speaker: Any | None = None,
    agent_socket: str | None = None,
    config_path: Path | None = None,
    restart: Callable[[], None] = lambda: None,
) -> Kiosk:
    """Wire a kiosk together on the running event loop (the app and the acceptance test both use this)."""
    # Kept in systemd's StateDirectory= across restarts and reboots (in memory where there is none).
    staff_lockout = StaffLockout(default_lockout_path())
    session = Session(config, clock, staff_lockout=staff_lockout)
    journey = Journey(session, engine, card_reader=devices.card_reader, scanner=devices.scanner,
                      printer=devices.printer)
    health = HealthMonitor({
        "printer": lambda: probe_printer(devices.printer),
        "scanner": lambda: probe_scanner(devices.scanner),
        "card_reader": lambda: probe_card_reader(devices.card_reader),
        "camera": lambda: probe_camera(devices.camera),
        "speaker": lambda: probe_speaker(speaker),
    })
    staff_actions = _StaffDeviceActions(devices, health, journey, config)
    video = VideoView()
    window = KioskWindow(session, kiosk_mode=kiosk_mode, actions=journey, staff_actions=staff_actions, video=video)
    kiosk = Kiosk(session, journey, window, health, video, devices, engine, speaker)

    if speaker is not None:
        window.speak.connect(lambda text, lang: speaker.speak(text, lang))

        def on_speech_setting(snap: Any) -> None:
            if not snap.speech and speaker.speaking:
                speaker.stop()

        session.subscribe(on_speech_setting)

    def after_customer() -> None:
        """The wipe, for what the session does not hold: speech memory and the speaker volume."""
        if speaker is not None:
            speaker.forget()
        _reset_volume(config.devices.audio.volume_percent)

    session.on_wipe(after_customer)

    def on_health(report: Report) -> None:
        session.set_unavailable_devices(unavailable(report))
        window.staff.set_health({name: (h.health, h.reason) for name, h in report.items()})
        if session.state is State.STAFF:
            window.staff.show_snapshot(session.snapshot)

    health.subscribe(on_health)
    if engine is None:
        health.set("switchboard", DeviceHealth("missing", "no credential", "no_credential"))
    else:
        from kiosk import call as c

        def on_engine(event: Any) -> None:
            if isinstance(event, c.SwitchboardStatus):
                health.set("switchboard", network_health(event.connected, event.reason))
            elif isinstance(event, c.RemoteVideoFrame):
                video.show_remote(event.image, event.peer)
            elif isinstance(event, (c.AgentLeft, c.InterpreterLeft)):
                video.drop_remote(event.peer)
            elif isinstance(event, c.SelfVideoFrame):
                video.show_self(event.image)
            elif isinstance(event, c.CallEnded):
                video.clear()
            elif isinstance(event, c.CallTrouble) and event.kind in ("turn_refused", "turn_unreachable"):
                # A wrong TURN credential or an unreachable relay: staff and ops see it, not a silent timeout.
                health.set("switchboard", network_health(False, event.kind))

        engine.subscribe(on_engine)
        from kiosk.room import RoomReporter

        RoomReporter(session, health, engine)  # the host view's picture of the room (kiosk/room.py)

    if devices.card_reader is not None and devices.card_monitor is None:
        from drivers.cardreader import CardMonitor, EventKind, threadsafe

        def on_card(event: Any) -> None:
            if event.kind is EventKind.CARD_INSERTED:
                journey.spawn(journey.card_inserted())
            elif event.kind is EventKind.CARD_REMOVED:
                journey.card_removed()

        monitor = _try("card monitor", CardMonitor)
        if monitor is not None:
            monitor.add_listener(threadsafe(asyncio.get_event_loop(), on_card))
            devices.card_monitor = monitor

    if agent_socket:
        kiosk.link = AgentLink(agent_socket, session, health, config_path=config_path,
                               test_print=staff_actions.test_print, restart=restart)
        client = kiosk.link.client

        def report_staff_pin(state: LockoutState) -> None:
            """Wrong staff PINs go to the agent, which shows ops repeated failures (an alert)."""
            until = state.locked_until if state.locked_until > time.time() else None
            client.staff_pin(state.failures, state.lockouts,
                             dt.datetime.fromtimestamp(until, dt.UTC) if until else None)  # fmt: skip

        staff_lockout.subscribe(report_staff_pin)
        report_staff_pin(staff_lockout.state)
    return kiosk


def start(kiosk: Kiosk) -> list[asyncio.Task[Any]]:
    """Schedule what runs in the background — health probes, the card monitor, the call engine, the link —
    on the current event loop; they run once the loop does."""
    if kiosk.devices.media is not None:
        kiosk.devices.media.start()
    kiosk.health.start()
    if kiosk.devices.card_monitor is not None:
        kiosk.devices.card_monitor.start()
    tasks = []
    if kiosk.engine is not None:
        tasks.append(asyncio.ensure_future(kiosk.engine.start()))
    if kiosk.link is not None:
        tasks.append(asyncio.ensure_future(kiosk.link.run()))
    return tasks


async def stop(kiosk: Kiosk, tasks: list[asyncio.Task[Any]]) -> None:
    """Stop it all; nothing of a customer outlives the app either (the session is wiped)."""
    for task in tasks:
        task.cancel()
    kiosk.session.reset()
    await kiosk.health.stop()
    if kiosk.engine is not None:
        await kiosk.engine.close()
    await kiosk.journey.idle()
    if kiosk.devices.card_monitor is not None:
        kiosk.devices.card_monitor.stop()
    if kiosk.devices.card_reader is not None:
        kiosk.devices.card_reader.shutdown()
    if kiosk.devices.media is not None:
        kiosk.devices.media.stop()


def run(config: PointConfig, options: Options) -> int:
    """Run the kiosk until it is told to stop; returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("etapiste")
    import qasync  # imported here: it binds to the Qt binding already loaded

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    restart = False

    def restart_app() -> None:
        nonlocal restart
        restart = True
        quit_app()

    devices = build_devices(config) if options.devices else Devices()
    kiosk = assemble(
        config,
        devices=devices,
        engine=build_engine(config, devices) if options.devices else None,
        kiosk_mode=options.kiosk_mode,
        clock=_clock_from(options.at) if options.at else None,
        speaker=_try("speech output", _speaker) if options.devices else None,
        agent_socket=os.environ.get("ETAPISTE_AGENT_SOCKET") if options.devices else None,
        config_path=options.config_path,
        restart=restart_app,
    )
    session, window = kiosk.session, kiosk.window
    if options.language:
        session.set_language(options.language)

    def quit_app() -> None:
        # Qt 6 cancels quit() when a window refuses to close, and the kiosk window refuses the
        # keyboard's close: let it close first.
        window.allow_close()
        app.quit()

    bridge = _SignalBridge(quit_app)
    watchdog = Watchdog.from_environment(health=lambda: True)  # alive = this loop still runs the timer
    ticker = QTimer()
    ticker.timeout.connect(session.tick)
    ticker.start(TICK_MS)

    def on_first_paint() -> None:
        watchdog.ready("idle screen shown")
        watchdog.start()
        if options.report_painted:
            print("painted", flush=True)
        if options.screenshot is not None:
            options.screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(options.screenshot)):
                log.error("could not save the screenshot to %s", options.screenshot)
            quit_app()

    window.first_painted.connect(on_first_paint)
    if options.kiosk_mode:
        # Take the whole screen from the first frame, also where no window manager enforces it.
        window.setGeometry(app.primaryScreen().geometry())
        window.showFullScreen()
    else:
        window.resize(*options.size)
        window.show()

    with loop:
        closing = asyncio.Event()
        app.aboutToQuit.connect(closing.set)
        tasks = start(kiosk) if options.devices else []
        loop.run_until_complete(closing.wait())
        watchdog.stopping()
        loop.run_until_complete(stop(kiosk, tasks))
    ticker.stop()
    window.close()
    bridge.close()
    watchdog.close()
    if restart:
        reexec()
    return 0
