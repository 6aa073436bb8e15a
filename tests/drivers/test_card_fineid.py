"""FINEID recognition and encoding rules that need no card: ATR masks, TLV, PIN form, certificate files."""

from __future__ import annotations

import pytest

from drivers.carderrors import (
    CardError,
    CardRemoved,
    NoCard,
    NoReader,
    NotAFinnishIdCard,
    PinBlocked,
    PinFormatError,
    WrongPin,
)
from drivers.errors import DeviceError
from drivers.fineid import Generation, _der_total_length, check_pin_format, find_tlv, recognise_atr
from etapiste.host import HOST_WORDS
from simulation.card.applet import ATRS

V4 = bytes.fromhex(ATRS["v4.0"])


@pytest.mark.parametrize("middle", ["0011", "1024", "FFFF", "0000"])
def test_v4_atr_matches_whatever_bytes_12_and_13_hold(middle: str) -> None:
    atr = V4[:12] + bytes.fromhex(middle) + V4[14:]
    model = recognise_atr(atr)
    assert model is not None and model.generation is Generation.V4
    assert model.version == {"0011": "4.0", "1024": "4.1"}.get(middle, "4.x")


@pytest.mark.parametrize("position", [i for i in range(20) if i not in (12, 13)])
def test_v4_atr_with_any_other_byte_changed_is_not_fineid(position: int) -> None:
    atr = bytearray(V4)
    atr[position] ^= 0x01
    assert recognise_atr(bytes(atr)) is None


def test_v3_atrs_are_matched_exactly() -> None:
    for version in ("v3.0", "v3.1"):
        atr = bytes.fromhex(ATRS[version])
        model = recognise_atr(atr)
        assert model is not None and model.generation is Generation.V3 and model.version == version[1:]
        assert recognise_atr(atr[:12] + b"\x00\x00" + atr[14:]) is None, "no mask for v3"
    assert recognise_atr(V4 + b"\x00") is None
    assert recognise_atr(b"") is None


def test_tries_counter_is_found_inside_the_constructed_template() -> None:
    data = bytes.fromhex("A017 830111 8A0105 9C03040C00 DF220105 DF210103 DF270100".replace(" ", ""))
    assert find_tlv(data, 0xDF21) == b"\x03"
    assert find_tlv(data, 0x83) == b"\x11"
    assert find_tlv(data, 0xDF99) is None
    assert find_tlv(b"\xdf", 0xDF21) is None, "truncated data is not an error"


@pytest.mark.parametrize("pin", [b"1234", b"123456789012", b"0000"])
def test_pin_of_4_to_12_digits_passes(pin: bytes) -> None:
    check_pin_format(bytearray(pin))


@pytest.mark.parametrize("pin", [b"", b"123", b"1234567890123", b"12 4", b"abcd", b"\x001234"])
def test_pin_of_another_form_is_refused(pin: bytes) -> None:
    with pytest.raises(PinFormatError):
        check_pin_format(bytearray(pin))


def test_certificate_length_comes_from_its_der_header() -> None:
    assert _der_total_length(bytes.fromhex("3082043B")) == 0x43B + 4
    assert _der_total_length(bytes.fromhex("30820680")) == 0x680 + 4
    assert _der_total_length(bytes.fromhex("30817F00")) == 0x7F + 3
    assert _der_total_length(bytes.fromhex("30100000")) == 0x12
    for bad in ("00000000", "3080", "3084FFFFFFFF", "30"):
        with pytest.raises(CardError):
            _der_total_length(bytes.fromhex(bad))


@pytest.mark.parametrize(
    "error",
    [
        CardError("x"),
        NoReader(),
        NoCard(),
        CardRemoved(),
        NotAFinnishIdCard(),
        PinFormatError(),
        WrongPin(2),
        PinBlocked(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_card_error_tells_customer_and_staff_in_finnish_swedish_and_english(error: CardError) -> None:
    assert isinstance(error, DeviceError)
    for audience in (error.customer_message, error.staff_message):
        texts = {lang: audience(lang) for lang in ("fi", "sv", "en")}
        assert all(texts.values()) and len(set(texts.values())) == 3, "three different, non-empty texts"
        # the host's words ({staff_told}: "The library staff have been told.") are the kiosk's to fill
        unfilled = {t.format_map({w: "" for w in HOST_WORDS}) for t in texts.values()}
        assert not any("{" in t for t in unfilled), "no unfilled placeholder but the host's words"
    if isinstance(error, WrongPin):
        assert "2" in error.customer_message("sv")
