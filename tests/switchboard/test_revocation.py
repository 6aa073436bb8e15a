"""Identification through the switchboard as production runs it (``default_validator`` from its configuration),
with the card's revocation asked of a real OCSP responder (OpenSSL's, simulation/services/ocsp.py) and the
certificate policy checked against the configured allow-list. What the agent sees is the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from etapiste import protocol as p
from etapiste.webeid.certificate import load_certificate
from simulation.card.pki import CardIdentity, TestPki
from simulation.services.ocsp import OcspResponder, ocsp_responder
from simulation.switchboard import make_config, serve, start_call
from switchboard.web import default_validator
from tests.switchboard.virtual_card import sign_token

pytestmark = pytest.mark.integration

#: A policy in DVV's production arc (1.2.246.517.1.10.*), which the switchboard accepts by default; the test
#: CA stands in for DVV's issuing CA here.
PRODUCTION_POLICY = "1.2.246.517.1.10.352.1"
TEST_ARC = "1.2.246.517.99.10.*"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def responder(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OcspResponder]:
    with ocsp_responder(pki, "v4", tmp_path_factory.mktemp("ocsp") / "v4") as running:
        yield running


@pytest.fixture(scope="module")
def rsa_responder(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OcspResponder]:
    with ocsp_responder(pki, "v3", tmp_path_factory.mktemp("ocsp") / "v3") as running:
        yield running


@pytest.fixture
def ca_file(pki: TestPki, tmp_path: Path) -> str:
    path = tmp_path / "trusted-cas.pem"
    path.write_bytes(pki.trusted_pem)
    return str(path)


async def identify(card: CardIdentity, **config: Any) -> tuple[Any, Any]:
    """The agent asks, the point's card signs, the switchboard (configured as given) decides."""
    sb_config = make_config(**config)
    async with serve(sb_config, validator=default_validator(sb_config)) as sb:
        point, desk, start = await start_call(sb)
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        await point.send(
            p.IdentityProof(
                call=start.call, request=request.request, token=sign_token(card, request.origin, request.nonce)
            )
        )
        return await desk.expect("identity.result", timeout=30), await point.expect("identity.result", timeout=30)


async def test_a_card_reported_stolen_does_not_identify_its_holder(pki, responder, ca_file):
    """The default configuration: a card of a trusted CA under an accepted policy, revoked at the CA."""
    card = pki.issue("v4", policies=[PRODUCTION_POLICY])
    responder.revoke(card, "keyCompromise")
    agent_sees, point_sees = await identify(card, trusted_ca_files=[ca_file])
    assert not agent_sees.ok and agent_sees.reason == "revoked"
    assert agent_sees.satu is None and agent_sees.given_name is None
    assert "revoked" in agent_sees.message
    assert not point_sees.ok and point_sees.reason == "revoked"


async def test_the_same_card_before_it_was_reported_identifies_its_holder(pki, responder, ca_file):
    card = pki.issue("v4", policies=[PRODUCTION_POLICY], satu="999020016")
    responder.good(card)
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file])
    assert agent_sees.ok and agent_sees.satu == "999020016"


async def test_when_the_responder_cannot_be_reached_identification_fails_closed(pki, responder, ca_file):
    card = pki.issue("v4", policies=[PRODUCTION_POLICY])
    responder.good(card)
    responder.stop()
    try:
        agent_sees, _ = await identify(card, trusted_ca_files=[ca_file])
    finally:
        responder.start()
    assert not agent_sees.ok and agent_sees.reason == "revocation_unknown"
    assert "could not be reached" in agent_sees.message


async def test_when_not_required_an_unreachable_responder_lets_the_card_through_but_never_a_revoked_one(
    pki, responder, ca_file
):
    lenient = {"ocsp": {"required": False, "timeout_s": 2}}
    card = pki.issue("v4", policies=[PRODUCTION_POLICY])
    responder.stop()
    try:
        agent_sees, _ = await identify(card, trusted_ca_files=[ca_file], identity=lenient)
    finally:
        responder.start()
    assert agent_sees.ok
    responder.revoke(card)
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file], identity=lenient)
    assert not agent_sees.ok and agent_sees.reason == "revoked"


async def test_a_configured_responder_is_asked_instead_of_the_certificates(pki, responder, ca_file):
    card = pki.issue("v4", policies=[PRODUCTION_POLICY], ocsp_url="http://ocsptest.etapiste.test/elsewhere")
    responder.revoke(card)
    identity = {"ocsp": {"responder_url": responder.url}}
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file], identity=identity)
    assert agent_sees.reason == "revoked"


async def test_a_certificate_under_a_policy_not_on_the_allow_list_is_refused(pki, responder, ca_file):
    """A test card (DVV's test arc) at a switchboard that accepts production cards only; and the other way."""
    card = pki.issue("v4")  # 1.2.246.517.99.10.352.1
    responder.good(card)
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file])
    assert not agent_sees.ok and agent_sees.reason == "certificate_policy"
    staging = {"policies": [TEST_ARC]}
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file], identity=staging)
    assert agent_sees.ok
    production = pki.issue("v4", policies=[PRODUCTION_POLICY])
    responder.good(production)
    agent_sees, _ = await identify(production, trusted_ca_files=[ca_file], identity=staging)
    assert agent_sees.reason == "certificate_policy"


async def test_a_certificate_with_no_policy_at_all_is_refused(pki, responder, ca_file):
    card = pki.issue("v4", policies=[])
    responder.good(card)
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file])
    assert agent_sees.reason == "certificate_policy"


async def test_a_genuine_shaped_rsa_card_without_extended_key_usage_identifies(pki, rsa_responder, ca_file):
    """Genuine FINEID authentication certificates carry no EKU; only an EKU without clientAuth is refused."""
    card = pki.issue("v3", client_auth=None, policies=["1.2.246.517.1.10.202.1"], satu="99902002X")
    rsa_responder.good(card)
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file])
    assert agent_sees.ok and agent_sees.satu == "99902002X"


# -- the configuration ----------------------------------------------------------------------------------------------
def test_the_identity_section_defaults_to_require_revocation_checks_and_production_policies():
    identity = make_config().identity
    assert identity.ocsp.required is True and identity.ocsp.responder_url is None
    assert 0 < identity.ocsp.timeout_s <= 10 and 0 < identity.ocsp.cache_s <= 300
    assert identity.policies == ["1.2.246.517.1.10.*"]


@pytest.mark.parametrize(
    ("identity", "complaint"),
    [
        ({"policies": []}, "policies"),
        ({"policies": ["fineid"]}, "policies"),
        ({"policies": ["1.2.246.517.*.10"]}, "policies"),
        ({"ocsp": {"responder_url": "ftp://ocsp.example.fi"}}, "responder_url"),
        ({"ocsp": {"timeout_s": 0}}, "timeout_s"),
        ({"ocsp": {"timeout_s": 120}}, "timeout_s"),
        ({"ocsp": {"cache_s": -1}}, "cache_s"),
        ({"ocsp": {"requird": False}}, "requird"),
    ],
)
def test_a_wrong_identity_setting_is_named_at_load(identity, complaint):
    with pytest.raises(ValidationError, match=complaint):
        make_config(identity=identity)


async def test_the_revocation_date_reaches_the_agent_but_no_serial_number(pki, responder, ca_file):
    """The message says when, not which card (a serial number singles out a card as much as a name)."""
    card = pki.issue("v4", policies=[PRODUCTION_POLICY])
    responder.revoke(card, "keyCompromise", dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC))
    agent_sees, _ = await identify(card, trusted_ca_files=[ca_file])
    serial = load_certificate(card.cert_der).x509.serial_number
    assert agent_sees.reason == "revoked" and "2026-11-30" in agent_sees.message
    assert str(serial) not in agent_sees.message and f"{serial:x}" not in agent_sees.message.lower()
