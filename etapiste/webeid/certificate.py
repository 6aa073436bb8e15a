"""Citizen certificates as FINEID cards carry them, read leniently but verified strictly.

Why not just ``cryptography.x509``: genuine FINEID certificates break two of its DER rules.
- v4 certificates (and DVV's ECC CAs) write ``ecdsa-with-SHA384`` with NULL parameters, which RFC 5758
  forbids; ``cryptography`` refuses to load such a certificate at all ("ExtraData … signature_alg").
- ``BasicConstraints`` carries an explicit ``cA FALSE`` (a DER default written out); ``cryptography``
  loads the certificate but raises on ``cert.extensions`` (pyca/cryptography #14354).
So: the certificate is split with the small DER reader below; the signature is checked over the
*original* to-be-signed bytes with the issuer's key; names, validity and the public key come from
``cryptography`` parsing a copy whose NULL parameters are dropped (the only change); extensions are
read by our reader. Nothing here trusts a certificate; the validator (:mod:`etapiste.webeid.validator`) decides.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

ECDSA_SIGNATURES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.10045.4.3.2": hashes.SHA256,
    "1.2.840.10045.4.3.3": hashes.SHA384,
    "1.2.840.10045.4.3.4": hashes.SHA512,
}
RSA_SIGNATURES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.113549.1.1.11": hashes.SHA256,
    "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
}
KEY_USAGE_BITS = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)
OID_KEY_USAGE, OID_EKU, OID_BASIC_CONSTRAINTS = "2.5.29.15", "2.5.29.37", "2.5.29.19"
OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


# -- DER ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tlv:
    tag: int
    content: bytes
    raw: bytes  # tag, length and content exactly as encoded


def der_items(data: bytes) -> list[Tlv]:
    """The TLVs one after another in ``data`` (single-byte tags: all X.509 needs here)."""
    items: list[Tlv] = []
    i = 0
    while i < len(data):
        start = i
        if i + 2 > len(data):
            raise ValueError("truncated DER")
        tag, length = data[i], data[i + 1]
        i += 2
        if length & 0x80:
            n = length & 0x7F
            if n == 0 or n > 4 or i + n > len(data):
                raise ValueError("bad DER length")
            length = int.from_bytes(data[i : i + n], "big")
            i += n
        if i + length > len(data):
            raise ValueError("truncated DER")
        items.append(Tlv(tag, data[i : i + length], data[start : i + length]))
        i += length
    return items


def der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def oid_text(content: bytes) -> str:
    if not content:
        raise ValueError("empty OID")
    first = min(content[0] // 40, 2)
    parts = [first, content[0] - 40 * first]
    value = 0
    for b in content[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _single(data: bytes, tag: int) -> Tlv:
    items = der_items(data)
    if len(items) != 1 or items[0].tag != tag:
        raise ValueError(f"expected one DER object with tag {tag:#x}")
    return items[0]


def _without_ecdsa_null(alg: Tlv) -> bytes:
    """An AlgorithmIdentifier, with the NULL parameters FINEID writes after an ECDSA OID dropped."""
    parts = der_items(alg.content)
    if len(parts) == 2 and parts[1].raw == b"\x05\x00" and oid_text(parts[0].content) in ECDSA_SIGNATURES:
        return der(0x30, parts[0].raw)
    return alg.raw


# -- the certificate ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Certificate:
    der: bytes  # as received (what the token carries)
    tbs: bytes  # the original to-be-signed bytes, over which the issuer's signature is checked
    signature_algorithm: str  # OID
    signature: bytes
    x509: x509.Certificate  # names, validity, public key (parsed from a copy without the NULL quirk)

    @property
    def not_before(self) -> dt.datetime:
        return self.x509.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.x509.not_valid_after_utc

    def public_key(self) -> object:
        return self.x509.public_key()

    def is_signed_by(self, issuer: Certificate) -> bool:
        """Is the signature over our original TBS bytes made by ``issuer``'s key?"""
        key = issuer.x509.public_key()
        try:
            if self.signature_algorithm in ECDSA_SIGNATURES and isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(self.signature, self.tbs, ec.ECDSA(ECDSA_SIGNATURES[self.signature_algorithm]()))
                return True
            if self.signature_algorithm in RSA_SIGNATURES and isinstance(key, rsa.RSAPublicKey):
                key.verify(self.signature, self.tbs, padding.PKCS1v15(), RSA_SIGNATURES[self.signature_algorithm]())
                return True
        except InvalidSignature:
            return False
        return False


def load_certificate(data: bytes) -> Certificate:
    """Parse a DER certificate, tolerating FINEID's encoding quirks; ``ValueError`` if it is not one."""
    outer = _single(data, 0x30)
    parts = der_items(outer.content)
    if len(parts) != 3 or parts[0].tag != 0x30 or parts[1].tag != 0x30 or parts[2].tag != 0x03:
        raise ValueError("not an X.509 certificate")
    tbs, alg, bits = parts
    if not bits.content or bits.content[0] != 0:
        raise ValueError("bad signature BIT STRING")
    signature_algorithm = oid_text(der_items(alg.content)[0].content)
    try:
        parsed = x509.load_der_x509_certificate(data)
    except ValueError:
        tbs_parts = der_items(tbs.content)
        index = 2 if tbs_parts and tbs_parts[0].tag == 0xA0 else 1  # the TBS's own signature algorithm
        if len(tbs_parts) <= index or tbs_parts[index].tag != 0x30:
            raise ValueError("not an X.509 certificate") from None
        tbs_parts[index] = Tlv(0x30, b"", _without_ecdsa_null(tbs_parts[index]))
        normal_tbs = der(0x30, b"".join(p.raw for p in tbs_parts))
        normal = der(0x30, normal_tbs + _without_ecdsa_null(alg) + bits.raw)
        try:
            parsed = x509.load_der_x509_certificate(normal)
        except x509.InvalidVersion:
            raise ValueError("not an X.509 certificate (unknown version)") from None
    except x509.InvalidVersion:
        # A corrupted card response: say so as the documented ValueError, never another exception type.
        raise ValueError("not an X.509 certificate (unknown version)") from None
    return Certificate(data, tbs.raw, signature_algorithm, bits.content[1:], parsed)


PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def load_pem_certificates(pem: bytes) -> list[Certificate]:
    """Every certificate in a PEM file (``ValueError`` if there is none or one is broken)."""
    blocks = PEM_BLOCK.findall(pem)
    if not blocks:
        raise ValueError("no PEM certificate found")
    try:
        return [load_certificate(base64.b64decode(b"".join(block.split()), validate=True)) for block in blocks]
    except binascii.Error:
        raise ValueError("a PEM certificate is not valid Base64") from None


# -- what the validator reads ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Extensions:
    key_usage: frozenset[str] | None  # None: no KeyUsage extension
    extended_key_usage: frozenset[str] | None
    is_ca: bool


def read_extensions(cert: Certificate) -> Extensions:
    """KeyUsage, ExtendedKeyUsage and BasicConstraints from the original TBS bytes."""
    tbs = _single(cert.tbs, 0x30)
    block = next((t for t in der_items(tbs.content) if t.tag == 0xA3), None)
    key_usage = eku = None
    is_ca = False
    if block is None:
        return Extensions(None, None, False)
    for ext in der_items(_single(block.content, 0x30).content):
        fields = der_items(ext.content)
        if ext.tag != 0x30 or len(fields) < 2 or fields[0].tag != 0x06 or fields[-1].tag != 0x04:
            raise ValueError("malformed extension")
        oid, value = oid_text(fields[0].content), fields[-1].content
        if oid == OID_KEY_USAGE:
            bits = _single(value, 0x03).content
            flags = int.from_bytes(bits[1:3].ljust(2, b"\x00"), "big")
            key_usage = frozenset(name for i, name in enumerate(KEY_USAGE_BITS) if flags & (0x8000 >> i))
        elif oid == OID_EKU:
            eku = frozenset(oid_text(t.content) for t in der_items(_single(value, 0x30).content))
        elif oid == OID_BASIC_CONSTRAINTS:
            inner = der_items(_single(value, 0x30).content)
            is_ca = bool(inner and inner[0].tag == 0x01 and inner[0].content not in (b"", b"\x00"))
    return Extensions(key_usage, eku, is_ca)


@dataclass(frozen=True)
class Holder:
    """Who the certificate names. SATU is the electronic identification number (not the HETU)."""

    given_name: str
    surname: str
    satu: str
    not_after: dt.datetime

    def to_dict(self) -> dict[str, str]:
        return {"given_name": self.given_name, "surname": self.surname, "satu": self.satu}


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return ""
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def holder_of(cert: Certificate) -> Holder:
    subject = cert.x509.subject
    return Holder(
        given_name=_attr(subject, NameOID.GIVEN_NAME),
        surname=_attr(subject, NameOID.SURNAME),
        satu=_attr(subject, NameOID.SERIAL_NUMBER),
        not_after=cert.not_after,
    )
