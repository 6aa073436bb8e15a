"""Identity proofs: single-use nonces for the point's card, and validation of the Web eID token it returns.

The cryptography lives in :mod:`drivers.proof` (Web eID 1.0 token validation, shared with the card's
diagnostics); this module only binds it to the switchboard: the configured CA list, the switchboard's
origin, and turning its errors into the reason codes of :class:`etapiste.protocol.IdentityResult`.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etapiste.protocol import WebEidToken


def new_nonce() -> str:
    """32 random bytes in standard Base64 (44 characters), as Web eID expects."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Holder:
    """The verified card holder: shown to the agent only, never logged or stored."""

    given_name: str
    surname: str
    satu: str


class ProofRejected(Exception):
    """The token is not a valid proof; ``reason`` is a stable code for the desk."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


#: (token, nonce, origin, now) → holder, or raises :class:`ProofRejected`.
ProofValidator = Callable[[WebEidToken, str, str, float], Holder]


def load_trusted_cas(files: list[str]) -> list[Any]:
    from cryptography import x509

    cas: list[Any] = []
    for name in files:
        cas += x509.load_pem_x509_certificates(Path(name).read_bytes())
    return cas


def proof_validator(trusted_ca_files: list[str]) -> ProofValidator:
    """The validator of :mod:`drivers.proof` with the configured CAs."""
    proof = importlib.import_module("drivers.proof")  # written beside the card driver

    cas = load_trusted_cas(trusted_ca_files)

    def validate(token: WebEidToken, nonce: str, origin: str, now: float) -> Holder:
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        try:
            result = proof.validate_token(token.model_dump(), nonce=nonce, origin=origin, trusted_cas=cas, now=when)
        except proof.ProofError as exc:
            raise ProofRejected(getattr(exc, "code", "invalid_token"), str(exc)) from None
        return Holder(given_name=result.given_name, surname=result.surname, satu=result.satu)

    return validate
