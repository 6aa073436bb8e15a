"""The Web eID 1.0 proof: building the signed data and the validator both kiosk and switchboard use.

Tokens here are signed in-process the way the card signs (a host-computed hash, RSASSA-PSS or raw ECDSA);
the same tokens straight from the virtual card through pcscd are in test_cardreader.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.proof import AuthToken, algorithm_for_key, digest_to_sign
from etapiste.webeid.certificate import load_certificate
from etapiste.webeid.origin import ProofInputError, check_origin
from etapiste.webeid.token import ALGORITHMS, signed_data
from etapiste.webeid.validator import NonceStore, ProofInvalid, ProofValidator
from simulation.card.pki import CardIdentity, TestPki
from simulation.clock import FakeClock
from simulation.services.common import require_program

ORIGIN = "https://switchboard.example.fi"
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def card_sign(identity: CardIdentity, origin: str, nonce: str, algorithm: str | None = None) -> AuthToken:
    """Sign as a FINEID card does: the host hashes, the card signs the hash."""
    key = identity.key
    alg = ALGORITHMS[algorithm] if algorithm else algorithm_for_key(key.public_key())
    digest = digest_to_sign(origin, nonce, alg)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(digest, padding.PSS(padding.MGF1(hashes.SHA256()), 32), utils.Prehashed(hashes.SHA256()))
    else:
        r, s = utils.decode_dss_signature(key.sign(digest, ec.ECDSA(utils.Prehashed(alg.new_hash()))))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return AuthToken(identity.cert_der, alg.name, signature)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def v4(pki: TestPki) -> CardIdentity:
    return pki.issue(
        "v4",
        given_name="SPECIMEN-BABAFÖ",
        surname="SPECIMEN-HÄKKINEN",
        satu="999020016",
        not_before=NOW - dt.timedelta(days=10),
        not_after=NOW + dt.timedelta(days=100),
    )


@pytest.fixture(scope="module")
def v3(pki: TestPki) -> CardIdentity:
    return pki.issue(
        "v3",
        given_name="SPECIMEN-ANNA",
        surname="SPECIMEN-VIRTANEN",
        satu="99902002X",
        not_before=NOW - dt.timedelta(days=10),
        not_after=NOW + dt.timedelta(days=100),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(clock: FakeClock) -> NonceStore:
    return NonceStore(clock=clock)


@pytest.fixture
def validator(pki: TestPki, store: NonceStore, clock: FakeClock) -> ProofValidator:
    return ProofValidator(ORIGIN, pki.trusted, store, clock=clock)


def reason(validator: ProofValidator, token: str | bytes, nonce: str) -> str:
    with pytest.raises(ProofInvalid) as err:
        validator.validate(token, nonce)
    return err.value.reason


# -- genuine tokens ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("which", "algorithm"), [("v3", "PS256"), ("v4", "ES384")])
def test_genuine_token_gives_the_holder(
    request: pytest.FixtureRequest, validator: ProofValidator, store: NonceStore, which: str, algorithm: str
) -> None:
    identity: CardIdentity = request.getfixturevalue(which)
    nonce = store.issue()
    token = card_sign(identity, ORIGIN, nonce)
    assert token.algorithm == algorithm
    holder = validator.validate(token.to_json(), nonce)
    assert holder.to_dict() == {"given_name": identity.given_name, "surname": identity.surname, "satu": identity.satu}


def test_token_has_exactly_the_web_eid_fields(v4: CardIdentity, store: NonceStore) -> None:
    data = json.loads(card_sign(v4, ORIGIN, store.issue()).to_json())
    assert set(data) == {"unverifiedCertificate", "algorithm", "signature", "format", "appVersion"}
    assert data["format"] == "web-eid:1.0"
    assert base64.b64decode(data["unverifiedCertificate"], validate=True) == v4.cert_der
    assert len(base64.b64decode(data["signature"], validate=True)) == 96, "ES384 is raw r‖s, not DER"


def test_signed_data_is_hash_of_origin_then_hash_of_nonce() -> None:
    nonce = "A" * 44
    expected = hashes.Hash(hashes.SHA384())
    expected.update(ORIGIN.encode())
    first = expected.finalize()
    h = hashes.Hash(hashes.SHA384())
    h.update(nonce.encode())
    assert signed_data(ORIGIN, nonce, ALGORITHMS["ES384"]) == first + h.finalize()


@pytest.mark.parametrize("which", ["v3", "v4"])
def test_an_independent_verifier_accepts_our_signature_over_the_web_eid_signed_data(
    request: pytest.FixtureRequest, tmp_path: Path, store: NonceStore, which: str
) -> None:
    """openssl, knowing nothing of our code, checks the signature over H(origin)‖H(nonce)."""
    identity: CardIdentity = request.getfixturevalue(which)
    nonce = store.issue()
    token = card_sign(identity, ORIGIN, nonce)
    alg = ALGORITHMS[token.algorithm]
    (tmp_path / "data").write_bytes(signed_data(ORIGIN, nonce, alg))
    cert = load_certificate(identity.cert_der).x509
    (tmp_path / "pub.pem").write_bytes(
        cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signature = token.signature
    options: list[str] = []
    if token.algorithm == "ES384":
        half = len(signature) // 2
        signature = utils.encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        digest = "-sha384"
    else:
        digest = "-sha256"
        options = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]
    (tmp_path / "sig").write_bytes(signature)
    result = subprocess.run(
        [
            require_program("openssl"),
            "dgst",
            digest,
            *options,
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            str(tmp_path / "sig"),
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "Verified OK" in result.stdout, result.stderr


@pytest.mark.parametrize(("which", "refusal"), [("v3", "EncodedDefault"), ("v4", "ExtraData")])
def test_fineid_certificate_quirks_are_handled(
    request: pytest.FixtureRequest, validator: ProofValidator, store: NonceStore, which: str, refusal: str
) -> None:
    """Genuine FINEID certificates write cA FALSE explicitly (v3, v4) and ECDSA algorithms with NULL
    parameters (v4); cryptography refuses them (extensions, or the whole certificate). We must not."""
    identity: CardIdentity = request.getfixturevalue(which)
    with pytest.raises(ValueError, match=refusal):
        _ = x509.load_der_x509_certificate(identity.cert_der).extensions
    nonce = store.issue()
    assert validator.validate(card_sign(identity, ORIGIN, nonce).to_json(), nonce).satu == identity.satu


# -- refused tokens ----------------------------------------------------------------------------------------------
def test_tampered_signature_is_refused(v4: CardIdentity, validator: ProofValidator, store: NonceStore) -> None:
    nonce = store.issue()
    token = card_sign(v4, ORIGIN, nonce)
    forged = bytearray(token.signature)
    forged[10] ^= 0x01
    tampered = AuthToken(token.certificate, token.algorithm, bytes(forged))
    assert reason(validator, tampered.to_json(), nonce) == "signature_invalid"


def test_token_signed_with_another_card_key_is_refused(
    pki: TestPki, v4: CardIdentity, validator: ProofValidator, store: NonceStore
) -> None:
    other = pki.issue("v4", satu="999020024")
    nonce = store.issue()
    token = card_sign(other, ORIGIN, nonce)
    swapped = AuthToken(v4.cert_der, token.algorithm, token.signature)
    assert reason(validator, swapped.to_json(), nonce) == "signature_invalid"


def test_token_for_another_origin_is_refused(v3: CardIdentity, validator: ProofValidator, store: NonceStore) -> None:
    nonce = store.issue()
    token = card_sign(v3, "https://phishing.example.com", nonce)
    with pytest.raises(ProofInvalid) as err:
        validator.validate(token.to_json(), nonce)
    assert err.value.reason == "signature_invalid"
    assert "origin" in err.value.message


def test_reused_nonce_is_refused(v4: CardIdentity, validator: ProofValidator, store: NonceStore) -> None:
    nonce = store.issue()
    token = card_sign(v4, ORIGIN, nonce).to_json()
    validator.validate(token, nonce)
    assert reason(validator, token, nonce) == "nonce_used"


def test_nonce_never_issued_is_refused(v4: CardIdentity, validator: ProofValidator) -> None:
    nonce = base64.b64encode(b"\x01" * 32).decode()
    assert reason(validator, card_sign(v4, ORIGIN, nonce).to_json(), nonce) == "nonce_unknown"


def test_expired_nonce_is_refused(
    v4: CardIdentity, validator: ProofValidator, store: NonceStore, clock: FakeClock
) -> None:
    nonce = store.issue()
    token = card_sign(v4, ORIGIN, nonce).to_json()
    clock.advance(5 * 60 + 1)
    assert reason(validator, token, nonce) == "nonce_expired"


def test_nonce_just_within_its_ttl_is_accepted(
    v4: CardIdentity, validator: ProofValidator, store: NonceStore, clock: FakeClock
) -> None:
    nonce = store.issue()
    token = card_sign(v4, ORIGIN, nonce).to_json()
    clock.advance(4 * 60 + 59)
    assert validator.validate(token, nonce).satu == "999020016"


def test_untrusted_ca_is_refused(v4: CardIdentity, store: NonceStore, clock: FakeClock) -> None:
    stranger = TestPki(name="OTHER TEST")
    forged = stranger.issue("v4", key=v4.key)  # same holder data and key, wrong issuer
    strict = ProofValidator(ORIGIN, TestPki().trusted, store, clock=clock)
    nonce = store.issue()
    assert reason(strict, card_sign(forged, ORIGIN, nonce).to_json(), nonce) == "certificate_untrusted"


def test_certificate_issued_by_a_lookalike_ca_with_the_same_name_is_refused(
    pki: TestPki, v4: CardIdentity, validator: ProofValidator, store: NonceStore
) -> None:
    twin = TestPki(name=pki.name)  # identical CA names, different keys
    forged = twin.issue("v4", not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=1))
    nonce = store.issue()
    assert reason(validator, card_sign(forged, ORIGIN, nonce).to_json(), nonce) == "certificate_untrusted"


def test_expired_certificate_is_refused(pki: TestPki, validator: ProofValidator, store: NonceStore) -> None:
    old = pki.issue("v4", not_before=NOW - dt.timedelta(days=800), not_after=NOW - dt.timedelta(seconds=1))
    nonce = store.issue()
    assert reason(validator, card_sign(old, ORIGIN, nonce).to_json(), nonce) == "certificate_expired"


def test_certificate_not_yet_valid_is_refused(pki: TestPki, validator: ProofValidator, store: NonceStore) -> None:
    future = pki.issue("v4", not_before=NOW + dt.timedelta(hours=1), not_after=NOW + dt.timedelta(days=9))
    nonce = store.issue()
    assert reason(validator, card_sign(future, ORIGIN, nonce).to_json(), nonce) == "certificate_not_yet_valid"


def test_validity_is_judged_at_the_injected_time(
    v4: CardIdentity, pki: TestPki, store: NonceStore, clock: FakeClock
) -> None:
    nonce = store.issue()
    token = card_sign(v4, ORIGIN, nonce).to_json()
    later = FakeClock(NOW + dt.timedelta(days=101))
    late_validator = ProofValidator(ORIGIN, pki.trusted, NonceStore(clock=later), clock=later)
    late_validator.nonces.add(nonce)
    assert reason(late_validator, token, nonce) == "certificate_expired"


def test_certificate_without_digital_signature_usage_is_refused(
    pki: TestPki, validator: ProofValidator, store: NonceStore
) -> None:
    encryption_only = pki.issue(
        "v4",
        key_usage_digital_signature=False,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=1),
    )
    nonce = store.issue()
    assert reason(validator, card_sign(encryption_only, ORIGIN, nonce).to_json(), nonce) == "certificate_key_usage"


def test_certificate_whose_extended_usage_excludes_client_authentication_is_refused(
    pki: TestPki, validator: ProofValidator, store: NonceStore
) -> None:
    mail_only = pki.issue(
        "v3", client_auth=False, not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=1)
    )
    nonce = store.issue()
    assert reason(validator, card_sign(mail_only, ORIGIN, nonce).to_json(), nonce) == "certificate_purpose"


def test_algorithm_that_does_not_fit_the_key_is_refused(
    v3: CardIdentity, validator: ProofValidator, store: NonceStore
) -> None:
    nonce = store.issue()
    token = card_sign(v3, ORIGIN, nonce)
    claimed = AuthToken(token.certificate, "ES384", token.signature)
    assert reason(validator, claimed.to_json(), nonce) == "algorithm_mismatch"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: "this is not json at all" * 10, "token_malformed"),
        (lambda d: json.dumps([d] * 2), "token_malformed"),
        (lambda d: json.dumps({**d, "signature": None}), "token_malformed"),
        (lambda d: json.dumps({k: v for k, v in d.items() if k != "unverifiedCertificate"}), "token_malformed"),
        (lambda d: json.dumps({**d, "format": "web-eid:2.0"}), "token_format"),
        (lambda d: json.dumps({**d, "algorithm": "HS256"}), "algorithm_unsupported"),
        (lambda d: json.dumps({**d, "unverifiedCertificate": "%%%not-base64%%%"}), "certificate_malformed"),
        (
            lambda d: json.dumps({**d, "unverifiedCertificate": base64.b64encode(b"x" * 80).decode()}),
            "certificate_malformed",
        ),
        (lambda d: json.dumps({**d, "signature": "not base64!"}), "signature_malformed"),
        (lambda d: json.dumps(d).encode("utf-16"), "token_malformed"),
    ],
    ids=[
        "not-json",
        "array",
        "null-field",
        "missing-field",
        "other-format",
        "unknown-algorithm",
        "certificate-not-base64",
        "certificate-not-der",
        "signature-not-base64",
        "not-utf8",
    ],
)
def test_malformed_token_is_refused_with_a_precise_reason(
    v4: CardIdentity, validator: ProofValidator, store: NonceStore, mutate: object, expected: str
) -> None:
    nonce = store.issue()
    data = card_sign(v4, ORIGIN, nonce).to_dict()
    token = mutate(data)  # type: ignore[operator]
    assert reason(validator, token, nonce) == expected
    assert len(store) == 1, "a malformed token does not use up the nonce"


@pytest.mark.parametrize("size", [99, 10_001, 1_000_000])
def test_token_of_impossible_size_is_refused_before_parsing(
    validator: ProofValidator, store: NonceStore, size: int
) -> None:
    nonce = store.issue()
    assert reason(validator, b"{" * size, nonce) == "token_size"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.binary(max_size=12_000), st.text(max_size=3000)))
def test_any_input_gives_a_reason_never_a_crash(
    validator: ProofValidator, store: NonceStore, junk: bytes | str
) -> None:
    nonce = store.issue()
    with pytest.raises(ProofInvalid):
        validator.validate(junk, nonce)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["unverifiedCertificate", "algorithm", "signature", "format"]),
    value=st.one_of(st.text(max_size=200), st.integers(), st.none(), st.lists(st.integers(), max_size=3)),
)
def test_any_field_value_gives_a_reason_never_a_crash(
    v4: CardIdentity, validator: ProofValidator, store: NonceStore, field: str, value: object
) -> None:
    nonce = store.issue()
    data: dict[str, object] = dict(card_sign(v4, ORIGIN, nonce).to_dict())
    data[field] = value
    with pytest.raises(ProofInvalid):
        validator.validate(json.dumps(data), nonce)


# -- nonces and origins -------------------------------------------------------------------------------------------
def test_issued_nonces_are_44_base64_characters_and_unique(store: NonceStore) -> None:
    nonces = {store.issue() for _ in range(200)}
    assert len(nonces) == 200
    assert all(len(n) == 44 and len(base64.b64decode(n, validate=True)) == 32 for n in nonces)


def test_spent_and_expired_nonces_do_not_pile_up(store: NonceStore, clock: FakeClock) -> None:
    for _ in range(50):
        store.issue()
    clock.advance(11 * 60)
    store.issue()
    with pytest.raises(ProofInvalid):
        store.consume("B" * 44)
    assert len(store) == 1


@pytest.mark.parametrize(
    "origin",
    [
        "http://switchboard.example.fi",
        "http://example.org",
        "http://10.0.0.1",
        "http://192.168.1.20:8443",
        "http://0.0.0.0:8443",
        "http://[::2]:8443",
        "http://127.0.0.1.example.org",
        "http://localhost.example.org",
        "http://127.0.0.1:8443/",
        "http://127.0.0.1:8443/desk",
        "http://localhost/",
        "http://127.0.0.1:8443?x=1",
        "http://127.0.0.1:port",
        "ws://127.0.0.1:8443",
        "https://switchboard.example.fi/",
        "https://switchboard.example.fi/desk",
        "https://user@switchboard.example.fi",
        "switchboard.example.fi",
        "https://",
        " https://a.fi",
    ],
)
def test_origin_must_be_a_bare_https_origin(origin: str) -> None:
    with pytest.raises(ValueError, match="https origin"):
        check_origin(origin)


def test_origin_with_port_is_accepted() -> None:
    assert check_origin("https://localhost:8443") == "https://localhost:8443"


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:8443", "http://127.0.0.1", "http://127.8.9.10:80", "http://localhost:8080",
     "http://localhost", "http://[::1]:8443"],
)
def test_plain_http_is_accepted_for_loopback_hosts_only_as_browsers_do(origin: str) -> None:
    """W3C Secure Contexts: http://localhost, 127.0.0.0/8 and [::1] count as secure (the demo's switchboard)."""
    assert check_origin(origin) == origin


def test_a_proof_for_a_loopback_http_origin_validates_and_stays_bound_to_it(
    v4: CardIdentity, pki: TestPki, store: NonceStore, clock: FakeClock
) -> None:
    origin = "http://127.0.0.1:8443"
    validator = ProofValidator(origin, pki.trusted, store, clock=clock)
    nonce = store.issue()
    assert validator.validate(card_sign(v4, origin, nonce).to_json(), nonce).satu == v4.satu
    # The same token for another port of the same machine is another origin.
    other = store.issue()
    assert reason(validator, card_sign(v4, "http://127.0.0.1:8444", other).to_json(), other) == "signature_invalid"


def test_a_validator_refuses_an_http_origin_off_the_machine(pki: TestPki, store: NonceStore) -> None:
    with pytest.raises(ProofInputError):
        ProofValidator("http://switchboard.example.fi", pki.trusted, store)


def test_the_switchboard_takes_the_same_origins_as_the_card_signs_for(
    v3: CardIdentity, pki: TestPki, tmp_path: Path
) -> None:
    """The demo's switchboard (http on 127.0.0.1) loads and validates the kiosk's proof end to end; a
    switchboard configured with an http origin off the machine does not start at all."""
    from pydantic import ValidationError

    from etapiste.protocol import WebEidToken
    from switchboard.config import SwitchboardConfig
    from switchboard.identity import proof_validator

    origin = "http://127.0.0.1:8443"
    assert SwitchboardConfig.model_validate({"origin": origin}).origin == origin
    with pytest.raises(ValidationError, match="https origin"):
        SwitchboardConfig.model_validate({"origin": "http://switchboard.example.fi"})

    ca = tmp_path / "cas.pem"
    ca.write_bytes(pki.trusted_pem)
    nonce = NonceStore().issue()
    token = WebEidToken.model_validate(card_sign(v3, origin, nonce).to_dict())
    holder = proof_validator([str(ca)])(token, nonce, origin, NOW.timestamp())
    assert (holder.given_name, holder.surname) == (v3.given_name, v3.surname)


# -- certificate policy and revocation (issue 23) ---------------------------------------------------------------------
PRODUCTION_ARC = "1.2.246.517.1.10.*"
TEST_ARC = "1.2.246.517.99.10.*"


def _with(pki: TestPki, store: NonceStore, clock: FakeClock, **kwargs: object) -> ProofValidator:
    return ProofValidator(ORIGIN, pki.trusted, store, clock=clock, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policies", "allowed"),
    [
        (["1.2.246.517.99.10.352.1"], True),
        ([TEST_ARC], True),
        (["1.2.246.517.99.*"], True),
        ([PRODUCTION_ARC], False),
        (["1.2.246.517.99.10.352"], False),  # the arc without ".*" is an exact OID, not a prefix
        (["1.2.246.517.99.10.35.*"], False),  # arcs end at a dot: .35.* is not .352
        ([PRODUCTION_ARC, TEST_ARC], True),
    ],
)
def test_the_certificate_policy_must_be_on_the_allow_list(
    v4: CardIdentity, pki: TestPki, store: NonceStore, clock: FakeClock, policies: list[str], allowed: bool
) -> None:
    validator = _with(pki, store, clock, policies=policies)
    nonce = store.issue()
    token = card_sign(v4, ORIGIN, nonce).to_json()  # v4 test cards: 1.2.246.517.99.10.352.1
    if allowed:
        assert validator.validate(token, nonce).satu == v4.satu
    else:
        assert reason(validator, token, nonce) == "certificate_policy"


def test_a_certificate_without_policies_is_refused_when_an_allow_list_is_set(
    pki: TestPki, store: NonceStore, clock: FakeClock
) -> None:
    bare = pki.issue("v4", policies=[], not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=1))
    nonce = store.issue()
    token = card_sign(bare, ORIGIN, nonce).to_json()
    assert reason(_with(pki, store, clock, policies=[TEST_ARC]), token, nonce) == "certificate_policy"


@pytest.mark.parametrize("bad", [[], ["fineid"], ["1.2.*.3"], ["1.2.246.517.1.10.*.*"], [" 1.2.3"]])
def test_an_unusable_allow_list_is_refused_when_the_validator_is_made(
    pki: TestPki, store: NonceStore, bad: list[str]
) -> None:
    with pytest.raises(ValueError):
        ProofValidator(ORIGIN, pki.trusted, store, policies=bad)


def test_a_genuine_shaped_rsa_card_without_any_eku_is_accepted(
    pki: TestPki, store: NonceStore, clock: FakeClock
) -> None:
    """Genuine FINEID certificates carry no EKU (key usage only): a check that demanded clientAuth would
    refuse every real card. Only an EKU that leaves clientAuth out is refused (test above)."""
    genuine = pki.issue(
        "v3", client_auth=None, not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=1)
    )
    nonce = store.issue()
    token = card_sign(genuine, ORIGIN, nonce).to_json()
    assert _with(pki, store, clock, policies=[TEST_ARC]).validate(token, nonce).satu == genuine.satu


class _Asked:
    """An OCSP checker that only records whether it was asked (the real one is in test_ocsp.py)."""

    def __init__(self, verdict: Exception | None = None) -> None:
        self.calls = 0
        self.verdict = verdict

    def check(self, cert: object, issuer: object) -> str:
        self.calls += 1
        if self.verdict is not None:
            raise self.verdict
        return "good"


def test_revocation_is_asked_last_and_only_for_an_otherwise_valid_token(
    v4: CardIdentity, pki: TestPki, store: NonceStore, clock: FakeClock
) -> None:
    """A forged or altered token never makes the switchboard query the CA (no free OCSP oracle, no load)."""
    from etapiste.webeid.ocsp import CertificateRevoked

    asked = _Asked(CertificateRevoked("the card's certificate was revoked on 2026-11-27 (keyCompromise)"))
    validator = _with(pki, store, clock, revocation=asked)
    nonce = store.issue()
    forged = AuthToken(v4.cert_der, "ES384", b"\x01" * 96).to_json()
    assert reason(validator, forged, nonce) == "signature_invalid" and asked.calls == 0
    stranger = TestPki(name="SOMEONE ELSE").issue("v4")
    nonce = store.issue()
    assert reason(validator, card_sign(stranger, ORIGIN, nonce).to_json(), nonce) == "certificate_untrusted"
    assert asked.calls == 0
    nonce = store.issue()
    with pytest.raises(ProofInvalid) as refused:
        validator.validate(card_sign(v4, ORIGIN, nonce).to_json(), nonce)
    assert (refused.value.reason, asked.calls) == ("revoked", 1)
    assert "2026-11-27" in refused.value.message


def test_a_revoked_card_is_refused_by_the_validator_with_a_real_responder(
    pki: TestPki, store: NonceStore, clock: FakeClock, tmp_path: Path
) -> None:
    from etapiste.webeid.ocsp import OcspChecker
    from simulation.services.ocsp import ocsp_responder

    with ocsp_responder(pki, "v4", tmp_path / "ocsp") as responder:
        card = pki.issue("v4", not_before=NOW - dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=1))
        validator = _with(pki, store, clock, policies=[TEST_ARC], revocation=OcspChecker())
        responder.good(card)
        nonce = store.issue()
        assert validator.validate(card_sign(card, ORIGIN, nonce).to_json(), nonce).satu == card.satu
        responder.revoke(card)
        nonce = store.issue()
        fresh = _with(pki, store, clock, policies=[TEST_ARC], revocation=OcspChecker())
        assert reason(fresh, card_sign(card, ORIGIN, nonce).to_json(), nonce) == "revoked"
        responder.stop()
        nonce = store.issue()
        unreachable = _with(pki, store, clock, policies=[TEST_ARC], revocation=OcspChecker())
        assert reason(unreachable, card_sign(card, ORIGIN, nonce).to_json(), nonce) == "revocation_unknown"
