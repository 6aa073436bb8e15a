"""scrypt hashes of secrets people choose: the host staff's PIN and the agents' desk passwords.

One implementation of the format ``<scheme>$<n>$<r>$<p>$<salt-b64>$<hash-b64>`` and of the constant-time
check; each caller keeps its own scheme name and cost, because the two secrets differ: a staff PIN is
checked on the kiosk (``scrypt-min6``, n=2^14, see :mod:`etapiste.staffpin`), a desk password on the
switchboard's own threads (``scrypt``, n=2^17, see :mod:`switchboard.credentials`). A stored hash carries
its parameters, so hashes made with an older cost keep verifying with the cost they were made with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

#: Length of a new hash's digest in bytes.
DIGEST_BYTES = 32


@dataclass(frozen=True)
class ScryptHash:
    """A parsed ``scheme$n$r$p$salt$hash`` string."""

    scheme: str
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @property
    def cost(self) -> str:
        """``n$r$p``: hashes with equal cost take equally long to check."""
        return f"{self.n}${self.r}${self.p}"

    def __str__(self) -> str:
        b64 = base64.b64encode
        return f"{self.scheme}${self.cost}${b64(self.salt).decode()}${b64(self.digest).decode()}"


def make_hash(secret: str, *, scheme: str, n: int, r: int, p: int, salt: bytes | None = None, maxmem: int = 0) -> str:
    """A storable hash of ``secret`` with a fresh 16-byte salt (or ``salt``, for tests and fixed dummies)."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=DIGEST_BYTES, maxmem=maxmem)
    return str(ScryptHash(scheme, n, r, p, salt, digest))


def parse_hash(stored: str, schemes: tuple[str, ...], *, strict: bool = True) -> ScryptHash:
    """The parts of ``stored``; ``ValueError`` when it is not of the form ``scheme$n$r$p$salt$hash`` with one of
    ``schemes``. ``strict`` refuses characters outside Base64's alphabet (``False`` skips them, as the staff
    PIN's check always did). Bounds on the cost are the caller's: they differ by secret."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] not in schemes:
        raise ValueError(f"not of the form {schemes[0]}$n$r$p$salt$hash")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.b64decode(parts[4], validate=strict), base64.b64decode(parts[5], validate=strict)
    except (ValueError, binascii.Error):
        raise ValueError("n, r, p must be numbers and salt and hash Base64") from None
    return ScryptHash(parts[0], n, r, p, salt, digest)


def matches(secret: str, stored: ScryptHash, *, maxmem: int) -> bool:
    """Whether ``secret`` hashes to ``stored`` with the parameters it carries (compared in constant time).
    Parameters scrypt refuses, or that need more than ``maxmem`` bytes, never match."""
    try:
        digest = hashlib.scrypt(
            secret.encode(), salt=stored.salt, n=stored.n, r=stored.r, p=stored.p,
            dklen=len(stored.digest), maxmem=maxmem,
        )
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(digest, stored.digest)
