"""The FINEID card application: recognition, certificate reading, PIN1, signing with the authentication key.

No PC/SC here: this module speaks APDUs to any ``Transport`` (``drivers.cardreader`` provides the PC/SC
one, which also does the T=0 ``61xx``/``6Cxx`` bookkeeping), so the card logic is the same whatever carries
it. Facts and their sources: ``shared/reference/fineid.md`` (DVV's S1/S4-1 specifications as implemented
by the Web eID project's libelectronic-id and OpenSC).

Recognition is two-step, because neither step alone is enough: the ATR must be one of FINEID v3.0, v3.1
or v4.x (v4 matched with the mask that ignores bytes 12–13; a looser match would take a Belgian eID),
*and* the card must have the PKCS#15 application (Estonian Thales cards have it too, so the AID alone
proves nothing). The signature algorithm then follows the certificate's key, not the ATR.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from drivers.carderrors import CardError, NotAFinnishIdCard, PinBlocked, PinFormatError, WrongPin
from drivers.proof import algorithm_for_key
from etapiste.webeid.certificate import Certificate, Holder, holder_of, load_certificate
from etapiste.webeid.token import Algorithm

PKCS15_AID = bytes.fromhex("A000000063504B43532D3135")
AUTH_CERT_PATH = bytes.fromhex("4331")
PIN1_REF = 0x11
AUTH_KEY_REF = 0x01
PIN_MIN, PIN_MAX = 4, 12
MAX_CERT_FILE = 8192
READ_CHUNK = 0xB5


class Generation(enum.Enum):
    V3 = "fineid-v3"
    V4 = "fineid-v4"


@dataclass(frozen=True)
class CardModel:
    version: str  # "3.0", "3.1", "4.0", "4.1"
    generation: Generation


_FULL = b"\xff" * 20
_V4_MASK = b"\xff" * 12 + b"\x00\x00" + b"\xff" * 6
#: (ATR, mask, model), from DVV's specifications as recorded in libelectronic-id
KNOWN_ATRS: tuple[tuple[bytes, bytes, CardModel], ...] = (
    (bytes.fromhex("3B7F9600008031B865B0850300EF1200F6829000"), _FULL, CardModel("3.0", Generation.V3)),
    (bytes.fromhex("3B7F9600008031B865B08504021B1200F6829000"), _FULL, CardModel("3.1", Generation.V3)),
    (bytes.fromhex("3B7F9600008031B865B085050011122460829000"), _V4_MASK, CardModel("4.x", Generation.V4)),
)
V4_VERSIONS = {bytes.fromhex("0011"): "4.0", bytes.fromhex("1024"): "4.1"}


def recognise_atr(atr: bytes) -> CardModel | None:
    """The FINEID model an ATR belongs to, or None."""
    for known, mask, model in KNOWN_ATRS:
        if len(atr) == len(known) and all((a & m) == (k & m) for a, k, m in zip(atr, known, mask, strict=True)):
            if model.generation is Generation.V4:
                return CardModel(V4_VERSIONS.get(bytes(atr[12:14]), "4.x"), Generation.V4)
            return model
    return None


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000


class Transport(Protocol):
    """What the card application needs from the reader layer."""

    #: "T0" or "T1": on T=0 case-4 commands are sent without Le (the data comes with GET RESPONSE)
    protocol: str

    def transmit(self, apdu: bytes | bytearray, *, sensitive: bool = False) -> Response:
        """Send one command; ``61xx`` and ``6Cxx`` are already resolved. ``sensitive``: wipe buffers after."""
        ...


def command(ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    """A short APDU with CLA 00."""
    out = bytes([0x00, ins, p1, p2])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le])
    return out


def find_tlv(data: bytes, wanted: int) -> bytes | None:
    """The value of the first BER-TLV with tag ``wanted`` (1- or 2-byte tags), searching constructed ones."""
    i = 0
    while i < len(data):
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F and i < len(data):
            tag = (tag << 8) | data[i]
            i += 1
        if i >= len(data):
            return None
        length = data[i]
        i += 1
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[i : i + n], "big")
            i += n
        value = data[i : i + length]
        if tag == wanted:
            return value
        first = tag >> 8 if tag > 0xFF else tag
        if first & 0x20:  # constructed: look inside
            inner = find_tlv(value, wanted)
            if inner is not None:
                return inner
        i += length
    return None


def check_pin_format(pin: bytearray) -> None:
    """PIN1 is 4–12 ASCII digits; checked before anything is sent, so a typo costs no try."""
    if not PIN_MIN <= len(pin) <= PIN_MAX or any(not 0x30 <= b <= 0x39 for b in pin):
        raise PinFormatError("PIN length or characters out of range")


def wipe(buffer: bytearray) -> None:
    for i in range(len(buffer)):
        buffer[i] = 0


class FineidCard:
    """One recognised FINEID card over a transport. Every method may raise ``CardError`` subclasses."""

    def __init__(self, transport: Transport, model: CardModel) -> None:
        self.transport = transport
        self.model = model
        self._certificate: bytes | None = None

    @classmethod
    def recognise(cls, transport: Transport, atr: bytes) -> FineidCard:
        """Check the ATR, then that the PKCS#15 application is there; ``NotAFinnishIdCard`` otherwise."""
        model = recognise_atr(atr)
        if model is None:
            raise NotAFinnishIdCard("ATR not FINEID")
        card = cls(transport, model)
        card.select_application()
        return card

    def _expect_ok(self, response: Response, what: str) -> Response:
        if not response.ok:
            raise CardError(f"{what} failed with status {response.sw:04X}")
        return response

    def select_application(self) -> None:
        response = self.transport.transmit(command(0xA4, 0x04, 0x0C, PKCS15_AID))
        if response.sw in (0x6A82, 0x6A86, 0x6D00, 0x6E00, 0x6999):
            raise NotAFinnishIdCard(f"no PKCS#15 application (status {response.sw:04X})")
        self._expect_ok(response, "SELECT application")

    def read_authentication_certificate(self) -> bytes:
        """The authentication certificate, DER (read once per session, then kept in memory only).

        The sequence real FINEID cards are read with (libelectronic-id's traces of v3 and v4 cards):
        SELECT without FCP, READ BINARY of the 4-byte DER header for the length, then chunks of at most
        0xB5 bytes with the exact Le. A card that answers a chunk short (T=1) is read on from there."""
        if self._certificate is not None:
            return self._certificate
        selected = self.transport.transmit(command(0xA4, 0x08, 0x0C, AUTH_CERT_PATH))
        if selected.sw == 0x6A82:
            raise NotAFinnishIdCard("no authentication certificate file (6A82)")
        self._expect_ok(selected, "SELECT certificate")
        header = self._expect_ok(self.transport.transmit(command(0xB0, 0, 0, le=4)), "READ BINARY header").data
        size = _der_total_length(header)
        if not 0 < size <= MAX_CERT_FILE:
            raise CardError(f"certificate size {size} out of range")
        content = bytearray()
        while len(content) < size:
            offset = len(content)
            chunk = min(size - offset, READ_CHUNK)
            response = self.transport.transmit(command(0xB0, offset >> 8, offset & 0xFF, le=chunk))
            if response.sw not in (0x9000, 0x6282) or not response.data:
                raise CardError(f"READ BINARY failed with status {response.sw:04X} at {offset}")
            content += response.data[:chunk]
        der = bytes(content)
        self._certificate = der
        return der

    def certificate(self) -> Certificate:
        try:
            return load_certificate(self.read_authentication_certificate())
        except ValueError:
            raise CardError("the authentication certificate is not valid X.509") from None

    def holder(self) -> Holder:
        return holder_of(self.certificate())

    def algorithm(self) -> Algorithm:
        """From the certificate's key: PS256 on RSA (v3), ES384 on P-384 (v4)."""
        try:
            return algorithm_for_key(self.certificate().public_key())
        except ValueError as exc:
            raise NotAFinnishIdCard(str(exc)) from None

    def pin1_tries_left(self) -> int:
        le = 0 if self.transport.protocol == "T1" else None
        response = self.transport.transmit(command(0xCB, 0x00, 0xFF, bytes([0xA0, 0x03, 0x83, 0x01, PIN1_REF]), le))
        self._expect_ok(response, "GET DATA (PIN1 tries)")
        value = find_tlv(response.data, 0xDF21)
        if value:
            return value[0]
        if len(response.data) > 20:  # the fixed offset libelectronic-id reads
            return response.data[20]
        raise CardError("GET DATA (PIN1 tries) gave no counter")

    def verify_pin1(self, pin: bytearray) -> None:
        """VERIFY PIN1. ``pin`` (ASCII digits) is overwritten with zeros when this returns or raises."""
        apdu = bytearray(b"\x00\x20\x00" + bytes([PIN1_REF, PIN_MAX]))
        try:
            check_pin_format(pin)
            apdu += pin
            apdu += b"\x00" * (PIN_MAX - len(pin))
            response = self.transport.transmit(apdu, sensitive=True)
        finally:
            wipe(apdu)
            wipe(pin)
        if response.ok:
            return
        if response.sw in (0x63C0, 0x6983, 0x6984):
            raise PinBlocked(f"status {response.sw:04X}")
        if response.sw & 0xFFF0 == 0x63C0:
            raise WrongPin(response.sw & 0x0F)
        if response.sw in (0x6700, 0x6A80):
            raise PinFormatError(f"card refused the PIN length (status {response.sw:04X})")
        raise CardError(f"VERIFY failed with status {response.sw:04X}")

    def sign_with_auth_key(self, digest: bytes, algorithm: Algorithm) -> bytes:
        """Sign a host-computed hash with the authentication key (PIN1 verified first)."""
        if algorithm.kind == "PS" and algorithm.name == "PS256":
            alg_byte, le = 0x45, 0x00
        elif algorithm.kind == "ES" and algorithm.name in ("ES256", "ES384"):
            alg_byte = 0x44 if algorithm.name == "ES256" else 0x54
            le = 0x40 if algorithm.name == "ES256" else 0x60
        else:
            raise NotAFinnishIdCard(f"{algorithm.name} is not a FINEID authentication algorithm")
        mse = bytes([0x80, 0x01, alg_byte, 0x84, 0x01, AUTH_KEY_REF])
        self._expect_ok(self.transport.transmit(command(0x22, 0x41, 0xB6, mse)), "MSE:SET")
        hash_tlv = bytes([0x90, len(digest)]) + digest
        self._expect_ok(self.transport.transmit(command(0x2A, 0x90, 0xA0, hash_tlv)), "PSO:HASH")
        response = self.transport.transmit(command(0x2A, 0x9E, 0x9A, le=le))
        if response.sw == 0x6982:
            raise CardError("PSO:CDS refused: PIN1 not verified (status 6982)")
        return self._expect_ok(response, "PSO:CDS").data


def _der_total_length(header: bytes) -> int:
    """The full length of the DER object whose first bytes are ``header`` (a certificate: a SEQUENCE)."""
    if len(header) < 2 or header[0] != 0x30:
        raise CardError("the certificate file does not hold a DER certificate")
    first = header[1]
    if not first & 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 2 or len(header) < 2 + n:
        raise CardError("the certificate file has a bad DER length")
    return 2 + n + int.from_bytes(header[2 : 2 + n], "big")
