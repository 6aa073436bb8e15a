"""The identity proof: a Web eID 1.0 authentication token, how it is built and how it is validated.

Pure Python on ``cryptography`` only (no PC/SC): the kiosk builds tokens with it and the switchboard
validates them with it.

The token (JSON) is ``{"unverifiedCertificate", "algorithm", "signature", "format": "web-eid:1.0",
"appVersion"}`` with the DER certificate and the signature in standard Base64. The card signs
``H(origin) ‖ H(nonce)`` where H is the algorithm's hash; ECDSA signatures are raw ``r ‖ s``. This is the
format the Web eID app produces, so tokens from real FINEID cards through Web eID validate here, and ours
validate with the Web eID validation libraries (Java, .NET, PHP).

Validation (``ProofValidator.validate``) checks, in order, and stops at the first failure with a precise
``ProofInvalid.reason``: size, JSON shape, format, algorithm, the nonce (single use, TTL), certificate
validity at the injected clock's time, key usage (digitalSignature; clientAuth when an EKU is present),
the chain to a configured trusted CA, the certificate policy against the configured allow-list (when
given), the algorithm against the key, the signature (RSASSA-PSS with the JOSE salt length, the hash's size),
and last, once everything else holds, revocation at the CA's OCSP responder (when an
:class:`drivers.ocsp.OcspChecker` is given: ``revoked`` or ``revocation_unknown``; asked last so that no
junk token makes the switchboard query DVV). The nonce is used up by the first well-formed attempt,
successful or not, so no token can be tried twice against it (the agent simply asks again).

Genuine FINEID authentication certificates carry no extended key usage at all, so clientAuth is required
only when an EKU is present (as the Web eID validators do): requiring it always would refuse every real
card. Their policies are in DVV's arcs: test cards ``1.2.246.517.99.10.<n>.1``, production cards under
``1.2.246.517.1.10``; the allow-list takes exact OIDs or an arc written ``<arc>.*``.

Certificates are read with ``drivers.certificate``, which copes with what genuine FINEID certificates
carry (ECDSA signature algorithms with NULL parameters, an explicit ``cA FALSE``) where ``cryptography``
alone refuses them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from drivers.certificate import (
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
from drivers.ocsp import OcspChecker, RevocationError, extension_values

__all__ = [
    "ALGORITHMS",
    "FORMAT",
    "AuthToken",
    "Certificate",
    "Holder",
    "NonceStore",
    "ProofInputError",
    "ProofInvalid",
    "ProofValidator",
    "algorithm_for_key",
    "certificate_policies",
    "check_nonce",
    "check_origin",
    "check_policy_pattern",
    "digest_to_sign",
    "holder_of",
    "is_loopback_host",
    "load_certificate",
    "load_trusted",
    "same_origin",
    "signed_data",
    "switchboard_origin",
]

FORMAT = "web-eid:1.0"
APP_VERSION = "etapiste/0.1.0"
TOKEN_MIN, TOKEN_MAX = 100, 10_000
NONCE_TTL = dt.timedelta(minutes=5)
NONCE_MIN, NONCE_MAX = 44, 128

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Algorithm:
    """A JOSE signature algorithm as Web eID uses it."""

    name: str
    kind: str  # "ES", "PS" or "RS"
    hash: type[hashes.HashAlgorithm]

    def new_hash(self) -> hashes.HashAlgorithm:
        return self.hash()


ALGORITHMS: dict[str, Algorithm] = {
    f"{kind}{bits}": Algorithm(f"{kind}{bits}", kind, h)
    for kind in ("ES", "PS", "RS")
    for bits, h in ((256, hashes.SHA256), (384, hashes.SHA384), (512, hashes.SHA512))
}
EC_CURVE_FOR = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


def algorithm_for_key(public_key: object) -> Algorithm:
    """The algorithm a FINEID authentication key signs with: PS256 for RSA (v3), ES256/384/512 by curve."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return ALGORITHMS["PS256"]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        for name, curve in EC_CURVE_FOR.items():
            if public_key.curve.name == curve:
                return ALGORITHMS[name]
    raise ValueError(f"no Web eID algorithm for a {type(public_key).__name__} key")


class ProofInputError(ValueError):
    """An origin or a nonce that no Web eID token can be made or checked for.

    The kiosk and the switchboard hand these values over (the switchboard's configured origin, the nonce it
    issued); neither holds anything of a customer, so the message may name the value and be logged."""


#: Hosts a browser counts as a secure context over plain http (W3C Secure Contexts, "potentially
#: trustworthy origin"): only the machine itself.
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1``: traffic that never leaves the machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_origin(origin: str) -> str:
    """An origin as Web eID signs it: ``https://host[:port]``, no path, no trailing slash.

    Plain ``http://`` is accepted for loopback hosts only (``localhost``, 127.0.0.0/8, ``::1``). This is
    the W3C Secure Contexts rule that browsers apply, under which the Web eID extension itself works on
    ``http://localhost``: nothing on the wire can be read or changed there, so the origin is as
    trustworthy as an https one. It lets a switchboard on one machine (the demo, development) take
    proofs; every other host still needs https, because a proof bound to an http origin could be
    relayed by anyone on the path. The kiosk (before the card signs) and the switchboard (its configured
    origin, and each validation) both check with this one function, so they cannot disagree.
    """
    parts = urlsplit(origin)
    try:
        port_ok = parts.port is not None or ":" not in parts.netloc.rsplit("]", 1)[-1]
    except ValueError:
        port_ok = False
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname is not None and is_loopback_host(parts.hostname)
    )
    if (
        not secure
        or not parts.hostname
        or not port_ok
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or origin != origin.strip()
    ):
        raise ProofInputError(
            f"not an https origin (https://host[:port], no path; http only for localhost, 127.0.0.0/8, ::1): "
            f"{origin!r}"
        )
    return origin


def switchboard_origin(url: str) -> str:
    """The origin a point signs identity proofs for: derived from the switchboard URL it is configured to
    reach (``wss://host[:port]/…`` → ``https://host[:port]``; ``ws://`` → ``http://``, loopback only), never
    from what the switchboard says. Host in lower case, the scheme's default port left out, as browsers
    write origins. ``ProofInputError`` for a URL no trustworthy origin follows from (``ws://`` off the
    machine, userinfo, no host); :func:`check_origin` decides, so the point, its configuration check and
    the switchboard apply one rule."""
    parts = urlsplit(url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme)
    rule = "the switchboard URL must be wss://host[:port]/… (ws:// only for a switchboard on this machine: "
    rule += "localhost, 127.0.0.0/8, ::1)"
    try:
        port = parts.port
    except ValueError:
        raise ProofInputError(f"{rule}; the port is not valid: {url!r}") from None
    if scheme is None or not parts.hostname or parts.username or parts.password:
        raise ProofInputError(f"{rule}: {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if scheme == "https" else 80
    origin = f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"
    try:
        return check_origin(origin)
    except ProofInputError:
        raise ProofInputError(f"{rule}: {url!r}") from None


def same_origin(a: str, b: str) -> bool:
    """Do two origins name the same site (scheme, host in any case, port with the default written or not)?"""

    def key(origin: str) -> tuple[str, str, int] | None:
        parts = urlsplit(origin)
        try:
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            return None
        return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)

    return key(a) is not None and key(a) == key(b)


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


def check_nonce(nonce: str) -> str:
    if not isinstance(nonce, str) or not NONCE_MIN <= len(nonce) <= NONCE_MAX or not nonce.isascii():
        raise ProofInputError(f"a nonce is {NONCE_MIN}–{NONCE_MAX} ASCII characters")
    return nonce


def signed_data(origin: str, nonce: str, algorithm: Algorithm) -> bytes:
    """What the card signs: H(origin) ‖ H(nonce), each as UTF-8."""

    def digest(text: str) -> bytes:
        h = hashes.Hash(algorithm.new_hash())
        h.update(text.encode("utf-8"))
        return h.finalize()

    return digest(origin) + digest(nonce)


def digest_to_sign(origin: str, nonce: str, algorithm: Algorithm) -> bytes:
    """The hash handed to the card (it signs a host-computed hash): H(H(origin) ‖ H(nonce))."""
    h = hashes.Hash(algorithm.new_hash())
    h.update(signed_data(origin, nonce, algorithm))
    return h.finalize()


@dataclass(frozen=True)
class AuthToken:
    """A Web eID 1.0 authentication token."""

    certificate: bytes  # DER
    algorithm: str
    signature: bytes  # raw r‖s for ECDSA
    format: str = FORMAT
    app_version: str = APP_VERSION

    def to_dict(self) -> dict[str, str]:
        return {
            "unverifiedCertificate": base64.b64encode(self.certificate).decode("ascii"),
            "algorithm": self.algorithm,
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "format": self.format,
            "appVersion": self.app_version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


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
                    raise ProofInvalid("nonce-used", "this nonce has been used already (replayed token?)")
                raise ProofInvalid("nonce-unknown", "this nonce was not issued here (or long expired)")
            self._used[nonce] = expiry
        if now > expiry:
            raise ProofInvalid("nonce-expired", f"the nonce expired (it is valid for {self.ttl})")

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)


# -- validation ---------------------------------------------------------------------------------------------
class ProofInvalid(Exception):
    """A token was refused. ``reason`` is a stable code (for the desk and logs), ``message`` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def load_trusted(pems: Iterable[bytes]) -> list[Certificate]:
    """Trusted CA certificates from PEM files (DVV's own CA certificates carry the same quirks)."""
    certs: list[Certificate] = []
    for pem in pems:
        certs.extend(load_pem_certificates(pem))
    return certs


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProofInvalid(f"{what}-malformed", f"{what} is not standard Base64") from None


class ProofValidator:
    """Validates Web eID 1.0 tokens for one site ``origin`` against ``trusted`` CA certificates."""

    def __init__(
        self,
        origin: str,
        trusted: Iterable[Certificate],
        nonces: NonceStore,
        clock: Clock = utc_now,
        policies: Iterable[str] | None = None,
        revocation: OcspChecker | None = None,
    ) -> None:
        """``policies``: the certificate policy allow-list (``None``: not checked); ``revocation``: the OCSP
        checker (``None``: not checked). The switchboard always gives both from its configuration; tools
        and tests that only need the signature and the chain leave them out."""
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
            raise ProofInvalid("token-size", f"a token is {TOKEN_MIN}–{TOKEN_MAX} bytes, this one {len(raw)}")
        fields = self._parse(raw)
        if not fields["format"].startswith("web-eid:1"):
            raise ProofInvalid("token-format", f"unsupported format {fields['format'][:40]!r}")
        algorithm = ALGORITHMS.get(fields["algorithm"])
        if algorithm is None:
            raise ProofInvalid("algorithm-unsupported", f"unsupported algorithm {fields['algorithm'][:20]!r}")
        try:
            cert = load_certificate(_b64(fields["unverifiedCertificate"], "certificate"))
        except ProofInvalid:
            raise
        except ValueError:
            raise ProofInvalid("certificate-malformed", "the certificate is not valid DER X.509") from None
        signature = _b64(fields["signature"], "signature")

        self.nonces.consume(nonce)
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
            raise ProofInvalid("token-malformed", "the token is not UTF-8 JSON") from None
        if not isinstance(data, dict):
            raise ProofInvalid("token-malformed", "the token is not a JSON object")
        fields: dict[str, str] = {}
        for key in ("unverifiedCertificate", "algorithm", "signature", "format"):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise ProofInvalid("token-malformed", f"the token has no {key} string")
            fields[key] = value
        return fields

    @staticmethod
    def _check_validity(cert: Certificate, now: dt.datetime, what: str) -> None:
        if now < cert.not_before:
            raise ProofInvalid(f"{what}-not-yet-valid", f"the {what} is valid from {cert.not_before}")
        if now > cert.not_after:
            raise ProofInvalid(f"{what}-expired", f"the {what} expired on {cert.not_after}")

    @staticmethod
    def _check_purpose(cert: Certificate) -> None:
        try:
            ext = read_extensions(cert)
        except (ValueError, IndexError):
            raise ProofInvalid("certificate-malformed", "the certificate's extensions cannot be read") from None
        if ext.key_usage is None or "digitalSignature" not in ext.key_usage:
            raise ProofInvalid("certificate-key-usage", "the certificate's key is not for digital signatures")
        if ext.extended_key_usage is not None and OID_CLIENT_AUTH not in ext.extended_key_usage:
            raise ProofInvalid("certificate-purpose", "the certificate is not for client authentication")
        if ext.is_ca:
            raise ProofInvalid("certificate-purpose", "a CA certificate cannot authenticate a person")

    def _check_policy(self, cert: Certificate) -> None:
        if self.policies is None:
            return
        try:
            held = certificate_policies(cert)
        except (ValueError, IndexError):
            raise ProofInvalid("certificate-malformed", "the certificate's policies cannot be read") from None
        if not any(policy_allowed(oid, self.policies) for oid in held):
            raise ProofInvalid(
                "certificate-policy",
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
        raise ProofInvalid("certificate-untrusted", "the certificate was not issued by a trusted CA")

    def _check_signature(self, cert: Certificate, algorithm: Algorithm, signature: bytes, nonce: str) -> None:
        key = cert.public_key()
        data = signed_data(self.origin, nonce, algorithm)
        try:
            if algorithm.kind == "ES":
                if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != EC_CURVE_FOR[algorithm.name]:
                    raise ProofInvalid("algorithm-mismatch", f"{algorithm.name} does not fit the certificate's key")
                size = (key.curve.key_size + 7) // 8
                if len(signature) != 2 * size:
                    raise ProofInvalid("signature-malformed", f"an {algorithm.name} signature is {2 * size} bytes")
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                key.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(algorithm.new_hash()))
            else:
                if not isinstance(key, rsa.RSAPublicKey):
                    raise ProofInvalid("algorithm-mismatch", f"{algorithm.name} does not fit the certificate's key")
                pad: padding.AsymmetricPadding = (
                    padding.PSS(mgf=padding.MGF1(algorithm.new_hash()), salt_length=algorithm.new_hash().digest_size)
                    if algorithm.kind == "PS"
                    else padding.PKCS1v15()
                )
                key.verify(signature, data, pad, algorithm.new_hash())
        except InvalidSignature:
            raise ProofInvalid(
                "signature-invalid",
                "the signature does not match this origin and nonce (wrong origin, another nonce, or altered)",
            ) from None
