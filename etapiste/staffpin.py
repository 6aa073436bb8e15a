"""Hashing of the host staff's PIN, as stored in configuration (``staff.pin_hash``).

scrypt from the standard library: memory-hard, so a copied configuration does not give the PIN away
cheaply. A PIN has few digits however they are hashed, which is why the PIN must be at least
:data:`MIN_DIGITS` long and the kiosk locks staff mode for longer and longer after wrong tries
(:mod:`kiosk.staff_lockout`).

Format: ``scrypt-min6$<n>$<r>$<p>$<salt-b64>$<hash-b64>``. Configuration carries only the hash, so the
length can only be enforced where the PIN is hashed (here, behind ``etapiste ops hash-pin``); the
scheme name records that it was. A hash of the older scheme ``scrypt$…`` may hide a 4- or 5-digit PIN,
and configuration validation refuses it (:func:`check_stored`) with what to do instead.
"""

from __future__ import annotations

from etapiste.hashing import make_hash, matches, parse_hash

_N, _R, _P = 16384, 8, 1
#: scrypt's memory allowed for checking a stored PIN hash (its parameters are the configuration's).
_MAXMEM = 64 * 1024 * 1024

#: The fewest and most digits a staff PIN may have. Six digits are a million PINs: with the kiosk's
#: growing lockout, a guesser at the screen gets a few dozen tries a day.
MIN_DIGITS = 6
MAX_DIGITS = 12
#: The scheme of hashes made for PINs of at least MIN_DIGITS digits.
SCHEME = "scrypt-min6"
#: The scheme of before, which allowed 4-digit PINs: still verified, refused in configuration.
LEGACY_SCHEME = "scrypt"


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A storable hash of ``pin`` (digits only, 6–12 of them)."""
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise ValueError(f"a staff PIN is {MIN_DIGITS} to {MAX_DIGITS} digits")
    return make_hash(pin, scheme=SCHEME, n=_N, r=_R, p=_P, salt=salt)


def check_stored(stored: str) -> str:
    """``stored`` if it is a hash this module made for a PIN of 6–12 digits; else ``ValueError`` saying why."""
    scheme = stored.split("$", 1)[0]
    if scheme == LEGACY_SCHEME:
        raise ValueError(
            f"this hash was made when a staff PIN could be 4 digits; choose a PIN of at least {MIN_DIGITS} digits"
            " and put its hash here (etapiste ops hash-pin)"
        )
    parts = stored.split("$")
    if scheme != SCHEME or len(parts) != 6 or not all(parts[1:]):
        raise ValueError(f"not a staff PIN hash; write what etapiste ops hash-pin prints ({SCHEME}$…)")
    return stored


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored``; a malformed ``stored`` never matches."""
    try:
        parsed = parse_hash(stored, (SCHEME, LEGACY_SCHEME), strict=False)
    except ValueError:
        return False
    return matches(pin, parsed, maxmem=_MAXMEM)
