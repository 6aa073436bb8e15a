"""``etapiste ops`` as the organiser uses it: keys, validation, signing, publishing to a group, staged
rollout that stops at a failing canary, fleet status, remote commands and the statistics export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest
import yaml

from etapiste.staffpin import verify_pin
from provisioning.bundle import SigningKey, TrustStore, verify_bundle
from provisioning.ops_cli import main as ops_main
from simulation.services.mqtt import Broker
from tests.provisioning.conftest import ETAPISTE, Ops, Point

EXAMPLE = Path(__file__).resolve().parents[2] / "provisioning" / "fleet-example"


def make_fleet(root: Path, switchboard_port: int) -> Path:
    """The example fleet with its points renamed to the broker's test points (a and b in one group)."""
    shutil.copytree(EXAMPLE, root)
    defaults = root / "defaults.yaml"
    defaults.write_text(defaults.read_text().replace("127.0.0.1:8443", f"127.0.0.1:{switchboard_port}"))
    (root / "groups" / "pohjois-pohjanmaa.yaml").write_text("ui:\n  idle_timeout_s: 120\n")
    for old, new in (("demo-oulu-kirjasto", "point-a"), ("demo-kempele-kirjasto", "point-b")):
        src = root / "points" / f"{old}.yaml"
        (root / "points" / f"{new}.yaml").write_text(src.read_text().replace(f"id: {old}", f"id: {new}"))
        src.unlink()
    c = (root / "points" / "point-a.yaml").read_text().replace("id: point-a", "id: point-c")
    (root / "points" / "point-c.yaml").write_text(c.replace("group: pohjois-pohjanmaa", "group: other"))
    return root


async def run_ops(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        ETAPISTE, "ops", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def online_args(b: Broker) -> list[str]:
    return ["--broker", b.url, "--password-file", str(b.password_file("ops"))]


def test_keygen_writes_a_private_key_only_its_owner_reads_and_a_trust_file(tmp_path: Path, capsys) -> None:
    assert ops_main(["keygen", "--out", str(tmp_path), "--name", "org-2026"]) == 0
    key = SigningKey.load(tmp_path / "org-2026.key")
    assert stat.S_IMODE(os.stat(tmp_path / "org-2026.key").st_mode) == 0o600
    assert set(TrustStore.load(tmp_path / "org-2026.trust.json").keys) == {key.keyid}
    assert f"key id {key.keyid}" in capsys.readouterr().out
    assert ops_main(["keygen", "--out", str(tmp_path), "--name", "org-2026"]) == 2, "never overwrites a key"


def test_hash_pin_prints_a_hash_the_kiosk_verifies(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("135790\n"))
    assert ops_main(["hash-pin", "--pin-stdin"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert verify_pin("135790", hashed) and not verify_pin("135791", hashed)
    for bad in ("12a456", "1234", "12345", "1234567890123"):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{bad}\n"))
        assert ops_main(["hash-pin", "--pin-stdin"]) == 2
        assert "6 to 12 digits" in capsys.readouterr().err


def test_validate_lists_every_problem_with_file_line_and_field(tmp_path: Path, capsys) -> None:
    root = make_fleet(tmp_path / "fleet", 8443)
    path = root / "points" / "point-b.yaml"
    path.write_text(path.read_text().replace("max_pages: 20", "max_pages: 0"))
    assert ops_main(["validate", "--fleet", str(root)]) == 1
    out = capsys.readouterr().out
    line = path.read_text().splitlines().index("    max_pages: 0") + 1
    assert f"{path}:{line}: devices.printer.max_pages: Input should be greater than or equal to 1 (got 0)" in out
    assert "point-a: ok" in out and "2 valid, 1 invalid" in out


def test_resolve_and_sign_make_a_bundle_the_point_accepts(tmp_path: Path, capsys) -> None:
    root = make_fleet(tmp_path / "fleet", 8443)
    ops_main(["keygen", "--out", str(tmp_path), "--name", "k"])
    capsys.readouterr()
    assert ops_main(["resolve", "--fleet", str(root), "point-a"]) == 0
    out = capsys.readouterr().out
    assert yaml.safe_load(out)["ui"]["idle_timeout_s"] == 120  # from the group layer
    bundle = tmp_path / "a.json"
    args = ["sign", "--fleet", str(root), "--key", str(tmp_path / "k.key"), "--version", "3", "--out", str(bundle),
            "point-a"]  # fmt: skip
    assert ops_main(args) == 0
    verified = verify_bundle(
        bundle.read_bytes(), point="point-a", trust=TrustStore.load(tmp_path / "k.trust.json"), applied_version=2
    )
    assert verified.version == 3 and verified.config.ui.idle_timeout_s == 120


async def test_publish_to_a_group_applies_on_its_points_only_and_status_shows_the_fleet(
    points: Callable[[str], Point], ops: Ops, mosquitto: Broker, organiser_key: SigningKey, tmp_path: Path,
    switchboard_port: int,
) -> None:  # fmt: skip
    root = make_fleet(tmp_path / "fleet", switchboard_port)
    key_file = tmp_path / "organiser.key"
    organiser_key.save(key_file)
    running = {pid: points(pid) for pid in ("point-a", "point-b", "point-c")}
    for p in running.values():
        p.start_agent()
        p.start_kiosk()
    await ops.until(lambda: len(ops.states) == 3, what="three agents reporting")

    code, out = await run_ops("publish", "--fleet", str(root), "--key", str(key_file), *online_args(mosquitto),
                              "--group", "pohjois-pohjanmaa", "--wait", "--timeout", "30")  # fmt: skip
    assert code == 0, out
    assert "point-a: version" in out and ": applied" in out and "point-b: version" in out
    assert "point-c" not in out
    assert running["point-a"].running_version() > 0 and running["point-b"].running_version() > 0
    assert not running["point-c"].config_path.exists()
    # Publishing again gets a higher version (versions only go up).
    first = running["point-a"].running_version()
    code, out = await run_ops("publish", "--fleet", str(root), "--key", str(key_file), *online_args(mosquitto),
                              "--point", "point-a", "--wait", "--timeout", "30")  # fmt: skip
    assert code == 0, out
    assert running["point-a"].running_version() > first

    running["point-b"].kill_agent()
    await ops.until(lambda: ops.online.get("point-b") == "false", what="point-b offline")
    code, out = await run_ops("status", *online_args(mosquitto))
    assert code == 0, out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert out.splitlines()[0].split() == [
        "point", "online", "version", "health", "last", "seen", "last", "result", "software", "update"
    ]  # fmt: skip
    assert rows["point-a"][1:4] == ["true", str(running["point-a"].running_version()), "ok"]
    assert rows["point-b"][1] == "false"
    assert rows["point-c"][1:4] == ["true", "0", "UNHEALTHY"]  # never configured: its kiosk has nothing to run


async def test_rollout_stops_when_a_canary_fails_its_health_check(
    points: Callable[[str], Point], ops: Ops, mosquitto: Broker, organiser_key: SigningKey, tmp_path: Path,
    switchboard_port: int, closed_port: int,
) -> None:  # fmt: skip
    root = make_fleet(tmp_path / "fleet", switchboard_port)
    key_file = tmp_path / "organiser.key"
    organiser_key.save(key_file)
    for pid in ("point-a", "point-b"):
        p = points(pid)
        p.start_agent()
        p.start_kiosk()
    await ops.until(lambda: len(ops.states) == 2, what="agents reporting")
    # The group's new configuration names a switchboard the canary cannot reach.
    group = root / "groups" / "pohjois-pohjanmaa.yaml"
    group.write_text(f"switchboard:\n  url: ws://127.0.0.1:{closed_port}/ws/point\n")
    args = ["rollout", "--fleet", str(root), "--key", str(key_file), *online_args(mosquitto),
            "--group", "pohjois-pohjanmaa", "--canaries", "point-a", "--timeout", "30"]  # fmt: skip
    code, out = await run_ops(*args)
    assert code == 1, out
    assert "point-a: version" in out and "rolled_back" in out and "switchboard unreachable" in out
    assert "rollout stopped: a canary failed; 1 point(s) left untouched" in out
    assert ops.states["point-b"]["applied_version"] == 0
    assert ops.states["point-b"]["last_result"] is None

    group.write_text("ui:\n  idle_timeout_s: 120\n")
    code, out = await run_ops(*args)
    assert code == 0, out
    assert "canaries healthy; publishing to the other 1 point(s)" in out
    await ops.state_where("point-b", lambda s: s["applied_version"] > 0 and s["kiosk"]["healthy"])


async def test_commands_and_statistics_export_from_the_ops_tool(
    points: Callable[[str], Point], ops: Ops, mosquitto: Broker, organiser_key: SigningKey, tmp_path: Path,
    switchboard_port: int,
) -> None:  # fmt: skip
    from tests.provisioning.conftest import config_for

    key_file = tmp_path / "organiser.key"
    organiser_key.save(key_file)
    stranger = SigningKey.generate()
    stranger.save(tmp_path / "stranger.key")
    a = points("point-a")
    a.start_agent()
    a.start_kiosk("--sessions", "4")
    await ops.publish_bundle("point-a", a.bundle(1, config_for("point-a", switchboard_port)))
    def sessions_reported() -> int:
        days = (ops.stats.get("point-a") or {}).get("days", {})
        return sum(sum(q["outcomes"].values()) for d in days.values() for q in d["queues"].values())

    # The first statistics are published on connect, before any customer: wait for the four sessions.
    await ops.until(lambda: sessions_reported() == 4, what="statistics of four sessions")
    messages = ["--message-fi", "Suljettu", "--message-sv", "Stängt", "--message-en", "Closed"]
    signed = [*online_args(mosquitto), "--key", str(key_file), "--point", "point-a"]
    code, out = await run_ops("command", *signed, "out_of_service", *messages)
    assert code == 0, out
    assert "ok: out of service" in out
    code, out = await run_ops("command", *signed, "out_of_service")
    assert code == 2 and "needs --message-fi" in out
    code, out = await run_ops("command", *online_args(mosquitto), "--key", str(tmp_path / "stranger.key"),
                              "--point", "point-a", "reboot")  # fmt: skip
    assert code == 1, out
    assert "REFUSED (signature): no valid signature by a trusted key" in out
    assert not (a.base / "rebooted").exists()
    code, out = await run_ops("command", *signed, "--valid-hours", "1000", "reboot")
    assert code == 2 and "--valid-hours must be" in out

    csv_file = tmp_path / "stats.csv"
    code, out = await run_ops("stats", *online_args(mosquitto), "--out", str(csv_file))
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    sessions = {r["producer"]: int(r["sessions"]) for r in rows if not r["producer"].startswith("fault:")}
    assert sessions == {"kela": 1, "migri": 1, "poliisi": 1, "vero": 1}
    assert {r["point"] for r in rows} == {"point-a"}
    assert json.dumps(rows).count("@") == 0


async def test_publish_refuses_an_invalid_fleet_and_publishes_nothing(
    ops: Ops, mosquitto: Broker, organiser_key: SigningKey, tmp_path: Path, switchboard_port: int
) -> None:
    root = make_fleet(tmp_path / "fleet", switchboard_port)
    key_file = tmp_path / "organiser.key"
    organiser_key.save(key_file)
    bad = root / "points" / "point-b.yaml"
    bad.write_text(bad.read_text().replace("max_pages: 20", "max_pages: many"))
    code, out = await run_ops("publish", "--fleet", str(root), "--key", str(key_file), *online_args(mosquitto),
                              "--group", "pohjois-pohjanmaa")  # fmt: skip
    assert code == 1
    assert f"{bad}:" in out and "devices.printer.max_pages" in out
    async with aiomqtt.Client(**mosquitto.credentials("ops-watch")) as c:
        await c.subscribe("etapiste/point/+/desired", qos=1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await anext(aiter(c.messages))
