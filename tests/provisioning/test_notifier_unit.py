"""The notifier's systemd unit (systemd/server/etapiste-notifier.service) as systemd reads it: verified clean
as installed on an organiser's server, hardened under the switchboard's threshold, and starting a command
line the ops tool accepts with the notifier's own broker account. Uses tests/systemd's throwaway root."""

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

UNIT = SERVER_DIR / "etapiste-notifier.service"
ENV = {
    "BROKER": "mqtts://broker.example.fi:8883", "SMTP": "smtp.example.fi:587", "FROM": "piste@example.fi",
    "SUPPORT": "tuki@example.fi", "FLEET": "/etc/etapiste/fleet",
}  # fmt: skip


@pytest.fixture(scope="module")
def notifier_root() -> Iterator[Path]:
    """A fresh root with the notifier's unit, its environment file and its user, as on a server."""
    root = make_fresh_root()
    try:
        shutil.copy2(UNIT, root / "etc/systemd/system/")
        add_venv_entry_point(root)
        (root / "etc/etapiste").mkdir(parents=True)
        (root / "etc/etapiste/notifier.env").write_text("".join(f"{k}={v}\n" for k, v in ENV.items()))
        sysusers = (SERVER_DIR / "etapiste-notifier.sysusers.conf").read_text()
        assert re.search(r"^u\s+etapiste-notifier\s", sysusers, re.M)
        with open(root / "etc/passwd", "a") as f:
            f.write("etapiste-notifier:x:989:989:etapiste alert notifier:/:/usr/sbin/nologin\n")
        with open(root / "etc/group", "a") as f:
            f.write("etapiste-notifier:x:989:\n")
        yield root
    finally:
        shutil.rmtree(root)


def test_notifier_unit_verifies_without_a_word(notifier_root: Path) -> None:
    assert verify(notifier_root, "etapiste-notifier.service") == ""


def test_notifier_unit_exposure_is_at_most_the_switchboards() -> None:
    result = subprocess.run(
        [require_program("systemd-analyze"), "security", "--offline=true", "--threshold=25", str(UNIT)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.5
    assert one(settings(UNIT), "Service", "User") == "etapiste-notifier"


def test_notifier_command_line_is_one_the_ops_tool_accepts_with_the_notifier_account() -> None:
    argv = shlex.split(one(settings(UNIT), "Service", "ExecStart"))
    assert argv[:3] == ["/opt/etapiste/venv/bin/etapiste", "ops", "notifier"]
    expanded = [re.sub(r"\$\{(\w+)\}", lambda m: ENV[m.group(1)], a) for a in argv[3:]]
    args = _parser().parse_args(["notifier", *expanded])
    assert args.username == broker.NOTIFIER_USER
    assert args.starttls and args.smtp == ENV["SMTP"] and args.support == [ENV["SUPPORT"]]
    assert args.broker.startswith("mqtts://")
