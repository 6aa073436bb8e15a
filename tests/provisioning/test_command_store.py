"""The point's memory of the commands it has run (replay protection): it survives a restart, stays
bounded, and forgetting an id never lets that command run again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from provisioning.bundle import SigningKey, TrustStore
from provisioning.command import CommandRejected, RemoteCommand, SeenCommands, sign_command, verify_command

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


def _cmd(key: SigningKey, trust: TrustStore, cid: str, at: dt.datetime) -> RemoteCommand:
    doc = sign_command("point-a", "test_print", keys=[key], valid_for=dt.timedelta(hours=24), command_id=cid, now=at)
    return verify_command(json.dumps(doc).encode(), point="point-a", trust=trust, now=at)


def test_the_store_is_bounded_and_a_forgotten_command_is_still_refused(tmp_path: Path) -> None:
    key = SigningKey.generate()
    trust = TrustStore.from_entries([key.public_entry()])
    store = SeenCommands(tmp_path / "commands.json", limit=3)
    cmds = [_cmd(key, trust, f"c-{i}", NOW + dt.timedelta(minutes=i)) for i in range(5)]
    for c in cmds:
        store.claim(c, now=NOW + dt.timedelta(minutes=5))
    assert len(store.seen) == 3
    reloaded = SeenCommands(tmp_path / "commands.json", limit=3)
    for c in cmds:  # c-0 and c-1 were forgotten, but are older than the floor
        with pytest.raises(CommandRejected) as exc:
            reloaded.claim(c, now=NOW + dt.timedelta(minutes=6))
        assert exc.value.code == "replay"
    reloaded.claim(_cmd(key, trust, "c-new", NOW + dt.timedelta(minutes=7)), now=NOW)


def test_expired_entries_are_dropped_and_a_damaged_store_refuses_what_came_before(tmp_path: Path) -> None:
    key = SigningKey.generate()
    trust = TrustStore.from_entries([key.public_entry()])
    store = SeenCommands(tmp_path / "commands.json")
    store.claim(_cmd(key, trust, "old", NOW), now=NOW)
    later = NOW + dt.timedelta(days=2)
    store.claim(_cmd(key, trust, "new", later), now=later)
    assert set(store.seen) == {"new"}  # "old" expired: verify_command refuses it before the store is asked

    # A damaged store cannot say what ran: refuse every command issued before it was found damaged.
    queued = _cmd(key, trust, "queued", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    (tmp_path / "commands.json").write_text("{damaged")
    damaged = SeenCommands(tmp_path / "commands.json")
    with pytest.raises(CommandRejected) as exc:
        damaged.claim(queued)
    assert exc.value.code == "replay"


def test_a_command_whose_text_is_not_unicode_is_refused_as_malformed() -> None:
    """Found by the fuzz campaign (issue 24): a lone surrogate escaped in the JSON (``"\\ud800"``) raised
    UnicodeEncodeError out of the signature check, so the agent's command task died without an
    acknowledgement: ops never learnt what became of the command."""
    key = SigningKey.generate()
    trust = TrustStore.from_entries([key.public_entry()])
    doc = sign_command("point-a", "reboot", keys=[key], valid_for=dt.timedelta(hours=1), command_id="c-1")
    text = json.dumps(doc).replace('"reboot"', '"reboot\\udfff"', 1).encode()
    with pytest.raises(CommandRejected) as err:
        verify_command(text, point="point-a", trust=trust)
    assert err.value.code == "malformed"
    assert "not valid Unicode" in str(err.value)
