"""``etapiste card info|prove|verify`` as staff, ops and other tools run it (a real process, a real terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.card.pki import CardIdentity, TestPki
from simulation.services.pcsc import CardSlot, fineid_card

ORIGIN = "https://switchboard.example.fi"
NONCE = "kx3zL0mE7n0c2h9b3v8Q1w5T6y7U8i9O0p1A2s3D4f5="
REPO = Path(__file__).resolve().parents[2]


def etapiste(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etapiste.cli", "card", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=REPO,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )


def prove_on_a_terminal(pin: str, origin: str = ORIGIN, nonce: str = NONCE) -> tuple[int, str]:
    """Run ``card prove`` on a pseudo-terminal, type the PIN at the prompt; return (exit code, all it showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the CLI with the pty as its controlling terminal
        os.chdir(REPO)
        os.execv(
            sys.executable,
            [sys.executable, "-m", "etapiste.cli", "card", "prove", "--origin", origin, "--nonce", nonce],
        )
    shown = b""
    typed = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        if not typed and b"PIN1:" in shown:
            os.write(fd, pin.encode() + b"\n")
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


@pytest.fixture(scope="module")
def identity(test_pki: TestPki) -> CardIdentity:
    return test_pki.issue("v4", given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-HÄKKINEN", satu="999020016")


@pytest.fixture
def trust(tmp_path: Path, test_pki: TestPki) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(test_pki.trusted_pem)
    return path


def test_info_prints_the_card_and_holder_as_json(card_slot: CardSlot, identity: CardIdentity) -> None:
    card_slot.insert_and_wait(fineid_card(identity, "v4.1"))
    result = etapiste("info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert set(info) == {"reader", "atr", "card", "given_name", "surname", "satu", "not_after"}
    assert info["card"] == "fineid-v4" and info["reader"] == card_slot.reader
    assert (info["given_name"], info["surname"], info["satu"]) == ("SPECIMEN-BABAFÖ", "SPECIMEN-HÄKKINEN", "999020016")


def test_info_without_a_card_exits_1_with_the_reason(card_slot: CardSlot) -> None:
    result = etapiste("info", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "No card in the reader" in result.stderr


def test_info_without_the_pcsc_service_exits_1_and_names_it(tmp_path: Path) -> None:
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    result = subprocess.run(
        [sys.executable, "-m", "etapiste.cli", "card", "info", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "pcscd" in result.stderr


def test_info_on_a_foreign_card_exits_1_with_the_reason(card_slot: CardSlot, identity: CardIdentity) -> None:
    card_slot.insert_and_wait(fineid_card(identity, "lookalike"))
    result = etapiste("info", "--json")
    assert result.returncode == 1
    assert "not FINEID" in result.stderr


def test_prove_asks_the_pin_without_echo_and_the_token_verifies(
    card_slot: CardSlot, identity: CardIdentity, tmp_path: Path, trust: Path
) -> None:
    card_slot.insert_and_wait(fineid_card(identity, "v4.0", pin="80417362"))
    code, shown = prove_on_a_terminal("80417362")
    assert code == 0, shown
    assert "80417362" not in shown, "the PIN is not echoed"
    token = json.loads(shown[shown.index("{") :])
    assert token["format"] == "web-eid:1.0" and token["algorithm"] == "ES384"
    (tmp_path / "token.json").write_text(json.dumps(token))
    result = etapiste(
        "verify", "--token", str(tmp_path / "token.json"), "--origin", ORIGIN, "--nonce", NONCE, "--trust", str(trust)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "given_name": "SPECIMEN-BABAFÖ",
        "surname": "SPECIMEN-HÄKKINEN",
        "satu": "999020016",
    }


def test_prove_with_a_wrong_pin_exits_1_and_says_tries_left(card_slot: CardSlot, identity: CardIdentity) -> None:
    card_slot.insert_and_wait(fineid_card(identity, "v4.0", pin="80417362"))
    code, shown = prove_on_a_terminal("11112222")
    assert code == 1
    assert "Wrong PIN1, 4 tries left" in shown


def test_prove_refuses_an_origin_that_is_not_https(card_slot: CardSlot, identity: CardIdentity) -> None:
    card_slot.insert_and_wait(fineid_card(identity, "v4.0"))
    code, shown = prove_on_a_terminal("1234", origin="http://switchboard.example.fi")
    assert code == 1 and "https origin" in shown
    assert card_slot.status()["signatures"] == 0


@pytest.fixture
def token_file(card_slot: CardSlot, identity: CardIdentity, tmp_path: Path) -> Path:
    card_slot.insert_and_wait(fineid_card(identity, "v4.0"))
    from drivers.cardreader import CardReader

    path = tmp_path / "token.json"
    path.write_text(CardReader().prove(ORIGIN, NONCE, bytearray(b"1234")).to_json())
    return path


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"--nonce": "Z" * 44}, "signature_invalid"),
        ({"--origin": "https://other.example.fi"}, "signature_invalid"),
        ({"--at": "2099-01-01T00:00:00Z"}, "certificate_expired"),
        ({"--at": "2001-01-01T00:00:00+00:00"}, "certificate_not_yet_valid"),
    ],
    ids=["other-nonce", "other-origin", "checked-after-expiry", "checked-before-issue"],
)
def test_verify_exits_1_with_the_reason(token_file: Path, trust: Path, change: dict[str, str], reason: str) -> None:
    options = {"--token": str(token_file), "--origin": ORIGIN, "--nonce": NONCE, "--trust": str(trust), **change}
    result = etapiste("verify", *[x for pair in options.items() for x in pair])
    assert result.returncode == 1
    assert reason in result.stderr
    assert result.stdout == ""


def test_verify_against_an_unrelated_ca_exits_1(token_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(TestPki(name="UNRELATED").trusted_pem)
    result = etapiste("verify", "--token", str(token_file), "--origin", ORIGIN, "--nonce", NONCE, "--trust", str(other))
    assert result.returncode == 1 and "certificate_untrusted" in result.stderr


def test_verify_accepts_several_trusted_cas(token_file: Path, trust: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(TestPki(name="UNRELATED").trusted_pem)
    result = etapiste(
        "verify",
        "--token",
        str(token_file),
        "--origin",
        ORIGIN,
        "--nonce",
        NONCE,
        "--trust",
        str(other),
        "--trust",
        str(trust),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"not a token" * 20, "token_malformed"), (b"{}", "token_size"), (b"x" * 20_000, "token_size")],
)
def test_verify_of_a_broken_file_exits_1_with_the_reason(
    tmp_path: Path, trust: Path, content: bytes, reason: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = etapiste("verify", "--token", str(bad), "--origin", ORIGIN, "--nonce", NONCE, "--trust", str(trust))
    assert result.returncode == 1 and reason in result.stderr


def test_verify_with_missing_files_or_bad_time_says_which(tmp_path: Path, trust: Path) -> None:
    missing = etapiste(
        "verify", "--token", str(tmp_path / "nope.json"), "--origin", ORIGIN, "--nonce", NONCE, "--trust", str(trust)
    )
    assert missing.returncode == 1 and "cannot read the token" in missing.stderr
    bad_ca = tmp_path / "bad.pem"
    bad_ca.write_text("not a certificate")
    result = etapiste("verify", "--token", str(bad_ca), "--origin", ORIGIN, "--nonce", NONCE, "--trust", str(bad_ca))
    assert result.returncode == 1 and "trusted CA" in result.stderr
    when = etapiste(
        "verify",
        "--token",
        str(bad_ca),
        "--origin",
        ORIGIN,
        "--nonce",
        NONCE,
        "--trust",
        str(trust),
        "--at",
        "yesterday",
    )
    assert when.returncode == 1 and "ISO-8601" in when.stderr
