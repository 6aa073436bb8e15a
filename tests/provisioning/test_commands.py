"""Remote commands from the organiser, acknowledged with their results: delivered even when sent
while the point was offline, refused when stale or malformed, and diagnostics free of personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.provisioning.conftest import Ops, Point, config_for, eventually

MESSAGE = {"fi": "Huoltokatko", "sv": "Serviceavbrott", "en": "Closed for maintenance"}


async def _running(points: Callable[[str], Point], ops: Ops, port: int, *kiosk_args: str) -> Point:
    a = points("point-a")
    a.start_agent()
    a.start_kiosk(*kiosk_args)
    await ops.publish_bundle("point-a", a.bundle(1, config_for("point-a", port)))
    await ops.state_where("point-a", lambda s: s["applied_version"] == 1 and s["kiosk"]["healthy"])
    return a


async def test_out_of_service_sent_while_offline_reaches_the_kiosk_when_the_point_returns(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _running(points, ops, switchboard_port)
    a.agent.stop()  # type: ignore[union-attr]
    await ops.until(lambda: ops.online.get("point-a") == "false", 10, "offline")
    await ops.command("point-a", "oos-1", "out_of_service", {"on": True, "message": MESSAGE})
    a.start_agent()
    ack = await ops.ack("oos-1")
    assert ack["ok"] is True
    assert ack["name"] == "out_of_service"
    told = [e for e in a.events() if e["op"] == "command"]
    assert told == [{"op": "command", "name": "out_of_service", "args": {"on": True, "message": MESSAGE}}]
    state = await ops.state_where("point-a", lambda s: s["out_of_service"] is not None)
    assert state["out_of_service"]["message"] == MESSAGE

    await ops.command("point-a", "oos-2", "out_of_service", {"on": False})
    assert (await ops.ack("oos-2"))["ok"] is True
    await ops.state_where("point-a", lambda s: s["out_of_service"] is None)


async def test_out_of_service_without_a_message_in_every_language_is_refused(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _running(points, ops, switchboard_port)
    await ops.command("point-a", "oos-3", "out_of_service", {"on": True, "message": {"fi": "Suljettu"}})
    ack = await ops.ack("oos-3")
    assert ack["ok"] is False
    assert "fi, sv and en" in ack["detail"]
    assert not [e for e in a.events() if e["op"] == "command"]


async def test_test_print_and_restart_are_acknowledged_with_the_kiosks_result(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _running(points, ops, switchboard_port)
    await ops.command("point-a", "tp-1", "test_print")
    ack = await ops.ack("tp-1")
    assert (ack["ok"], ack["detail"]) == (True, "test page printed")

    await ops.command("point-a", "rs-1", "restart")
    await eventually(lambda: not a.kiosk.running(), 10, "kiosk exit")  # type: ignore[union-attr]
    a.start_kiosk()  # what systemd's Restart=always does
    ack = await ops.ack("rs-1")
    assert ack["ok"] is True, ack
    assert "restarted" in ack["detail"]


async def test_reboot_is_acknowledged_then_run(points: Callable[[str], Point], ops: Ops, switchboard_port: int) -> None:
    a = await _running(points, ops, switchboard_port)
    await ops.command("point-a", "rb-1", "reboot")
    ack = await ops.ack("rb-1")
    assert ack["ok"] is True
    await eventually(lambda: (a.base / "rebooted").exists(), 5, "reboot command")


async def test_command_to_a_point_without_kiosk_fails_with_the_reason(
    points: Callable[[str], Point], ops: Ops
) -> None:
    a = points("point-a")
    a.start_agent()
    await ops.until(lambda: ops.online.get("point-a") == "true", 10, "online")
    await ops.command("point-a", "tp-2", "test_print")
    ack = await ops.ack("tp-2")
    assert ack["ok"] is False
    assert ack["detail"] == "no kiosk is connected (waited 5 s)"


async def test_stale_and_malformed_commands_are_refused_not_run(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _running(points, ops, switchboard_port)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    await ops.command("point-a", "old-1", "test_print", expires=past)
    ack = await ops.ack("old-1")
    assert ack["ok"] is False
    assert "expired" in ack["detail"]
    await ops.command("point-a", "bad-1", "format_disk")
    await ops.until(lambda: any(x["id"] is None for x in ops.acks), what="refusal of a malformed command")
    refusal = next(x for x in ops.acks if x["id"] is None)
    assert refusal["ok"] is False
    assert "invalid command (name" in refusal["detail"]
    assert not [e for e in a.events() if e["op"] == "command"]


async def test_diagnostics_come_back_scrubbed_of_personal_data(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    leak = "card read for 131052-308T, mail matti.meikalainen@example.fi, phone +358 40 123 4567"
    await _running(points, ops, switchboard_port, "--diagnostics", f"printer ok; {leak}")
    await ops.command("point-a", "dg-1", "diagnostics")
    ack = await ops.ack("dg-1")
    assert ack["ok"] is True
    detail = ack["detail"]
    assert "== agent log ==" in detail and "bundle 1: applied" in detail
    assert "printer ok" in detail
    for personal in ("131052-308T", "matti.meikalainen", "123 4567"):
        assert personal not in detail
    assert "[hetu]" in detail and "[email]" in detail


async def test_restart_fails_when_the_kiosk_does_not_come_back(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _running(points, ops, switchboard_port)
    await ops.command("point-a", "rs-2", "restart")
    await eventually(lambda: not a.kiosk.running(), 10, "kiosk exit")  # type: ignore[union-attr]
    ack = await ops.ack("rs-2")
    assert ack["ok"] is False
    assert ack["detail"] == "the kiosk did not come back within 5 s"
    state = await ops.state_where("point-a", lambda s: not s["kiosk"]["connected"])
    assert state["kiosk"]["healthy"] is None
