"""Software delivery, the fast part: the product's version, the agent's update decisions and verdicts,
and the root helper's refusals. The package build and the throwaway root are in test_packages.py
(marker ``packaging``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest
import yaml

from etapiste.config.point import PointConfig
from provisioning.broker import topic
from provisioning.update import SoftwareUpdater, read_status
from simulation.services.mqtt import Broker
from tests.provisioning.conftest import ETAPISTE

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "etapiste" / "config" / "sample-point.yaml"
HELPER = ROOT / "systemd" / "libexec" / "etapiste-update"


def test_etapiste_version_is_pyprojects() -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    out = subprocess.run([sys.executable, "-m", "etapiste", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"etapiste {expected}"


@dataclass
class View:
    connected: bool = True
    software: str | None = "etapiste-kiosk 0.1.0"
    healthy: bool | None = True
    error: str | None = None


def _config(tmp_path: Path, software: dict[str, object] | None) -> Path:
    data = yaml.safe_load(SAMPLE.read_text())
    if software is not None:
        data["software"] = software
    PointConfig.model_validate(data)  # what the agent applied was valid
    path = tmp_path / "point.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _updater(tmp_path: Path, running: str, when: dt.datetime) -> SoftwareUpdater:
    (tmp_path / "run" / "commands").mkdir(parents=True)
    (tmp_path / "run" / "update").mkdir()
    return SoftwareUpdater(tmp_path, tmp_path / "run", running, clock=lambda: when)


# The sample library is closed at night; 03:00 Helsinki in winter is 01:00 UTC.
NIGHT = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)
NOON = dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC)


def test_schema_refuses_a_version_that_is_not_one() -> None:
    data = yaml.safe_load(SAMPLE.read_text())
    data["software"] = {"version": "1.0; rm -rf /"}
    with pytest.raises(ValueError, match="version"):
        PointConfig.model_validate(data)
    data["software"] = {"version": "1.0", "window": "25:00-26:00"}
    with pytest.raises(ValueError, match="time range"):
        PointConfig.model_validate(data)


def test_update_is_requested_only_in_the_window_outside_opening_hours(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"version": "0.2.0", "window": "02:00-05:00", "health_timeout_s": 120})
    day = _updater(tmp_path / "d", "0.1.0", NOON)
    day.tick(cfg, View())
    assert not day.request.exists()
    assert "open" in (day.state(cfg)["reason"] or "") or "window" in (day.state(cfg)["reason"] or "")
    night = _updater(tmp_path / "n", "0.1.0", NIGHT)
    night.tick(cfg, View())
    assert night.request.read_text() == "action=install\nversion=0.2.0\nhealth_timeout=120\n"
    assert night.state(cfg)["state"] == "requested"


def test_verdict_for_the_helper_and_no_retry_after_rollback(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"version": "0.2.0"})
    u = _updater(tmp_path, "0.2.0", NIGHT)
    u.status_path.write_text("state=checking\naction=install\nversion=0.2.0\nprevious=0.1.0\n")
    u.tick(cfg, View(software="etapiste-kiosk 0.1.0"))  # the old kiosk still: no verdict yet
    assert not u.health_path.exists()
    u.tick(cfg, View(software="etapiste-kiosk 0.2.0", healthy=False, error="switchboard unreachable"))
    assert u.health_path.read_text().splitlines()[:2] == ["version=0.2.0", "healthy=no"]
    # The helper rolled back; the agent (now 0.1.0 again) must not ask for 0.2.0 again.
    old = _updater(tmp_path / "after", "0.1.0", NIGHT)
    old.status_path.write_text("state=rolled-back\naction=install\nversion=0.2.0\nprevious=0.1.0\nreason=unhealthy\n")
    old.tick(cfg, View())
    assert not old.request.exists()
    assert old.state(cfg)["state"] == "rolled-back"
    assert "failed before" in (old.note or "")


def _helper(tmp_path: Path, request: str) -> dict[str, str]:
    run = tmp_path / "run"
    (run / "commands").mkdir(parents=True, exist_ok=True)
    (run / "commands" / "update").write_text(request)
    env = dict(os.environ, ETAPISTE_RUN_DIR=str(run), ETAPISTE_STATE_DIR=str(tmp_path))
    out = subprocess.run([str(HELPER)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not (run / "commands" / "update").exists()  # consumed
    return read_status(run / "update" / "status")


@pytest.mark.parametrize(
    ("request_text", "why"),
    [
        ("action=install\nversion=1.0;reboot\n", "not a version"),
        ("action=install\nversion=0.2.0\nhealth_timeout=5\n", "health_timeout"),
        ("action=rm\n", "not install or security"),
        ("action=install\nversion=0.2.0\nshell=/bin/sh\n", "unknown field"),
    ],
)
def test_helper_refuses_a_bad_request_with_a_reason(tmp_path: Path, request_text: str, why: str) -> None:
    status = _helper(tmp_path, request_text)
    assert status["state"] == "refused"
    assert why in status["reason"]


def _agent_state(point: str, updater: SoftwareUpdater, cfg: Path) -> dict[str, object]:
    """The retained state an agent publishes (provisioning/agent.py's Agent.state), for ``ops status``."""
    return {
        "point": point, "software": updater.running, "applied_version": 3, "last_result": None,
        "kiosk": {"connected": True, "software": f"etapiste-kiosk {updater.running}", "healthy": True, "devices": {}},
        "software_update": updater.state(cfg),
        "reported_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip


async def test_ops_status_shows_each_points_software_and_its_update(
    mosquitto_factory: Callable[..., Broker], tmp_path: Path
) -> None:
    mosquitto = mosquitto_factory(["point-a", "point-b", "point-c", "point-d"])
    cfg = _config(tmp_path, {"version": "0.2.0", "window": "02:00-05:00"})
    done = _updater(tmp_path / "a", "0.2.0", NIGHT)
    done.status_path.write_text("state=done\naction=install\nversion=0.2.0\nprevious=0.1.0\n")
    back = _updater(tmp_path / "b", "0.1.0", NIGHT)
    back.status_path.write_text(
        "state=rolled-back\naction=install\nversion=0.2.0\nprevious=0.1.0\nreason=no health report within 300 s\n"
    )
    waiting = _updater(tmp_path / "c", "0.1.0", NOON)
    waiting.tick(cfg, View())  # noon: the library is open, so 0.2.0 waits for the window
    security = _updater(tmp_path / "d", "0.2.0", NIGHT)
    security.status_path.write_text(
        "state=unhealthy\naction=security\nversion=0.2.0\nupgraded=cups-daemon libcups2\n"
        "reason=the kiosk reports unhealthy: printer\n"
    )
    updaters = {"point-a": done, "point-b": back, "point-c": waiting, "point-d": security}
    states = {pid: _agent_state(pid, u, cfg) for pid, u in updaters.items()}
    for pid, state in states.items():
        async with aiomqtt.Client(**mosquitto.credentials(pid)) as client:
            await client.publish(topic(pid, "state"), json.dumps(state).encode(), qos=1, retain=True)

    proc = await asyncio.create_subprocess_exec(
        ETAPISTE, "ops", "status", "--broker", mosquitto.url, "--password-file", str(mosquitto.password_file("ops")),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await proc.communicate())[0].decode()
    assert proc.returncode == 0, out
    header, *lines = out.splitlines()
    assert "software" in header.split() and "update" in header.split()
    rows = {line.split()[0]: line for line in lines}
    at = header.index("software")
    assert rows["point-a"][at:].split()[0] == "0.2.0" and "updated from 0.1.0" in rows["point-a"]
    assert rows["point-b"][at:].split()[0] == "0.1.0"
    assert "ROLLED BACK from 0.2.0: no health report within 300 s" in rows["point-b"]
    assert rows["point-c"][at:].split()[0] == "0.1.0"
    assert "0.2.0 waits" in rows["point-c"] and "open" in rows["point-c"]
    # Debian's security updates: what they changed, and that the kiosk was unhealthy after them.
    assert "security updates UNHEALTHY (cups-daemon libcups2): the kiosk reports unhealthy: printer" in rows["point-d"]


# ---- the enrolment package carries the organiser's repository; the installer checks it first ------------

INSTALLER = ROOT / "systemd" / "install-point.sh"


@pytest.fixture
def enrolment_with_repository(tmp_path: Path) -> Path:
    """An enrolment package as the organiser makes it: the point's identity (tests/systemd's maker) and the
    repository from ``etapiste ops repo init`` + ``enrolment``."""
    from simulation.debroot import gpg_key
    from tests.systemd.conftest import make_enrolment

    if subprocess.run(["which", "gpg", "apt-ftparchive"], capture_output=True).returncode != 0:
        pytest.skip("gpg and apt-ftparchive (scripts/apt-packages.txt) make the repository")
    gnupghome = tmp_path / "gnupg"
    fpr = gpg_key(gnupghome)
    package = make_enrolment(tmp_path / "enrolment").path
    for args in (["init", "--key", fpr], ["enrolment", "--url", "https://packages.example.invalid/etapiste",
                                          "--into", str(package)]):  # fmt: skip
        cmd = [ETAPISTE, "ops", "repo", args[0], "--dir", str(tmp_path / "repo"), "--gnupghome", str(gnupghome)]
        out = subprocess.run([*cmd, *args[1:]], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    return package


def test_ops_repo_enrolment_writes_the_source_the_pin_and_the_key(enrolment_with_repository: Path) -> None:
    from provisioning.repo import APT_PREFERENCES

    repository = enrolment_with_repository / "repository"
    assert (repository / "etapiste.sources").read_text() == (
        "Types: deb\nURIs: https://packages.example.invalid/etapiste\nSuites: bookworm\nComponents: main\n"
        "Signed-By: /etc/apt/keyrings/etapiste-organiser.gpg\n"
    )
    assert (repository / "etapiste.pref").read_text() == APT_PREFERENCES
    key = (repository / "organiser-archive-keyring.gpg").read_bytes()
    assert key[:1] in (b"\x98", b"\x99", b"\xc6")  # a binary OpenPGP public key, as apt's Signed-By reads it


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


BAD_REPOSITORIES = {
    "missing": (lambda p: (p / "repository/etapiste.sources").unlink(), "no repository/etapiste.sources"),
    "other-key": (lambda p: _edit(p / "repository/etapiste.sources", "etapiste-organiser.gpg", "debian.gpg"),
                  "Signed-By must be /etc/apt/keyrings/etapiste-organiser.gpg"),
    "trusted-yes": (lambda p: _edit(p / "repository/etapiste.sources", "Types: deb\n", "Types: deb\nTrusted: yes\n"),
                    "unknown field 'Trusted'"),
    "pin-everything": (lambda p: _edit(p / "repository/etapiste.pref", "Package: etapiste-*", "Package: *"),
                       "may pin etapiste-* only"),
    "armored-key": (lambda p: (p / "repository/organiser-archive-keyring.gpg").write_text("-----BEGIN PGP"),
                    "not a binary OpenPGP public key"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_REPOSITORIES))
def test_installer_refuses_a_package_whose_repository_is_not_the_organisers(
    enrolment_with_repository: Path, case: str
) -> None:
    """Checked before anything is written (the installer would otherwise write /etc/apt of this machine):
    the message names the file and what would be valid."""
    if os.geteuid() != 0:
        pytest.skip("the installer runs as root")
    spoil, why = BAD_REPOSITORIES[case]
    spoil(enrolment_with_repository)
    out = subprocess.run([str(INSTALLER), "--enrolment", str(enrolment_with_repository)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert why in out.stderr
    assert out.stdout == ""  # nothing was done


@pytest.mark.parametrize(
    ("args", "why"),
    [([], "--enrolment DIR is needed"), (["--root", "/tmp"], "--root belongs to the development path")],
)
def test_installer_package_way_needs_the_enrolment_and_keeps_checkout_options_apart(args: list[str], why: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("the installer runs as root")
    out = subprocess.run([str(INSTALLER), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and why in out.stderr, out.stderr
