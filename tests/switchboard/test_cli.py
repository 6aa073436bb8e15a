"""``etapiste switchboard``: configuration check, secrets, and the service really answering when run."""

from __future__ import annotations

import sys
from pathlib import Path

import aiohttp

from simulation.services.common import Service, free_port, port_open, running
from switchboard.cli import main
from switchboard.config import load_config
from switchboard.credentials import verify_password, verify_point_credential

SAMPLE = Path(__file__).resolve().parents[2] / "switchboard" / "sample-switchboard.yaml"


def test_sample_configuration_is_valid_and_its_demo_secrets_match(capsys):
    assert main(["--config", str(SAMPLE), "--check", "--demo"]) == 0
    assert "valid (1 points, 7 producers, 4 users)" in capsys.readouterr().out
    config = load_config(SAMPLE)
    users = {u.username: u for u in config.users}
    assert verify_password("demo-agentti-1", users["anna"].password_hash)
    assert verify_password("demo-kirjasto-1", users["kirjasto"].password_hash)  # the host view's
    assert verify_point_credential("demo-oulu-kirjasto-credential-do-not-use", config.points[0].credential_hash)


def test_bad_configuration_names_the_file_and_the_field(tmp_path, capsys):
    bad = tmp_path / "sb.yaml"
    bad.write_text(SAMPLE.read_text().replace("origin: https://127.0.0.1:8443", "origin: 127.0.0.1"))
    assert main(["--config", str(bad), "--check"]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "origin" in err


def test_point_credential_prints_a_secret_and_its_matching_hash(capsys):
    assert main(["point-credential", "kemi-kirjasto"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    credential, hash_line = lines[0], lines[2]
    assert verify_point_credential(credential, hash_line.split('"')[1])


def test_hash_password_refuses_short_passwords(monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("lyhyt\n"))
    assert main(["hash-password"]) == 1
    monkeypatch.setattr(sys, "stdin", io.StringIO("pitkä-ja-hyvä-salasana\n"))
    assert main(["hash-password"]) == 0
    assert verify_password("pitkä-ja-hyvä-salasana", capsys.readouterr().out.strip())


async def test_switchboard_runs_from_the_command_line_and_stops_on_sigterm(tmp_path):
    port = free_port()
    config = tmp_path / "sb.yaml"
    config.write_text(SAMPLE.read_text().replace("listen_port: 8443", f"listen_port: {port}"))
    argv = [sys.executable, "-m", "etapiste.cli", "switchboard", "--config", str(config), "--demo"]
    service = Service("switchboard", argv, tmp_path / "switchboard.log")
    with running(service, lambda: port_open(port), timeout=20):
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as r:
            assert r.status == 200 and (await r.json())["protocol"] == 1
    assert service.proc is not None and service.proc.returncode is not None
