"""Reading citizen certificates the way FINEID cards carry them (etapiste/webeid/certificate.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from etapiste.webeid.certificate import holder_of, load_certificate, load_pem_certificates, read_extensions
from simulation.card.pki import TestPki


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


def test_v4_certificate_with_null_ecdsa_parameters_loads_and_verifies(pki: TestPki) -> None:
    identity = pki.issue("v4", given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-ÅKERBLOM", satu="999020016")
    cert = load_certificate(identity.cert_der)
    assert cert.der == identity.cert_der, "the certificate is kept exactly as the card gave it"
    assert cert.signature_algorithm == "1.2.840.10045.4.3.3"
    assert cert.is_signed_by(pki.issuing.cert)
    assert not cert.is_signed_by(pki.root.cert)
    assert holder_of(cert).to_dict() == {
        "given_name": "SPECIMEN-BABAFÖ",
        "surname": "SPECIMEN-ÅKERBLOM",
        "satu": "999020016",
    }
    ext = read_extensions(cert)
    assert ext.key_usage == {"digitalSignature", "keyAgreement"} and ext.extended_key_usage is None
    assert not ext.is_ca


def test_v3_certificate_from_an_rsa_ca_loads_and_verifies(pki: TestPki) -> None:
    cert = load_certificate(pki.issue("v3", given_name="SPECIMEN-LIISA").cert_der)
    assert cert.signature_algorithm == "1.2.840.113549.1.1.11", "sha256WithRSAEncryption, as VRK's CA signs"
    assert cert.is_signed_by(pki.issuing_rsa.cert)
    assert not cert.is_signed_by(pki.issuing.cert)
    assert read_extensions(cert).extended_key_usage is not None
    assert holder_of(cert).given_name == "SPECIMEN-LIISA"


def test_a_changed_byte_in_the_signed_part_breaks_the_issuer_signature(pki: TestPki) -> None:
    good = pki.issue("v4", satu="999020016").cert_der
    forged = good.replace(b"999020016", b"999020024")
    assert forged != good
    cert = load_certificate(forged)
    assert holder_of(cert).satu == "999020024"
    assert not cert.is_signed_by(pki.issuing.cert)


def test_ca_certificates_load_from_pem_one_or_many(pki: TestPki) -> None:
    certs = load_pem_certificates(pki.root.pem + b"\n" + pki.issuing.pem)
    assert [c.der for c in certs] == [pki.root.der, pki.issuing.der]
    assert read_extensions(certs[1]).is_ca and certs[1].is_signed_by(certs[0])
    with pytest.raises(ValueError):
        load_pem_certificates(b"no certificate here")
    with pytest.raises(ValueError):
        load_pem_certificates(b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n")


def test_a_certificate_without_extensions_has_no_key_usage() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bare")])
    now = dt.datetime.now(dt.UTC)
    bare = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    ext = read_extensions(load_certificate(bare.public_bytes(serialization.Encoding.DER)))
    assert (ext.key_usage, ext.extended_key_usage, ext.is_ca) == (None, None, False)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_garbage_is_a_value_error_never_a_crash(data: bytes) -> None:
    with pytest.raises(ValueError):
        load_certificate(data)


@pytest.mark.filterwarnings("ignore:Parsed a serial number")
@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_corrupted_certificate_is_refused_or_fails_its_signature(pki: TestPki, position: int, value: int) -> None:
    good = bytearray(pki.issue("v4").cert_der)
    i = position % len(good)
    if good[i] == value:
        return
    good[i] = value
    try:
        cert = load_certificate(bytes(good))
    except ValueError:
        return
    assert not cert.is_signed_by(pki.issuing.cert), f"byte {i} changed yet the signature still holds"
