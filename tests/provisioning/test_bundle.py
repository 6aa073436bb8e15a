"""Bundle signing and verification (TUF-style): what a point accepts, and key rotation only through
an introduction signed by a key it already trusts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from provisioning.bundle import BundleRejected, SigningKey, TrustStore, sign_bundle, verify_bundle
from tests.provisioning.conftest import Ops, Point, config_for, in_days


def _verify(doc: dict, trust: TrustStore, applied: int = 0, point: str = "point-a"):
    return verify_bundle(json.dumps(doc).encode(), point=point, trust=trust, applied_version=applied)


def test_a_bundle_signed_by_a_trusted_key_verifies_and_survives_reserialisation() -> None:
    key = SigningKey.generate()
    doc = sign_bundle(config_for("point-a", 1), version=3, expires=in_days(1), keys=[key])
    reordered = json.loads(json.dumps(doc, indent=4, sort_keys=False))
    bundle = _verify(reordered, TrustStore.from_entries([key.public_entry()]))
    assert (bundle.point, bundle.version, bundle.keyid) == ("point-a", 3, key.keyid)
    assert bundle.config.producer("kela").queue == "kela-general"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d["signed"].update(version=4), "signature"),
        (lambda d: d["signatures"][0].update(sig="AAAA"), "signature"),
        (lambda d: d["signatures"].clear(), "malformed"),
        (lambda d: d.pop("signed"), "malformed"),
        (lambda d: d["signed"].update(type="other"), "malformed"),
    ],
)
def test_tampering_is_rejected(mutate: Callable[[dict], object], code: str) -> None:
    key = SigningKey.generate()
    doc = sign_bundle(config_for("point-a", 1), version=3, expires=in_days(1), keys=[key])
    mutate(doc)
    with pytest.raises(BundleRejected) as err:
        _verify(doc, TrustStore.from_entries([key.public_entry()]))
    assert err.value.code == code


def test_garbage_and_oversized_payloads_are_rejected_as_malformed() -> None:
    trust = TrustStore.from_entries([SigningKey.generate().public_entry()])
    for payload in (b"\xff\x00", b"[1,2]", b'{"signed": {}}', b"x" * 600_000):
        with pytest.raises(BundleRejected) as err:
            verify_bundle(payload, point="point-a", trust=trust, applied_version=0)
        assert err.value.code == "malformed"


def test_expiry_is_checked_against_the_points_clock() -> None:
    key = SigningKey.generate()
    doc = sign_bundle(config_for("point-a", 1), version=1, expires=in_days(1), keys=[key])
    trust = TrustStore.from_entries([key.public_entry()])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    with pytest.raises(BundleRejected, match="expired"):
        verify_bundle(json.dumps(doc).encode(), point="point-a", trust=trust, applied_version=0, now=later)


def test_the_last_trusted_key_cannot_be_retired() -> None:
    key = SigningKey.generate()
    doc = sign_bundle(config_for("point-a", 1), version=1, expires=in_days(1), keys=[key], retire=[key.keyid])
    with pytest.raises(BundleRejected) as err:
        _verify(doc, TrustStore.from_entries([key.public_entry()]))
    assert err.value.code == "keys"


def test_a_trust_entry_whose_id_does_not_match_its_key_is_refused() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    with pytest.raises(ValueError, match="does not match"):
        TrustStore.from_entries([{"keyid": a.keyid, "public": b.public_entry()["public"]}])


async def test_key_rotation_needs_the_current_key_to_introduce_the_new_one(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = points("point-a")
    a.start_agent()
    a.start_kiosk()
    old, new, rogue = a.key, SigningKey.generate(), SigningKey.generate()
    cfg = config_for("point-a", switchboard_port)

    # A rogue key introducing itself is not trusted: its bundle is signed by nobody the point knows.
    await ops.publish_bundle("point-a", a.bundle(1, cfg, keys=[rogue], introduce=[rogue.public_entry()]))
    state = await ops.state_where("point-a", lambda s: (s["last_result"] or {}).get("status") == "rejected")
    assert state["last_result"]["code"] == "signature"

    # The current key introduces the new key and retires itself; from then on only the new key counts.
    await ops.publish_bundle(
        "point-a", a.bundle(2, cfg, keys=[old], introduce=[new.public_entry()], retire=[old.keyid])
    )
    await ops.state_where("point-a", lambda s: s["applied_version"] == 2)
    assert set(TrustStore.load(a.state_dir / "trust.json").keys) == {new.keyid}
    await ops.publish_bundle("point-a", a.bundle(3, cfg, keys=[old]))
    state = await ops.state_where("point-a", lambda s: s["last_result"]["version"] == 3)
    assert state["last_result"]["code"] == "signature"
    await ops.publish_bundle("point-a", a.bundle(4, cfg, keys=[new]))
    await ops.state_where("point-a", lambda s: s["applied_version"] == 4 and s["kiosk"]["version"] == 4)


def test_a_bundle_whose_text_is_not_unicode_is_rejected_as_malformed() -> None:
    """Found by the fuzz campaign (issue 24): JSON may escape a lone surrogate (``"\\ud800"``), which is no
    character at all; the signature check's canonical UTF-8 then raised UnicodeEncodeError out of the apply,
    and ops read a Python error instead of ``rejected malformed``."""
    key = SigningKey.generate()
    trust = TrustStore.from_entries([key.public_entry()])
    doc = sign_bundle(config_for("point-a", 9), version=1, expires=in_days(1), keys=[key])
    text = json.dumps(doc).replace('"point-a"', '"point-a\\ud800"', 1).encode()
    with pytest.raises(BundleRejected) as err:
        verify_bundle(text, point="point-a", trust=trust, applied_version=0)
    assert err.value.code == "malformed"
    assert "not valid Unicode" in str(err.value)
