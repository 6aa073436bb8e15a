"""Smoke test of the private mosquitto: a point logs in with its own password and gets a retained
message that ops published before the point connected; a wrong password is refused."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from provisioning.broker import OPS_USER, topic
from simulation.services.mqtt import Broker


async def test_point_receives_config_retained_before_it_connected(mosquitto: Broker) -> None:
    async with aiomqtt.Client(**mosquitto.credentials(OPS_USER)) as ops:
        await ops.publish(topic("point-a", "desired"), b"hello point-a", qos=1, retain=True)

    async with aiomqtt.Client(**mosquitto.credentials("point-a")) as point:
        await point.subscribe(topic("point-a", "desired"), qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(point.messages))
    assert message.payload == b"hello point-a"
    assert message.retain


async def test_wrong_password_is_refused(mosquitto: Broker) -> None:
    creds = {**mosquitto.credentials("point-a"), "password": "not-the-password"}
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user name or password"):
        async with aiomqtt.Client(**creds):
            pass
