"""Point failover: ``switchboard.urls`` in the point's configuration (the single ``url`` still a list of one), and
the engine moving to the next address when the one in use fails — refused, or its switchboard gone — with the
same jittered back-off as any reconnect. Identity proofs are signed for the address in use only.

The switchboards here are real (aiohttp on loopback, in this process); a switchboard killed as a process, and
one coming back into the queue place on another instance sharing Redis, are in
``tests/switchboard/test_instances_failover.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from etapiste import protocol as p
from etapiste.config.loader import ConfigError
from etapiste.config.point import SAMPLE_CONFIG, parse_point_config
from etapiste.webeid.origin import switchboard_origin
from kiosk.call import CallEngine, IdentifyRefused, IdentifyRequested, QueuePosition, SwitchboardStatus
from simulation.call import Recorder, connected_call, point_engine
from simulation.services.common import free_port
from simulation.switchboard import POINT_CREDENTIALS, Switchboard, make_config, serve

SAMPLE = (Path(__file__).parents[2] / "etapiste" / "config" / SAMPLE_CONFIG).read_text(encoding="utf-8")
URL_LINE = next(line for line in SAMPLE.splitlines() if line.strip().startswith("url: ws"))


def with_link(lines: str) -> str:
    return SAMPLE.replace(URL_LINE, lines)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_point_config(text, "point.yaml")
    return [str(problem) for problem in info.value.problems]


def ws_url(sb: Switchboard) -> str:
    return sb.base.replace("http://", "ws://") + "/ws/point"


def nobody_listening() -> str:
    """A loopback address nothing listens on: connecting is refused at once, as to a stopped instance."""
    return f"ws://127.0.0.1:{free_port()}/ws/point"


async def gone(sb: Switchboard) -> None:
    """``sb`` stops as a crashed instance does: its port refuses and every socket it had is closed."""
    assert sb.server.runner is not None
    for site in list(sb.server.runner.sites):
        await site.stop()
    for part in list(sb.hub.participants.values()):
        await part.conn.close()


# -- configuration ---------------------------------------------------------------------------------------


def test_a_list_of_addresses_is_read_in_order_and_a_single_url_is_a_list_of_one():
    two = "  urls: [wss://sb1.etapiste.fi/ws/point, wss://sb2.etapiste.fi/ws/point]"
    link = parse_point_config(with_link(two), "point.yaml").switchboard
    assert link.addresses == ["wss://sb1.etapiste.fi/ws/point", "wss://sb2.etapiste.fi/ws/point"]
    single = parse_point_config(SAMPLE, "point.yaml").switchboard
    assert single.addresses == [URL_LINE.split("url:")[1].strip()]


def test_a_fleet_layer_may_replace_the_defaults_url_with_a_list_by_setting_url_null():
    text = with_link("  url: null\n  urls: [wss://sb1.etapiste.fi/ws/point, wss://sb2.etapiste.fi/ws/point]")
    assert len(parse_point_config(text, "point.yaml").switchboard.addresses) == 2


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("  url: wss://a.etapiste.fi/ws/point\n  urls: [wss://b.etapiste.fi/ws/point]", "not both"),
        ("  url: null", "switchboard.urls (a list of wss:// addresses) or switchboard.url is required"),
        ("  urls: []", "at least 1"),
        ("  urls: [wss://a.etapiste.fi/ws/point, wss://a.etapiste.fi/ws/point]", "more than once"),
        ("  urls: [" + ", ".join(f"wss://sb{i}.etapiste.fi/ws/point" for i in range(9)) + "]", "at most 8"),
    ],
)
def test_a_wrong_address_list_is_refused_saying_what_to_write(link: str, expected: str):
    (problem,) = problems(with_link(link))
    assert "switchboard" in problem and expected in problem


def test_every_address_in_the_list_must_be_tls_or_on_this_machine_and_the_wrong_one_is_named():
    (problem,) = problems(with_link("  urls: [wss://sb1.etapiste.fi/ws/point, ws://sb2.etapiste.fi/ws/point]"))
    assert "switchboard.urls.1" in problem and "wss://" in problem


def test_the_engine_from_the_configuration_tries_the_addresses_in_their_order(tmp_path: Path):
    credential = tmp_path / "credential"
    credential.write_text("secret\n")
    text = with_link("  urls: [ws://127.0.0.1:1/ws/point, ws://127.0.0.1:2/ws/point]").replace(
        "/etc/etapiste/switchboard-credential", str(credential)
    )
    engine = CallEngine.from_config(parse_point_config(text, "point.yaml"))
    assert engine.urls == ["ws://127.0.0.1:1/ws/point", "ws://127.0.0.1:2/ws/point"]
    assert engine.url == "ws://127.0.0.1:1/ws/point"


# -- the engine moving on ----------------------------------------------------------------------------------


async def test_with_the_first_address_refusing_the_point_gets_through_the_second_and_can_queue():
    async with (
        serve() as sb,
        point_engine(sb, url=nobody_listening(), fallback_urls=[ws_url(sb)]) as (
            engine,
            events,
        ),
    ):
        await engine.start(timeout=10)
        assert engine.url == ws_url(sb)
        engine.request_call("kela")
        position = await events.first(QueuePosition)
        assert position.position == 1
        assert sb.hub.points["oulu-kirjasto"].conn is not None


async def test_when_the_switchboard_in_use_goes_away_the_point_moves_to_the_next_address():
    async with (
        serve() as first,
        serve() as second,
        point_engine(first, fallback_urls=[ws_url(second)]) as (
            engine,
            events,
        ),
    ):
        await engine.start(timeout=10)
        assert "oulu-kirjasto" in first.hub.points
        await gone(first)
        await events.until(
            lambda: "oulu-kirjasto" in second.hub.points and engine.connected.is_set(),
            what="the point online on the second switchboard",
        )
        assert engine.url == ws_url(second)
        ups = [e for e in events.of(SwitchboardStatus) if e.connected]
        assert len(ups) == 2, "connected, then connected again (through the other address)"
        engine.request_call("kela")
        assert (await events.first(QueuePosition)).position == 1


async def test_an_engine_alone_at_an_unreachable_address_keeps_it_and_says_so():
    """One address (the single ``url``): nothing to move to; the engine keeps retrying it and is offline."""
    async with serve() as sb:
        engine = CallEngine(
            url=nobody_listening(), point_id="oulu-kirjasto", credential=POINT_CREDENTIALS["oulu-kirjasto"]
        )
        events = Recorder()
        engine.subscribe(events)
        try:
            await engine.start()
            down = await events.first(SwitchboardStatus, lambda e: not e.connected)
            assert down.reason == "unreachable" and engine.urls == [engine.url]
            assert "oulu-kirjasto" not in sb.hub.points
        finally:
            await engine.close()


@pytest.mark.usefixtures("loopback_ice")
async def test_after_moving_the_point_signs_identity_proofs_for_the_switchboard_it_reached():
    """The card signs for the origin of the address in use: the switchboard that asked is the one the point
    chose to reach among its configured ones, never an origin a switchboard names."""
    async with (
        serve() as sb,
        connected_call(sb, url=nobody_listening(), fallback_urls=[ws_url(sb)]) as (
            engine,
            events,
            agent,
        ),
    ):
        await agent.send(p.IdentityStart(call=agent.call))
        asked = await events.first(IdentifyRequested)
        assert asked.origin == switchboard_origin(engine.url) == sb.base


@pytest.mark.usefixtures("loopback_ice")
async def test_the_card_signs_for_the_origin_of_any_configured_address_of_the_service():
    """Several addresses are one switchboard service with one ``origin:`` (here the first address's, whose
    instance is down): the point reached through the second address still lets the customer identify. An
    origin of no configured address is refused (tests/kiosk/test_identity_origin.py)."""
    first = nobody_listening()
    service = make_config(origin=switchboard_origin(first))
    async with (
        serve(service) as sb,
        connected_call(sb, url=first, fallback_urls=[ws_url(sb)]) as (
            engine,
            events,
            agent,
        ),
    ):
        assert engine.url == ws_url(sb)
        await agent.send(p.IdentityStart(call=agent.call))
        asked = await events.first(IdentifyRequested)
        assert asked.origin == switchboard_origin(first)
        assert not events.of(IdentifyRefused)
