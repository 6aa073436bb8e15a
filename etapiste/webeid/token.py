"""The Web eID 1.0 authentication token's format: its algorithms, its size and nonce limits, and what the
card signs.

The token (JSON) is ``{"unverifiedCertificate", "algorithm", "signature", "format": "web-eid:1.0",
"appVersion"}`` with the DER certificate and the signature in standard Base64. The card signs
``H(origin) ‖ H(nonce)`` where H is the algorithm's hash; ECDSA signatures are raw ``r ‖ s``. This is the
format the Web eID app produces, so tokens from real FINEID cards through Web eID validate here, and ours
validate with the Web eID validation libraries (Java, .NET, PHP). The point builds tokens
(:mod:`drivers.proof`), the switchboard validates them (:mod:`etapiste.webeid.validator`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

from etapiste.webeid.origin import ProofInputError

FORMAT = "web-eid:1.0"
TOKEN_MIN, TOKEN_MAX = 100, 10_000
NONCE_TTL = dt.timedelta(minutes=5)
NONCE_MIN, NONCE_MAX = 44, 128


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
