"""Identity proofs: single-use nonces for the point's card, and validation of the Web eID token it returns.

The cryptography lives in the kernel's :mod:`etapiste.webeid` (Web eID 1.0 token validation, pure Python
on ``cryptography``, shared with the point, which builds the tokens); this module only binds it to the
switchboard: the
configured CA list, the policy allow-list and the OCSP settings (``identity`` in the configuration), the
switchboard's origin, and its reasons as :class:`etapiste.protocol.IdentityResult` reason codes
(``revoked`` and ``revocation_unknown`` among them: see docs/protocol.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from etapiste.codes import ProofRefusalCode
from etapiste.protocol import WebEidToken
from etapiste.webeid import ocsp
from etapiste.webeid.certificate import Holder
from etapiste.webeid.validator import ProofInvalid, load_trusted
from etapiste.webeid.validator import ProofValidator as WebEidValidator

if TYPE_CHECKING:
    from switchboard.config import Identity


def new_nonce() -> str:
    """32 random bytes in standard Base64 (44 characters), as Web eID expects."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


class ProofRejected(Exception):
    """The token is not a valid proof; ``reason`` is its code for the desk (``identity.result``'s)."""

    def __init__(self, reason: ProofRefusalCode, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


#: (token, nonce, origin, now) → the verified card holder (shown to the agent only, never logged or stored), or
#: raises :class:`ProofRejected`.
ProofValidator = Callable[[WebEidToken, str, str, float], Holder]


def proof_validator(trusted_ca_files: list[str], identity: Identity | None = None) -> ProofValidator:
    """The Web eID validator of :mod:`etapiste.webeid.validator` with the configured CAs and, from ``identity`` (the
    configuration's ``identity`` section, which the switchboard always passes), the certificate policy
    allow-list and the revocation check at the CA's OCSP responder. Without ``identity`` (tests and tools
    that only need the signature and the chain) neither is checked.

    The OCSP checker, and so its short answer cache, lives as long as the validator (the switchboard's
    process). It runs on real time, not the hub's clock: the responder's answers carry real time stamps.

    The hub has already checked the nonce (single use, bound to the call, not expired) against its shared
    state, so the validator takes the parsed token and that nonce as they are (no nonce store of its own);
    all cryptographic checks (chain, validity, purpose, origin, signature) are its own.
    The validator's reason codes (:data:`etapiste.codes.ProofRefusalCode`) are passed on as they are.
    """
    trusted = load_trusted(Path(name).read_bytes() for name in trusted_ca_files)
    policies = list(identity.policies) if identity is not None else None
    revocation = None
    if identity is not None:
        settings = identity.ocsp
        revocation = ocsp.OcspChecker(
            ocsp.OcspSettings(
                required=settings.required,
                responder_url=settings.responder_url,
                timeout_s=settings.timeout_s,
                cache_s=settings.cache_s,
                require_nonce=settings.require_nonce,
                max_age_s=settings.max_age_s,
            )
        )

    def validate(token: WebEidToken, nonce: str, origin: str, now: float) -> Holder:
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        try:
            validator = WebEidValidator(
                origin, trusted, None, clock=lambda: when, policies=policies, revocation=revocation
            )
            return validator.validate_parsed(token, nonce)
        except ProofInvalid as exc:
            raise ProofRejected(exc.reason, exc.message) from None
        except ValueError as exc:
            raise ProofRejected("token_malformed", str(exc)) from None

    return validate
