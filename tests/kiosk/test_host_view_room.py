"""The point's side of the host view (issue 21, item 2), through the real parts in this process: the kiosk's
session, health and call engine connected to a real switchboard, the agent link to a real kiosk-link server
holding out of service in the provisioning agent's own store (:class:`OutOfServiceStore`), and the host view's
HTTP calls as the page makes them. A printer fault and a help request reach the view; "I'm on it" reaches the
customer's screen; out of service set from the view reaches the session and the agent, which holds it (on
disk, as over a restart), and clearing it too."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from etapiste.config.point import load_point_config
from kiosk.agentlink import AgentLink
from kiosk.health import DeviceHealth, HealthMonitor
from kiosk.room import RoomReporter
from kiosk.session import Session
from provisioning.kiosk_link import KioskLinkServer, Service
from provisioning.out_of_service import OutOfServiceStore
from simulation.call import point_engine
from simulation.switchboard import Switchboard, serve
from tests.provisioning.conftest import eventually

pytestmark = pytest.mark.services  # a call engine on a real switchboard, and the agent's socket


@pytest.fixture
async def agent_side() -> AsyncIterator[tuple[KioskLinkServer, OutOfServiceStore]]:
    with tempfile.TemporaryDirectory(prefix="ek-", dir="/tmp") as d:  # unix socket paths are short
        store = OutOfServiceStore(Path(d))

        def held(msg: Service) -> None:  # as the agent does (provisioning/agent.py, staff at the screen)
            store.set(msg.on, msg.message, "staff")

        server = KioskLinkServer(Path(d) / "agent.sock", on_service=held, service_state=lambda: store.current)
        await server.start()
        yield server, store
        await server.close()


async def _room(sb: Switchboard, http: aiohttp.ClientSession, want: Any, what: str) -> dict[str, Any]:
    """The Oulu room as the host view gets it, once ``want(room)`` holds."""
    try:
        async with asyncio.timeout(10):
            while True:
                async with http.get(f"{sb.base}/api/host") as r:
                    room = next(x for x in (await r.json())["rooms"] if x["point"] == "oulu-kirjasto")
                if want(room):
                    return room
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{what}: not within 10 s") from None


async def _post(sb: Switchboard, http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> int:
    async with http.post(f"{sb.base}/api/host/{path}", json=body) as r:
        return r.status


async def test_the_host_view_sees_the_rooms_faults_and_help_and_its_orders_reach_the_kiosk_and_the_agent(
    agent_side: tuple[KioskLinkServer, OutOfServiceStore],
) -> None:
    server, store = agent_side
    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    health = HealthMonitor({})
    link = AgentLink(str(server.path), session, health, config_path=None, test_print=lambda: None,
                     restart=lambda: None)  # fmt: skip
    linking = asyncio.ensure_future(link.run())
    try:
        async with serve() as sb, point_engine(sb) as (engine, _events):
            RoomReporter(session, health, engine)
            await engine.start(timeout=10)
            await eventually(lambda: server.view.connected, 10, "the kiosk reached its agent")
            liisa = await sb.login("liisa")
            try:
                await _room(sb, liisa, lambda r: r["state"] == "free", "the room is free")

                # The printer runs out of paper: the view lists it; "I'm on it" reaches the kiosk.
                health.set("printer", DeviceHealth("fault", "media-empty", "out_of_paper"))
                room = await _room(sb, liisa, lambda r: r["alerts"], "the fault is on the view")
                assert [(a["device"], a["code"]) for a in room["alerts"]] == [("printer", "out_of_paper")]
                printer = room["alerts"][0]["id"]
                assert await _post(sb, liisa, "ack", {"point": "oulu-kirjasto", "alert": printer}) == 200
                await eventually(lambda: "printer" in session.snapshot.staff_told, 10, "the kiosk knows staff come")

                # A customer asks for help: the view shows it; "I'm on it" tells the customer.
                session.choose_language("fi")
                session.choose_producer("kela")
                session.accept_notice()
                session.ask_for_help()
                room = await _room(sb, liisa, lambda r: any(a["kind"] == "help" for a in r["alerts"]), "help shown")
                help_id = next(a["id"] for a in room["alerts"] if a["kind"] == "help")
                assert await _post(sb, liisa, "ack", {"point": "oulu-kirjasto", "alert": help_id}) == 200
                await eventually(lambda: session.snapshot.help_request == "coming", 10, "the customer is told")
                session.reset()

                # Out of service from the view: the session shows it and the agent holds it on disk.
                message = "Suljettu huoltoa varten / Closed for maintenance"
                body = {"point": "oulu-kirjasto", "on": True, "message": message}
                assert await _post(sb, liisa, "service", body) == 200
                await eventually(lambda: session.out_of_service, 10, "the kiosk is out of service")
                await eventually(lambda: store.current.on, 10, "the agent holds it")
                assert session.out_of_service_text == message
                assert OutOfServiceStore(store.path.parent).current.message == message  # what a restart reads
                await _room(sb, liisa, lambda r: r["state"] == "out_of_service", "the view shows it")

                assert await _post(sb, liisa, "service", {"point": "oulu-kirjasto", "on": False}) == 200
                await eventually(lambda: not session.out_of_service, 10, "back in service")
                await eventually(lambda: not store.current.on, 10, "the agent let go of it")
                await _room(sb, liisa, lambda r: r["state"] == "free", "the view shows it free")
            finally:
                await liisa.close()
    finally:
        linking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await linking


def test_staff_on_the_way_is_not_taken_back_by_the_mails_acknowledgement() -> None:
    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    session.staff_coming()
    assert session.snapshot.help_request is None  # nobody asked: nothing to say
    session.choose_language("fi")
    session.ask_for_help()
    session.staff_coming()
    session.help_answered(True)  # the notifier's acknowledgement arriving after "I'm on it"
    assert session.snapshot.help_request == "coming"
