"""The agent against a private mosquitto and a real kiosk process: catching up, rejecting bad bundles
with the reason reported, rolling back an unhealthy configuration, and surviving being killed."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from etapiste.config.point import load_point_config
from provisioning.agent import Agent, AgentSettings
from provisioning.agent_cli import main as agent_main
from provisioning.apply import STEPS
from provisioning.bundle import SigningKey, TrustStore
from provisioning.ops_cli import main as ops_main
from simulation.services.mqtt import Broker
from tests.provisioning.conftest import Ops, Point, config_for, eventually


async def test_offline_point_catches_up_with_the_bundle_published_while_it_was_away(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = points("point-a")
    await ops.publish_bundle("point-a", a.bundle(7, config_for("point-a", switchboard_port)))
    a.start_agent()
    a.start_kiosk()
    state = await ops.state_where("point-a", lambda s: s["applied_version"] == 7 and s["kiosk"]["healthy"])
    assert state["last_result"]["status"] == "applied"
    assert state["kiosk"]["version"] == 7
    assert ops.online["point-a"] == "true"
    assert a.running_version() == 7
    assert load_point_config(a.config_path).point.id == "point-a"
    assert {"op": "reload", "version": 7} in a.events()


async def _applied(points: Callable[[str], Point], ops: Ops, port: int, version: int = 5) -> Point:
    a = points("point-a")
    a.start_agent()
    a.start_kiosk()
    await ops.publish_bundle("point-a", a.bundle(version, config_for("point-a", port)))
    await ops.state_where("point-a", lambda s: s["applied_version"] == version and s["kiosk"]["healthy"])
    return a


@pytest.mark.parametrize(
    ("case", "code", "reason"),
    [
        ("forged signature", "signature", "no valid signature by a trusted key"),
        ("older version", "old_version", "version 4 is not newer than the applied version 5"),
        ("expired", "expired", "the bundle expired at"),
        ("another point's bundle", "wrong_point", "addressed to 'point-b'"),
        ("schema error", "schema", "ui.idle_timeout_s"),
    ],
)
async def test_bad_bundle_is_rejected_with_the_reason_reported_and_the_config_kept(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int, case: str, code: str, reason: str
) -> None:
    a = await _applied(points, ops, switchboard_port)
    before = a.config_path.read_bytes()
    good = config_for("point-a", switchboard_port)
    if case == "forged signature":
        payload = a.bundle(6, good, keys=[SigningKey.generate()])
    elif case == "older version":
        payload = a.bundle(4, good)
    elif case == "expired":
        payload = a.bundle(6, good, expires_days=-1)
    elif case == "another point's bundle":
        payload = a.bundle(6, config_for("point-b", switchboard_port))
    else:
        payload = a.bundle(6, config_for("point-a", switchboard_port, ui={"idle_timeout_s": 5}))
    await ops.publish_bundle("point-a", payload)
    state = await ops.state_where("point-a", lambda s: s["last_result"]["status"] == "rejected")
    assert state["last_result"]["code"] == code
    assert reason in state["last_result"]["reason"]
    assert reason in state["last_error"]
    assert state["applied_version"] == 5
    assert a.config_path.read_bytes() == before
    assert [e for e in a.events() if e["op"] == "reload"] == [{"op": "reload", "version": 5}]


async def test_tampered_configuration_is_rejected_as_a_bad_signature(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    import json

    a = await _applied(points, ops, switchboard_port)
    doc = json.loads(a.bundle(6, config_for("point-a", switchboard_port)))
    doc["signed"]["config"]["switchboard"]["url"] = "ws://evil.invalid/ws"
    await ops.publish_bundle("point-a", json.dumps(doc).encode())
    state = await ops.state_where("point-a", lambda s: s["last_result"]["status"] == "rejected")
    assert state["last_result"]["code"] == "signature"
    assert "evil" not in a.config_path.read_text()


async def test_unhealthy_configuration_is_rolled_back_and_not_retried(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int, closed_port: int
) -> None:
    a = await _applied(points, ops, switchboard_port)
    before = a.config_path.read_bytes()
    await ops.publish_bundle("point-a", a.bundle(6, config_for("point-a", closed_port)))
    state = await ops.state_where("point-a", lambda s: s["last_result"]["status"] == "rolled_back")
    assert "switchboard unreachable" in state["last_result"]["reason"]
    assert "back on version 5" in state["last_result"]["reason"]
    assert a.config_path.read_bytes() == before
    state = await ops.state_where("point-a", lambda s: s["kiosk"]["version"] == 5 and s["kiosk"]["healthy"])
    assert state["applied_version"] == 5
    reloads = [e["version"] for e in a.events() if e["op"] == "reload"]
    assert reloads[-2:] == [6, 5]

    # After a restart the retained, failed bundle is not tried again; a newer one is.
    a.agent.stop()  # type: ignore[union-attr]
    a.start_agent()
    state = await ops.state_where(
        "point-a", lambda s: s["last_result"] and s["last_result"]["code"] == "failed_before"
    )
    assert [e["version"] for e in a.events() if e["op"] == "reload"][-1] == 5
    await ops.publish_bundle("point-a", a.bundle(7, config_for("point-a", switchboard_port)))
    await ops.state_where("point-a", lambda s: s["applied_version"] == 7 and s["kiosk"]["healthy"])


async def test_no_kiosk_running_rolls_back_after_the_health_timeout(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = points("point-a")
    a.start_agent(health_timeout=1.5)
    await ops.publish_bundle("point-a", a.bundle(1, config_for("point-a", switchboard_port)))
    state = await ops.state_where("point-a", lambda s: s["last_result"] and s["last_result"]["status"] == "rolled_back")
    assert "the kiosk was not running within 1.5 s" in state["last_result"]["reason"]
    assert not a.config_path.exists()
    assert state["kiosk"]["connected"] is False


@pytest.mark.parametrize("step", STEPS)
async def test_agent_killed_at_each_apply_step_leaves_a_whole_config_and_recovers(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int, step: str
) -> None:
    a = await _applied(points, ops, switchboard_port)
    old = a.config_path.read_bytes()
    a.agent.stop()  # type: ignore[union-attr]
    a.start_agent(crash_at=step)
    await ops.publish_bundle("point-a", a.bundle(6, config_for("point-a", switchboard_port)))
    assert a.wait_agent_exit() == -9  # SIGKILL
    await ops.until(lambda: ops.online.get("point-a") == "false", what="last will")

    # Whatever the step, point.yaml is one whole configuration: the old one or the new one.
    text = a.config_path.read_text()
    assert a.running_version() in (5, 6)
    if a.running_version() == 5:
        assert text.encode() == old
    config = load_point_config(a.config_path)
    assert config.point.id == "point-a"
    leftovers = list(a.state_dir.glob(".*.tmp"))
    assert not leftovers or step == "temp-written"

    a.start_agent()
    state = await ops.state_where("point-a", lambda s: s["applied_version"] == 6 and s["kiosk"]["healthy"])
    assert state["kiosk"]["version"] == 6
    assert a.running_version() == 6
    assert not (a.state_dir / "pending.json").exists()
    assert not list(a.state_dir.glob(".*.tmp")), "a killed write's temp file is cleaned up"
    assert ops.online.get("point-a") == "true"


async def test_killed_agent_is_marked_offline_by_its_last_will(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _applied(points, ops, switchboard_port)
    assert ops.online["point-a"] == "true"
    a.kill_agent()
    await ops.until(lambda: ops.online.get("point-a") == "false", 10, "last will")
    assert ops.states["point-a"]["applied_version"] == 5, "the last reported state stays readable"


async def test_damaged_trust_store_fails_the_apply_with_a_reason_and_keeps_the_agent_running(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _applied(points, ops, switchboard_port)
    before = a.config_path.read_bytes()
    (a.state_dir / "trust.json").write_text("{not json")
    await ops.publish_bundle("point-a", a.bundle(6, config_for("point-a", switchboard_port)))
    state = await ops.state_where("point-a", lambda s: s["last_result"]["status"] == "rejected")
    assert state["last_result"]["code"] == "trust_store"
    assert "trust.json cannot be read" in state["last_result"]["reason"]
    assert "reinstall it" in state["last_error"]
    assert state["applied_version"] == 5
    assert a.config_path.read_bytes() == before
    assert a.agent.running()  # type: ignore[union-attr]
    assert ops.online["point-a"] == "true"


def test_agent_command_line_mistakes_are_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    base = ["--point", "point-a", "--password-file", str(pw), "--state-dir", str(tmp_path / "s")]
    assert agent_main([*base, "--broker", "http://broker:1883"]) == 2
    assert "write it as mqtt://host:port or mqtts://host:port" in capsys.readouterr().err
    assert agent_main([*base, "--broker", "mqtt://127.0.0.1:1"]) == 2
    assert "give --trust with the organiser's public keys" in capsys.readouterr().err
    assert agent_main([*base, "--broker", "mqtt://127.0.0.1:1", "--password-file", str(tmp_path / "none")]) == 2
    assert "--password-file" in capsys.readouterr().err
    assert agent_main(["--point", "ops", "--broker", "mqtt://127.0.0.1:1", "--password-file", str(pw),
                       "--state-dir", str(tmp_path / "s"), "--trust", str(tmp_path / "t")]) == 2  # fmt: skip
    assert "'ops' cannot be a point id" in capsys.readouterr().err
    assert agent_main([*base, "--broker", "mqtt://127.0.0.1:1", "--trust", str(tmp_path / "t")]) == 2
    assert f"--trust {tmp_path / 't'}: cannot read the organiser's keys" in capsys.readouterr().err


def test_plain_mqtt_is_refused_unless_the_broker_is_on_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without TLS the point's broker password, its configuration (with the staff PIN hash) and all it
    reports would cross the library's network in the clear: only a broker on loopback may go without."""

    def settings(host: str, tls: ssl.SSLContext | None = None) -> AgentSettings:
        return AgentSettings(point="point-a", state_dir=tmp_path / "s", host=host, port=1883, password="x",
                             kiosk_socket=tmp_path / "k.sock", tls=tls)  # fmt: skip

    for remote in ("192.0.2.10", "broker.example.fi", "10.0.0.1"):
        with pytest.raises(ValueError, match=r"use mqtts://host:port"):
            Agent(settings(remote))
    for local in ("127.0.0.1", "::1", "localhost"):
        Agent(settings(local))
    Agent(settings("broker.example.fi", ssl.create_default_context()))

    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    trust = tmp_path / "trust.json"
    trust.write_text(TrustStore.from_entries([SigningKey.generate().public_entry()]).to_json())
    argv = ["--point", "point-a", "--password-file", str(pw), "--state-dir", str(tmp_path / "s"), "--trust",
            str(trust), "--broker", "mqtt://192.0.2.10:1883"]  # fmt: skip
    assert agent_main(argv) == 2
    assert "plain mqtt:// to 192.0.2.10 would send the point's password" in capsys.readouterr().err
    assert ops_main(["status", "--broker", "mqtt://192.0.2.10:1883", "--password-file", str(pw)]) == 2
    assert "use mqtts://host:port" in capsys.readouterr().err


async def test_agent_reconnects_after_a_broker_outage_and_reports_again(
    points: Callable[[str], Point], mosquitto: Broker, switchboard_port: int
) -> None:
    a = points("point-a")
    a.start_agent()
    a.start_kiosk()
    async with aiomqtt.Client(**mosquitto.credentials("ops-watch")) as client:
        ops = Ops(client)
        listener = asyncio.create_task(ops.listen())
        await asyncio.sleep(0.05)
        await ops.publish_bundle("point-a", a.bundle(1, config_for("point-a", switchboard_port)))
        await ops.state_where("point-a", lambda s: s["applied_version"] == 1 and s["kiosk"]["healthy"])
        listener.cancel()
        mosquitto.service.stop()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await listener
    await eventually(lambda: "broker connection lost" in a.agent_log(), 10, "the agent noticing the outage")
    mosquitto.restart()  # an empty broker: its retained state is gone
    async with aiomqtt.Client(**mosquitto.credentials("ops-watch")) as client:
        ops = Ops(client)
        listener = asyncio.create_task(ops.listen())
        state = await ops.state_where("point-a", lambda s: s["applied_version"] == 1, timeout=30)
        assert ops.online["point-a"] == "true"
        assert state["kiosk"]["healthy"] is True
        assert state["last_error"] is None
        listener.cancel()
    assert a.running_version() == 1
