"""The collector's systemd unit (systemd/server/etapiste-collect.service) as systemd reads it: verified
clean as installed on an organiser's server, hardened under the switchboard's threshold, and starting a
command line the ops tool accepts. Uses tests/systemd's throwaway root and helpers."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning import broker
from provisioning.ops_cli import _parser
from simulation.services.common import require_program
from tests.systemd.conftest import add_venv_entry_point, make_fresh_root
from tests.systemd.test_units import SERVER_DIR, one, settings, verify

UNIT = SERVER_DIR / "etapiste-collect.service"


@pytest.fixture(scope="module")
def collect_root() -> Iterator[Path]:
    """A fresh root with the collector's unit, its environment file and its user, as on a server."""
    root = make_fresh_root()
    try:
        shutil.copy2(UNIT, root / "etc/systemd/system/")
        add_venv_entry_point(root)
        (root / "etc/etapiste").mkdir(parents=True)
        (root / "etc/etapiste/collect.env").write_text(
            "BROKER=mqtts://broker.example.fi:8883\nSTORE=sqlite:////var/lib/etapiste-collect/statistics.db\n"
        )
        sysusers = (SERVER_DIR / "etapiste-collect.sysusers.conf").read_text()
        assert re.search(r"^u\s+etapiste-collect\s", sysusers, re.M)
        with open(root / "etc/passwd", "a") as f:
            f.write(
                "etapiste-collect:x:990:990:etapiste statistics collector:/var/lib/etapiste-collect:/usr/sbin/nologin\n"
            )
        with open(root / "etc/group", "a") as f:
            f.write("etapiste-collect:x:990:\n")
        yield root
    finally:
        shutil.rmtree(root)


def test_collect_unit_verifies_without_a_word(collect_root: Path) -> None:
    assert verify(collect_root, "etapiste-collect.service") == ""


def test_collect_unit_exposure_is_at_most_the_switchboards() -> None:
    result = subprocess.run(
        [require_program("systemd-analyze"), "security", "--offline=true", "--threshold=25", str(UNIT)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.5
    assert result.returncode == 0, result.stdout[-2000:]


def test_collect_unit_runs_as_its_own_user_with_a_private_state_directory() -> None:
    s = settings(UNIT)
    assert one(s, "Service", "User") == "etapiste-collect"
    assert one(s, "Service", "StateDirectory") == "etapiste-collect"
    assert one(s, "Service", "ProtectSystem") == "strict"
    assert one(s, "Service", "Restart") == "always"


def test_collect_command_line_is_one_the_ops_tool_accepts_with_the_read_only_account() -> None:
    argv = shlex.split(one(settings(UNIT), "Service", "ExecStart"))
    assert argv[:3] == ["/opt/etapiste/venv/bin/etapiste", "ops", "collect"]
    env = {"BROKER": "mqtts://broker.example.fi:8883", "STORE": "sqlite:////var/lib/etapiste-collect/s.db"}
    expanded = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], a) for a in argv[3:]]
    args = _parser().parse_args(["collect", *expanded])
    assert args.username == broker.COLLECTOR_USER
    assert args.store == env["STORE"]
    assert args.broker.startswith("mqtts://")
