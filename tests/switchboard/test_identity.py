"""Identification end to end through the switchboard with the real Web eID validator (etapiste.webeid), the
configured CA list and the switchboard's origin; tokens are signed with a virtual card's key."""

from __future__ import annotations

from pathlib import Path

import pytest

from etapiste import protocol as p
from simulation.card.pki import TestPki
from simulation.switchboard import ORIGIN, make_config, serve, start_call
from switchboard.identity import proof_validator
from tests.switchboard.virtual_card import sign_token


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture
def ca_file(pki: TestPki, tmp_path: Path) -> str:
    path = tmp_path / "trusted-cas.pem"
    path.write_bytes(pki.trusted_pem)
    return str(path)


async def _identify(sb, token_for):
    point, desk, start = await start_call(sb)
    await desk.send(p.IdentityStart(call=start.call))
    request = await point.expect("identity.request")
    await point.send(p.IdentityProof(call=start.call, request=request.request, token=token_for(request)))
    return await desk.expect("identity.result"), await point.expect("identity.result")


@pytest.mark.parametrize("generation", ["v3", "v4"])
async def test_virtual_card_proof_shows_the_agent_the_verified_holder(pki, ca_file, generation, caplog):
    card = pki.issue(generation, given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-HÄKKINEN", satu="999020016")
    async with serve(make_config(trusted_ca_files=[ca_file]), validator=proof_validator([ca_file])) as sb:
        agent_sees, point_sees = await _identify(sb, lambda req: sign_token(card, req.origin, req.nonce))
    assert agent_sees.ok, agent_sees
    assert (agent_sees.given_name, agent_sees.surname, agent_sees.satu) == (
        "SPECIMEN-BABAFÖ",
        "SPECIMEN-HÄKKINEN",
        "999020016",
    )
    assert point_sees.ok and point_sees.satu is None
    assert "999020016" not in caplog.text and "HÄKKINEN" not in caplog.text


async def test_proof_for_another_origin_is_refused(pki, ca_file):
    card = pki.issue("v4")
    async with serve(validator=proof_validator([ca_file])) as sb:
        agent_sees, point_sees = await _identify(
            sb, lambda req: sign_token(card, "https://phishing.example", req.nonce)
        )
    assert not agent_sees.ok and agent_sees.reason == "signature_invalid" and agent_sees.satu is None
    assert not point_sees.ok


async def test_card_from_an_untrusted_ca_is_refused(ca_file):
    stranger = TestPki(name="SOMEONE ELSE").issue("v4")
    async with serve(validator=proof_validator([ca_file])) as sb:
        agent_sees, _ = await _identify(sb, lambda req: sign_token(stranger, req.origin, req.nonce))
    assert not agent_sees.ok and agent_sees.reason == "certificate_untrusted"


async def test_expired_card_is_refused(pki, ca_file):
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    old = pki.issue("v4", not_before=now - dt.timedelta(days=900), not_after=now - dt.timedelta(days=1))
    async with serve(validator=proof_validator([ca_file])) as sb:
        agent_sees, _ = await _identify(sb, lambda req: sign_token(old, req.origin, req.nonce))
    assert not agent_sees.ok and agent_sees.reason == "certificate_expired"


def test_origin_in_the_configuration_is_what_proofs_are_bound_to():
    assert make_config().origin == ORIGIN


async def test_nothing_of_the_customer_stays_in_the_switchboard_after_the_call(pki, ca_file):
    card = pki.issue("v4", satu="999020016")
    async with serve(validator=proof_validator([ca_file])) as sb:
        point, desk, start = await start_call(sb)
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        await point.send(
            p.IdentityProof(
                call=start.call, request=request.request, token=sign_token(card, request.origin, request.nonce)
            )
        )
        assert (await desk.expect("identity.result")).ok
        await desk.send(p.IdentityStart(call=start.call))  # a second request left open when the call ends
        await point.expect("identity.request")
        await desk.send(p.Hangup(call=start.call))
        await point.expect("call.ended")
        state = sb.hub.state
        assert await state.calls() == [] and await state.all_tickets() == []
        assert vars(state)["_nonces"] == {}
        everything = repr(vars(state)) + repr(await sb.hub.overview())
        for personal in ("999020016", "SPECIMEN", card.cert_der.hex()[:40]):
            assert personal not in everything
