"""The PDF gate: what the agent sends is printable, or refused with the precise reason.

The reasons are what the agent reads to fix the document; the customer only hears that it cannot be
printed here. Any bytes at all get an answer — never a crash.
"""

from __future__ import annotations

import io

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.errors import Language
from drivers.pdfcheck import check_pdf
from drivers.printer_errors import (
    EmptyDocument,
    EncryptedPdf,
    InvalidDocument,
    MalformedPdf,
    NoPages,
    NotAPdf,
    TooLarge,
    TooManyPages,
)
from tests.harness.cups import make_pdf

LIMITS = {"max_pages": 30, "max_bytes": 20_000_000}
LANGS: tuple[Language, ...] = ("fi", "sv", "en")


def resave(data: bytes, **save_args: object) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(out, **save_args)  # type: ignore[arg-type]
    return out.getvalue()


def test_wellformed_pdf_is_accepted_with_its_page_count_and_size() -> None:
    data = make_pdf(3)
    info = check_pdf(data, **LIMITS)
    assert info.pages == 3
    assert info.size == len(data)


def test_pdf_exactly_at_the_limits_is_accepted() -> None:
    data = make_pdf(5)
    info = check_pdf(data, max_pages=5, max_bytes=len(data))
    assert info.pages == 5


def test_empty_file_is_refused_as_empty() -> None:
    with pytest.raises(EmptyDocument) as caught:
        check_pdf(b"", **LIMITS)
    assert "empty" in caught.value.staff_message("en")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # an image
        b"PK\x03\x04" + b"\x00" * 100,  # a .docx / zip
        "Päätös: myönnetty".encode(),  # plain text
    ],
)
def test_file_that_is_not_a_pdf_is_refused_as_not_a_pdf(data: bytes) -> None:
    with pytest.raises(NotAPdf) as caught:
        check_pdf(data, **LIMITS)
    assert "not a PDF" in caught.value.staff_message("en")
    assert "ei ole PDF" in caught.value.staff_message("fi")


def test_truncated_transfer_is_refused_as_damaged_not_half_printed() -> None:
    data = make_pdf(3)
    with pytest.raises(MalformedPdf) as caught:
        check_pdf(data[: len(data) // 2], **LIMITS)
    message = caught.value.staff_message("en")
    assert "damaged" in message and "startxref" in message
    assert "BytesIO" not in message  # qpdf's in-memory stream name is noise for the agent


def test_pdf_header_followed_by_garbage_is_refused_as_damaged() -> None:
    with pytest.raises(MalformedPdf):
        check_pdf(b"%PDF-1.7\n" + b"nonsense " * 200, **LIMITS)


def test_page_whose_content_does_not_decode_is_named_in_the_reason() -> None:
    with pikepdf.open(io.BytesIO(make_pdf(2))) as pdf:
        broken = pdf.make_stream(b"this is not zlib data")
        broken.Filter = pikepdf.Name.FlateDecode
        pdf.pages[1].obj.Contents = broken
        out = io.BytesIO()
        pdf.save(out, compress_streams=False)
    with pytest.raises(MalformedPdf) as caught:
        check_pdf(out.getvalue(), **LIMITS)
    assert "page 2" in caught.value.staff_message("en")


def test_password_protected_pdf_is_refused_as_encrypted() -> None:
    data = resave(make_pdf(1), encryption=pikepdf.Encryption(owner="o", user="secret"))
    with pytest.raises(EncryptedPdf) as caught:
        check_pdf(data, **LIMITS)
    assert "without protection" in caught.value.staff_message("en")


def test_pdf_encrypted_only_with_restrictions_is_refused_too() -> None:
    """Opens without a password, but printing may be forbidden: the agent must send a plain copy."""
    data = resave(
        make_pdf(1),
        encryption=pikepdf.Encryption(owner="o", user="", allow=pikepdf.Permissions(print_highres=False)),
    )
    with pytest.raises(EncryptedPdf):
        check_pdf(data, **LIMITS)


def test_oversize_file_is_refused_with_both_sizes_that_differ_visibly() -> None:
    data = make_pdf(1)
    with pytest.raises(TooLarge) as caught:
        check_pdf(data, max_pages=30, max_bytes=len(data) - 1)
    message = caught.value.staff_message("en")
    size_mb, max_mb = caught.value.params["size_mb"], caught.value.params["max_mb"]
    assert size_mb != max_mb
    assert f"The file is {size_mb} MB; at most {max_mb} MB" in message


def test_oversize_file_is_refused_before_it_is_parsed() -> None:
    junk = b"%PDF-1.7\n" + b"\x00" * 2_000_000
    with pytest.raises(TooLarge):
        check_pdf(junk, max_pages=30, max_bytes=1_000_000)


def test_too_many_pages_names_the_count_and_the_limit_in_every_language() -> None:
    with pytest.raises(TooManyPages) as caught:
        check_pdf(make_pdf(31), **LIMITS)
    exc = caught.value
    assert "31 pages; at most 30" in exc.staff_message("en")
    assert "31 sivua" in exc.staff_message("fi") and "30" in exc.staff_message("fi")
    assert "31 sidor" in exc.staff_message("sv")


def test_pdf_without_pages_is_refused() -> None:
    out = io.BytesIO()
    pikepdf.new().save(out)
    with pytest.raises(NoPages):
        check_pdf(out.getvalue(), **LIMITS)


def test_customer_hears_a_plain_sentence_in_each_language_without_technical_detail() -> None:
    with pytest.raises(InvalidDocument) as caught:
        check_pdf(make_pdf(31), **LIMITS)
    for lang in LANGS:
        text = caught.value.customer_message(lang)
        assert text and "31" not in text and "PDF" not in text
    assert caught.value.customer_message("en") == "This document cannot be printed here. The agent can see why."


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_any_bytes_get_an_answer_never_a_crash(data: bytes) -> None:
    try:
        check_pdf(data, **LIMITS)
    except InvalidDocument as exc:
        assert exc.staff_message("en")


_VALID = make_pdf(2)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_VALID) - 1), st.binary(min_size=1, max_size=16))
def test_damaged_copies_of_a_valid_pdf_are_accepted_or_refused_never_crash(position: int, junk: bytes) -> None:
    data = _VALID[:position] + junk + _VALID[position + len(junk) :]
    try:
        info = check_pdf(data, **LIMITS)
    except InvalidDocument as exc:
        assert exc.staff_message("fi")
    else:
        assert 1 <= info.pages <= 30
