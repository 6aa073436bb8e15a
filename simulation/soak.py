"""The chaos soak: customer journeys one after another through the real kiosk app, with faults thrown in,
and after each one the checks a point must pass whatever happened (issue 24).

The world (:class:`World`) is the acceptance test's: the kiosk assembled by the app's own code
(:mod:`simulation.kiosk`, offscreen, on this asyncio loop) with its real drivers against private services
(cupsd with the fault backend, SANE's test scanner behind a per-scan fault plan, the virtual FINEID card in
a private pcscd), the switchboard in process, an aiortc agent at the desk (:mod:`simulation.desk_agent`)
and an interpreter, and the point's provisioning agent carrying statistics over a private mosquitto.

Each journey (:mod:`simulation.soak_plan`) is pressed on the kiosk's own buttons, like a finger would
(``QTest.mouseClick`` on visible, enabled widgets), while the scripted agent asks for text, identification,
scans, printouts and an interpreter. :func:`check_journey` then says what went wrong, in codes and counts
only (nothing of the customer): the kiosk back at idle, every document delivered with a matching SHA-256
and acknowledged or reported failed to both ends, nothing left (files, CUPS jobs and spool, widgets, the
scan in memory, log lines with the customer's words), exactly one statistics record with the right outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import cv2
import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestServer
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtTest import QTest

from drivers.camera import Camera, CameraReader
from etapiste import protocol as p
from etapiste.config.point import Camera as CameraConfig
from kiosk.media import MediaConfig, ToneTrack, placeholder_frame
from kiosk.session import Outcome, SessionRecord, Snapshot, State
from provisioning import broker as topics
from provisioning.bundle import SigningKey, TrustStore, sign_bundle
from provisioning.kiosk_link import read_config_version
from simulation.desk_agent import AiortcAgent
from simulation.documents import pdf_with_text
from simulation.heap import rss_mb, trimmed_heap
from simulation.kiosk import Kiosk
from simulation.netcut import POINT_ADDRESS, NetworkCut, in_private_network, point_on_its_own_address
from simulation.privacy import LogCapture, document_files
from simulation.services.cups import FaultQueue, PrivateCupsd
from simulation.services.mqtt import Broker
from simulation.services.pcsc import CardSlot, fineid_card
from simulation.soak_plan import PRINTER_FAULTS, PRINTER_STALLS, SCANNER_FAULTS, JourneyPlan, StepPlan
from simulation.switchboard import Switchboard
from switchboard.web import create_app

log = logging.getLogger(__name__)

#: The customer's identity and words: what must never be found in a log line or left on the screen.
GIVEN, SURNAME, SATU = "SPECIMEN-SOAKKI", "SPECIMEN-KESTÄVÄ", "999020016"
CUSTOMER_WORDS = "Asiakkaan salainen asia"
AGENT_WORDS = "Virkailijan kysymys"
PRINT_WORDS = "Kelan soak-päätös"
PRINT_NAME = "soak-paatos.pdf"
PIN, WRONG_PIN = "1234", "9999"
PERSONAL = (GIVEN, SURNAME, SATU, CUSTOMER_WORDS, AGENT_WORDS, PRINT_NAME)

#: Bounds (safety, not speed): longer than the drivers' and the switchboard's own timeouts, so a device
#: or a peer that hangs shows as its own error first.
STEP_S = 300.0
"""Longer than a printout may take before the driver gives up (``job_timeout_s`` 120 s, then as long again
while stalled) and than the scanner's answer timeout (90 s)."""
IDLE_S = 150.0
#: The switchboard's sweep, as ``etapiste switchboard`` runs it.
SWEEP_S = 1.0

#: The room's camera: a clip file read by the kiosk's own camera reader (emptying and deleting it is unplugging
#: the camera, writing it back is plugging it in, as in tests/kiosk/test_call_camera.py). Small, and long
#: enough that no run reaches its end (the reader would count the end of the file as an unplug of its own).
CAMERA_SIZE, CAMERA_FPS, CAMERA_MINUTES = (320, 240), 10, 30
CAMERA_BGR = (40, 160, 40)


class JourneyFailed(Exception):
    """A check of the journey failed; the message names it in states and codes."""


@dataclass
class Observed:
    """What one journey showed, gathered as it ran (steps and codes, never the customer's content)."""

    flow_steps: list[tuple[str, str]] = field(default_factory=list)
    records: list[SessionRecord] = field(default_factory=list)
    answered: bool = False
    documents: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    trouble_shown: bool = False
    """The call screen told the customer of connection trouble at some point."""

    def saw(self, flow: str, step: str) -> bool:
        return (flow, step) in self.flow_steps


@dataclass
class JourneyResult:
    plan: JourneyPlan
    seconds: float
    outcome: str | None
    documents: list[dict[str, Any]]
    problems: list[str]
    crashed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.crashed

    def to_json(self) -> dict[str, Any]:
        return {"journey": self.plan.label, "path": self.plan.path, "faults": self.plan.faults,
                "seconds": round(self.seconds, 1), "outcome": self.outcome, "documents": self.documents,
                "problems": self.problems, "crashed": self.crashed}  # fmt: skip


class SkippableClock:
    """The session's monotonic clock, which a customer walking away moves forward: the inactivity limit
    (``ui.idle_timeout_s``, at least 30 s) passes without the soak waiting for it."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


@dataclass
class World:
    """Everything the journeys run against; built by the caller (the test's fixtures, the bench's services)."""

    kiosk: Kiosk
    sb: Switchboard
    sb_factory: Callable[[], Any]
    """Makes the switchboard's app again (a restart: same configuration, empty memory)."""
    card_slot: CardSlot
    identity: Any
    cupsd: PrivateCupsd
    printer_queue: FaultQueue
    scan_plan: Path
    broker: Any | None = None
    camera: CameraReader | None = None
    """The kiosk's camera reader on :attr:`camera_clip` (``None``: the test pattern, nothing to unplug)."""
    camera_clip: Path | None = None
    camera_bytes: bytes = b""
    point_agent: Any | None = None
    """The point's provisioning agent (:class:`provisioning.agent.Agent`), which applies new bundles."""
    signing_key: SigningKey | None = None
    """The organiser's key the point trusts: what a configuration reload is signed with."""
    point_config: dict[str, Any] = field(default_factory=dict)
    reloads_received: int = 0
    restarts: list[str] = field(default_factory=list)
    """The session's state each time the kiosk restarted on a new configuration."""
    reload_version: int | None = None
    """The version a reload of this journey published (checked after the visit)."""
    ops_stats: Callable[[], int | None] | None = None
    """Sessions the ops side has received in the point's published statistics (``None``: not yet)."""
    agent: AiortcAgent | None = None
    interpreter: AiortcAgent | None = None
    capture: LogCapture = field(default_factory=LogCapture)
    clock: SkippableClock = field(default_factory=SkippableClock)
    temp_dirs: tuple[str, ...] = ("/tmp", "/dev/shm", "/var/tmp")
    """Where a leaked document would be looked for."""
    temp_before: set[str] = field(default_factory=set)
    observed: Observed = field(default_factory=Observed)
    faults: dict[str, int] = field(default_factory=dict)
    network: NetworkCut | None = None
    """Cuts the point's network (``None``: the soak does not run in a private network, no cut)."""
    cuts: dict[str, int] = field(default_factory=dict)
    """What the network cuts did: the call kept or ended, and whether the customer was told."""
    _ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        session = self.kiosk.session
        # The session's own clock for the inactivity limit; the time of day stays the kiosk's.
        session._monotonic = self.clock  # the one seam for time; no product code knows it
        session.subscribe(self._watch)
        session.on_record(lambda record: self.observed.records.append(record))
        logging.getLogger().addHandler(self.capture)
        logging.getLogger().setLevel(min(logging.getLogger().level or logging.INFO, logging.INFO))
        self.temp_before = document_files(self.temp_dirs)
        self._ticker = asyncio.create_task(self._tick())
        await self.ensure_agents()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        logging.getLogger().removeHandler(self.capture)
        for agent in (self.agent, self.interpreter):
            if agent is not None:
                with contextlib.suppress(Exception):
                    await agent.close()

    async def _tick(self) -> None:
        """What the app's one-second QTimer does: the session follows the clock. And what its Qt event loop
        does (qasync runs asyncio inside it; here asyncio runs alone): widgets the kiosk gave up with
        ``deleteLater`` are deleted. Without it every language switch of the on-screen keyboard left its
        old keys alive in the soak only (+234 QPushButtons over 11 journeys; none under qasync)."""
        while True:
            await asyncio.sleep(0.25)
            self.kiosk.session.tick()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def _watch(self, snap: Snapshot) -> None:
        call = snap.call
        if snap.state is State.CALL:
            self.observed.answered = True
        if call is None:
            return
        if call.trouble is not None:
            self.observed.trouble_shown = True
        for name, flow in (("identify", call.identify), ("scan", call.scan), ("print", call.print_)):
            if flow is not None and (not self.observed.flow_steps or self.observed.flow_steps[-1] != (name, flow.step)):
                self.observed.flow_steps.append((name, flow.step))

    async def ensure_agents(self) -> None:
        """The agent and the interpreter at their desks (again, after a switchboard restart or a closed page)."""
        if self.agent is None:
            self.agent = AiortcAgent(self.sb, "anna")
            await self.agent.connect()
        if self.interpreter is None:
            self.interpreter = AiortcAgent(self.sb, "tulkki")
            await self.interpreter.connect()

    async def drop_agents(self) -> None:
        for agent in (self.agent, self.interpreter):
            if agent is not None:
                with contextlib.suppress(Exception):
                    await agent.close()
        self.agent = self.interpreter = None

    async def restart_switchboard(self) -> None:
        """Stop the switchboard and start it again on the same port, with nothing in its memory (as a
        process restart): calls, queues, desk logins are gone; the point and the desks must come back."""
        port = self.sb.server.port
        await self.sb.server.close()
        for attempt in range(20):
            server = TestServer(self.sb_factory(), host="127.0.0.1", port=port)
            try:
                await server.start_server()
                break
            except OSError:
                await server.close()
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)
        self.sb.server = server
        await self.listen_for_point()
        await self.drop_agents()  # their logins died with the switchboard's memory: the desks log in again

    async def listen_for_point(self) -> None:
        """With a private network, the switchboard also listens on the point's own address, where the point
        reaches it (so that a cut of that address cuts the point's signalling, not the desks')."""
        runner = self.sb.server.runner
        if self.network is not None and runner is not None:
            site = web.TCPSite(runner, POINT_ADDRESS, self.sb.server.port)
            await site.start()

    def count(self, fault: str) -> None:
        self.faults[fault] = self.faults.get(fault, 0) + 1
        self.observed.faults.append(fault)


# -- the customer's fingers ------------------------------------------------------------------------------


def click(widget: Any, what: str) -> None:
    if not (widget.isVisible() and widget.isEnabled()):
        raise JourneyFailed(f"the customer cannot press {what} ({widget.objectName()})")
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


async def until(check: Callable[[], Any], what: str, timeout: float = STEP_S) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise JourneyFailed(f"never happened within {timeout:g} s: {what}")
        await asyncio.sleep(0.05)


def shown(snap: Snapshot) -> str:
    """The kiosk's state in codes (for a failure's message)."""
    parts = [snap.state.value]
    if snap.call is not None:
        for name, flow in (("identify", snap.call.identify), ("scan", snap.call.scan), ("print", snap.call.print_)):
            if flow is not None:
                parts.append(f"{name}:{flow.step}" + (f"({flow.error})" if flow.error else ""))
    return " ".join(parts)


# -- one journey -----------------------------------------------------------------------------------------


async def run_journey(world: World, plan: JourneyPlan) -> JourneyResult:
    """Play ``plan`` on the kiosk, then check it; failures are the result's problems, never exceptions."""
    started = time.monotonic()
    world.observed = Observed()
    world.capture.clear()
    crashed = False
    try:
        await prepare(world)
        await play(world, plan)
    except JourneyFailed as exc:
        world.observed.problems.append(f"journey: {exc} (kiosk: {shown(world.kiosk.session.snapshot)})")
    except Exception as exc:  # the soak's own bug or a crash of the kiosk's code: counted, named by type
        crashed = True
        world.observed.problems.append(f"crash: {type(exc).__name__} (kiosk: {shown(world.kiosk.session.snapshot)})")
        log.exception("soak journey %s crashed", plan.label)
    await settle(world)
    await check_reload(world)
    problems = world.observed.problems + check_journey(world, plan)
    await reset_devices(world)
    outcome = world.observed.records[0].outcome.value if len(world.observed.records) == 1 else None
    return JourneyResult(plan, time.monotonic() - started, outcome, world.observed.documents, problems, crashed)


async def prepare(world: World) -> None:
    """Before a customer: the kiosk idle and online, the desks logged in and free."""
    k = world.kiosk
    await until(lambda: k.session.state is State.IDLE, "the idle screen before the customer", IDLE_S)
    await asyncio.wait_for(k.engine.connected.wait(), STEP_S)
    await world.ensure_agents()
    assert world.agent is not None
    await until(lambda: world.agent is not None and world.agent.call is None, "the agent free")


async def play(world: World, plan: JourneyPlan) -> None:
    k, w = world.kiosk, world.kiosk.window
    s = k.session
    click(w.idle.language_buttons[plan.language], "a language")
    if plan.path == "walk_away_before_choosing":
        await walk_away(world)
        return
    click(w.service_choice.buttons["kela"], "Kela")
    click(w.notice.go, "continue")
    await until(lambda: s.state is not State.QUEUE or s.snapshot.queue_position is not None, "a place in the queue")
    if plan.path == "cancel_in_queue":
        click(w.queue.cancel, "stop waiting")
        await until(lambda: s.state is State.SERVICE_CHOICE, "the service choice after leaving the queue")
        click(w.service_choice.back, "back")
        return
    agent = world.agent
    assert agent is not None
    await agent.accept_next()
    await until(lambda: s.state is State.CALL, "the call screen")
    await agent.channel_open()
    call_over = False
    for i, step in enumerate(plan.steps):
        if plan.call_fault and i == plan.call_fault_before:
            await call_fault(world, plan)
        if s.state is not State.CALL:
            call_over = True
            break
        if plan.end == "walks_away_mid_flow" and i == len(plan.steps) - 1:
            await begin_and_leave(world, step)
            break
        await STEPS[step.kind](world, step)
        if step.fault == "agent_closes_mid_transfer":
            call_over = True
            break
    if plan.call_fault and plan.call_fault_before >= len(plan.steps) and not call_over:
        await call_fault(world, plan)
    await end_call(world, plan, call_over)


async def walk_away(world: World) -> None:
    """The customer leaves the screen as it is: the inactivity limit ends the session."""
    limit = world.kiosk.config.ui.idle_timeout_s
    world.clock.skipped += limit + 1
    await until(lambda: world.kiosk.session.state is State.IDLE, "the session ended by the inactivity limit")


async def end_call(world: World, plan: JourneyPlan, call_over: bool) -> None:
    k, w, agent = world.kiosk, world.kiosk.window, world.agent
    s = k.session
    if s.state is State.CALL and not call_over:
        if plan.end == "customer_hangs_up":
            close_panel(world)
            click(w.call.end, "end call")
        elif agent is not None and agent.call is not None:
            await agent.send(p.Hangup(call=agent.call))
    await until(lambda: s.state is not State.CALL, "the end of the call")
    if s.state is State.SURVEY:
        if plan.rating is None or plan.end == "walks_away_mid_flow":
            if plan.end == "walks_away_mid_flow":
                await walk_away(world)
            else:
                click(w.survey.skip, "skip the survey")
        else:
            click(w.survey.ratings[plan.rating - 1], "a rating")


def close_panel(world: World) -> None:
    """OK on a settled sub-flow's panel, so the call screen's End button is in reach."""
    w = world.kiosk.window
    call = world.kiosk.session.snapshot.call
    if call is None:
        return
    settled = (call.identify is not None and call.identify.step in ("failed", "remove_card")) or (
        call.scan is not None and call.scan.step in ("sent", "failed")) or (
        call.print_ is not None and call.print_.step in ("done", "failed"))
    if settled and w.call.flow_primary.isVisible():
        click(w.call.flow_primary, "OK")


async def begin_and_leave(world: World, step: StepPlan) -> None:
    """The agent starts ``step``; the customer walks away in the middle of it; the agent, seeing nobody, hangs
    up; the survey's inactivity limit ends the session."""
    agent, s = world.agent, world.kiosk.session
    assert agent is not None and agent.call is not None
    if step.kind == "identify":
        await agent.send(p.IdentityStart(call=agent.call))
        await until(lambda: s.snapshot.call and s.snapshot.call.identify, "the identification panel")
    elif step.kind == "scan":
        agent.dc_send(p.ScanRequest(request=f"walk-{world.agent and id(step)}"))
        await until(lambda: s.snapshot.call and s.snapshot.call.scan, "the scan panel")
    else:
        await STEPS[step.kind](world, step)


async def call_fault(world: World, plan: JourneyPlan) -> None:
    fault = plan.call_fault
    assert fault is not None
    try:
        if fault == "network_cut":
            if world.network is not None:
                await cut_network(world, world.network, plan.network_cut_s)
        else:
            await inject(world, fault)
    except JourneyFailed:
        raise
    except Exception as exc:  # the harness could not do it: not the kiosk's crash, but the journey failed
        raise JourneyFailed(f"harness: could not inject {fault} ({type(exc).__name__})") from exc


async def inject(world: World, fault: str) -> None:
    if fault == "switchboard_restart":
        world.count(fault)
        in_call = world.kiosk.session.state is State.CALL
        await world.restart_switchboard()
        if in_call:
            # The new switchboard holds no call: the kiosk, back on it, ends the call and tells the customer.
            await until(lambda: world.kiosk.session.state is not State.CALL,
                        "the call ended and told once the restarted switchboard does not know it")
        await until(lambda: world.kiosk.engine.connected.is_set(), "the kiosk back on the switchboard")
    elif fault == "broker_restart" and world.broker is not None:
        world.count(fault)
        await asyncio.to_thread(world.broker.restart)
    elif fault == "camera_unplugged" and world.camera_clip is not None:
        world.count(fault)
        await unplug_camera(world)
    elif fault == "config_reload" and world.point_agent is not None:
        world.count(fault)
        await reload_config(world)


#: A cut this long leaves the customer looking at a frozen picture long enough that the screen must say so
#: (or the call has ended and said why): the point tells them after ~3 s of silence (kiosk/call/peer.py,
#: ``SILENT_S``, checked at each 2 s quality sample).
CUT_TOLD_S = 10


async def cut_network(world: World, network: NetworkCut, seconds: int) -> None:
    """The point's network goes for ``seconds`` in the call, then comes back. Afterwards the call is either
    back (the customer's screen clear of trouble, the agent seeing the customer again) or over and said so;
    a cut of :data:`CUT_TOLD_S` or more while the call survived must have been shown to the customer."""
    s, agent = world.kiosk.session, world.agent
    world.count("network_cut")
    network.cut()
    try:
        await asyncio.sleep(seconds)
    finally:
        network.restore()
    seen = agent.frames["video"] if agent is not None else 0

    def settled() -> bool:
        if s.state is not State.CALL:
            return True
        call = s.snapshot.call
        return call is not None and call.trouble is None and agent is not None and agent.frames["video"] > seen + 5

    await until(settled, f"the call back or ended after a {seconds} s network cut")
    kept = s.state is State.CALL
    outcome = "call_kept" if kept else "call_ended"
    world.cuts[outcome] = world.cuts.get(outcome, 0) + 1
    if world.observed.trouble_shown:
        world.cuts["trouble_shown"] = world.cuts.get("trouble_shown", 0) + 1
    if kept and seconds >= CUT_TOLD_S and not world.observed.trouble_shown:
        raise JourneyFailed(f"a {seconds} s network cut was never shown to the customer")
    if not kept:
        await until(lambda: world.kiosk.engine.connected.is_set(), "the kiosk back on the switchboard after the cut")


async def reload_config(world: World) -> None:
    """The organiser publishes a new signed bundle mid-call; the point's agent verifies and applies it and
    tells the kiosk to reload. The kiosk must keep serving the customer and restart on it after the visit
    (checked by :func:`check_reload` once the visit is over)."""
    agent, key, mosquitto = world.point_agent, world.signing_key, world.broker
    assert agent is not None and key is not None and mosquitto is not None
    version = agent.applier.newest_version + 1  # above a rolled-back one too: one failure must not cascade
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    payload = json.dumps(sign_bundle(world.point_config, version=version, expires=expires, keys=[key])).encode()
    received = world.reloads_received
    async with aiomqtt.Client(**mosquitto.credentials("ops-watch")) as client:
        await client.publish(topics.topic(agent.s.point, "desired"), payload, qos=1, retain=True)
    world.reload_version = version
    await until(lambda: world.reloads_received > received, "the kiosk told to reload", 60)
    if world.kiosk.session.state is State.CALL and world.restarts:
        world.observed.problems.append("config: the kiosk restarted in the middle of the call")


async def check_reload(world: World) -> None:
    """After a visit with a reload: the kiosk restarted on the new configuration only once nobody was served,
    and the agent counts it applied (the kiosk healthy on it)."""
    version, agent = world.reload_version, world.point_agent
    if version is None or agent is None:
        return
    world.reload_version = None
    try:
        await until(lambda: world.restarts, "the kiosk restarted on the new configuration after the visit", 60)
        await until(lambda: agent.applier.applied_version == version, "the new configuration applied", 90)
    except JourneyFailed as exc:
        world.observed.problems.append(f"config: {exc}")
    customer = [state for state in world.restarts if state not in ("idle", "staff")]
    if customer:
        world.observed.problems.append(f"config: the kiosk restarted with a customer ({customer[0]})")
    world.restarts.clear()


def looks_like(frame: Any, reference: np.ndarray) -> bool:
    """VP8 is lossy: the mean absolute difference from ``reference`` is small."""
    if frame is None or frame.shape != reference.shape:
        return False
    return float(np.mean(np.abs(frame.astype(int) - reference.astype(int)))) < 12


async def unplug_camera(world: World) -> None:
    """The camera's cable comes out mid-call: the agent must see the placeholder (not a frozen customer) and
    be told why, staff's health must name the camera; the call goes on (plugged back in after the visit)."""
    agent, k = world.agent, world.kiosk
    assert world.camera_clip is not None and agent is not None
    told_before = len(agent.data_seen("device.status"))
    # The reader holds the file open: emptying it first is the stream stopping (no more frames from the
    # device), removing it is the device node gone (re-opening fails).
    os.truncate(world.camera_clip, 0)
    world.camera_clip.unlink()
    placeholder = placeholder_frame(*CAMERA_SIZE)
    if k.session.state is not State.CALL:
        return
    try:
        await until(lambda: k.session.state is not State.CALL or looks_like(agent.last_video, placeholder),
                    "the placeholder at the desk after the camera was unplugged", 30)
        await until(lambda: k.session.state is not State.CALL or any(
            m.device == "camera" and not m.ok for m in agent.data_seen("device.status")[told_before:]),
            "the desk told the camera is gone", 30)
    except JourneyFailed as exc:
        world.observed.problems.append(f"camera: {exc}")
    await k.health.check()
    camera = k.health.report.get("camera")
    if camera is None or camera.health == "ok":
        world.observed.problems.append(f"camera: staff's health does not name the unplugged camera ({camera})")


async def plug_camera_in(world: World) -> None:
    """Between customers the camera is plugged back in; the next customer is filmed again."""
    if world.camera_clip is None or world.camera is None or world.camera_clip.exists():
        return
    world.camera_clip.write_bytes(world.camera_bytes)
    camera = world.camera
    try:
        await until(lambda: camera.status().state == "ready", "the camera back", 30)
    except JourneyFailed as exc:  # the next customer would not be filmed: that is a finding, not noise
        world.observed.problems.append(f"camera: plugged back in, but {exc}")


# -- the call's steps ------------------------------------------------------------------------------------


async def text_step(world: World, step: StepPlan) -> None:
    agent, w, s = world.agent, world.kiosk.window, world.kiosk.session
    assert agent is not None
    agent.dc_send(p.Rtt(seq=1, text=AGENT_WORDS, final=True))
    await until(lambda: AGENT_WORDS in w.call.transcript.text(), "the agent's words on the kiosk")
    close_panel(world)
    w.call.entry.setFocus()
    QTest.keyClicks(w.call.entry, CUSTOMER_WORDS)
    QTest.keyClick(w.call.entry, Qt.Key.Key_Return)
    await until(lambda: any(getattr(m, "text", "") == CUSTOMER_WORDS and m.final for m in agent.data_seen("rtt")),
                "the customer's words at the desk")
    assert s.snapshot.call is not None


def _identify(world: World) -> Any:
    call = world.kiosk.session.snapshot.call
    return call.identify if call is not None else None


async def identify_step(world: World, step: StepPlan) -> None:
    """The agent asks; the customer puts the card in and types PIN1 on the pad, meeting the step's fault on
    the way (a wrong PIN first, the card pulled out while typing or while it signs: put back, PIN again)."""
    agent, w, slot = world.agent, world.kiosk.window, world.card_slot
    assert agent is not None and agent.call is not None
    results_before = len(agent.seen("identity.result"))
    await agent.send(p.IdentityStart(call=agent.call))
    await until(lambda: _identify(world) and _identify(world).step in ("insert_card", "enter_pin"),
                "the kiosk asks for the card")
    card = fineid_card(world.identity)
    if step.fault:
        world.count(step.fault)

    def type_pin(pin: str) -> None:
        for digit in pin:
            click(w.pin_pad.digit_keys[int(digit)], "a PIN digit")

    pending = {step.fault} if step.fault else set()
    attempts = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_S
    while len(agent.seen("identity.result")) == results_before:
        if loop.time() > deadline:
            raise JourneyFailed(f"no verdict at the desk within {STEP_S:g} s")
        ident = _identify(world)
        if ident is None:
            raise JourneyFailed("the identification panel closed with no verdict at the desk")
        if ident.step == "insert_card" and attempts < 4:
            slot.insert(card)
            await until(lambda: _identify(world) is None or _identify(world).step != "insert_card",
                        "the card seen in the reader")
        elif ident.step == "enter_pin" and ident.tries_left is not None and attempts < 4:
            attempts += 1
            if "card_pulled_mid_pin" in pending:
                pending.discard("card_pulled_mid_pin")
                type_pin(PIN[:2])
                slot.remove()
                await until(lambda: _identify(world) is None or _identify(world).step != "enter_pin",
                            "the kiosk sees the card gone")
                continue
            if "card_pulled_mid_signature" in pending:
                pending.discard("card_pulled_mid_signature")
                slot.pull_on(0x2A)  # PERFORM SECURITY OPERATION: the card leaves as it signs
            for _ in range(len(w.pin_pad)):
                click(w.pin_pad.backspace_key, "backspace")
            wrong = "wrong_pin" in pending
            pending.discard("wrong_pin")
            type_pin(WRONG_PIN if wrong else PIN)
            click(w.pin_pad.ok_key, "PIN OK")
            await until(lambda: _identify(world) is None or _identify(world).step != "enter_pin"
                        or _identify(world).error is not None, "the card's answer")
            if wrong:
                await until(lambda: _identify(world) is None or _identify(world).step != "checking",
                            "the wrong PIN's answer")
        elif ident.step == "failed":
            break  # settled on the kiosk; the verdict reaches the desk just after
        await asyncio.sleep(0.05)
    await until(lambda: len(agent.seen("identity.result")) > results_before, "the verdict at the desk")
    result = agent.seen("identity.result")[-1]
    await until(lambda: _identify(world) is None or _identify(world).step in ("remove_card", "failed"),
                "the outcome on the kiosk")
    if result.ok != (_identify(world) is None or _identify(world).step == "remove_card"):
        world.observed.problems.append(f"identify: the desk and the kiosk disagree (desk ok={result.ok}, "
                                       f"kiosk {shown(world.kiosk.session.snapshot)})")
    slot.remove()
    await until(lambda: _identify(world) is None or _identify(world).step == "failed", "the card out")
    close_panel(world)
    await until(lambda: _identify(world) is None, "the identification panel closed")


def _scan(world: World) -> Any:
    call = world.kiosk.session.snapshot.call
    return call.scan if call is not None else None


def scan_plan(step: StepPlan) -> dict[str, dict[str, Any]]:
    """The feeder for ``step``: ``pages`` sheets, and the backend's fault after ``fault_at_page``."""
    plan: dict[str, dict[str, Any]] = {}
    if step.pages < 10:
        plan[str(step.pages)] = {"read_return_value": "SANE_STATUS_NO_DOCS"}
    if step.fault == "scanner_empty_feeder":
        plan = {"0": {"__empty_feeder__": True}}
    elif step.fault:
        plan[str(step.fault_at_page)] = {"read_return_value": SCANNER_FAULTS[step.fault]}
    return plan


async def scan_step(world: World, step: StepPlan) -> None:
    agent, w, k = world.agent, world.kiosk.window, world.kiosk
    assert agent is not None
    world.scan_plan.write_text(json.dumps(scan_plan(step)), encoding="utf-8")
    if step.fault:
        world.count(step.fault)
    request = f"scan-{step.pages}-{len(agent.data)}"
    sent_before, received_before = len(k.sent_documents), len(agent.received)
    agent.dc_send(p.ScanRequest(request=request))
    await until(lambda: _scan(world) and _scan(world).step == "place_paper", "the kiosk asks to place the paper")
    click(w.call.flow_primary, "scan")
    await until(lambda: _scan(world) and _scan(world).step in ("preview", "failed"), "the preview or the failure")
    if _scan(world).step == "preview":
        click(w.call.flow_primary, "send")
        await until(lambda: _scan(world) and _scan(world).step in ("sent", "failed"), "the scan sent or failed")
    await until(lambda: any(m.request == request and m.state in ("sent", "failed", "declined")
                            for m in agent.data_seen("scan.status")), "the scan's outcome at the desk")
    final = [m for m in agent.data_seen("scan.status") if m.request == request][-1]
    doc: dict[str, Any] = {"kind": "scan", "pages": step.pages, "fault": step.fault, "at_desk": final.state,
                           "reason": final.reason, "kiosk": _scan(world).step if _scan(world) else None}
    sent = k.sent_documents[sent_before:]
    got = agent.received[received_before:]
    if final.state == "sent" and sent and got:
        body = got[-1][1]
        doc["sha256_match"] = hashlib.sha256(body).hexdigest() == hashlib.sha256(sent[-1]).hexdigest()
        doc["verdict"] = "delivered" if doc["sha256_match"] and doc["kiosk"] == "sent" else "lost"
    elif final.state == "failed" and world.observed.saw("scan", "failed"):
        doc["verdict"] = "reported_failed"
    else:
        doc["verdict"] = "lost"
    world.observed.documents.append(doc)
    close_panel(world)
    await until(lambda: _scan(world) is None, "the scan panel closed")


def _print(world: World) -> Any:
    call = world.kiosk.session.snapshot.call
    return call.print_ if call is not None else None


async def print_step(world: World, step: StepPlan) -> None:
    agent = world.agent
    assert agent is not None
    document = pdf_with_text(step.pages, PRINT_WORDS)
    transfer = f"print-{len(agent.data)}"
    doc: dict[str, Any] = {"kind": "print", "pages": step.pages, "fault": step.fault}
    world.observed.documents.append(doc)
    if step.fault in PRINTER_FAULTS:
        world.count(step.fault)
        world.printer_queue.set(PRINTER_FAULTS[step.fault])
    if step.fault == "agent_closes_mid_transfer":
        world.count(step.fault)
        half = document[: max(1, len(document) // 2)]
        await agent.send_document(half, PRINT_NAME, transfer=transfer, declared_size=len(document),
                                  declared_sha=hashlib.sha256(document).hexdigest(), end=False)
        await world.drop_agents()  # the agent's browser closes with the document half sent
        doc["verdict"] = "abandoned_by_agent"
        await until(lambda: world.kiosk.session.state is not State.CALL, "the call's end after the agent left")
        if world.observed.saw("print", "done"):
            world.observed.problems.append("print: a half-sent document was printed")
        return
    await agent.send_document(document, PRINT_NAME, transfer=transfer)

    def at_desk(*states: str) -> Any:
        return next((m for m in reversed(agent.data_seen("print.status")) if m.transfer == transfer
                     and m.state in states), None)

    if step.fault in PRINTER_STALLS:
        # Both ends are told of the stall while it lasts; then the staff clear it, or the customer gives up.
        await until(lambda: at_desk("failed", "done", "cancelled") or (
            _print(world) and _print(world).error and any(m.transfer == transfer and m.reason
                                                          for m in agent.data_seen("print.status"))),
            "the stalled printout told to the customer and the agent")
        doc["stall_told"] = not at_desk("failed", "done", "cancelled")
        if doc["stall_told"] and step.customer_cancels:
            click(world.kiosk.window.call.flow_secondary, "cancel the printout")
            await until(lambda: at_desk("failed", "done", "cancelled"), "the cancel at the desk")
            final = at_desk("failed", "done", "cancelled")
            doc.update({"at_desk": final.state, "reason": final.reason, "kiosk": "cancelled"})
            doc["verdict"] = "cancelled_by_customer" if final.state == "cancelled" else "lost"
            return
        if doc["stall_told"]:
            clear_printer(world)  # the host's staff put paper in / clear the jam: the queue resumes
    await until(lambda: at_desk("done", "failed", "cancelled"), "the printout's outcome at the desk")
    final = at_desk("done", "failed", "cancelled")
    await until(lambda: _print(world) and _print(world).step in ("done", "failed"),
                "the printout's outcome on the kiosk")
    kiosk_step = _print(world).step
    doc.update({"at_desk": final.state, "reason": final.reason, "kiosk": kiosk_step,
                "pages_done": final.pages_done})
    acked = [m for m in agent.data_seen("doc.ack") if m.transfer == transfer]
    if final.state == "done" and kiosk_step == "done" and acked and acked[-1].ok:
        doc["verdict"] = "delivered"
        doc["sha256_match"] = True  # the kiosk's doc.ack ok: size and SHA-256 matched what the agent sent
    elif final.state == "failed" and kiosk_step == "failed":
        doc["verdict"] = "reported_failed"
    else:
        doc["verdict"] = "lost"
    close_panel(world)
    await until(lambda: _print(world) is None, "the print panel closed")


async def interpreter_step(world: World, step: StepPlan) -> None:
    agent, interpreter, s = world.agent, world.interpreter, world.kiosk.session
    assert agent is not None and interpreter is not None and agent.call is not None
    invited_before = len(interpreter.seen("interpreter.invited"))
    await agent.send(p.InterpreterInvite(call=agent.call, language="ar"))
    await interpreter.until(lambda: len(interpreter.seen("interpreter.invited")) > invited_before, 30,
                            "the invitation")
    invite = interpreter.seen("interpreter.invited")[-1]
    await interpreter.send(p.InterpreterAccept(invite=invite.invite))
    await until(lambda: s.snapshot.call and s.snapshot.call.interpreter, "the interpreter on the kiosk")
    await interpreter.until(lambda: interpreter.call is not None, 30, "the interpreter in the call")
    call = interpreter.call
    assert call is not None
    await interpreter.send(p.Hangup(call=call))  # the interpreter leaves; the call goes on
    await until(lambda: s.state is not State.CALL or not (s.snapshot.call and s.snapshot.call.interpreter),
                "the interpreter gone from the kiosk")


STEPS: dict[str, Callable[[World, StepPlan], Any]] = {
    "text": text_step, "identify": identify_step, "scan": scan_step, "print": print_step,
    "interpreter": interpreter_step,
}  # fmt: skip


# -- after the journey -----------------------------------------------------------------------------------


async def settle(world: World) -> None:
    """Whatever happened, the customer is gone: bring the kiosk to its idle screen the way a point would
    (the inactivity limit on a screen left as it was), and let the background work finish."""
    s = world.kiosk.session
    with contextlib.suppress(JourneyFailed):
        if s.state is State.CALL and world.agent is not None and world.agent.call is not None:
            await world.agent.send(p.Hangup(call=world.agent.call))
        await until(lambda: s.state is not State.CALL, "the call's end", STEP_S)
    if s.state is State.QUEUE:
        world.kiosk.window.queue.cancel.click()
    if s.state is not State.IDLE:
        world.clock.skipped += world.kiosk.config.ui.idle_timeout_s + 1
    try:
        await until(lambda: s.state is State.IDLE, "the idle screen after the customer", IDLE_S)
    except JourneyFailed as exc:
        world.observed.problems.append(f"idle: {exc} (kiosk: {shown(s.snapshot)})")
    await asyncio.wait_for(world.kiosk.journey.idle(), IDLE_S)
    if world.agent is not None:
        with contextlib.suppress(JourneyFailed):
            await until(lambda: world.agent is None or world.agent.call is None, "the desk free again", 30)


def expected_outcome(plan: JourneyPlan, answered: bool) -> Outcome:
    if plan.path == "walk_away_before_choosing":
        return Outcome.LEFT_BEFORE_CHOOSING
    if plan.path == "cancel_in_queue":
        return Outcome.ABANDONED
    return Outcome.SERVED if answered else Outcome.CONNECTION_LOST


def check_journey(world: World, plan: JourneyPlan) -> list[str]:
    """The checks after every journey, whatever happened; each problem in codes and counts only."""
    k, w = world.kiosk, world.kiosk.window
    problems = []
    if k.session.state is not State.IDLE:
        problems.append(f"alive: not back at idle ({k.session.state.value})")
    for task in k._tasks:  # the app's background tasks (engine, link): none may have died
        if task.done() and not task.cancelled() and task.exception() is not None:
            problems.append(f"alive: a kiosk task died ({type(task.exception()).__name__})")
    for doc in world.observed.documents:
        if doc.get("verdict") == "lost":
            problems.append(f"document lost: {doc}")
        elif doc.get("verdict") is None:  # the journey broke off before both ends had a say: not proven safe
            doc["verdict"] = "unaccounted"
            problems.append(f"document unaccounted: {doc}")
    # Nothing of the customer remains.
    if (w.call.transcript.text(), w.call.agent_typing.text(), w.call.entry.text()) != ("", "", ""):
        problems.append("residue: text left in the call screen's widgets")
    if w.call.entry.isUndoAvailable():  # Ctrl+Z would bring the customer's words back
        problems.append("residue: the text entry can undo back to the customer's words")
    pixmap = w.call.flow_preview.pixmap()
    if pixmap is not None and not pixmap.isNull():
        problems.append("residue: a scan preview left on the screen")
    if k.journey._scan_result is not None:  # the scan held in memory between preview and send
        problems.append("residue: a scan held in memory")
    if world.cupsd.job_ids():
        problems.append(f"residue: {len(world.cupsd.job_ids())} CUPS job(s) known")
    if world.cupsd.spool_files():
        problems.append(f"residue: {len(world.cupsd.spool_files())} file(s) in the CUPS spool")
    if k.printer.leftovers():
        problems.append("residue: the printer driver still holds jobs")
    left = document_files(world.temp_dirs) - world.temp_before
    if left:
        problems.append(f"residue: {len(left)} document file(s) in the temporary directories")
    leaked = world.capture.personal(PERSONAL)
    if leaked:
        problems.append(f"privacy: {len(leaked)} log line(s) hold the customer's words")
    # Exactly one statistics record, with the right outcome.
    records = world.observed.records
    if len(records) != 1:
        problems.append(f"statistics: {len(records)} records for one visit")
    else:
        want = expected_outcome(plan, world.observed.answered)
        if records[0].outcome is not want:
            problems.append(f"statistics: outcome {records[0].outcome.value}, expected {want.value}")
    return problems


def forget(agent: AiortcAgent) -> None:
    """The desk between customers: what it saw of the last one goes (a queue snapshot still naming the last
    customer's ticket would have the next answer go to a ticket that is gone; received scans are bytes)."""
    for seen in (agent.messages, agent.data, agent.received, agent.answers, agent.rejoins):
        seen.clear()
    agent.frames.clear()
    agent.offers.clear()
    agent.last_video = None


def clear_printer(world: World) -> None:
    """The host's staff put paper in and clear the jam: the printer is fine again and the queue resumes."""
    world.printer_queue.set("ok")
    conn = world.cupsd.connection()
    with contextlib.suppress(Exception):
        conn.enablePrinter(world.printer_queue.name)
    with contextlib.suppress(Exception):
        conn.acceptJobs(world.printer_queue.name)


async def reset_devices(world: World) -> None:
    """Between customers the printer is fine again, nothing is in the reader or the feeder's plan, and the
    harness forgets what it watched of the last customer (the engine's events, the documents' bytes)."""
    clear_printer(world)
    for agent in (world.agent, world.interpreter):
        if agent is not None and agent.call is None:
            forget(agent)
    world.kiosk.recorder.events.clear()
    world.kiosk.recorder.times.clear()
    world.kiosk.sent_documents.clear()
    world.scan_plan.write_text("{}", encoding="utf-8")
    await plug_camera_in(world)
    with contextlib.suppress(Exception):
        world.card_slot.remove()
    with contextlib.suppress(Exception):
        await world.kiosk.health.check()


# -- the whole run ---------------------------------------------------------------------------------------

#: Whose objects a class is, by its module: the harness (desks, switchboard, ops watch) shares the process.
KIOSK_MODULES = ("kiosk.", "drivers.", "provisioning.", "etapiste.")
HARNESS_MODULES = ("simulation.", "switchboard.")


def memory() -> dict[str, float]:
    """Where the process's memory is (issue 24: RSS growth ≤ 20 MB over 1000 journeys), to tell a leak from
    the allocator: RSS as it is, then after ``gc.collect()`` and glibc's ``malloc_trim(0)`` (what a
    fragmented heap holds but could give back goes); glibc's bytes in use and held free over all its arenas;
    live Python objects, the kiosk's and the harness's apart; the kiosk window's widgets."""
    out: dict[str, float] = {"rss_mb": round(rss_mb(), 1)}
    gc.collect()
    heap = trimmed_heap()
    if heap is not None:
        out.update({"malloc_in_use_mb": round(heap.in_use / 2**20, 1),
                    "malloc_free_mb": round(heap.held_free / 2**20, 1),
                    "malloc_mmapped_mb": round(heap.mmapped / 2**20, 1)})  # fmt: skip
    out["rss_trimmed_mb"] = round(rss_mb(), 1)
    objects = gc.get_objects()
    modules = [m if isinstance(m := type(o).__module__, str) else "" for o in objects]
    out["python_objects"] = len(objects)
    out["kiosk_objects"] = sum(1 for m in modules if m.startswith(KIOSK_MODULES))
    out["harness_objects"] = sum(1 for m in modules if m.startswith(HARNESS_MODULES))
    out["peer_connections"] = sum(1 for o in objects if type(o).__name__ == "RTCPeerConnection")
    return out


def kiosk_classes() -> dict[str, int]:
    """Live objects of each of the kiosk's classes (see :data:`KIOSK_MODULES`): which of them a growth of
    "the kiosk's objects" is made of."""
    counts: dict[str, int] = {}
    for o in gc.get_objects():
        kind = type(o)
        if isinstance(kind.__module__, str) and kind.__module__.startswith(KIOSK_MODULES):
            name = f"{kind.__module__}.{kind.__qualname__}"
            counts[name] = counts.get(name, 0) + 1
    return counts


def grown(before: dict[str, int], after: dict[str, int], most: int = 6) -> str:
    """The classes with the most more objects at the end, ``name +n`` each (``none`` if none grew)."""
    growth = sorted(((after.get(k, 0) - before.get(k, 0), k) for k in after), reverse=True)
    return ", ".join(f"{k.rsplit('.', 1)[-1]} +{d}" for d, k in growth[:most] if d > 0) or "none"


def resources(world: World | None = None) -> dict[str, float]:
    out = {"rss_mb": round(rss_mb(), 1), "fds": len(os.listdir("/proc/self/fd")),
           "threads": threading.active_count(), "tasks": len(asyncio.all_tasks())}  # fmt: skip
    out.update(memory())
    if world is not None:
        from PySide6.QtWidgets import QWidget

        out["kiosk_widgets"] = len(world.kiosk.window.findChildren(QWidget))
    return out


@dataclass
class Report:
    seed: int
    journeys: list[JourneyResult] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    start: dict[str, float] = field(default_factory=dict)
    after_first: dict[str, float] = field(default_factory=dict)
    end: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    ops_sessions: int | None = None
    classes_first: dict[str, int] = field(default_factory=dict)
    """The kiosk's live objects by class after journey 1 and at the end (:func:`kiosk_classes`)."""
    classes_end: dict[str, int] = field(default_factory=dict)
    settled: dict[str, float] = field(default_factory=dict)
    """Measured again ``settle_s`` after the last journey: what the last journeys still held for a while (a
    peer connection still closing, or still referenced by the harness's record of a recent journey) is gone
    by then; what remains was kept."""
    settle_s: float = 0.0
    cuts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        docs = [d for j in self.journeys for d in j.documents]
        verdicts = [d.get("verdict") for d in docs]
        served = sum(1 for j in self.journeys if j.outcome == "served")
        residues = sum(1 for j in self.journeys for pr in j.problems if pr.startswith(("residue", "privacy")))
        return {
            "seed": self.seed, "sessions": len(self.journeys), "seconds": round(self.seconds),
            "faults": dict(sorted(self.faults.items())), "faults_total": sum(self.faults.values()),
            "served": served, "outcomes": _count(j.outcome or "none" for j in self.journeys),
            "documents": len(docs), "delivered": verdicts.count("delivered"),
            "reported_failed": verdicts.count("reported_failed"), "lost": verdicts.count("lost"),
            "unaccounted": verdicts.count("unaccounted"),
            "abandoned_by_agent": verdicts.count("abandoned_by_agent"),
            "cancelled_by_customer": verdicts.count("cancelled_by_customer"),
            "stalls_told": sum(1 for d in docs if d.get("stall_told")),
            "crashes": sum(1 for j in self.journeys if j.crashed), "residues": residues,
            "failed_journeys": [j.plan.label for j in self.journeys if not j.ok],
            "rss_growth_mb": round(self.end.get("rss_mb", 0) - self.after_first.get("rss_mb", 0), 1),
            "rss_trimmed_growth_mb": round(self.end.get("rss_trimmed_mb", 0)
                                           - self.after_first.get("rss_trimmed_mb", 0), 1),
            "start": self.start, "after_first": self.after_first, "end": self.end,
            "ops_sessions": self.ops_sessions, "kiosk_classes_grown": grown(self.classes_first, self.classes_end),
            "settled": self.settled, "settle_s": self.settle_s, "network_cuts": dict(sorted(self.cuts.items())),
        }  # fmt: skip

    @staticmethod
    def _memory_rows(s: dict[str, Any]) -> list[tuple[str, Any]]:
        """The memory's figures after journey 1 → end (see :func:`memory`), where they were measured."""
        a, e = s["after_first"], s["end"]

        def span(key: str, unit: str = "") -> str:
            before, after = a.get(key), e.get(key)
            if before is None or after is None:
                return "not measured"
            return f"{before} → {after}{unit} ({after - before:+.{1 if unit else 0}f})"

        return [("RSS after gc + malloc_trim, journey 1 → end", span("rss_trimmed_mb", " MB")),
                ("glibc heap in use (all arenas)", span("malloc_in_use_mb", " MB")),
                ("glibc heap held free (all arenas)", span("malloc_free_mb", " MB")),
                ("Python objects", span("python_objects")),
                ("the kiosk's objects (kiosk, drivers, provisioning, etapiste classes)", span("kiosk_objects")),
                ("the harness's objects (simulation, switchboard classes)", span("harness_objects")),
                ("the kiosk window's widgets", span("kiosk_widgets")),
                ("peer connections alive (kiosk and desks)", span("peer_connections"))]  # fmt: skip

    @staticmethod
    def _settled_rows(s: dict[str, Any]) -> list[tuple[str, Any]]:
        """The end measured again after the run had been idle ``settle_s`` (``--settle``)."""
        settled = s["settled"]
        if not settled:
            return []
        after = f"{s['settle_s']:.0f} s after the last journey"
        return [(f"peer connections alive {after}", settled.get("peer_connections")),
                (f"the kiosk's objects {after}", settled.get("kiosk_objects")),
                (f"glibc heap in use {after}", f"{settled.get('malloc_in_use_mb')} MB")]  # fmt: skip

    def table(self) -> str:
        s = self.summary()
        rows = [("seed", s["seed"]), ("sessions", s["sessions"]), ("time", f"{s['seconds']} s"),
                ("faults injected", f"{s['faults_total']} " + ", ".join(f"{k} {v}" for k, v in s["faults"].items())),
                ("network cuts: call kept / call ended / trouble shown on the screen",
                 " / ".join(str(s["network_cuts"].get(k, 0)) for k in ("call_kept", "call_ended", "trouble_shown"))),
                ("customers served", s["served"]),
                ("outcomes", ", ".join(f"{k} {v}" for k, v in s["outcomes"].items())),
                ("documents delivered (SHA-256 match, acknowledged)", s["delivered"]),
                ("documents reported failed to both ends", s["reported_failed"]),
                ("documents lost", s["lost"]),
                ("documents unaccounted (journey broke off first)", s["unaccounted"]),
                ("transfers abandoned by the agent", s["abandoned_by_agent"]),
                ("printouts stalled, told to both ends", s["stalls_told"]),
                ("printouts cancelled by the customer", s["cancelled_by_customer"]),
                ("crashes", s["crashes"]), ("residues", s["residues"]),
                ("journeys with a problem", len(s["failed_journeys"])),
                ("RSS after journey 1 → end", f"{s['after_first'].get('rss_mb')} → {s['end'].get('rss_mb')} MB "
                                              f"({s['rss_growth_mb']:+} MB)"),
                *self._memory_rows(s),
                ("the kiosk's classes that grew most, journey 1 → end", s["kiosk_classes_grown"]),
                *self._settled_rows(s),
                ("open fds start → end", f"{s['start'].get('fds')} → {s['end'].get('fds')}"),
                ("threads start → end", f"{s['start'].get('threads')} → {s['end'].get('threads')}"),
                ("asyncio tasks start → end", f"{s['start'].get('tasks')} → {s['end'].get('tasks')}"),
                ("sessions in the statistics at ops", s["ops_sessions"])]  # fmt: skip
        return "\n".join(["| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


async def soak(world: World, plans: list[JourneyPlan], seed: int,
               on_journey: Callable[[JourneyResult, Report], None] | None = None,
               budget_s: float | None = None, settle_s: float = 0.0) -> Report:
    """Run ``plans`` one after another on ``world`` (no new journey after ``budget_s``); the report counts
    what happened, and is up to date (resources now) each time ``on_journey`` is called. With ``settle_s``
    the process is measured once more after that long idle at the end (:attr:`Report.settled`)."""
    report = Report(seed, settle_s=settle_s)
    began = time.monotonic()
    report.start = resources(world)
    for n, plan in enumerate(plans):
        if budget_s is not None and time.monotonic() - began > budget_s:
            break
        result = await run_journey(world, plan)
        report.journeys.append(result)
        # Measured after every journey (a stopped run keeps its figures); the trim in it returns what the heap
        # holds free to the system, so the raw RSS of the next journeys starts from a trimmed heap.
        report.end = resources(world)
        report.classes_end = kiosk_classes()
        if n == 0:
            report.after_first, report.classes_first = report.end, report.classes_end
        report.faults, report.cuts = dict(world.faults), dict(world.cuts)
        report.seconds = time.monotonic() - began
        if on_journey is not None:
            on_journey(result, report)
    if world.ops_stats is not None:
        # The statistics reach the ops side as the agent publishes them (about every minute of the link's).
        ops_stats = world.ops_stats
        with contextlib.suppress(JourneyFailed):
            await until(lambda: ops_stats() == len(report.journeys), "every session at the ops side", 150)
        report.ops_sessions = ops_stats()
    if settle_s > 0:
        await asyncio.sleep(settle_s)
        report.settled = resources(world)
    return report


# -- the world -------------------------------------------------------------------------------------------


def camera_clip(path: Path) -> Path:
    """The room's camera as a clip of :data:`CAMERA_MINUTES` (a plain green picture, a few MB)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), CAMERA_FPS, CAMERA_SIZE)
    frame = np.zeros((CAMERA_SIZE[1], CAMERA_SIZE[0], 3), dtype=np.uint8)
    frame[...] = CAMERA_BGR
    for _ in range(CAMERA_MINUTES * 60 * CAMERA_FPS):
        writer.write(frame)
    writer.release()
    return path


@contextlib.asynccontextmanager
async def soak_world(cupsd: PrivateCupsd, sane_config: Path, card_slot: CardSlot, pki: Any,
                     work: Path, mosquitto: Broker | None = None) -> AsyncIterator[World]:
    """The kiosk, its devices on the given private services, the switchboard and the desks, ready for
    journeys. ``sane_config``: the SANE test backend's configuration directory (``SANE_CONFIG_DIR``).
    With ``mosquitto``, the point's provisioning agent carries the statistics to an ops watch over it."""
    from drivers.cardreader import CardReader
    from drivers.printer import Printer
    from drivers.scanner import Scanner
    from simulation.clock import WallClock
    from simulation.kiosk import POINT, build_kiosk, point_config, start_kiosk
    from simulation.ops_side import ops_watch, provisioning_agent
    from simulation.services import sane_plan_file_worker
    from simulation.switchboard import POINT_CREDENTIALS, make_config, serve
    from switchboard.identity import proof_validator

    # The kiosk's temporary files (its own, its scanner and PDF workers') go to a directory of this run, which
    # the residue check reads with the machine's shared ones (/dev/shm, /var/tmp): /tmp itself is shared by
    # every other program on the machine, whose pictures and PDFs are not the customer's.
    private_tmp = work / "tmp"
    private_tmp.mkdir(exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("SANE_CONFIG_DIR", "TMPDIR")}
    os.environ.update({"SANE_CONFIG_DIR": str(sane_config), "TMPDIR": str(private_tmp)})
    tempfile.tempdir = None
    ca_file = work / "trusted-cas.pem"
    ca_file.write_bytes(pki.trusted_pem)
    credential = work / "switchboard-credential"
    credential.write_text(POINT_CREDENTIALS["oulu-kirjasto"] + "\n")
    queue = cupsd.add_fault_queue("ok")
    plan_file = work / "scan-plan.json"
    plan_file.write_text("{}", encoding="utf-8")
    identity = pki.issue("v4", given_name=GIVEN, surname=SURNAME, satu=SATU)
    # The switchboard as in production: its own clock and sweep, a minute's grace for whoever drops (held
    # calls and queue places expire, calls that never connected end), not a frozen instant nobody sweeps.
    sb_config = make_config(trusted_ca_files=[str(ca_file)])
    clock = WallClock()
    # The kiosk ↔ agent unix socket needs a short path (108 bytes).
    link_dir = Path(tempfile.mkdtemp(prefix="ea-soak-", dir="/tmp"))
    socket = link_dir / "agent.sock"
    async with contextlib.AsyncExitStack() as stack:
        sb = await stack.enter_async_context(serve(sb_config, validator=proof_validator([str(ca_file)]),
                                                   clock=clock, sweep_interval=SWEEP_S))
        network = NetworkCut() if in_private_network() else None
        ops = point_agent = None
        organiser_key = SigningKey.generate()
        if mosquitto is not None:
            ops = await stack.enter_async_context(ops_watch(mosquitto))
            # The organiser's key the point trusts (installed with the point): reloads are signed with it.
            state_dir = work / "agent-state"
            state_dir.mkdir(exist_ok=True)
            (state_dir / "trust.json").write_text(TrustStore.from_entries([organiser_key.public_entry()]).to_json())
            # In a private network the point's agent reaches the broker on the point's address: a network cut
            # cuts its MQTT too (the statistics must still all reach the ops side, which keeps 127.0.0.1).
            point_broker = mosquitto
            if network is not None and mosquitto.host != POINT_ADDRESS:
                point_broker = dataclasses.replace(mosquitto, host=POINT_ADDRESS)
            point_agent = await stack.enter_async_context(provisioning_agent(point_broker, POINT, state_dir, socket))
        served = sb.hub.config

        def factory() -> Any:
            return create_app(served, clock=sb.clock.time, validator=proof_validator([str(ca_file)]),
                              sweep_interval=SWEEP_S)

        point_url = sb.base.replace("http://", "ws://") + "/ws/point"
        if network is not None:
            # The point on its own address (simulation/netcut.py); the switchboard's origin is where the point
            # reaches it, so that the point signs its identity proofs for it, and the desks send it too.
            point_on_its_own_address()
            point_url = point_url.replace("127.0.0.1", POINT_ADDRESS)
            sb.hub.config = served = served.model_copy(
                update={"origin": f"http://{POINT_ADDRESS}:{sb.server.port}"})
        config = point_config(point_url, credential, queue.name)
        scanner = Scanner(config.devices.scanner, worker_command=sane_plan_file_worker.command(plan_file))
        clip = camera_clip(work / "camera.avi")
        loop = asyncio.get_running_loop()
        reader = CameraReader(Camera(CameraConfig(device=str(clip), width=CAMERA_SIZE[0], height=CAMERA_SIZE[1],
                                                  fps=CAMERA_FPS)))
        media = MediaConfig(video=reader, width=CAMERA_SIZE[0], height=CAMERA_SIZE[1], fps=CAMERA_FPS,
                            audio=ToneTrack)
        holder: list[World] = []

        def restart() -> None:
            """Where the app re-executes itself on a new configuration: the fresh process would report
            healthy on the version the agent wrote; the session's state at that moment is what is checked."""
            world = holder[0]
            world.restarts.append(world.kiosk.session.state.value)
            link = world.kiosk.parts.link
            if link is not None and point_agent is not None:
                link.version = read_config_version(point_agent.applier.config_path)
                world.kiosk._tasks.append(asyncio.ensure_future(link.send_health()))

        kiosk = build_kiosk(config, printer=Printer(config.devices.printer, server=cupsd.socket),
                            scanner=scanner, card_reader=CardReader(),
                            agent_socket=socket if mosquitto is not None else None, media=media, camera=reader,
                            restart=restart)
        # As kiosk.app.build_engine wires the point's camera: its changes reach the engine on the loop.
        def on_camera(status: Any) -> None:
            loop.call_soon_threadsafe(kiosk.engine.camera_changed, status)

        reader._on_status = on_camera
        watch = ops

        def ops_sessions() -> int | None:
            return watch.sessions(POINT) if watch is not None else None

        world = World(kiosk, sb, factory, card_slot, identity, cupsd, queue, plan_file, broker=mosquitto,
                      ops_stats=ops_sessions if ops is not None else None,
                      temp_dirs=(str(private_tmp), "/dev/shm", "/var/tmp"), camera=reader, camera_clip=clip,
                      camera_bytes=clip.read_bytes(), point_agent=point_agent, signing_key=organiser_key,
                      point_config=config.model_dump(mode="json"), network=network)
        holder.append(world)
        link = kiosk.parts.link
        if link is not None:
            on_reload = link.client._on_reload

            async def reload_spy(msg: Any) -> None:
                world.reloads_received += 1  # a spy: the kiosk was told, whatever it does with it
                await on_reload(msg)

            link.client._on_reload = reload_spy
        try:
            await world.listen_for_point()
            reader.start()
            await start_kiosk(kiosk)
            await world.start()
            yield world
        finally:
            await world.close()
            await kiosk.close()
            reader.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            tempfile.tempdir = None
            shutil.rmtree(link_dir, ignore_errors=True)
