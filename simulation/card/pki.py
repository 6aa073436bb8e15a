"""A test PKI shaped like DVV's: an ECC root, an issuing CA, and citizen authentication certificates in
FINEID's subject layout (C=FI, serialNumber=SATU, givenName, surname, CN="SURNAME GIVENNAMES SATU").

Like genuine FINEID certificates (checked against a DVV TEST card's certificate), ours
- encode ``BasicConstraints`` critical with an explicit ``cA FALSE`` (a DER default written out, which
  ``cryptography`` refuses on ``cert.extensions``), and
- write the ECDSA signature algorithm with NULL parameters (v4 and the CAs), which ``cryptography``
  refuses to load at all,
so the driver and the validator are proven to cope with what real cards carry. v3 names are
PrintableString where possible, v4 UTF8String; v4 key usage is digitalSignature + keyAgreement, no EKU.

Like genuine test cards, citizen certificates carry a certificate policy in DVV's test arc
(``1.2.246.517.99.10.202.1`` RSA, ``.352.1`` EC, CPS ``http://www.fineid.fi/cps99/``), an Authority
Information Access naming the issuing CA's certificate and its OCSP responder (test cards:
``http://ocsptest.fineid.fi/<ca>``; here ``ocsp_urls[generation]``, which tests point at a private
``openssl ocsp`` from simulation/services/ocsp.py *before* issuing), and a CRL distribution point. Each issuing CA
has a delegated OCSP signer (``ocsp_signer``): id-kp-OCSPSigning, id-pkix-ocsp-nocheck, issued by that CA.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID, NameOID

from etapiste.webeid.certificate import Certificate, der, der_items, load_certificate

UTC = dt.UTC
#: DER of BasicConstraints with cA FALSE written out (not DER-canonical; what FINEID certificates carry)
EXPLICIT_CA_FALSE = bytes.fromhex("3003010100")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: DVV's test-card policy arc: ``1.2.246.517.99.10.<n>.1`` (202: RSA cards, 352: EC cards)
TEST_POLICY = {"v3": "1.2.246.517.99.10.202.1", "v4": "1.2.246.517.99.10.352.1"}
TEST_CPS = "http://www.fineid.fi/cps99/"
#: Where the AIA of a certificate points until a test starts its private responder (``.test`` never resolves
#: to anything, so a validator that follows it sees an unreachable responder, as with a network outage).
OCSP_BASE = "http://ocsptest.etapiste.test"
PROXY_BASE = "http://proxy.etapiste.test"


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def with_ecdsa_null_parameters(cert_der: bytes, issuer_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Rewrite an ECDSA-signed certificate as FINEID's are: NULL parameters after the signature OID in
    both AlgorithmIdentifiers, and re-signed over the rewritten TBS (so it is genuinely valid)."""
    (outer,) = der_items(cert_der)
    tbs, alg, _sig = der_items(outer.content)
    alg_null = der(0x30, der_items(alg.content)[0].raw + b"\x05\x00")
    parts = der_items(tbs.content)
    new_tbs = der(0x30, b"".join(alg_null if i == 2 else p.raw for i, p in enumerate(parts)))
    signature = issuer_key.sign(new_tbs, ec.ECDSA(hashes.SHA384()))
    return der(0x30, new_tbs + alg_null + der(0x03, b"\x00" + signature))


@dataclass
class Authority:
    """A CA: its certificate (DER, with FINEID's quirks) and key."""

    der: bytes
    key: PrivateKey
    subject: x509.Name

    @property
    def cert(self) -> Certificate:
        return load_certificate(self.der)

    @property
    def pem(self) -> bytes:
        body = base64.encodebytes(self.der).decode().replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n").encode()


def _signed(builder: x509.CertificateBuilder, signer: PrivateKey) -> bytes:
    """Sign as DVV's CAs do: ECDSA-SHA384 with NULL parameters, or sha256WithRSAEncryption (v3's CA)."""
    if isinstance(signer, rsa.RSAPrivateKey):
        return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    plain = builder.sign(signer, hashes.SHA384()).public_bytes(serialization.Encoding.DER)
    return with_ecdsa_null_parameters(plain, signer)


def _key_usage(digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _ca(
    name: str,
    key: PrivateKey,
    issuer: Authority | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> Authority:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FI"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Etapiste test"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return Authority(_signed(builder, signer), key, subject)


@dataclass
class CardIdentity:
    """What a card holds for authentication: the certificate (DER) and its private key."""

    cert_der: bytes
    key: PrivateKey
    given_name: str
    surname: str
    satu: str

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass
class TestPki:
    """A root CA and two issuing CAs, as DVV has: an ECC one for v4 cards ("… Certificates - G5E") and an
    RSA one for v3 cards ("… CA for Test Purposes - G3"); ``issue`` makes citizen certificates."""

    __test__ = False  # not a pytest test class
    name: str = "ETAPISTE TEST"
    root: Authority = field(init=False)
    issuing: Authority = field(init=False)
    issuing_rsa: Authority = field(init=False)
    ocsp_urls: dict[str, str] = field(init=False)
    """Per generation, the OCSP URL written into the AIA of certificates issued from now on."""
    _signers: dict[str, tuple[bytes, PrivateKey]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        start = _now() - dt.timedelta(days=365)
        end = _now() + dt.timedelta(days=3650)
        self.root = _ca(f"{self.name} Root CA - G3 ECC", ec.generate_private_key(ec.SECP384R1()), None, start, end)
        self.issuing = _ca(
            f"{self.name} Certificates - G5E", ec.generate_private_key(ec.SECP384R1()), self.root, start, end
        )
        self.issuing_rsa = _ca(
            f"{self.name} CA for Test Purposes - G3", rsa.generate_private_key(65537, 2048), self.root, start, end
        )
        self.ocsp_urls = {generation: f"{OCSP_BASE}/{self.ca_slug(generation)}" for generation in ("v3", "v4")}

    @property
    def trusted(self) -> list[Certificate]:
        """The issuing CAs, as a validator is configured (Web eID trusts the issuing CAs)."""
        return [self.issuing.cert, self.issuing_rsa.cert]

    @property
    def trusted_pem(self) -> bytes:
        return self.issuing.pem + self.issuing_rsa.pem

    def issuer_for(self, generation: str) -> Authority:
        return self.issuing_rsa if generation == "v3" else self.issuing

    @staticmethod
    def ca_slug(generation: str) -> str:
        """The CA's short name in AIA and CRL paths, as FINEID's ``vrktp4`` / ``dvvtp5ec``."""
        return "etapistetp3" if generation == "v3" else "etapistetp5ec"

    def ocsp_signer(self, generation: str) -> tuple[bytes, PrivateKey]:
        """The issuing CA's delegated OCSP responder certificate (DER) and key, made once per PKI.

        Issued and signed as DVV's CAs sign (NULL ECDSA parameters on the ECC CA), with id-kp-OCSPSigning
        and id-pkix-ocsp-nocheck, as RFC 6960 §4.2.2.2 asks of a delegated responder."""
        if generation not in self._signers:
            issuer = self.issuer_for(generation)
            key: PrivateKey = (
                rsa.generate_private_key(65537, 2048) if generation == "v3" else ec.generate_private_key(ec.SECP384R1())
            )
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "FI"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Etapiste test"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{self.ca_slug(generation)} OCSP Responder"),
                ]
            )
            builder = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(_now() - dt.timedelta(days=30))
                .not_valid_after(_now() + dt.timedelta(days=365))
                .add_extension(
                    x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, EXPLICIT_CA_FALSE), critical=True
                )
                .add_extension(_key_usage(digital_signature=True), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
                .add_extension(x509.OCSPNoCheck(), critical=False)
            )
            self._signers[generation] = (_signed(builder, issuer.key), key)
        return self._signers[generation]

    def issue(
        self,
        generation: str = "v4",
        given_name: str = "SPECIMEN-BABAFÖ",
        surname: str = "SPECIMEN-HÄKKINEN",
        satu: str = "999020016",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key: PrivateKey | None = None,
        key_usage_digital_signature: bool = True,
        client_auth: bool | None = True,
        policies: Sequence[str] | None = None,
        ocsp_url: str | None = "",
    ) -> CardIdentity:
        """A citizen authentication certificate: RSA-2048 for v3, P-384 for v4 (unless ``key`` is given).

        ``client_auth``: for v3, an EKU with (True) or without (False) clientAuth, or no EKU at all (None,
        as genuine cards); v4 never has one. ``policies``: the certificate policies (default: the test
        arc's for the generation; ``[]`` leaves the extension out). ``ocsp_url``: the AIA's OCSP responder
        (default ``ocsp_urls[generation]``; ``None`` leaves the OCSP entry out)."""
        if key is None:
            key = (
                rsa.generate_private_key(65537, 2048) if generation == "v3" else ec.generate_private_key(ec.SECP384R1())
            )
        printable = all(c.isascii() and (c.isalnum() or c in " '()+,-./:=?") for c in given_name + surname)
        string_type = (
            x509.name._ASN1Type.PrintableString if generation == "v3" and printable else x509.name._ASN1Type.UTF8String
        )
        cn = f"{surname} {given_name} {satu}"
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FI"),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, satu, _type=x509.name._ASN1Type.PrintableString),
                x509.NameAttribute(NameOID.GIVEN_NAME, given_name, _type=string_type),
                x509.NameAttribute(NameOID.SURNAME, surname, _type=string_type),
                x509.NameAttribute(NameOID.COMMON_NAME, cn, _type=string_type),
            ]
        )
        not_before = not_before or _now() - dt.timedelta(days=30)
        not_after = not_after or _now() + dt.timedelta(days=5 * 365)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuer_for(generation).subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, EXPLICIT_CA_FALSE), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=key_usage_digital_signature,
                    content_commitment=False,
                    key_encipherment=generation == "v3" or not key_usage_digital_signature,
                    data_encipherment=False,
                    key_agreement=generation != "v3",
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("specimen@example.invalid")]), critical=False)
        )
        slug = self.ca_slug(generation)
        policies = [TEST_POLICY[generation]] if policies is None else list(policies)
        if policies:
            builder = builder.add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier(oid), [TEST_CPS]) for oid in policies]
                ),
                critical=False,
            )
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(f"{PROXY_BASE}/crl/{slug}c.crl")], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        access = [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(f"{PROXY_BASE}/ca/{slug}.crt")
            )
        ]
        ocsp_url = self.ocsp_urls[generation] if ocsp_url == "" else ocsp_url
        if ocsp_url is not None:
            access.append(
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))
            )
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
        if generation == "v3" and client_auth is not None:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
                    if client_auth
                    else [ExtendedKeyUsageOID.EMAIL_PROTECTION]
                ),
                critical=False,
            )
        return CardIdentity(_signed(builder, self.issuer_for(generation).key), key, given_name, surname, satu)
