"""The kiosk's real session flows reach the organiser as the statistics contract says (docs/statistics.md):
each visit exactly once, with its outcome, under its producer's queue, on the host's day.

Everything is real here except the customer's fingers: the session state machine and the journey
controller, the call engine on the real switchboard (in this process), an aiortc agent at its desk, the
virtual FINEID card in the private pcscd, the kiosk's link to a real provisioning agent process, and the
agent's retained ``point/<id>/stats`` on a private mosquitto, read the way the organiser reads it,
and taken from there by the organiser's collector (``etapiste ops collect``'s path) into its store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from drivers.cardreader import CardReader
from etapiste import protocol as p
from etapiste.config.point import PointConfig
from etapiste.hours import WEEKDAYS
from kiosk import call as c
from kiosk.agentlink import AgentLink
from kiosk.health import HealthMonitor, network_health
from kiosk.journey import Journey
from kiosk.session import LargeText, Session, State
from provisioning import stats_model
from provisioning.broker import COLLECTOR_USER
from provisioning.collect import Store, collect_once
from simulation.call import point_engine
from simulation.card.pki import TestPki
from simulation.clock import FakeClock
from simulation.desk_agent import AiortcAgent
from simulation.services.mqtt import Broker
from simulation.services.pcsc import CardSlot, fineid_card
from simulation.switchboard import ALWAYS, NAME, make_config, serve
from switchboard.identity import proof_validator
from tests.provisioning.conftest import Ops, Point, config_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("loopback_ice")]

POINT = "point-a"  # the point's id on the broker (its agent's)
SWITCHBOARD_POINT = "oulu-kirjasto"  # the same point as the test switchboard knows it
HOST_ZONE = ZoneInfo("Europe/Helsinki")


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Broker]) -> Broker:
    """The provisioning tests' broker, with the organiser's read-only statistics collector account too."""
    return mosquitto_factory(["point-a", "point-b", "point-c", COLLECTOR_USER])


def always_open_point(switchboard_port: int, timezone: str = "Europe/Helsinki") -> PointConfig:
    """The sample point, open around the clock with every producer answering (the test runs at any hour)."""
    data = config_for(POINT, switchboard_port)
    always = {"weekly": {day: "00:00-24:00" for day in WEEKDAYS}}
    data["host"]["opening_hours"] = always
    data["host"]["timezone"] = timezone
    for producer in data["producers"]:
        producer["service_hours"] = always
    return PointConfig.model_validate(data)


def switchboard_config(ca: Path, closing_day: dt.date) -> Any:
    """Kela's queue always open (timeout 600 s); Migri's closed all day on ``closing_day``."""
    return make_config(
        trusted_ca_files=[str(ca)],
        producers=[
            {"id": "kela", "name": NAME,
             "queues": [{"id": "kela-general", "service_hours": {"weekly": ALWAYS}, "timeout_s": 600}]},
            {"id": "migri", "name": {"fi": "Migri", "sv": "Migri", "en": "Migri"},
             "queues": [{"id": "migri-general", "timeout_s": 7200, "service_hours": {
                 "weekly": ALWAYS, "exceptions": [{"date": closing_day.isoformat(), "hours": "closed"}]}}]},
        ],
    )  # fmt: skip


async def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)
    return result


@contextlib.asynccontextmanager
async def kiosk(
    engine: c.CallEngine, config: PointConfig, socket: Path
) -> AsyncIterator[tuple[Session, Journey, AgentLink]]:
    """The kiosk's model, controller and agent link, wired as ``kiosk.app.assemble`` wires them."""
    session = Session(config)  # the host's clock (Europe/Helsinki), as on a point
    journey = Journey(session, engine, card_reader=CardReader())
    health = HealthMonitor({})

    def on_engine(event: Any) -> None:  # assemble's health wiring for the switchboard link
        if isinstance(event, c.SwitchboardStatus):
            health.set("switchboard", network_health(event.connected, event.reason))

    engine.subscribe(on_engine)
    link = AgentLink(str(socket), session, health, config_path=None, test_print=lambda: None,
                     restart=lambda: None, minute_s=0.5)  # fmt: skip
    task = asyncio.create_task(link.run())
    try:
        yield session, journey, link
    finally:
        await journey.idle()
        await asyncio.sleep(0.5)  # the last record on its way to the agent
        task.cancel()


async def queue(session: Session, producer: str = "kela", language: str = "fi") -> None:
    session.choose_language(language)  # type: ignore[arg-type]
    session.choose_producer(producer)
    session.accept_notice()
    await until(lambda: session.snapshot.queue_position is not None, f"a place in {producer}'s queue")


async def test_each_real_flow_is_one_session_with_its_outcome_in_the_published_statistics(
    points: Callable[[str], Point], ops: Ops, mosquitto: Broker, tmp_path: Path, card_slot: CardSlot,
    test_pki: TestPki,
) -> None:  # fmt: skip
    ca = tmp_path / "ca.pem"
    ca.write_bytes(test_pki.issuing.pem)
    card_slot.insert_and_wait(fineid_card(test_pki.issue("v4", given_name="SPECIMEN-ANNA", surname="SPECIMEN-KOE",
                                                          satu="999020016")))  # fmt: skip
    # The switchboard's clock stands at 23:40 on a day to come; Migri's queue closes at midnight.
    day = dt.datetime.now(HOST_ZONE).date() + dt.timedelta(days=2)
    start = dt.datetime.combine(day, dt.time(23, 40), HOST_ZONE)
    point = points(POINT)
    point.start_agent()
    async with (
        serve(switchboard_config(ca, day + dt.timedelta(days=1)), validator=proof_validator([str(ca)]),
              clock=FakeClock(start)) as sb,
        point_engine(sb, SWITCHBOARD_POINT, recovery_s=1.0) as (engine, events),
    ):  # fmt: skip
        config = always_open_point(sb.server.port or 0)
        async with kiosk(engine, config, point.socket) as (session, journey, link):
            await engine.start(timeout=10)
            desk = AiortcAgent(sb)
            await desk.connect()
            try:
                # 1. A visitor who touched the screen and left.
                session.choose_language("sv")
                session.back()

                # 2. Served: large text and speech, real-time text, identified with the card, rated 4.
                session.set_text_size(LargeText.LARGE)
                await queue(session)
                session.set_speech(True)
                await desk.accept_next()
                await events.first(c.CallConnected, timeout=30)
                assert session.state is State.CALL
                session.type_text("Hei", final=True)
                journey.send_text("Hei", True)
                await desk.send(p.IdentityStart(call=desk.call))
                await until(lambda: session.snapshot.call and session.snapshot.call.identify
                            and session.snapshot.call.identify.step == "enter_pin", "the PIN pad")  # fmt: skip
                journey.submit_pin(bytearray(b"1234"))
                result = await events.first(c.IdentityResult, timeout=30)
                assert result.ok
                await until(engine.call_quality, "a quality summary of the call")
                session.hang_up()
                session.rate(4)

                # 3. Abandoned: gave up waiting, then left the service choice.
                await queue(session)
                session.cancel_queue()
                await events.first(c.QueueLeft, lambda e: e.reason == "cancelled")  # before a next customer
                session.back()

                # 4. Queue timeout: nobody answered within Kela's 600 s.
                await queue(session)
                sb.clock.advance(601)
                await sb.hub.sweep()
                await until(lambda: session.state is State.SURVEY, "the timeout's survey")
                session.rate(None)

                # 5. Closed: Migri's service hours ended while the customer waited.
                await queue(session, "migri")
                sb.clock.advance(15 * 60)
                await sb.hub.sweep()
                await until(lambda: session.state is State.SURVEY, "the closing's survey")
                session.rate(None)

                # 6. Connection lost: the switchboard goes away while the customer waits.
                await queue(session)
                await sb.server.close()
                await until(lambda: session.state is State.SURVEY, "the lost connection's survey")
                session.rate(None)

                # 7. Technical failure: with no switchboard the point cannot place the call at all.
                await until(lambda: link.minutes_sent.get("offline"), "a minute without the switchboard")
                session.choose_language("en")
                session.choose_producer("kela")
                session.accept_notice()
                await until(lambda: session.state is State.SURVEY, "the failure's survey")
                session.rate(None)
            finally:
                await desk.close()

    today = dt.datetime.now(HOST_ZONE).date().isoformat()

    def published() -> dict[str, Any] | None:
        doc = ops.stats.get(POINT)
        if not doc or doc.get("version") != 2 or today not in doc.get("days", {}):
            return None
        d = doc["days"][today]
        done = sum(d["hours"]) == 7 and d["faults"].get("network") and d["minutes"]["offline"] > 0
        return doc if done else None

    doc = await ops.until(published, timeout=30, what="the day's seven sessions")
    parsed = stats_model.parse_stats(json.dumps(doc).encode())  # exactly the contract, nothing more
    assert (parsed.point, parsed.timezone) == (POINT, "Europe/Helsinki")
    d = doc["days"][today]
    assert set(d["queues"]) == {"kela/kela-general", "migri/migri-general"}
    kela, migri = d["queues"]["kela/kela-general"], d["queues"]["migri/migri-general"]
    assert kela["outcomes"] == {"served": 1, "abandoned": 1, "queue_timeout": 1, "closed": 0,
                                "connection_lost": 1, "technical_failure": 1}  # fmt: skip
    assert migri["outcomes"] == {"served": 0, "abandoned": 0, "queue_timeout": 0, "closed": 1,
                                 "connection_lost": 0, "technical_failure": 0}  # fmt: skip
    assert d["left_before_choosing"] == 1
    assert sum(kela["wait_hist"]) == 5 and sum(kela["abandoned_wait_hist"]) == 1
    assert sum(kela["duration_hist"]) == 1 and kela["ratings"]["4"] == 1 and sum(kela["ratings"].values()) == 1
    assert kela["quality"]["calls"] == 1 and migri["ratings"]["none"] == 0
    u = d["usage"]
    assert u["language"] == {"fi": 5, "sv": 1, "en": 1}
    assert u["identify"] == {"asked": 1, "succeeded": 1, "failed": 0}
    assert (u["speech_used"], u["large_text_used"], u["text_used"]) == (1, 1, 1)
    assert (u["scans"], u["prints"], u["interpreter_joined"]) == (0, 0, 0)
    # The switchboard's going away is one network fault (its onset), and minutes offline from then on.
    assert sum(d["faults"]["network"].values()) == 1
    assert d["minutes"]["open"] > 0
    assert "SPECIMEN" not in json.dumps(doc) and "999020016" not in json.dumps(doc)

    # The organiser's collector takes the same day into its store, figure for figure.
    store = Store(f"sqlite:///{tmp_path / 'statistics.db'}")
    try:
        assert await collect_once(lambda: aiomqtt.Client(**mosquitto.credentials(COLLECTOR_USER)), store) == 1
        assert store.day(POINT, dt.date.fromisoformat(today)) == parsed.days[today]
    finally:
        store.close()
