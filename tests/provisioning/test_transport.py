"""The fleet's MQTT access rules on a private mosquitto, checked by what is delivered (a forbidden
subscribe is still "granted" by mosquitto and silently delivers nothing)."""

from __future__ import annotations

import asyncio
import json

import aiomqtt

from provisioning import broker
from provisioning.broker import OPS_USER, topic
from tests.harness.mqtt import Broker


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

