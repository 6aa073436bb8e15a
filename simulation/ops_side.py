"""The point's provisioning agent in process, and the organiser's side of the broker reading the statistics
the points publish: for the acceptance test and the chaos soak (bench/soak.py, which must not import tests).

The ops watch reconnects when the broker goes away (the soak restarts it under a running point), as the
organiser's collector does; the statistics it holds are the latest retained message of each point."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt

from provisioning import broker
from provisioning.agent import Agent, AgentSettings
from simulation.services.mqtt import Broker


class OpsWatch:
    """The organiser's side of the broker: what the points publish as statistics."""

    def __init__(self, mosquitto: Broker) -> None:
        self.mosquitto = mosquitto
        self.stats: dict[str, dict[str, Any]] = {}
        self.connected = asyncio.Event()

    async def listen(self) -> None:
        """Read ``point/+/stats`` for ever, connecting again after the broker went away."""
        while True:
            try:
                async with aiomqtt.Client(**self.mosquitto.credentials("ops-watch")) as client:
                    await client.subscribe(broker.all_points("stats"), qos=1)
                    self.connected.set()
                    async for m in client.messages:
                        point = broker.point_of(m.topic.value)
                        if point is not None and isinstance(m.payload, bytes | bytearray) and m.payload:
                            self.stats[point] = json.loads(bytes(m.payload))
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.5)

    def sessions(self, point: str) -> int:
        """Sessions of every day in ``point``'s latest published statistics: each queue's outcomes, and the
        visitors who left before choosing a queue (counted by day only, docs/statistics.md)."""
        days = self.stats.get(point, {}).get("days", {}).values()
        return sum(sum(sum(q["outcomes"].values()) for q in day.get("queues", {}).values())
                   + day.get("left_before_choosing", 0) for day in days)


@contextlib.asynccontextmanager
async def provisioning_agent(mosquitto: Broker, point: str, state_dir: Path, socket: Path) -> AsyncIterator[Agent]:
    """The point's provisioning agent (:mod:`provisioning.agent`) on ``mosquitto``, its kiosk link on ``socket``."""
    agent = Agent(AgentSettings(point=point, state_dir=state_dir, host=mosquitto.host, port=mosquitto.port,
                                password=mosquitto.passwords[point], kiosk_socket=socket, state_interval=1.0))
    task = asyncio.create_task(agent.run())
    try:
        yield agent
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@contextlib.asynccontextmanager
async def ops_watch(mosquitto: Broker) -> AsyncIterator[OpsWatch]:
    watch = OpsWatch(mosquitto)
    task = asyncio.create_task(watch.listen())
    try:
        await asyncio.wait_for(watch.connected.wait(), 30)
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
