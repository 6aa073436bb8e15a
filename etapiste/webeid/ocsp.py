"""Revocation of a citizen certificate, asked of the issuing CA's OCSP responder (RFC 6960).

Why: a card reported lost or stolen is revoked by DVV at once, but its certificate stays inside its validity
period for years; whoever holds the card and knows its PIN1 would still be identified as its holder. Only
the CA's responder knows. So after a token has passed every other check, :class:`OcspChecker` asks the
responder named in the certificate's Authority Information Access (test cards:
``http://ocsptest.fineid.fi/<ca>``), or a configured one, about exactly this certificate, and the
identification fails closed with one of two reasons the agent can act on:

- ``revoked``: the card has been revoked (lost, stolen, replaced): it must not identify anyone;
- ``revocation_unknown``: the card's validity could not be checked (no responder named, the responder is
  unreachable, too slow, answers ``unknown`` or something that does not verify): ask again later or use
  another means of identification.

How the answer is trusted: the request carries a fresh 32-byte nonce (RFC 8954) that the response must
echo (configurable, for responders that pre-sign their answers; then ``thisUpdate`` must be recent); the
response must be signed by the issuing CA itself or by a delegated responder certificate that this CA
issued with id-kp-OCSPSigning (RFC 6960 §4.2.2.2), must be about this certificate (issuer name and key
hash, serial), and its ``thisUpdate``/``nextUpdate`` must fit the clock within the allowed skew.

Why the response is split by hand: DVV's ECC CAs write ECDSA signature algorithms with NULL parameters,
and a responder certificate they issue carries that quirk inside the response. ``cryptography`` refuses to
load an OCSP response with such a certificate in it at all (as it refuses the certificate alone; see
:mod:`etapiste.webeid.certificate`). So the BasicOCSPResponse is split with the same small DER reader, its
certificates are read with :func:`etapiste.webeid.certificate.load_certificate`, the signature is checked over the
original ``tbsResponseData`` bytes, and ``cryptography`` parses only the response data (status, times,
nonce), from a copy without the certificates.

Why a bounded stdlib HTTP client in the caller's thread (not aiohttp): the validator is synchronous (the
switchboard runs it in an executor thread; the card CLI runs it directly), OCSP over HTTP is one small
POST, and the limit must hold for everything (DNS, connect, TLS, a responder that trickles bytes): the
request runs in a daemon thread the caller waits for at most ``timeout_s``, every socket operation gets
only the time left, and the answer is capped at 64 KiB. Answers ``good`` and ``revoked`` are cached for
``cache_s`` (never beyond ``nextUpdate``); failures are never cached, so asking again right after a
responder's hiccup asks the responder again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from etapiste.codes import RevocationCode
from etapiste.webeid.certificate import (
    ECDSA_SIGNATURES,
    RSA_SIGNATURES,
    Certificate,
    Tlv,
    der,
    der_items,
    load_certificate,
    oid_text,
    read_extensions,
)

__all__ = [
    "CertificateRevoked",
    "OcspChecker",
    "OcspSettings",
    "RevocationError",
    "RevocationUnknown",
    "extension_values",
    "ocsp_urls",
]

log = logging.getLogger(__name__)

OID_AIA = "1.3.6.1.5.5.7.1.1"
OID_AD_OCSP = "1.3.6.1.5.5.7.48.1"
OID_OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1"
OID_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9"
MAX_RESPONSE = 64 * 1024
NONCE_BYTES = 32
RESPONSE_STATUS = {
    0: "successful",
    1: "malformedRequest",
    2: "internalError",
    3: "tryLater",
    5: "sigRequired",
    6: "unauthorized",
}

Clock = Callable[[], dt.datetime]
#: (url, DER request, timeout in seconds) → DER response; the default is :func:`post`.
Fetch = Callable[[str, bytes, float], bytes]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- what the certificate says ----------------------------------------------------------------------------------
def extension_values(cert: Certificate) -> dict[str, bytes]:
    """Each extension's OID → its DER value, read from the original TBS bytes (``cryptography`` raises on
    ``extensions`` of FINEID certificates, see :mod:`etapiste.webeid.certificate`). ``ValueError`` if malformed."""
    (tbs,) = der_items(cert.tbs)
    block = next((t for t in der_items(tbs.content) if t.tag == 0xA3), None)
    if block is None:
        return {}
    (seq,) = der_items(block.content)
    values: dict[str, bytes] = {}
    for ext in der_items(seq.content):
        fields = der_items(ext.content)
        if ext.tag != 0x30 or len(fields) < 2 or fields[0].tag != 0x06 or fields[-1].tag != 0x04:
            raise ValueError("malformed extension")
        values[oid_text(fields[0].content)] = fields[-1].content
    return values


def ocsp_urls(cert: Certificate) -> list[str]:
    """The OCSP responders the certificate's Authority Information Access names (http/https only)."""
    value = extension_values(cert).get(OID_AIA)
    if value is None:
        return []
    (seq,) = der_items(value)
    urls: list[str] = []
    for access in der_items(seq.content):
        method, location = der_items(access.content)
        if oid_text(method.content) == OID_AD_OCSP and location.tag == 0x86:  # [6] uniformResourceIdentifier
            url = location.content.decode("ascii", "replace")
            if urlsplit(url).scheme in ("http", "https"):
                urls.append(url)
    return urls


# -- outcomes ----------------------------------------------------------------------------------------------------
class RevocationError(Exception):
    """The identification must fail; ``reason`` is the code for the desk, ``message`` says why (no personal
    data: no name, no SATU, no serial number)."""

    reason: RevocationCode = "revocation_unknown"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.reason}: {message}")
        self.message = message


class CertificateRevoked(RevocationError):
    """The CA says the certificate is revoked: the card has been reported lost, stolen or replaced."""

    reason: RevocationCode = "revoked"


class RevocationUnknown(RevocationError):
    """Whether the certificate is revoked could not be found out."""

    reason: RevocationCode = "revocation_unknown"


@dataclass(frozen=True)
class OcspSettings:
    """How revocation is checked (the switchboard's ``identity.ocsp`` configuration)."""

    required: bool = True
    """Fail closed when the status cannot be found out. When false, such a proof is accepted and a warning
    is logged; a certificate the responder says is revoked is refused either way."""
    responder_url: str | None = None
    """Ask this responder instead of the one the certificate's AIA names."""
    timeout_s: float = 5.0
    cache_s: float = 60.0
    require_nonce: bool = True
    """The response must echo our nonce (Web eID's default). When false a response without one is taken
    if its ``thisUpdate`` is at most ``max_age_s`` old (for responders that pre-sign their answers)."""
    max_age_s: float = 300.0
    skew_s: float = 900.0
    """Clock difference tolerated between us and the responder (Web eID allows 15 minutes)."""


@dataclass(frozen=True)
class _Cached:
    revoked: str | None  # None: good; else the message
    until: dt.datetime


# -- the checker ---------------------------------------------------------------------------------------------------
class OcspChecker:
    """Asks the CA's responder whether a certificate is revoked. Thread-safe; one per validator."""

    def __init__(self, settings: OcspSettings | None = None, clock: Clock = utc_now, fetch: Fetch | None = None):
        self.settings = settings or OcspSettings()
        self.clock = clock
        self.fetch: Fetch = fetch or post
        self._lock = threading.Lock()
        self._cache: dict[tuple[bytes, int], _Cached] = {}

    def check(self, cert: Certificate, issuer: Certificate) -> str:
        """``"good"``, or ``"unchecked"`` when the status could not be found out and it is not required;
        raises :class:`CertificateRevoked`, or :class:`RevocationUnknown` when it is required."""
        try:
            self._check(cert, issuer)
        except RevocationUnknown as exc:
            if self.settings.required:
                raise
            log.warning("revocation not checked (not required by the configuration): %s", exc.message)
            return "unchecked"
        return "good"

    def _check(self, cert: Certificate, issuer: Certificate) -> None:
        name_hash, key_hash = _issuer_hashes(issuer, hashes.SHA1())
        serial = cert.x509.serial_number
        now = self.clock()
        key = (key_hash, serial)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now >= cached.until:
                del self._cache[key]
                cached = None
        if cached is not None:
            if cached.revoked is not None:
                raise CertificateRevoked(cached.revoked)
            return

        url = self.settings.responder_url or next(iter(_safe_urls(cert)), None)
        if url is None:
            raise RevocationUnknown("the certificate names no OCSP responder and none is configured")
        nonce = os.urandom(NONCE_BYTES)
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        host = urlsplit(url).hostname or url
        try:
            raw = self.fetch(url, request, self.settings.timeout_s)
        except TimeoutError:
            raise RevocationUnknown(
                f"the OCSP responder {host} did not answer within {self.settings.timeout_s:g} s"
            ) from None
        except (OSError, ValueError) as exc:
            raise RevocationUnknown(f"the OCSP responder {host} could not be reached: {exc}") from None
        try:
            revoked, next_update = self._verdict(raw, issuer, name_hash, key_hash, serial, nonce, self.clock())
        except ValueError as exc:  # anything unparseable is as good as no answer
            raise RevocationUnknown(f"the OCSP response from {host} is not usable: {exc}") from None
        until = now + dt.timedelta(seconds=self.settings.cache_s)
        if next_update is not None:
            until = min(until, next_update)
        if self.settings.cache_s > 0:
            with self._lock:
                self._cache[key] = _Cached(revoked, until)
        if revoked is not None:
            raise CertificateRevoked(revoked)

    def _verdict(
        self,
        raw: bytes,
        issuer: Certificate,
        name_hash: bytes,
        key_hash: bytes,
        serial: int,
        nonce: bytes,
        now: dt.datetime,
    ) -> tuple[str | None, dt.datetime | None]:
        """``(None, nextUpdate)`` for good, ``(message, nextUpdate)`` for revoked; ``RevocationUnknown`` or
        ``ValueError`` for anything else."""
        status, basic = _split_response(raw)
        if basic is None:
            raise RevocationUnknown(f"the OCSP responder answered {RESPONSE_STATUS.get(status, status)!r}")
        tbs, alg, signature, certs, normalised = basic
        if not any(_signed_by(tbs, alg, signature, signer) for signer in self._signers(issuer, certs, now)):
            raise RevocationUnknown("the OCSP response is not signed by the CA or a responder it authorised")
        response = ocsp.load_der_ocsp_response(normalised)
        single = next(
            (
                r
                for r in response.responses
                if r.serial_number == serial
                and isinstance(r.hash_algorithm, hashes.SHA1)
                and r.issuer_key_hash == key_hash
                and r.issuer_name_hash == name_hash
            ),
            None,
        )
        if single is None:
            raise RevocationUnknown("the OCSP response is not about this certificate")
        echoed = next((e.value.nonce for e in response.extensions if isinstance(e.value, x509.OCSPNonce)), None)
        skew = dt.timedelta(seconds=self.settings.skew_s)
        this_update, next_update = single.this_update_utc, single.next_update_utc
        if echoed is not None and echoed != nonce:
            raise RevocationUnknown("the OCSP response answers another request (nonce mismatch)")
        if echoed is None:
            if self.settings.require_nonce:
                raise RevocationUnknown("the OCSP response does not echo the request's nonce")
            if this_update < now - skew - dt.timedelta(seconds=self.settings.max_age_s):
                raise RevocationUnknown(f"the OCSP response is stale (produced {this_update:%Y-%m-%d %H:%M} UTC)")
        if this_update > now + skew:
            raise RevocationUnknown("the OCSP response is dated in the future (check the clocks)")
        if next_update is not None and next_update < now - skew:
            raise RevocationUnknown(f"the OCSP response expired at {next_update:%Y-%m-%d %H:%M} UTC")
        if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return None, next_update
        if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            when = single.revocation_time_utc
            why = single.revocation_reason.value if single.revocation_reason is not None else "unspecified"
            stamp = f"{when:%Y-%m-%d}" if when is not None else "an unknown date"
            return f"the card's certificate was revoked on {stamp} ({why})", next_update
        raise RevocationUnknown("the OCSP responder does not know this certificate (status 'unknown')")

    @staticmethod
    def _signers(issuer: Certificate, certs: list[Certificate], now: dt.datetime) -> list[Certificate]:
        """Who may sign the answer: the issuing CA, or a certificate it issued for OCSP signing that is
        valid now (RFC 6960 §4.2.2.2). A certificate in the response is trusted for nothing else."""
        signers = [issuer]
        for cert in certs:
            try:
                eku = read_extensions(cert).extended_key_usage
            except (ValueError, IndexError):
                continue
            if (
                cert.x509.issuer == issuer.x509.subject
                and cert.is_signed_by(issuer)
                and eku is not None
                and OID_OCSP_SIGNING in eku
                and cert.not_before <= now <= cert.not_after
            ):
                signers.append(cert)
        return signers


def _safe_urls(cert: Certificate) -> list[str]:
    try:
        return ocsp_urls(cert)
    except ValueError:
        return []


def _issuer_hashes(issuer: Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """CertID's issuerNameHash (over the CA's subject exactly as encoded in its certificate) and
    issuerKeyHash (over its subjectPublicKey bits)."""
    (tbs,) = der_items(issuer.tbs)
    fields = der_items(tbs.content)
    offset = 1 if fields and fields[0].tag == 0xA0 else 0  # [0] version
    subject = fields[offset + 4].raw  # serial, signature, issuer, validity, subject
    spki = issuer.x509.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (spki_seq,) = der_items(spki)
    bits = der_items(spki_seq.content)[1].content[1:]
    name = hashlib.new(algorithm.name, subject).digest()
    key = hashlib.new(algorithm.name, bits).digest()
    return name, key


def _without_ecdsa_null(alg: Tlv) -> bytes:
    parts = der_items(alg.content)
    if len(parts) == 2 and parts[1].raw == b"\x05\x00" and oid_text(parts[0].content) in ECDSA_SIGNATURES:
        return der(0x30, parts[0].raw)
    return alg.raw


def _split_response(raw: bytes) -> tuple[int, tuple[bytes, str, bytes, list[Certificate], bytes] | None]:
    """(responseStatus, None) or (0, (tbsResponseData, signature OID, signature, certificates, a copy of
    the response without certificates and with NULL ECDSA parameters dropped, for ``cryptography``))."""
    (outer,) = der_items(raw)
    parts = der_items(outer.content)
    if outer.tag != 0x30 or not parts or parts[0].tag != 0x0A or len(parts[0].content) != 1:
        raise ValueError("not an OCSP response")
    status = parts[0].content[0]
    if status != 0:
        return status, None
    if len(parts) != 2 or parts[1].tag != 0xA0:
        raise ValueError("a successful OCSP response without a response")
    (response_bytes,) = der_items(parts[1].content)
    kind, octets = der_items(response_bytes.content)
    if oid_text(kind.content) != OID_OCSP_BASIC or octets.tag != 0x04:
        raise ValueError("not a basic OCSP response")
    (basic,) = der_items(octets.content)
    fields = der_items(basic.content)
    if len(fields) not in (3, 4) or fields[0].tag != 0x30 or fields[1].tag != 0x30 or fields[2].tag != 0x03:
        raise ValueError("malformed BasicOCSPResponse")
    tbs, alg, bits = fields[:3]
    if not bits.content or bits.content[0] != 0:
        raise ValueError("malformed signature")
    certs: list[Certificate] = []
    if len(fields) == 4:
        if fields[3].tag != 0xA0:
            raise ValueError("malformed BasicOCSPResponse")
        (seq,) = der_items(fields[3].content)
        certs = [load_certificate(c.raw) for c in der_items(seq.content)]
    algorithm = oid_text(der_items(alg.content)[0].content)
    plain = der(0x30, tbs.raw + _without_ecdsa_null(alg) + bits.raw)
    normalised = der(0x30, parts[0].raw + der(0xA0, der(0x30, kind.raw + der(0x04, plain))))
    return 0, (tbs.raw, algorithm, bits.content[1:], certs, normalised)


def _signed_by(tbs: bytes, algorithm: str, signature: bytes, signer: Certificate) -> bool:
    key = signer.x509.public_key()
    try:
        if algorithm in ECDSA_SIGNATURES and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, tbs, ec.ECDSA(ECDSA_SIGNATURES[algorithm]()))
            return True
        if algorithm in RSA_SIGNATURES and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, tbs, padding.PKCS1v15(), RSA_SIGNATURES[algorithm]())
            return True
    except InvalidSignature:
        return False
    return False


# -- HTTP ------------------------------------------------------------------------------------------------------------
def post(url: str, body: bytes, timeout: float) -> bytes:
    """POST an OCSP request (RFC 6960 appendix A.1) and return the response body, all within ``timeout``
    seconds: ``TimeoutError`` when the time is up whatever the responder was doing (DNS included),
    ``OSError``/``ValueError`` for a refused connection or a non-200 answer."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    deadline = time.monotonic() + timeout
    holder: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            holder["result"] = _exchange(
                parts.scheme, parts.hostname or "", parts.port, parts.path or "/", body, deadline, holder
            )
        except BaseException as exc:  # handed to the caller
            holder["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="ocsp-fetch", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        sock = holder.get("socket")
        if isinstance(sock, socket.socket):  # unblock the worker; it ends on its own
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise TimeoutError(f"no answer within {timeout:g} s")
    error = holder.get("error")
    if isinstance(error, BaseException):
        raise error
    result = holder["result"]
    assert isinstance(result, bytes)
    return result


def _exchange(
    scheme: str, host: str, port: int | None, path: str, body: bytes, deadline: float, holder: dict[str, object]
) -> bytes:
    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer in time")
        return remaining

    sock: socket.socket = socket.create_connection((host, port or (443 if scheme == "https" else 80)), left())
    holder["socket"] = sock
    try:
        if scheme == "https":
            sock.settimeout(left())
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            holder["socket"] = sock
        hostport = host if port is None else f"{host}:{port}"
        head = (
            f"POST {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/ocsp-request\r\n"
            f"Accept: application/ocsp-response\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.settimeout(left())
        sock.sendall(head.encode("ascii") + body)
        data = bytearray()
        while True:
            sock.settimeout(left())
            chunk = sock.recv(16384)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_RESPONSE + 8192:
                raise ValueError("the OCSP response is too large")
    finally:
        sock.close()
    header, sep, content = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no HTTP answer" if not data else "a truncated HTTP answer")
    lines = header.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/"):
        raise ValueError("not an HTTP answer")
    if status[1] != "200":
        raise ValueError(f"HTTP {' '.join(status[1:])}")
    length = next(
        (v.strip() for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length"), None
    )
    if length is not None:
        if not length.isdigit() or int(length) > len(content):
            raise ValueError("a truncated HTTP answer")
        content = content[: int(length)]
    if len(content) > MAX_RESPONSE:
        raise ValueError("the OCSP response is too large")
    return content
