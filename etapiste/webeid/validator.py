"""Validation of a Web eID 1.0 authentication token: the switchboard's check of a customer's identity proof.

Pure Python on ``cryptography`` only (no PC/SC): the switchboard validates with it, and the card CLI and the
tests check what the point built. The token's format is :mod:`etapiste.webeid.token`.

Validation (``ProofValidator.validate``) checks, in order, and stops at the first failure with a precise
``ProofInvalid.reason``: size, JSON shape, format, algorithm, the nonce (single use, TTL), certificate
validity at the injected clock's time, key usage (digitalSignature; clientAuth when an EKU is present),
the chain to a configured trusted CA, the certificate policy against the configured allow-list (when
given), the algorithm against the key, the signature (RSASSA-PSS with the JOSE salt length, the hash's size),
and last, once everything else holds, revocation at the CA's OCSP responder (when an
:class:`etapiste.webeid.ocsp.OcspChecker` is given: ``revoked`` or ``revocation_unknown``; asked last so that no
junk token makes the switchboard query DVV). The nonce is used up by the first well-formed attempt,
successful or not, so no token can be tried twice against it (the agent simply asks again).

Genuine FINEID authentication certificates carry no extended key usage at all, so clientAuth is required
only when an EKU is present (as the Web eID validators do): requiring it always would refuse every real
card. Their policies are in DVV's arcs: test cards ``1.2.246.517.99.10.<n>.1``, production cards under
``1.2.246.517.1.10``; the allow-list takes exact OIDs or an arc written ``<arc>.*``.

Certificates are read with :mod:`etapiste.webeid.certificate`, which copes with what genuine FINEID certificates
carry (ECDSA signature algorithms with NULL parameters, an explicit ``cA FALSE``) where ``cryptography``
alone refuses them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from etapiste.codes import ProofRefusalCode
from etapiste.protocol import WebEidToken
from etapiste.webeid.certificate import (
    OID_CLIENT_AUTH,
    Certificate,
    Holder,
    der_items,
    holder_of,
    load_certificate,
    load_pem_certificates,
    oid_text,
    read_extensions,
)
from etapiste.webeid.ocsp import OcspChecker, RevocationError, extension_values
from etapiste.webeid.origin import check_origin
from etapiste.webeid.token import (
    ALGORITHMS,
    EC_CURVE_FOR,
    NONCE_TTL,
    TOKEN_MAX,
    TOKEN_MIN,
    Algorithm,
    check_nonce,
    signed_data,
)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


OID_CERTIFICATE_POLICIES = "2.5.29.32"
_POLICY_PATTERN = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+(\.\*)?$")


def check_policy_pattern(pattern: str) -> str:
    """An allow-list entry: a dotted OID (``1.2.246.517.1.10.352.1``) or an arc (``1.2.246.517.1.10.*``)."""
    if not isinstance(pattern, str) or not _POLICY_PATTERN.match(pattern):
        raise ValueError(f"not a policy OID or OID arc (e.g. 1.2.246.517.1.10.*): {pattern!r}")
    return pattern


def policy_allowed(oid: str, patterns: Iterable[str]) -> bool:
    """Is ``oid`` one of ``patterns`` or under one of their arcs (``<arc>.*``: any OID below the arc)?"""
    return any(oid.startswith(p[:-1]) if p.endswith(".*") else oid == p for p in patterns)


def certificate_policies(cert: Certificate) -> list[str]:
    """The policy OIDs of the certificatePolicies extension (empty when there is none)."""
    value = extension_values(cert).get(OID_CERTIFICATE_POLICIES)
    if value is None:
        return []
    (seq,) = der_items(value)
    policies = []
    for info in der_items(seq.content):
        identifier = der_items(info.content)[0]
        if identifier.tag != 0x06:
            raise ValueError("malformed PolicyInformation")
        policies.append(oid_text(identifier.content))
    return policies


# -- nonces -------------------------------------------------------------------------------------------------
class NonceStore:
    """Challenge nonces: issued with a TTL, each good for exactly one validation attempt. Thread-safe."""

    def __init__(self, ttl: dt.timedelta = NONCE_TTL, clock: Clock = utc_now) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._live: dict[str, dt.datetime] = {}  # nonce → expiry
        self._used: dict[str, dt.datetime] = {}  # spent nonces, kept until expiry to say "already used"

    def issue(self) -> str:
        """A fresh nonce: 32 random bytes in Base64 (44 characters)."""
        nonce = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        self.add(nonce)
        return nonce

    def add(self, nonce: str, issued_at: dt.datetime | None = None) -> None:
        """Register a nonce issued elsewhere (e.g. given on the command line)."""
        check_nonce(nonce)
        with self._lock:
            self._live[nonce] = (issued_at or self.clock()) + self.ttl

    def consume(self, nonce: str) -> None:
        """Use the nonce up; ``ProofInvalid`` if it was never issued, is used already or has expired."""
        now = self.clock()
        with self._lock:
            for store in (self._live, self._used):
                for key in [k for k, expiry in store.items() if expiry + self.ttl < now]:
                    del store[key]
            expiry = self._live.pop(nonce, None)
            if expiry is None:
                if nonce in self._used:
                    raise ProofInvalid("nonce_used", "this nonce has been used already (replayed token?)")
                raise ProofInvalid("nonce_unknown", "this nonce was not issued here (or long expired)")
            self._used[nonce] = expiry
        if now > expiry:
            raise ProofInvalid("nonce_expired", f"the nonce expired (it is valid for {self.ttl})")

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)


# -- validation ---------------------------------------------------------------------------------------------
class ProofInvalid(Exception):
    """A token was refused. ``reason`` is its code from :data:`etapiste.codes.ProofRefusalCode` (the desk
    and the logs read it; the switchboard sends it as it is), ``message`` says why."""

    def __init__(self, reason: ProofRefusalCode, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def load_trusted(pems: Iterable[bytes]) -> list[Certificate]:
    """Trusted CA certificates from PEM files (DVV's own CA certificates carry the same quirks)."""
    certs: list[Certificate] = []
    for pem in pems:
        certs.extend(load_pem_certificates(pem))
    return certs


def _b64(value: str, what: Literal["certificate", "signature"]) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        code: ProofRefusalCode = "certificate_malformed" if what == "certificate" else "signature_malformed"
        raise ProofInvalid(code, f"{what} is not standard Base64") from None


#: The codes of a certificate, or of its issuer, outside its validity period: (not yet valid, expired).
_VALIDITY_CODES: dict[str, tuple[ProofRefusalCode, ProofRefusalCode]] = {
    "certificate": ("certificate_not_yet_valid", "certificate_expired"),
    "issuer": ("issuer_not_yet_valid", "issuer_expired"),
}


class ProofValidator:
    """Validates Web eID 1.0 tokens for one site ``origin`` against ``trusted`` CA certificates."""

    def __init__(
        self,
        origin: str,
        trusted: Iterable[Certificate],
        nonces: NonceStore | None,
        clock: Clock = utc_now,
        policies: Iterable[str] | None = None,
        revocation: OcspChecker | None = None,
    ) -> None:
        """``nonces``: where :meth:`validate` uses up each nonce (``None`` for a caller that keeps its own
        nonces and calls :meth:`validate_parsed`); ``policies``: the certificate policy allow-list (``None``:
        not checked); ``revocation``: the OCSP checker (``None``: not checked). The switchboard always gives
        both from its configuration; tools and tests that only need the signature and the chain leave them
        out."""
        self.origin = check_origin(origin)
        self.trusted = list(trusted)
        if not self.trusted:
            raise ValueError("at least one trusted CA certificate is needed")
        self.nonces = nonces
        self.clock = clock
        self.policies = None if policies is None else [check_policy_pattern(p) for p in policies]
        if self.policies is not None and not self.policies:
            raise ValueError("the certificate policy allow-list is empty: no card would be accepted")
        self.revocation = revocation

    def validate(self, token: str | bytes, nonce: str) -> Holder:
        """The verified holder, or ``ProofInvalid`` with the precise reason."""
        raw = token.encode("utf-8") if isinstance(token, str) else token
        if not TOKEN_MIN <= len(raw) <= TOKEN_MAX:
            raise ProofInvalid("token_size", f"a token is {TOKEN_MIN}–{TOKEN_MAX} bytes, this one {len(raw)}")
        fields = self._parse(raw)
        if self.nonces is None:
            raise ProofInvalid("nonce_unknown", "this validator issues no nonces; the caller checks its own")
        return self._check(fields, nonce, self.nonces)

    def validate_parsed(self, token: WebEidToken, nonce: str) -> Holder:
        """The verified holder of a token already parsed at the caller's boundary (the wire protocol's
        :class:`~etapiste.protocol.WebEidToken`, which bounds every field's size), for a nonce the caller has
        itself checked (issued by it, single use, unexpired, bound to this request): no nonce store is asked.
        Every other check is :meth:`validate`'s, in the same order."""
        fields = {
            "unverifiedCertificate": token.unverifiedCertificate,
            "algorithm": token.algorithm,
            "signature": token.signature,
            "format": token.format,
        }
        return self._check(fields, nonce, None)

    def _check(self, fields: dict[str, str], nonce: str, nonces: NonceStore | None) -> Holder:
        if not fields["format"].startswith("web-eid:1"):
            raise ProofInvalid("token_format", f"unsupported format {fields['format'][:40]!r}")
        algorithm = ALGORITHMS.get(fields["algorithm"])
        if algorithm is None:
            raise ProofInvalid("algorithm_unsupported", f"unsupported algorithm {fields['algorithm'][:20]!r}")
        try:
            cert = load_certificate(_b64(fields["unverifiedCertificate"], "certificate"))
        except ProofInvalid:
            raise
        except ValueError:
            raise ProofInvalid("certificate_malformed", "the certificate is not valid DER X.509") from None
        signature = _b64(fields["signature"], "signature")

        if nonces is not None:
            nonces.consume(nonce)
        now = self.clock()
        self._check_validity(cert, now, "certificate")
        self._check_purpose(cert)
        issuer = self._check_chain(cert, now)
        self._check_policy(cert)
        self._check_signature(cert, algorithm, signature, nonce)
        if self.revocation is not None:
            try:
                self.revocation.check(cert, issuer)
            except RevocationError as exc:
                raise ProofInvalid(exc.reason, exc.message) from None
        return holder_of(cert)

    @staticmethod
    def _parse(raw: bytes) -> dict[str, str]:
        try:
            data: Any = json.loads(raw.decode("utf-8"))  # JSON on the wire is UTF-8 (RFC 8259), nothing else
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ProofInvalid("token_malformed", "the token is not UTF-8 JSON") from None
        if not isinstance(data, dict):
            raise ProofInvalid("token_malformed", "the token is not a JSON object")
        fields: dict[str, str] = {}
        for key in ("unverifiedCertificate", "algorithm", "signature", "format"):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise ProofInvalid("token_malformed", f"the token has no {key} string")
            fields[key] = value
        return fields

    @staticmethod
    def _check_validity(cert: Certificate, now: dt.datetime, what: Literal["certificate", "issuer"]) -> None:
        not_yet_valid, expired = _VALIDITY_CODES[what]
        if now < cert.not_before:
            raise ProofInvalid(not_yet_valid, f"the {what} is valid from {cert.not_before}")
        if now > cert.not_after:
            raise ProofInvalid(expired, f"the {what} expired on {cert.not_after}")

    @staticmethod
    def _check_purpose(cert: Certificate) -> None:
        try:
            ext = read_extensions(cert)
        except (ValueError, IndexError):
            raise ProofInvalid("certificate_malformed", "the certificate's extensions cannot be read") from None
        if ext.key_usage is None or "digitalSignature" not in ext.key_usage:
            raise ProofInvalid("certificate_key_usage", "the certificate's key is not for digital signatures")
        if ext.extended_key_usage is not None and OID_CLIENT_AUTH not in ext.extended_key_usage:
            raise ProofInvalid("certificate_purpose", "the certificate is not for client authentication")
        if ext.is_ca:
            raise ProofInvalid("certificate_purpose", "a CA certificate cannot authenticate a person")

    def _check_policy(self, cert: Certificate) -> None:
        if self.policies is None:
            return
        try:
            held = certificate_policies(cert)
        except (ValueError, IndexError):
            raise ProofInvalid("certificate_malformed", "the certificate's policies cannot be read") from None
        if not any(policy_allowed(oid, self.policies) for oid in held):
            raise ProofInvalid(
                "certificate_policy",
                "the certificate is not issued under an accepted policy "
                f"({', '.join(held) or 'it names none'}; accepted: {', '.join(self.policies)})",
            )

    def _check_chain(self, cert: Certificate, now: dt.datetime) -> Certificate:
        """Issued (name and signature) by one of the configured CAs, which must itself be a valid CA;
        that CA is returned (its responder is asked about revocation)."""
        for ca in self.trusted:
            if ca.x509.subject != cert.x509.issuer or not cert.is_signed_by(ca):
                continue
            self._check_validity(ca, now, "issuer")
            ca_ext = read_extensions(ca)
            if not ca_ext.is_ca or (ca_ext.key_usage is not None and "keyCertSign" not in ca_ext.key_usage):
                continue
            return ca
        raise ProofInvalid("certificate_untrusted", "the certificate was not issued by a trusted CA")

    def _check_signature(self, cert: Certificate, algorithm: Algorithm, signature: bytes, nonce: str) -> None:
        key = cert.public_key()
        data = signed_data(self.origin, nonce, algorithm)
        try:
            if algorithm.kind == "ES":
                if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != EC_CURVE_FOR[algorithm.name]:
                    raise ProofInvalid("algorithm_mismatch", f"{algorithm.name} does not fit the certificate's key")
                size = (key.curve.key_size + 7) // 8
                if len(signature) != 2 * size:
                    raise ProofInvalid("signature_malformed", f"an {algorithm.name} signature is {2 * size} bytes")
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                key.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(algorithm.new_hash()))
            else:
                if not isinstance(key, rsa.RSAPublicKey):
                    raise ProofInvalid("algorithm_mismatch", f"{algorithm.name} does not fit the certificate's key")
                pad: padding.AsymmetricPadding = (
                    padding.PSS(mgf=padding.MGF1(algorithm.new_hash()), salt_length=algorithm.new_hash().digest_size)
                    if algorithm.kind == "PS"
                    else padding.PKCS1v15()
                )
                key.verify(signature, data, pad, algorithm.new_hash())
        except InvalidSignature:
            raise ProofInvalid(
                "signature_invalid",
                "the signature does not match this origin and nonce (wrong origin, another nonce, or altered)",
            ) from None
