"""The fleet's MQTT access rules on a private mosquitto, checked by what is delivered (a forbidden
subscribe is still "granted" by mosquitto and silently delivers nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from provisioning import broker
from provisioning.broker import OPS_USER, topic
from provisioning.bundle import MAX_BUNDLE_BYTES, SigningKey
from simulation.services.mqtt import Broker, make_ca_and_server_cert
from tests.provisioning.conftest import Ops, Point, config_for, eventually


async def _collect(client: aiomqtt.Client, seconds: float) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    try:
        async with asyncio.timeout(seconds):
            async for m in client.messages:
                got.append((m.topic.value, bytes(m.payload) if isinstance(m.payload, bytes | bytearray) else b""))
    except TimeoutError:
        pass
    return got


async def test_one_point_cannot_read_another_points_configuration(mosquitto: Broker) -> None:
    async with aiomqtt.Client(**mosquitto.credentials(OPS_USER)) as ops:
        await ops.publish(topic("point-a", "desired"), b"config of point-a", qos=1, retain=True)
        await ops.publish(topic("point-b", "desired"), b"config of point-b", qos=1, retain=True)
    async with aiomqtt.Client(**mosquitto.credentials("point-b")) as b:
        for t in (topic("point-a", "desired"), broker.all_points("desired"), "etapiste/#", "#"):
            await b.subscribe(t, qos=1)
        async with aiomqtt.Client(**mosquitto.credentials(OPS_USER)) as ops:
            await ops.publish(topic("point-a", "desired"), b"new config of point-a", qos=1, retain=True)
            await ops.publish(topic("point-a", "command"), b'{"id":"x","name":"reboot"}', qos=1)
        got = await _collect(b, 1.0)
    payloads = [p for _, p in got]
    # The control: point-b does receive its own configuration through the same subscriptions.
    assert b"config of point-b" in payloads
    assert all(t.startswith("etapiste/point/point-b/") for t, _ in got), got


async def test_a_point_cannot_publish_configuration_or_state_for_anyone(mosquitto: Broker) -> None:
    async with aiomqtt.Client(**mosquitto.credentials(OPS_USER)) as ops:
        await ops.subscribe("etapiste/#", qos=1)
        async with aiomqtt.Client(**mosquitto.credentials("point-b")) as b:
            await b.publish(topic("point-b", "desired"), b"self-made config", qos=1, retain=True)
            await b.publish(topic("point-a", "state"), b'{"applied_version": 99}', qos=1, retain=True)
            await b.publish(topic("point-a", "command"), b'{"id":"x","name":"reboot"}', qos=1)
            await b.publish(topic("point-b", "state"), b'{"applied_version": 1}', qos=1, retain=True)
        got = await _collect(ops, 1.0)
    assert got == [(topic("point-b", "state"), b'{"applied_version": 1}')]


async def test_the_broker_keeps_no_message_larger_than_a_bundle_may_be(mosquitto: Broker) -> None:
    """A retained message stays on the broker and goes to every subscriber: an ops login (or a point's own
    state topic) must not be able to park megabytes there. A bundle of the largest size a point accepts
    still passes."""
    desired, state = topic("point-a", "desired"), topic("point-b", "state")
    huge = b"x" * (2 * 1024 * 1024)
    for user, where in ((OPS_USER, desired), ("point-b", state)):
        with contextlib.suppress(aiomqtt.MqttError):  # the broker drops a client that sends an oversized packet
            async with aiomqtt.Client(**mosquitto.credentials(user)) as client:
                await client.publish(where, huge, qos=1, retain=True)
                await asyncio.sleep(0.5)
    async with aiomqtt.Client(**mosquitto.credentials("ops-watch")) as watch:
        await watch.subscribe(desired, qos=1)
        await watch.subscribe(state, qos=1)
        assert await _collect(watch, 1.0) == []
    largest = b"{" + b" " * (MAX_BUNDLE_BYTES - 2) + b"}"
    async with aiomqtt.Client(**mosquitto.credentials(OPS_USER)) as ops:
        await ops.publish(desired, largest, qos=1, retain=True)
    async with aiomqtt.Client(**mosquitto.credentials("point-a")) as a:
        await a.subscribe(desired, qos=1)
        assert await _collect(a, 1.0) == [(desired, largest)]


async def test_a_point_claiming_another_points_client_id_does_not_kick_it_off(mosquitto: Broker) -> None:
    creds_a = mosquitto.credentials("point-a")
    async with aiomqtt.Client(**creds_a, identifier="point-a", clean_session=False) as a:
        await a.subscribe(topic("point-a", "command"), qos=1)
        impostor = {**mosquitto.credentials("point-b"), "identifier": "point-a", "clean_session": False}
        async with aiomqtt.Client(**impostor):
            async with aiomqtt.Client(**mosquitto.credentials(OPS_USER)) as ops:
                await ops.publish(topic("point-a", "command"), json.dumps({"id": "c1"}).encode(), qos=1)
            got = await _collect(a, 1.0)
    assert got == [(topic("point-a", "command"), b'{"id": "c1"}')]



async def test_agent_over_tls_applies_and_will_not_talk_to_a_broker_it_cannot_verify(
    mosquitto_factory: Callable[..., Broker], organiser_key: SigningKey, tmp_path: Path, short_dir: Path,
    switchboard_port: int,
) -> None:  # fmt: skip
    b = mosquitto_factory(["point-a", "point-b"], tls=True)
    assert b.url.startswith("mqtts://")
    good = Point("point-a", b, organiser_key, tmp_path, short_dir)
    other_ca, _, _ = make_ca_and_server_cert(tmp_path, "other-ca")
    bad = Point("point-b", b, organiser_key, tmp_path, short_dir)
    try:
        good.start_agent(extra=["--ca-file", str(b.ca_file)])
        good.start_kiosk()
        bad.start_agent(extra=["--ca-file", str(other_ca)])
        async with aiomqtt.Client(**b.credentials("ops-watch")) as watch, aiomqtt.Client(
            **b.credentials(OPS_USER)
        ) as ops_client:
            ops = Ops(watch)
            task = asyncio.create_task(ops.listen())
            await ops_client.publish(
                topic("point-a", "desired"), good.bundle(1, config_for("point-a", switchboard_port)), qos=1, retain=True
            )
            await ops.state_where("point-a", lambda s: s["applied_version"] == 1 and s["kiosk"]["healthy"])
            task.cancel()
        assert "point-b" not in ops.online
        await eventually(lambda: "certificate verify failed" in bad.agent_log().lower(), 10, "TLS refusal in the log")
        # A client that does not speak TLS gets nowhere either.
        plain = {k: v for k, v in b.credentials(OPS_USER).items() if k != "tls_context"}
        with pytest.raises((aiomqtt.MqttError, TimeoutError)):  # reset by the broker; paho may not notice
            async with asyncio.timeout(3), aiomqtt.Client(**plain):
                pass
    finally:
        good.stop()
        bad.stop()
