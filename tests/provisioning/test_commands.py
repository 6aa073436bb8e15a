"""Remote commands from the organiser, acknowledged with their results: delivered even when sent
while the point was offline; refused, with the reason reported to ops, when unsigned, signed by a key
the point does not trust, tampered with, addressed to another point, without an expiry, expired or
replayed; and diagnostics free of personal data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from provisioning.bundle import SigningKey
from tests.provisioning.conftest import Ops, Point, config_for, eventually, signed_command

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


async def test_commands_not_properly_signed_for_this_point_and_now_are_refused_and_reported(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    """Whoever holds the ops broker credentials (or runs the broker) but not the organiser's key cannot
    put text on a kiosk, reboot it or pull its diagnostics: each of these is refused with its reason."""
    a = await _running(points, ops, switchboard_port)
    assert ops.key is not None
    now = dt.datetime.now(dt.UTC)
    on = {"on": True, "message": MESSAGE}
    stranger = SigningKey.generate()
    tampered = json.loads(signed_command(ops.key, "point-a", "tamper-1", "out_of_service", on))
    tampered["signed"]["args"]["message"]["fi"] = "Soita numeroon 0700 123 456"
    cases = {
        # the format of before: no signature at all
        "unsigned-1": (json.dumps({"id": "unsigned-1", "name": "out_of_service", "args": on,
                                   "expires": (now + dt.timedelta(hours=1)).isoformat()}).encode(), "unsigned"),
        "stranger-1": (signed_command(stranger, "point-a", "stranger-1", "reboot"), "signature"),
        "tamper-1": (json.dumps(tampered).encode(), "signature"),
        "other-1": (signed_command(ops.key, "point-b", "other-1", "reboot"), "wrong_point"),
        "old-1": (signed_command(ops.key, "point-a", "old-1", "test_print", issued=now - dt.timedelta(hours=2),
                                 expires=now - dt.timedelta(hours=1)), "expired"),
        "forever-1": (signed_command(ops.key, "point-a", "forever-1", "reboot", expires=None), "no_expiry"),
        "long-1": (signed_command(ops.key, "point-a", "long-1", "reboot", expires=now + dt.timedelta(days=60)),
                   "too_long"),
        "bad-1": (signed_command(ops.key, "point-a", "bad-1", "format_disk"), "malformed"),
    }
    for payload, _ in cases.values():
        await ops.raw_command("point-a", payload)
    for cid, (_, code) in cases.items():
        ack = await ops.ack(cid)
        assert (ack["ok"], ack["code"]) == (False, code), ack
        assert ack["detail"]
    assert "no valid signature by a trusted key" in (await ops.ack("stranger-1"))["detail"]
    assert "addressed to 'point-b'" in (await ops.ack("other-1"))["detail"]
    assert "expired at" in (await ops.ack("old-1"))["detail"]
    assert "the ops tool signs" in (await ops.ack("unsigned-1"))["detail"]
    assert "name" in (await ops.ack("bad-1"))["detail"]
    await ops.raw_command("point-a", b"\x00not json")
    await ops.until(lambda: any(x["id"] is None for x in ops.acks), what="refusal of a malformed command")
    assert next(x for x in ops.acks if x["id"] is None)["code"] == "malformed"
    assert not [e for e in a.events() if e["op"] == "command"]
    assert not (a.base / "rebooted").exists()
    state = await ops.state_where("point-a", lambda s: s["out_of_service"] is None)
    assert state["kiosk"]["connected"]


async def test_a_replayed_command_is_refused_also_after_the_agent_restarts(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = await _running(points, ops, switchboard_port)
    payload = await ops.command("point-a", "oos-r", "out_of_service", {"on": True, "message": MESSAGE})
    assert (await ops.ack("oos-r"))["ok"] is True
    await ops.command("point-a", "oos-off", "out_of_service", {"on": False})
    assert (await ops.ack("oos-off"))["ok"] is True
    await ops.raw_command("point-a", payload)  # the broker (or an ops login) sends the old order again
    replay = await ops.ack("oos-r", nth=2)
    assert (replay["ok"], replay["code"]) == (False, "replay")
    assert "already" in replay["detail"]
    a.agent.stop()  # type: ignore[union-attr]
    a.start_agent()
    await ops.until(lambda: ops.online.get("point-a") == "true", 20, "back online")
    await ops.raw_command("point-a", payload)
    again = await ops.ack("oos-r", nth=3)
    assert (again["ok"], again["code"]) == (False, "replay")
    told = [e for e in a.events() if e["op"] == "command"]
    assert [e["args"]["on"] for e in told] == [True, False]
    assert (a.state_dir / "commands.json").exists()


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
