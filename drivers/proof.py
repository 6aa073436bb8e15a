"""The identity proof as the point builds it: a Web eID 1.0 authentication token for the card to sign.

The card reader (:mod:`drivers.cardreader`) has the card sign :func:`digest_to_sign` with the key
:func:`algorithm_for_key` names and wraps the signature in an :class:`AuthToken`. The format and its
validation are the kernel's (:mod:`etapiste.webeid`), shared with the switchboard, which imports no driver.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from etapiste.webeid.token import ALGORITHMS, EC_CURVE_FOR, FORMAT, Algorithm, signed_data

APP_VERSION = "etapiste/0.1.0"


def algorithm_for_key(public_key: object) -> Algorithm:
    """The algorithm a FINEID authentication key signs with: PS256 for RSA (v3), ES256/384/512 by curve."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return ALGORITHMS["PS256"]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        for name, curve in EC_CURVE_FOR.items():
            if public_key.curve.name == curve:
                return ALGORITHMS[name]
    raise ValueError(f"no Web eID algorithm for a {type(public_key).__name__} key")


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
