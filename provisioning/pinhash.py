"""Hashing of the host staff's PIN, as stored in configuration (``staff.pin_hash``).

scrypt from the standard library: memory-hard, so a copied configuration does not give the PIN away
cheaply; a staff PIN is short, which is why the kiosk also locks staff mode after repeated failures.
Format: ``scrypt$<n>$<r>$<p>$<salt-b64>$<hash-b64>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_N, _R, _P, _LEN = 16384, 8, 1, 32


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A storable hash of ``pin`` (digits only, 4–12 of them)."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a staff PIN is 4 to 12 digits")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored``; a malformed ``stored`` never matches."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        digest = hashlib.scrypt(
            pin.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)
