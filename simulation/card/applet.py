"""The virtual FINEID card's behaviour: command APDU in, response APDU out.

What it models, because the driver must cope with each on a real card:
- T=0: case-4 commands (SELECT with FCP, GET DATA) answer ``61xx`` and the data comes with GET RESPONSE;
  a case-2 command whose Le does not match what the card holds answers ``6Cxx`` (READ BINARY at the end
  of the file, PSO:CDS with the wrong Le). T=1: data comes directly, READ BINARY in 0xB5-byte chunks.
- PIN1 (reference 0x11): tries kept across removals, ``63Cx`` on a wrong PIN, ``6983`` once blocked,
  the verified state dropped on reset or power-off.
- Signing with the authentication key after MSE:SET + PSO:HASH + PSO:CDS: RSASSA-PSS SHA-256 (salt 32)
  for the v3 key, ECDSA SHA-384 with raw r‖s for the v4 key.
- Cards that are not FINEID: another ATR, or the FINEID ATR without the PKCS#15 application.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

PKCS15_AID = bytes.fromhex("A000000063504B43532D3135")


def _with_tck(hex_without_tck: str) -> str:
    """An ATR that offers T=1 must end with TCK, the XOR of every byte after TS."""
    raw = bytes.fromhex(hex_without_tck)
    tck = 0
    for b in raw[1:]:
        tck ^= b
    return (raw + bytes([tck])).hex().upper()


ATRS: dict[str, str] = {
    "v3.0": "3B7F9600008031B865B0850300EF1200F6829000",
    "v3.1": "3B7F9600008031B865B08504021B1200F6829000",
    "v4.0": "3B7F9600008031B865B085050011122460829000",
    "v4.1": "3B7F9600008031B865B085051024122460829000",
    # the v4.0 ATR with byte 7 changed: must NOT be taken for a FINEID card
    "lookalike": "3B7F9600008031B965B085050011122460829000",
    # a Thales card that offers T=0 and T=1 (TD1=81, TD2=31): an Estonian-style card with the PKCS#15 AID
    # when used as "other", and the carrier of the T=1 tests
    "thales-t1": _with_tck("3BFF9600008131FE4380318065B085050011122460829000"),
}

AUTH_CERT_FID = bytes.fromhex("4331")
SW_OK = b"\x90\x00"


def sw(value: int) -> bytes:
    return value.to_bytes(2, "big")


@dataclass
class CardProfile:
    """Everything one card holds; sent as JSON to the card process when the card is inserted."""

    atr: str
    generation: str  # "v3" or "v4" (key and file layout)
    cert_der: bytes = b""
    key_pem: bytes = b""
    pin: str = "1234"
    pin_tries: int = 5
    protocol: str = "T0"
    has_pkcs15: bool = True
    file_padding: int = 64  # real certificate files are larger than the certificate

    def to_json(self) -> dict[str, Any]:
        return {
            "atr": self.atr,
            "generation": self.generation,
            "cert_der": base64.b64encode(self.cert_der).decode(),
            "key_pem": self.key_pem.decode(),
            "pin": self.pin,
            "pin_tries": self.pin_tries,
            "protocol": self.protocol,
            "has_pkcs15": self.has_pkcs15,
            "file_padding": self.file_padding,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CardProfile:
        return cls(
            atr=data["atr"],
            generation=data["generation"],
            cert_der=base64.b64decode(data["cert_der"]),
            key_pem=data["key_pem"].encode(),
            pin=data["pin"],
            pin_tries=int(data["pin_tries"]),
            protocol=data["protocol"],
            has_pkcs15=bool(data["has_pkcs15"]),
            file_padding=int(data["file_padding"]),
        )


@dataclass
class FineidApplet:
    """The card's state machine. ``process`` takes one command APDU and returns the response APDU."""

    profile: CardProfile
    tries_left: int = field(init=False)
    pin_verified: bool = field(default=False, init=False)
    selected: bytes | None = field(default=None, init=False)
    app_selected: bool = field(default=False, init=False)
    pending: bytes = field(default=b"", init=False)
    sec_env_alg: int | None = field(default=None, init=False)
    hash_to_sign: bytes | None = field(default=None, init=False)
    signatures: int = field(default=0, init=False)

    MAX_TRIES = 5

    def __post_init__(self) -> None:
        self.tries_left = self.profile.pin_tries
        pad = self.profile.file_padding
        self.auth_file = self.profile.cert_der + b"\x00" * pad
        self.key = serialization.load_pem_private_key(self.profile.key_pem, None) if self.profile.key_pem else None

    @property
    def t0(self) -> bool:
        return self.profile.protocol == "T0"

    def reset(self) -> None:
        """Power-off or warm reset: everything volatile goes, the PIN counter stays."""
        self.pin_verified = False
        self.selected = None
        self.app_selected = False
        self.pending = b""
        self.sec_env_alg = None
        self.hash_to_sign = None

    # -- transport-level helpers ------------------------------------------------------------------------
    def _case4(self, data: bytes) -> bytes:
        """Answer a case-4 command: 61xx on T=0 (data waits for GET RESPONSE), the data on T=1."""
        if self.t0:
            self.pending = data
            return b"\x61" + bytes([len(data) & 0xFF])
        return data + SW_OK

    def _case2(self, data: bytes, le: int | None, short_ok: bool = False) -> bytes:
        """Answer a case-2 command: on T=0 a Le that does not match the data is refused with 6Cxx."""
        wanted = 256 if le in (None, 0) else le
        if self.t0 and wanted != len(data) and not (short_ok and wanted < len(data)):
            return b"\x6c" + bytes([len(data) & 0xFF])
        return data[:wanted] + SW_OK

    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return sw(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        lc = body[0] if body else None
        data = b""
        le: int | None = None
        if len(body) == 1:
            le = body[0]
        elif len(body) > 1:
            assert lc is not None
            data = body[1 : 1 + lc]
            if len(data) != lc:
                return sw(0x6700)
            rest = body[1 + lc :]
            le = rest[0] if rest else None
        if cla != 0x00:
            return sw(0x6E00)
        if ins != 0xC0:
            self.pending = b""
        handler = {
            0xA4: self._select,
            0xB0: self._read_binary,
            0xC0: self._get_response,
            0x20: self._verify,
            0xCB: self._get_data,
            0x22: self._mse,
            0x2A: self._pso,
        }.get(ins)
        if handler is None:
            return sw(0x6D00)
        return handler(p1, p2, data, le)

    def _get_response(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if not self.pending:
            return sw(0x6985)
        n = le if le else 256
        out, self.pending = self.pending[:n], self.pending[n:]
        if self.pending:
            return out + b"\x61" + bytes([len(self.pending) & 0xFF])
        return out + SW_OK

    # -- file system --------------------------------------------------------------------------------------
    def _select(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 == 0x04:
            if data != PKCS15_AID or not self.profile.has_pkcs15:
                return sw(0x6A82)
            self.app_selected = True
            self.selected = None
            return SW_OK if p2 == 0x0C else self._case4(b"\x6f\x08\x84\x06" + PKCS15_AID[:6])
        if p1 == 0x08:
            if not self.profile.has_pkcs15:
                return sw(0x6A82)
            if data != AUTH_CERT_FID:
                return sw(0x6A82)
            self.selected = AUTH_CERT_FID
            size = len(self.auth_file).to_bytes(2, "big")
            tag = 0x80 if self.profile.generation == "v3" else 0x81
            fcp = bytes([0x62, 0x08, tag, 0x02]) + size + bytes([0x83, 0x02]) + AUTH_CERT_FID
            return SW_OK if p2 == 0x0C else self._case4(fcp)
        return sw(0x6A86)

    def _read_binary(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if self.selected is None:
            return sw(0x6986)
        offset = (p1 << 8) | p2
        content = self.auth_file
        if offset >= len(content):
            return sw(0x6B00)
        remaining = content[offset:]
        if self.t0:
            wanted = le if le else 256
            if wanted > len(remaining):
                return b"\x6c" + bytes([len(remaining) & 0xFF])
            return remaining[:wanted] + SW_OK
        wanted = le if le else 256
        return remaining[: min(wanted, 0xB5)] + SW_OK

    # -- PIN ----------------------------------------------------------------------------------------------
    def _verify(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if p1 != 0x00 or p2 != 0x11:
            return sw(0x6A88)
        if self.tries_left == 0:
            return sw(0x6983)
        if not data:  # status query: verified, or how many tries are left
            return SW_OK if self.pin_verified else sw(0x63C0 | self.tries_left)
        if len(data) != 12:
            return sw(0x6700)
        expected = self.profile.pin.encode().ljust(12, b"\x00")
        if data == expected:
            self.tries_left = self.MAX_TRIES
            self.pin_verified = True
            return SW_OK
        self.pin_verified = False
        self.tries_left -= 1
        return sw(0x63C0 | self.tries_left)

    def _get_data(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if (p1, p2) != (0x00, 0xFF) or data[:4] != bytes.fromhex("A0038301") or len(data) != 5:
            return sw(0x6A88)
        if data[4] != 0x11:
            return sw(0x6A88)
        # the layout a real FINEID card answers with: the counter is the first byte of DF21 (offset 20)
        inner = bytes.fromhex("830111 8C04F0000000 9C04F0000000") + bytes([0xDF, 0x21, 0x04, self.tries_left])
        inner += bytes.fromhex("FFA503 DF2702FFFF DF28010C DF2F0101")
        return self._case4(bytes([0xA0, len(inner)]) + inner)

    # -- signing ------------------------------------------------------------------------------------------
    def _expected_alg(self) -> int:
        return 0x45 if isinstance(self.key, rsa.RSAPrivateKey) else 0x54

    def _mse(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if (p1, p2) != (0x41, 0xB6) or len(data) != 6 or data[0:2] != b"\x80\x01" or data[3:5] != b"\x84\x01":
            return sw(0x6A80)
        if data[5] != 0x01 or data[2] != self._expected_alg():
            return sw(0x6A80)
        self.sec_env_alg = data[2]
        self.hash_to_sign = None
        return SW_OK

    def _pso(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if (p1, p2) == (0x90, 0xA0):
            if self.sec_env_alg is None:
                return sw(0x6985)
            hash_len = 32 if self.sec_env_alg >> 4 == 4 else 48
            if len(data) != 2 + hash_len or data[0] != 0x90 or data[1] != hash_len:
                return sw(0x6A80)
            self.hash_to_sign = data[2:]
            return SW_OK
        if (p1, p2) == (0x9E, 0x9A):
            if not self.pin_verified:
                return sw(0x6982)
            if self.hash_to_sign is None or self.key is None:
                return sw(0x6985)
            signature = self._sign(self.hash_to_sign)
            reply = self._case2(signature, le)
            if reply[-2:] == SW_OK:
                self.hash_to_sign = None
                self.signatures += 1
            return reply
        return sw(0x6A86)

    def _sign(self, digest: bytes) -> bytes:
        key = self.key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(
                digest,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                utils.Prehashed(hashes.SHA256()),
            )
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        der = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA384())))
        r, s = utils.decode_dss_signature(der)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
