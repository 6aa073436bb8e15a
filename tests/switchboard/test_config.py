"""The switchboard's configuration: what an operator gets told when a field is wrong, and the sample's
published demo secrets, which a real switchboard must refuse to run with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simulation.services.common import Service, free_port, port_open, running
from simulation.switchboard import make_config
from switchboard.cli import main
from switchboard.config import SwitchboardConfigError, load_config
from switchboard.credentials import hash_password

SAMPLE = Path(__file__).resolve().parents[2] / "switchboard" / "sample-switchboard.yaml"


def _errors(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sb.yaml"
    path.write_text(text)
    with pytest.raises(SwitchboardConfigError) as exc:
        load_config(path)
    return str(exc.value)


def test_trusted_proxies_take_addresses_and_networks():
    config = make_config(trusted_proxies=["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1"])
    assert [str(n) for n in config.proxy_networks] == ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32", "::1/128"]
    assert make_config().trusted_proxies == []


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("proxy.example.fi", "not an IP address or network"),
        ("10.0.0.1/8", "10.0.0.0/8"),  # host bits set: the message names the network meant
        ("10.0.0.0/33", "not an IP address or network"),
    ],
)
def test_a_wrong_trusted_proxy_is_named_with_what_is_wrong(tmp_path, entry, says):
    text = SAMPLE.read_text().replace("trusted_ca_files: []", f"trusted_ca_files: []\ntrusted_proxies: ['{entry}']")
    message = _errors(tmp_path, text)
    assert "trusted_proxies.0" in message and says in message and str(tmp_path / "sb.yaml") in message


@pytest.mark.parametrize(
    "bad",
    [
        "scrypt$abc",
        "scrypt$16385$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # n not 2^k
        "scrypt$1048576$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # 1 GiB a try
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$not base64!",
    ],
)
def test_a_password_hash_that_could_never_match_is_refused_at_load(tmp_path, bad):
    """Before, only the ``scrypt$`` prefix was checked: a broken hash showed as that agent never getting in."""
    text = SAMPLE.read_text().replace(
        "scrypt$16384$8$1$RlBDIG+zY3LpFNWzcOSeGA==$nUbn4o0Sts48IbMLcploSapH5TNCxF02+F5M+W/z7/0=", bad
    )
    message = _errors(tmp_path, text)
    assert "users.0.password_hash" in message and "hash-password" in message


def test_login_limits_are_checked():
    with pytest.raises(ValueError, match="max_lockout_s"):
        make_config(login={"max_failures": 3, "window_s": 60, "lockout_s": 600, "max_lockout_s": 300})
    assert make_config(login={"max_failures": 3}).login.address_limit == 12
    assert make_config(login={"max_failures": 3, "address_max_failures": 200}).login.address_limit == 200


def test_the_samples_published_demo_secrets_are_refused_unless_demo(capsys):
    assert main(["--config", str(SAMPLE), "--check"]) == 1
    err = capsys.readouterr().err
    names = ("anna", "tulkki", "ops", "kirjasto", "demo-oulu-kirjasto", "--demo", "hash-password", "point-credential")
    for name in names:
        assert name in err, name
    assert main(["--config", str(SAMPLE), "--check", "--demo"]) == 0
    assert "valid" in capsys.readouterr().out


def test_fresh_secrets_in_place_of_the_demo_ones_pass(tmp_path, capsys):
    text = SAMPLE.read_text()
    for user in load_config(SAMPLE).users:
        text = text.replace(user.password_hash, hash_password("oikea-salasana-1", n=1024))
    text = text.replace(load_config(SAMPLE).points[0].credential_hash, "sha256$" + "ab" * 32)
    path = tmp_path / "sb.yaml"
    path.write_text(text)
    assert main(["--config", str(path), "--check"]) == 0, capsys.readouterr().err


def test_a_switchboard_with_demo_secrets_does_not_start_without_demo(tmp_path):
    port = free_port()
    config = tmp_path / "sb.yaml"
    config.write_text(SAMPLE.read_text().replace("listen_port: 8443", f"listen_port: {port}"))
    argv = [sys.executable, "-m", "etapiste.cli", "switchboard", "--config", str(config)]
    refused = Service("switchboard", argv, tmp_path / "refused.log").start()
    try:
        assert refused.proc is not None and refused.proc.wait(60) == 1
    finally:
        refused.stop()
    assert "--demo" in refused.log_text() and not port_open(port)
    demo = Service("switchboard", [*argv, "--demo"], tmp_path / "demo.log")
    with running(demo, lambda: port_open(port), timeout=20):
        pass
