"""One scrypt implementation (etapiste.hashing) behind both secrets: hashes made before it, by the staff PIN's
and the desk password's own code, keep verifying with the parameters they carry, and each keeps its format."""

from __future__ import annotations

from etapiste.hashing import parse_hash
from etapiste.staffpin import hash_pin, verify_pin
from switchboard.credentials import hash_password, parse_password_hash, verify_password

#: Made by provisioning/pinhash.py before the kernel (PIN 97531864, salt b"fixed-salt-16byt").
OLD_PIN_HASH = "scrypt-min6$16384$8$1$Zml4ZWQtc2FsdC0xNmJ5dA==$L54X9LvxQZ7ExApzz5L7z8wNjBOkIw9jwV1J9I7r/qA="
#: The older PIN scheme (4 digits allowed): still verified by the kiosk, refused only by configuration checks.
LEGACY_PIN_HASH = "scrypt$16384$8$1$bGVnYWN5LXNhbHQtMTZieQ==$ebgTa06lgox7HLMfMS5gvSCvohOefZRCXhQRG5waXvc="
#: Made by switchboard/credentials.py before the kernel, at today's cost n=2^17.
OLD_PASSWORD_HASH = "scrypt$131072$8$1$Zml4ZWQtc2FsdC0xNmJ5dA==$OG0/l3g57ZJi3NIbwD4r9bQcdGSgiZFkE+9DISmOkgw="
#: The sample switchboard's agent "anna" (password demo-agentti-1), made at the earlier cost n=2^14.
SAMPLE_PASSWORD_HASH = "scrypt$16384$8$1$RlBDIG+zY3LpFNWzcOSeGA==$nUbn4o0Sts48IbMLcploSapH5TNCxF02+F5M+W/z7/0="


def test_staff_pin_hashes_made_before_the_kernel_keep_verifying():
    assert verify_pin("97531864", OLD_PIN_HASH)
    assert not verify_pin("97531865", OLD_PIN_HASH)
    assert verify_pin("4321", LEGACY_PIN_HASH)


def test_desk_password_hashes_made_before_the_kernel_keep_verifying():
    assert verify_password("a desk password 2^17", OLD_PASSWORD_HASH)
    assert verify_password("demo-agentti-1", SAMPLE_PASSWORD_HASH)
    assert not verify_password("demo-agentti-2", SAMPLE_PASSWORD_HASH)


def test_each_secret_keeps_its_format_and_cost():
    assert hash_pin("97531864", salt=b"fixed-salt-16byt") == OLD_PIN_HASH
    assert hash_password("a desk password 2^17", salt=b"fixed-salt-16byt") == OLD_PASSWORD_HASH
    assert parse_password_hash(OLD_PASSWORD_HASH).n == 2**17
    assert parse_hash(OLD_PIN_HASH, ("scrypt-min6",)).n == 2**14


def test_a_malformed_hash_never_matches():
    assert not verify_pin("97531864", OLD_PIN_HASH.replace("scrypt-min6", "bcrypt"))
    assert not verify_pin("97531864", "scrypt-min6$16384$8$1$only-five-parts")
    assert not verify_password("a desk password 2^17", OLD_PASSWORD_HASH + "$extra")
