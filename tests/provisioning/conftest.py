"""Fixtures for the provisioning tests: an organiser key, a stand-in switchboard, real agent and kiosk
processes per point, and an ops client on the private broker."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from provisioning import broker
from provisioning.bundle import SigningKey, TrustStore, canonical, sign_bundle
from provisioning.kiosk_link import read_config_version
from simulation.point_config import config_for
from simulation.services.common import Service
from simulation.services.mqtt import Broker
from simulation.waiting import polled

ETAPISTE = str(Path(sys.executable).with_name("etapiste"))


def in_days(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_command(
    key: SigningKey, point: str, cid: str, name: str, args: dict[str, Any] | None = None, *,
    issued: dt.datetime | None = None, expires: dt.datetime | str | None = "default", **extra: Any,
) -> bytes:  # fmt: skip
    """A remote command signed the documented way (docs/ops-guide.md), written out here rather than with
    the ops tool's own signer, so the tests pin the wire format: ``{"signed": {...}, "signatures": [...]}``
    with an Ed25519 signature over the canonical JSON of ``signed``. ``expires=None`` leaves it out."""
    now = dt.datetime.now(dt.UTC)
    signed: dict[str, Any] = {
        "type": "etapiste-command", "spec": 1, "point": point, "id": cid, "name": name, "args": args or {},
        "issued": utc(issued or now),
    }  # fmt: skip
    if expires == "default":
        signed["expires"] = utc(now + dt.timedelta(hours=1))
    elif isinstance(expires, dt.datetime):
        signed["expires"] = utc(expires)
    signed.update(extra)
    sig = base64.b64encode(key.private.sign(canonical(signed))).decode()
    return json.dumps({"signed": signed, "signatures": [{"keyid": key.keyid, "sig": sig}]}).encode()


@pytest.fixture
def organiser_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def switchboard_port() -> Iterator[int]:
    """A listening TCP port standing in for the switchboard (the kiosk's health check connects to it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: a switchboard that cannot be reached."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory for unix sockets (their paths are limited to 108 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="ek-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Point:
    """One point: its agent and kiosk processes, its state directory and its events."""

    def __init__(self, point_id: str, mqtt: Broker, key: SigningKey, base: Path, sock_dir: Path):
        self.id = point_id
        self.broker = mqtt
        self.key = key
        self.base = base / point_id
        self.base.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.base / "state"
        self.socket = sock_dir / f"{point_id}.sock"
        self.events_file = self.base / "events.jsonl"
        self.trust_file = self.base / "organiser-keys.json"
        self.trust_file.write_text(TrustStore.from_entries([key.public_entry()]).to_json())
        self.agent: Service | None = None
        self.kiosk: Service | None = None
        self._n = 0

    @property
    def config_path(self) -> Path:
        return self.state_dir / "point.yaml"

    def start_agent(self, *, crash_at: str | None = None, health_timeout: float = 10.0, extra: list[str] | None = None
                    ) -> Service:  # fmt: skip
        env = dict(os.environ)
        env.pop("ETAPISTE_AGENT_CRASH_AT", None)
        if crash_at:
            env["ETAPISTE_AGENT_CRASH_AT"] = crash_at
        self._n += 1
        argv = [
            ETAPISTE, "agent", "--point", self.id, "--broker", self.broker.url,
            "--password-file", str(self.broker.password_file(self.id)), "--state-dir", str(self.state_dir),
            "--trust", str(self.trust_file), "--kiosk-socket", str(self.socket),
            "--health-timeout", str(health_timeout), "--command-timeout", "5", "--state-interval", "2",
            "--reboot-cmd", f"touch {self.base / 'rebooted'}", "-v", *(extra or []),
        ]  # fmt: skip
        self.agent = Service(f"agent-{self.id}", argv, self.base / f"agent-{self._n}.log", env=env).start()
        return self.agent

    def start_kiosk(self, *args: str) -> Service:
        argv = [
            sys.executable, "-m", "tests.provisioning.kiosk_player", "--socket", str(self.socket),
            "--config", str(self.config_path), "--events", str(self.events_file), *args,
        ]  # fmt: skip
        cwd = Path(__file__).resolve().parents[2]
        self.kiosk = Service(f"kiosk-{self.id}", argv, self.base / "kiosk.log", cwd=cwd).start()
        return self.kiosk

    def kill_agent(self) -> None:
        assert self.agent is not None
        os.killpg(self.agent.pid, signal.SIGKILL)
        self.agent.proc.wait(5)  # type: ignore[union-attr]

    def wait_agent_exit(self, timeout: float = 15.0) -> int:
        assert self.agent is not None and self.agent.proc is not None
        return self.agent.proc.wait(timeout)

    def events(self) -> list[dict[str, Any]]:
        if not self.events_file.exists():
            return []
        return [json.loads(line) for line in self.events_file.read_text().splitlines() if line.strip()]

    def running_version(self) -> int:
        return read_config_version(self.config_path)

    def agent_log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.base.glob("agent-*.log")))

    def bundle(self, version: int, config: dict[str, Any], *, expires_days: float = 30,
               keys: list[SigningKey] | None = None, **kw: Any) -> bytes:  # fmt: skip
        doc = sign_bundle(config, version=version, expires=in_days(expires_days), keys=keys or [self.key], **kw)
        return json.dumps(doc).encode()

    def stop(self) -> None:
        for s in (self.agent, self.kiosk):
            if s is not None:
                s.stop()


@pytest.fixture
def points(
    mosquitto: Broker, organiser_key: SigningKey, tmp_path: Path, short_dir: Path
) -> Iterator[Callable[[str], Point]]:
    """Make :class:`Point` objects on the test's broker; every process is stopped at teardown."""
    made: list[Point] = []

    def make(point_id: str) -> Point:
        p = Point(point_id, mosquitto, organiser_key, tmp_path, short_dir)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


class Ops:
    """The organiser's side on the broker, as the tests use it."""

    def __init__(self, client: aiomqtt.Client, key: SigningKey | None = None):
        self.client = client
        self.key = key
        """The organiser's key the commands are signed with."""
        self.states: dict[str, dict[str, Any]] = {}
        self.online: dict[str, str] = {}
        self.acks: list[dict[str, Any]] = []
        self.stats: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Condition()

    async def listen(self) -> None:
        await self.client.subscribe(broker.all_points("state"), qos=1)
        await self.client.subscribe(broker.all_points("online"), qos=1)
        await self.client.subscribe(broker.all_points("ack"), qos=1)
        await self.client.subscribe(broker.all_points("stats"), qos=1)
        async for m in self.client.messages:
            point = broker.point_of(m.topic.value)
            kind = m.topic.value.rsplit("/", 1)[-1]
            payload = bytes(m.payload) if isinstance(m.payload, bytes | bytearray) else b""
            if point is None or not payload:
                continue
            if kind == "state":
                self.states[point] = json.loads(payload)
            elif kind == "online":
                self.online[point] = payload.decode()
            elif kind == "ack":
                self.acks.append({"point": point, **json.loads(payload)})
            elif kind == "stats":
                self.stats[point] = json.loads(payload)
            async with self._changed:
                self._changed.notify_all()

    async def until(self, check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(check)
        except TimeoutError:
            raise AssertionError(f"{what} not reached within {timeout} s; states: {self.states}") from None
        return check()

    async def state_where(self, point: str, check: Callable[[dict[str, Any]], bool], timeout: float = 20.0,
                          ) -> dict[str, Any]:  # fmt: skip
        def ok() -> bool:
            s = self.states.get(point)
            return s is not None and bool(check(s))

        await self.until(ok, timeout, f"state of {point}")
        return self.states[point]

    async def publish_bundle(self, point: str, payload: bytes) -> None:
        await self.client.publish(broker.topic(point, "desired"), payload, qos=1, retain=True)

    async def command(self, point: str, cid: str, name: str, args: dict[str, Any] | None = None, **kw: Any) -> bytes:
        """Sign (with the organiser's key) and publish a command; returns what was published."""
        assert self.key is not None
        payload = signed_command(self.key, point, cid, name, args, **kw)
        await self.raw_command(point, payload)
        return payload

    async def raw_command(self, point: str, payload: bytes) -> None:
        """Publish ``payload`` on the point's command topic as it is (forged, unsigned, replayed…)."""
        await self.client.publish(broker.topic(point, "command"), payload, qos=1)

    async def ack(self, cid: str, timeout: float = 20.0, *, nth: int = 1) -> dict[str, Any]:
        """The ``nth`` acknowledgement carrying the id ``cid``."""

        def found() -> dict[str, Any] | None:
            acks = [a for a in self.acks if a.get("id") == cid]
            return acks[nth - 1] if len(acks) >= nth else None

        await self.until(lambda: found() is not None, timeout, f"ack {nth} of {cid}")
        result = found()
        assert result is not None
        return result


@pytest.fixture
async def ops(mosquitto: Broker, organiser_key: SigningKey) -> AsyncIterator[Ops]:
    async with aiomqtt.Client(**mosquitto.credentials("ops-watch")) as client:
        o = Ops(client, organiser_key)
        task = asyncio.create_task(o.listen())
        await asyncio.sleep(0.05)
        yield o
        task.cancel()


async def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``check`` without blocking the event loop (the ops listener keeps receiving meanwhile)."""
    await polled(check, what, timeout)


__all__ = ["Ops", "Point", "config_for", "eventually", "in_days", "signed_command", "utc"]
