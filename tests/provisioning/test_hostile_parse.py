"""Deeply nested JSON at every parser of the point's provisioning side: a bundle on the MQTT ``desired`` topic,
a command on the ``command`` topic, a line on the kiosk link. Each is refused with a reason the organiser
can read, and the agent goes on (a good bundle still applies afterwards). Before, a kilobyte of brackets in
a bundle raised RecursionError out of the parser: the apply failed with a Python error instead of
``rejected malformed``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioning import broker
from provisioning.bundle import BundleRejected, SigningKey, TrustStore, parse_bundle, sign_bundle, verify_bundle
from provisioning.kiosk_link import KioskLinkServer
from tests.provisioning.conftest import Ops, Point, config_for, in_days

DEEP = "[" * 1000 + "]" * 1000


def nested_bundle(nesting: str = DEEP) -> bytes:
    """A bundle-shaped document whose configuration hides ``nesting`` (never signed: it must not matter)."""
    return (
        '{"signed": {"type": "etapiste-bundle", "spec": 1, "version": 9, "config": {"ui": ' + nesting + "}},"
        ' "signatures": [{"keyid": "k", "sig": "AA=="}]}'
    ).encode()


@pytest.mark.parametrize("nesting", [DEEP, "[" * 200 + "]" * 200, "{" + '"a":{' * 999 + "}" * 1000])
def test_a_nested_bundle_is_rejected_as_malformed_before_anything_walks_it(nesting: str) -> None:
    with pytest.raises(BundleRejected) as caught:
        parse_bundle(nested_bundle(nesting))
    assert caught.value.code == "malformed"
    assert "nested deeper than 32 levels" in str(caught.value)
    key = SigningKey.generate()
    with pytest.raises(BundleRejected) as caught:
        verify_bundle(nested_bundle(nesting), point="point-a", trust=TrustStore({key.keyid: key.private.public_key()}),
                      applied_version=0)  # fmt: skip
    assert caught.value.code == "malformed"


def test_a_real_bundle_is_well_within_the_nesting_limit() -> None:
    key = SigningKey.generate()
    doc = sign_bundle(config_for("point-a", 9), version=1, expires=in_days(1), keys=[key])
    assert parse_bundle(json.dumps(doc).encode())["signed"]["version"] == 1


async def test_a_nested_bundle_on_the_broker_is_reported_rejected_and_the_agent_goes_on(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = points("point-a")
    a.start_agent()
    a.start_kiosk()
    await ops.publish_bundle("point-a", a.bundle(5, config_for("point-a", switchboard_port)))
    await ops.state_where("point-a", lambda s: s["applied_version"] == 5 and s["kiosk"]["healthy"])
    before = a.config_path.read_bytes()

    await ops.publish_bundle("point-a", nested_bundle())
    state = await ops.state_where("point-a", lambda s: (s["last_result"] or {}).get("status") == "rejected")
    assert state["last_result"]["code"] == "malformed"
    assert "nested deeper than 32 levels" in state["last_result"]["reason"]
    assert "RecursionError" not in json.dumps(state)
    assert a.config_path.read_bytes() == before

    # A nested command is refused too (whatever else the agent checks first), and the agent still works.
    await ops.client.publish(broker.topic("point-a", "command"), ('{"id": "deep-1", "args": ' + DEEP + "}").encode())
    await ops.until(lambda: any(not x["ok"] for x in ops.acks), what="the nested command's refusal")
    assert not [e for e in a.events() if e["op"] == "command"]
    await ops.publish_bundle("point-a", a.bundle(6, config_for("point-a", switchboard_port)))
    await ops.state_where("point-a", lambda s: s["applied_version"] == 6 and s["kiosk"]["version"] == 6)


async def test_a_nested_line_on_the_kiosk_link_is_refused_and_the_link_survives(short_dir: Path) -> None:
    server = KioskLinkServer(short_dir / "deep.sock")
    await server.start()
    try:
        reader, writer = await asyncio.open_unix_connection(str(server.path))
        for line in (DEEP, '{"op": "health", "version": 3, "healthy": true, "devices": ' + DEEP + "}"):
            writer.write(line.encode() + b"\n")
            await writer.drain()
            async with asyncio.timeout(5):
                reply = json.loads(await reader.readline())
            assert reply["op"] == "error" and "recursion limit" in reply["reason"]
        writer.write(b'{"op": "health", "version": 3, "healthy": true, "devices": {}}\n')
        await writer.drain()
        async with asyncio.timeout(5):
            while server.view.version != 3:
                await asyncio.sleep(0.02)
        assert server.view.healthy is True
        writer.close()
    finally:
        await server.close()


def test_dates_in_a_bundle_still_parse(tmp_path: Path) -> None:
    """The nesting check must not change what a valid bundle means (times stay strings until checked)."""
    key = SigningKey.generate()
    doc = sign_bundle(config_for("point-a", 9), version=2, expires=in_days(1), keys=[key])
    bundle = verify_bundle(json.dumps(doc).encode(), point="point-a",
                           trust=TrustStore({key.keyid: key.private.public_key()}), applied_version=1)  # fmt: skip
    assert bundle.version == 2 and bundle.expires > dt.datetime.now(dt.UTC)
