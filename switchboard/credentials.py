"""Hashing of desk passwords (scrypt) and point credentials (SHA-256 of a random token).

Passwords are chosen by people, so they get a memory-hard hash: new ones cost n=2^17 (128 MiB and about
half a second of one core per check), which is why :mod:`switchboard.web` checks them on its own two
threads and counts every attempt before checking it. Hashes made earlier with a smaller ``n`` keep
verifying with the parameters they carry, so deployed configurations keep working; re-hash them with
``etapiste switchboard hash-password`` when convenient. A point's credential is 32 random bytes,
unguessable on its own, so a fast hash is enough and keeps reconnect storms cheap.
Format of a password hash: ``scrypt$<n>$<r>$<p>$<salt-b64>$<hash-b64>`` (the same as the staff PIN's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from etapiste.hashing import DIGEST_BYTES, ScryptHash, make_hash, matches, parse_hash

_N, _R, _P = 2**17, 8, 1
#: scrypt needs 128·n·r bytes; this caps what a stored hash may ask for (n=2^17 with r=8), so a hash
#: with absurd parameters is refused when the configuration is loaded rather than exhausting memory.
MAX_SCRYPT_BYTES = 128 * 2**17 * 8
_MAXMEM = MAX_SCRYPT_BYTES + 16 * 1024 * 1024


def parse_password_hash(stored: str) -> ScryptHash:
    """The parts of a password hash; ``ValueError`` saying what is wrong when it is not one this
    switchboard can check (the configuration is refused at load with that message)."""
    h = parse_hash(stored, ("scrypt",))
    n, r, p, salt, digest = h.n, h.r, h.p, h.salt, h.digest
    if n < 2 or n & (n - 1):
        raise ValueError(f"n={n} is not a power of two")
    if not (1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError(f"r={r} or p={p} out of range")
    if 128 * n * r > MAX_SCRYPT_BYTES:
        raise ValueError(f"n={n}, r={r} needs more than {MAX_SCRYPT_BYTES // 2**20} MiB per check")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("salt or hash too short")
    return h


def hash_password(password: str, *, n: int = _N, salt: bytes | None = None) -> str:
    if len(password) < 10:
        raise ValueError("a desk password has at least 10 characters")
    return make_hash(password, scheme="scrypt", n=n, r=_R, p=_P, salt=salt, maxmem=_MAXMEM)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, checked with the parameters ``stored`` carries; a malformed
    ``stored`` never matches."""
    try:
        h = parse_password_hash(stored)
    except ValueError:
        return False
    return matches(password, h, maxmem=_MAXMEM)


def dummy_hash(cost_like: list[str]) -> str:
    """A valid hash of no password with the cost most of ``cost_like`` have (the default cost when empty):
    checked when the username is unknown, so the answer's timing does not tell which names exist."""
    costs = [h for h in (_parsed_or_none(s) for s in cost_like) if h is not None]
    if not costs:
        n, r, p = _N, _R, _P
    else:
        common = max({h.cost for h in costs}, key=[h.cost for h in costs].count)
        n, r, p = (int(x) for x in common.split("$"))
    salt = base64.b64encode(bytes(16)).decode()
    return f"scrypt${n}${r}${p}${salt}${base64.b64encode(bytes(DIGEST_BYTES)).decode()}"


def _parsed_or_none(stored: str) -> ScryptHash | None:
    try:
        return parse_password_hash(stored)
    except ValueError:
        return None


#: Secrets published in ``switchboard/sample-switchboard.yaml`` (its users' password hashes and its point's
#: credential hash; the passwords and the credential are printed in the sample's comments and the demo).
#: Anyone can log in or connect with them, so the switchboard refuses to run with them unless ``--demo``.
#: Hashes once published stay listed even if the sample gets new ones.
PUBLISHED_DEMO_HASHES = frozenset(
    {
        "scrypt$16384$8$1$RlBDIG+zY3LpFNWzcOSeGA==$nUbn4o0Sts48IbMLcploSapH5TNCxF02+F5M+W/z7/0=",
        "scrypt$16384$8$1$P6liGsk4MPAjXeP39dsymg==$2AHoKWPUp1clagrzEQdvp6dY5aZL9H/0Lp6WIDwYJko=",
        "scrypt$16384$8$1$PgSoAKKZVysgyqlHhd9tbw==$nO862BHshTooV7I+wCBSVs3dQrsi414seamKoUv0Y0k=",
        "sha256$09ac5855570d7e830025bb6bfadbc6a0390043b331bc6be602389cca7066b20d",
        "scrypt$16384$8$1$KTZHdXTGky3oJOsYuskxcQ==$t9+NpmmaFsmDJYH6H83uYFr6p8FpznH5Hc8qvxorXl8=",
    }
)


def new_point_credential() -> str:
    """A fresh credential for a point's ``switchboard.credential_file``."""
    return secrets.token_urlsafe(32)


def hash_point_credential(credential: str) -> str:
    return "sha256$" + hashlib.sha256(credential.encode()).hexdigest()


def verify_point_credential(credential: str, stored: str) -> bool:
    return hmac.compare_digest(hash_point_credential(credential), stored)
