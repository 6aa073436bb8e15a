"""Hashing of desk passwords (scrypt) and point credentials (SHA-256 of a random token).

Passwords are chosen by people, so they get a memory-hard hash; verifying one costs ~50 ms of CPU, which is
why :mod:`switchboard.web` runs it in a thread and rate-limits logins. A point's credential is 32 random
bytes, unguessable on its own, so a fast hash is enough and keeps reconnect storms cheap.
Format of a password hash: ``scrypt$<n>$<r>$<p>$<salt-b64>$<hash-b64>`` (the same as the staff PIN's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

_N, _R, _P, _LEN = 16384, 8, 1, 32


def hash_password(password: str, *, n: int = _N, salt: bytes | None = None) -> str:
    if len(password) < 10:
        raise ValueError("a desk password has at least 10 characters")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=_R, p=_P, dklen=_LEN)
    b64 = base64.b64encode
    return f"scrypt${n}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; a malformed ``stored`` never matches."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


#: A valid hash of no password, verified when the username is unknown so timing does not reveal names.
DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def new_point_credential() -> str:
    """A fresh credential for a point's ``switchboard.credential_file``."""
    return secrets.token_urlsafe(32)


def hash_point_credential(credential: str) -> str:
    return "sha256$" + hashlib.sha256(credential.encode()).hexdigest()


def verify_point_credential(credential: str, stored: str) -> bool:
    return hmac.compare_digest(hash_point_credential(credential), stored)
