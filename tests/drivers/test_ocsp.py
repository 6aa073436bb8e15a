"""Revocation checks against OpenSSL's own OCSP responder (simulation/services/ocsp.py), one per issuing CA of the
test PKI, whose certificates name it in their Authority Information Access as FINEID cards name DVV's.

What the agent would notice: a card reported lost or stolen is refused as ``revoked``; when nobody can say
(no responder named, unreachable, hung, trickling, answers ``unknown``, an answer that does not verify or
answers another question) the identification fails closed as ``revocation_unknown``.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from etapiste.webeid.certificate import Certificate, load_certificate
from etapiste.webeid.ocsp import (
    CertificateRevoked,
    OcspChecker,
    OcspSettings,
    RevocationError,
    RevocationUnknown,
    extension_values,
    ocsp_urls,
    post,
)
from simulation.card.pki import TEST_POLICY, CardIdentity, TestPki
from simulation.clock import FakeClock
from simulation.services.ocsp import OcspResponder, ocsp_responder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def responders(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OcspResponder]]:
    directory = tmp_path_factory.mktemp("ocsp")
    with ocsp_responder(pki, "v4", directory / "v4") as v4, ocsp_responder(pki, "v3", directory / "v3") as v3:
        yield {"v4": v4, "v3": v3}


@pytest.fixture(params=["v3", "v4"])
def generation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def card_and_issuer(pki: TestPki, generation: str, **kwargs: Any) -> tuple[CardIdentity, Certificate, Certificate]:
    card = pki.issue(generation, **kwargs)
    return card, load_certificate(card.cert_der), pki.issuer_for(generation).cert


def outcome(checker: OcspChecker, cert: Certificate, issuer: Certificate) -> tuple[str, str]:
    """(``good``/``unchecked``/the refusal's reason, its message). Run in a worker with a generous limit so
    that a checker that hangs fails this test instead of hanging the run (not a timing assertion)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(checker.check, cert, issuer)
        try:
            return future.result(timeout=60), ""
        except RevocationError as exc:
            return exc.reason, exc.message


# -- the test PKI looks like FINEID ------------------------------------------------------------------------------
def test_certificates_carry_aia_policy_and_crl_point_as_fineid_cards_do(pki, responders, generation):
    card, cert, _ = card_and_issuer(pki, generation)
    assert ocsp_urls(cert) == [responders[generation].url]
    assert responders[generation].url.endswith("/" + pki.ca_slug(generation))
    assert {
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string,
        ExtensionOID.CERTIFICATE_POLICIES.dotted_string,
        ExtensionOID.CRL_DISTRIBUTION_POINTS.dotted_string,
    } <= set(extension_values(cert))
    # OpenSSL's reading (it copes with FINEID's quirks, cryptography does not): the same shape as a test card.
    shown = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-ext",
         "authorityInfoAccess,certificatePolicies,crlDistributionPoints,extendedKeyUsage"],
        input=card.cert_der, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    slug = pki.ca_slug(generation)
    assert f"OCSP - URI:{responders[generation].url}" in shown
    assert f"CA Issuers - URI:http://proxy.etapiste.test/ca/{slug}.crt" in shown
    assert f"URI:http://proxy.etapiste.test/crl/{slug}c.crl" in shown
    assert f"Policy: {TEST_POLICY[generation]}" in shown and "CPS: http://www.fineid.fi/cps99/" in shown
    if generation == "v4":
        assert "Extended Key Usage" not in shown, "genuine FINEID EC certificates carry no EKU"


# -- the four answers ------------------------------------------------------------------------------------------------
def test_a_card_the_ca_vouches_for_is_good(pki, responders, generation):
    card, cert, issuer = card_and_issuer(pki, generation)
    responders[generation].good(card)
    assert outcome(OcspChecker(), cert, issuer) == ("good", "")


def test_a_revoked_card_is_refused_as_revoked(pki, responders, generation):
    card, cert, issuer = card_and_issuer(pki, generation)
    responders[generation].revoke(card, "keyCompromise", dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
    reason, message = outcome(OcspChecker(), cert, issuer)
    assert reason == "revoked"
    assert "2026-11-30" in message and "keyCompromise" in message


def test_a_card_the_responder_does_not_know_cannot_be_checked(pki, responders, generation):
    _, cert, issuer = card_and_issuer(pki, generation)  # never entered in the CA's index
    reason, message = outcome(OcspChecker(), cert, issuer)
    assert reason == "revocation_unknown" and "does not know" in message


def test_revocation_after_a_good_answer_shows_once_the_short_cache_expires(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v4")
    responder = responders["v4"]
    responder.good(card)
    clock = FakeClock()
    checker = OcspChecker(OcspSettings(cache_s=60), clock=clock)
    assert outcome(checker, cert, issuer)[0] == "good"
    responder.revoke(card)
    clock.advance(30)
    assert outcome(checker, cert, issuer)[0] == "good", "asked again within cache_s: the cached answer"
    clock.advance(31)
    assert outcome(checker, cert, issuer)[0] == "revoked", "after cache_s the responder is asked again"
    assert outcome(OcspChecker(OcspSettings(cache_s=0)), cert, issuer)[0] == "revoked"


# -- when nobody can say --------------------------------------------------------------------------------------------
def test_an_unreachable_responder_fails_closed_and_is_asked_again_next_time(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v4")
    responder = responders["v4"]
    responder.good(card)
    checker = OcspChecker(OcspSettings(cache_s=300))
    responder.stop()
    try:
        reason, message = outcome(checker, cert, issuer)
    finally:
        responder.start()
    assert reason == "revocation_unknown" and "could not be reached" in message
    assert outcome(checker, cert, issuer)[0] == "good", "a failure is never cached"


def test_nothing_listening_at_the_named_address_fails_closed(pki, responders):
    from simulation.services.common import free_port

    _, cert, issuer = card_and_issuer(pki, "v4", ocsp_url=f"http://127.0.0.1:{free_port()}/etapistetp5ec")
    reason, message = outcome(OcspChecker(), cert, issuer)
    assert reason == "revocation_unknown" and "could not be reached" in message


def test_a_hung_responder_fails_closed_when_the_timeout_is_up(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v3")
    responder = responders["v3"]
    responder.good(card)
    responder.freeze()
    try:
        reason, message = outcome(OcspChecker(OcspSettings(timeout_s=1.5)), cert, issuer)
    finally:
        responder.thaw()
    assert reason == "revocation_unknown" and "did not answer within 1.5 s" in message


def test_a_responder_trickling_its_answer_is_cut_off_at_the_timeout_not_per_byte(pki, responders):
    """A per-read socket timeout alone would wait for every byte (minutes here); the limit is for the whole
    exchange. The answer does arrive in full when the link is merely slow and the limit allows it."""
    card, cert, issuer = card_and_issuer(pki, "v4")
    responder = responders["v4"]
    responder.good(card)
    with responder.trickling(0.05) as crawling:
        cut = OcspChecker(OcspSettings(responder_url=crawling, timeout_s=1))
        reason, message = outcome(cut, cert, issuer)
        assert reason == "revocation_unknown" and "did not answer within 1 s" in message
    with responder.trickling(0.0005) as slow:
        assert outcome(OcspChecker(OcspSettings(responder_url=slow, timeout_s=20)), cert, issuer)[0] == "good"


def test_a_certificate_naming_no_responder_cannot_be_checked_unless_one_is_configured(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v4", ocsp_url=None)
    responders["v4"].good(card)
    assert ocsp_urls(cert) == []
    reason, message = outcome(OcspChecker(), cert, issuer)
    assert reason == "revocation_unknown" and "names no OCSP responder" in message
    configured = OcspChecker(OcspSettings(responder_url=responders["v4"].url))
    assert outcome(configured, cert, issuer)[0] == "good"


def test_a_configured_responder_is_asked_instead_of_the_one_the_certificate_names(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v4", ocsp_url="http://ocsptest.etapiste.test/etapistetp5ec")
    responders["v4"].revoke(card)
    assert outcome(OcspChecker(), cert, issuer)[0] == "revocation_unknown"  # .test resolves to nothing
    assert outcome(OcspChecker(OcspSettings(responder_url=responders["v4"].url)), cert, issuer)[0] == "revoked"


def test_when_not_required_an_unknown_status_passes_but_a_revoked_card_never_does(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v4")
    lenient = OcspChecker(OcspSettings(required=False, timeout_s=2))
    responders["v4"].stop()
    try:
        assert outcome(lenient, cert, issuer) == ("unchecked", "")
    finally:
        responders["v4"].start()
    responders["v4"].revoke(card)
    assert outcome(lenient, cert, issuer)[0] == "revoked"


# -- answers that must not be believed ---------------------------------------------------------------------------------
def test_another_cas_responder_cannot_vouch_for_a_card(pki, responders):
    """The RSA CA's responder answers about an ECC CA's card: its signer is not authorised by that CA."""
    card, cert, issuer = card_and_issuer(pki, "v4")
    responders["v4"].good(card)
    reason, message = outcome(OcspChecker(OcspSettings(responder_url=responders["v3"].url)), cert, issuer)
    assert reason == "revocation_unknown" and "not signed by the CA" in message


def _recording(fetch: Callable[[str, bytes, float], bytes], log: list[bytes]) -> Callable[[str, bytes, float], bytes]:
    def wrapped(url: str, request: bytes, timeout: float) -> bytes:
        answer = fetch(url, request, timeout)
        log.append(answer)
        return answer

    return wrapped


def test_a_replayed_good_answer_for_a_revoked_card_is_refused(pki, responders):
    """Someone on the path keeps the responder's earlier "good" and plays it back after the card was
    revoked: the nonce in it answers another request."""
    card, cert, issuer = card_and_issuer(pki, "v4")
    responder = responders["v4"]
    responder.good(card)
    recorded: list[bytes] = []
    assert outcome(OcspChecker(OcspSettings(cache_s=0), fetch=_recording(post, recorded)), cert, issuer)[0] == "good"
    responder.revoke(card)
    replay = OcspChecker(OcspSettings(cache_s=0), fetch=lambda url, request, timeout: recorded[0])
    reason, message = outcome(replay, cert, issuer)
    assert reason == "revocation_unknown" and "nonce mismatch" in message


def test_an_altered_answer_is_refused(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v3")
    responders["v3"].revoke(card)

    def flip_last_byte(url: str, request: bytes, timeout: float) -> bytes:
        answer = bytearray(post(url, request, timeout))
        answer[-1] ^= 0x01
        return bytes(answer)

    reason, message = outcome(OcspChecker(fetch=flip_last_byte), cert, issuer)
    assert reason == "revocation_unknown" and "not signed" in message


def _without_nonce(url: str, request: bytes, timeout: float) -> bytes:
    """Forward the request to the real responder with its nonce taken out (as a pre-signing responder
    would answer: no nonce in the response)."""
    parsed = ocsp.load_der_ocsp_request(request)
    plain = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            parsed.issuer_name_hash, parsed.issuer_key_hash, parsed.serial_number, parsed.hash_algorithm
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    return post(url, plain, timeout)


def test_an_answer_without_our_nonce_is_refused_unless_configured_then_it_must_be_fresh(pki, responders):
    card, cert, issuer = card_and_issuer(pki, "v4")
    responders["v4"].good(card)
    reason, message = outcome(OcspChecker(fetch=_without_nonce), cert, issuer)
    assert reason == "revocation_unknown" and "nonce" in message
    lenient = OcspChecker(OcspSettings(require_nonce=False, max_age_s=300), fetch=_without_nonce)
    assert outcome(lenient, cert, issuer)[0] == "good"
    later = FakeClock()
    later.advance(2 * 3600)
    stale = OcspChecker(OcspSettings(require_nonce=False, max_age_s=300), clock=later, fetch=_without_nonce)
    reason, message = outcome(stale, cert, issuer)
    assert reason == "revocation_unknown" and "stale" in message


@pytest.mark.parametrize(
    "answer",
    [b"", b"not der at all", b"\x30\x03\x0a\x01\x06", b"\x30\x03\x0a\x01\x00", b"\x30" * 500],
    ids=["empty", "text", "unauthorized", "successful-without-body", "nested-junk"],
)
def test_anything_but_a_proper_answer_is_revocation_unknown_never_a_crash(pki, answer):
    _, cert, issuer = card_and_issuer(pki, "v4")
    reason, _ = outcome(OcspChecker(fetch=lambda url, request, timeout: answer), cert, issuer)
    assert reason == "revocation_unknown"


def test_unauthorized_answer_is_named(pki):
    _, cert, issuer = card_and_issuer(pki, "v4")
    reason, message = outcome(OcspChecker(fetch=lambda url, request, timeout: b"\x30\x03\x0a\x01\x06"), cert, issuer)
    assert (reason, message) == ("revocation_unknown", "the OCSP responder answered 'unauthorized'")


def test_errors_are_the_documented_types() -> None:
    assert issubclass(CertificateRevoked, RevocationError) and CertificateRevoked.reason == "revoked"
    assert issubclass(RevocationUnknown, RevocationError) and RevocationUnknown.reason == "revocation_unknown"


def test_the_harness_responder_is_openssl_in_a_private_namespace(responders):
    """Nothing is opened on the machine's interfaces: only the forwarder, on 127.0.0.1."""
    for responder in responders.values():
        assert responder.url.startswith("http://127.0.0.1:")
        assert responder.responder is not None and responder.responder.running()
        assert os.readlink(f"/proc/{responder.responder.pid}/ns/net") != os.readlink("/proc/self/ns/net")
