"""The PDF gate: what the agent sends is printable, or refused with the precise reason.

The reasons are what the agent reads to fix the document; the customer only hears that it cannot be
printed here. Any bytes at all get an answer — never a crash.
"""

from __future__ import annotations

import io
import re
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.pdfcheck import DEFAULT_LIMITS, check_pdf
from drivers.printer import Printer
from drivers.printer_errors import (
    DecodedTooLarge,
    EmptyDocument,
    EncryptedPdf,
    HasEmbeddedFiles,
    HasJavascript,
    HasLaunchAction,
    InvalidDocument,
    MalformedPdf,
    NoPages,
    NotAPdf,
    PageTooLarge,
    TooComplex,
    TooLarge,
    TooManyPages,
    UnsupportedImage,
)
from etapiste.config.point import PrinterConfig
from etapiste.language import Language
from simulation.documents import pdf_with_text
from simulation.services.common import require_program
from simulation.services.cups import PrivateCupsd, output_pdf_bytes

LIMITS = {"max_pages": 30, "max_bytes": 20_000_000}
LANGS: tuple[Language, ...] = ("fi", "sv", "en")


def resave(data: bytes, **save_args: object) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(out, **save_args)  # type: ignore[arg-type]
    return out.getvalue()


def test_wellformed_pdf_is_accepted_with_its_page_count_and_size() -> None:
    data = pdf_with_text(3)
    info = check_pdf(data, **LIMITS)
    assert info.pages == 3
    assert info.size == len(data)


def test_pdf_exactly_at_the_limits_is_accepted() -> None:
    data = pdf_with_text(5)
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
    data = pdf_with_text(3)
    with pytest.raises(MalformedPdf) as caught:
        check_pdf(data[: len(data) // 2], **LIMITS)
    message = caught.value.staff_message("en")
    assert "damaged" in message and "startxref" in message
    assert "BytesIO" not in message  # qpdf's in-memory stream name is noise for the agent


def test_pdf_header_followed_by_garbage_is_refused_as_damaged() -> None:
    with pytest.raises(MalformedPdf):
        check_pdf(b"%PDF-1.7\n" + b"nonsense " * 200, **LIMITS)


def test_page_whose_content_does_not_decode_is_named_in_the_reason() -> None:
    with pikepdf.open(io.BytesIO(pdf_with_text(2))) as pdf:
        broken = pdf.make_stream(b"this is not zlib data")
        broken.Filter = pikepdf.Name.FlateDecode
        pdf.pages[1].obj.Contents = broken
        out = io.BytesIO()
        pdf.save(out, compress_streams=False)
    with pytest.raises(MalformedPdf) as caught:
        check_pdf(out.getvalue(), **LIMITS)
    assert "page 2" in caught.value.staff_message("en")


def test_password_protected_pdf_is_refused_as_encrypted() -> None:
    data = resave(pdf_with_text(1), encryption=pikepdf.Encryption(owner="o", user="secret"))
    with pytest.raises(EncryptedPdf) as caught:
        check_pdf(data, **LIMITS)
    assert "without protection" in caught.value.staff_message("en")


def test_pdf_encrypted_only_with_restrictions_is_refused_too() -> None:
    """Opens without a password, but printing may be forbidden: the agent must send a plain copy."""
    data = resave(
        pdf_with_text(1),
        encryption=pikepdf.Encryption(owner="o", user="", allow=pikepdf.Permissions(print_highres=False)),
    )
    with pytest.raises(EncryptedPdf):
        check_pdf(data, **LIMITS)


def test_oversize_file_is_refused_with_both_sizes_that_differ_visibly() -> None:
    data = pdf_with_text(1)
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
        check_pdf(pdf_with_text(31), **LIMITS)
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
        check_pdf(pdf_with_text(31), **LIMITS)
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


_VALID = pdf_with_text(2)


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


# -- hostile documents (issue 23): bombs, active content, codecs, page sizes -------------------------
#
# Built with pikepdf (or by hand where pikepdf would repair what an attacker sends), the way an
# attacker would: small files the agent's desk would happily send.

MiB = 1 << 20


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


class MemoryWatch:
    """This process's peak resident memory over a block, from the kernel (VmHWM reset through clear_refs)."""

    def __enter__(self) -> MemoryWatch:
        Path("/proc/self/clear_refs").write_text("5")  # peak := current
        self.start = _status_kib("VmRSS") * 1024
        return self

    def __exit__(self, *exc: object) -> None:
        self.growth = _status_kib("VmHWM") * 1024 - self.start


def flate_bomb_stream(decoded: int) -> bytes:
    """A zlib stream of ``decoded`` spaces (a valid, empty content stream however long) in ~1/1000 the bytes.

    Made the fast way: after a full flush, every further MiB of spaces compresses to the same bytes."""
    chunk = b" " * MiB
    comp = zlib.compressobj(9)
    first = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    repeat = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(decoded // MiB):
        adler = zlib.adler32(chunk, adler)
    return first + repeat * (decoded // MiB - 1) + b"\x03\x00" + adler.to_bytes(4, "big")


def save(pdf: pikepdf.Pdf) -> bytes:
    """Save exactly what was built: no recompression, no decoding of the bombs."""
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def with_bomb(where: str, decoded: int) -> bytes:
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(2)))
    bomb = pikepdf.Stream(pdf, flate_bomb_stream(decoded))
    bomb.Filter = pikepdf.Name.FlateDecode
    page = pdf.pages[1]
    if where == "content":
        page.obj.Contents = pdf.make_indirect(bomb)
    else:  # a Form XObject the page draws
        bomb.Type, bomb.Subtype, bomb.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 595, 842]
        page.obj.Resources.XObject = pikepdf.Dictionary(Fm1=pdf.make_indirect(bomb))
        page.obj.Contents = pdf.make_stream(b"/Fm1 Do")
    return save(pdf)


@pytest.mark.parametrize("where", ["content", "form"])
def test_flate_bomb_is_refused_without_the_kiosk_holding_what_it_unpacks_to(where: str) -> None:
    data = with_bomb(where, 1024 * MiB)
    assert len(data) < 2 * MiB, "a small file…"
    with MemoryWatch() as kiosk:
        try:
            check_pdf(data, **LIMITS)
        except InvalidDocument as exc:
            refused: InvalidDocument | None = exc
        else:
            refused = None
    # … that unpacks to a GiB: the kiosk's process must not take it in, and the gate's own worker
    # stops at its per-stream cap (it reports its peak, measured by the kernel).
    assert kiosk.growth < DEFAULT_LIMITS.max_stream_bytes, f"the kiosk grew by {kiosk.growth // MiB} MiB"
    assert refused is not None, "a 1 GiB flate bomb was accepted"
    assert refused.code == "decoded_too_large"
    assert refused.params["peak_memory"] < 2 * DEFAULT_LIMITS.max_stream_bytes + 32 * MiB
    assert "page 2" in refused.staff_message("en")
    assert "more than 67 MB" in refused.staff_message("en")  # 64 MiB


def test_many_small_streams_adding_up_past_the_total_are_refused() -> None:
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(3)))
    for page in pdf.pages:  # 3 × 40 MiB, each under the per-stream cap
        content = pikepdf.Stream(pdf, flate_bomb_stream(40 * MiB))
        content.Filter = pikepdf.Name.FlateDecode
        page.obj.Contents = pdf.make_indirect(content)
    limits = replace(DEFAULT_LIMITS, max_decoded_bytes=100 * MiB)
    with pytest.raises(DecodedTooLarge) as caught:
        check_pdf(save(pdf), **LIMITS, limits=limits)
    assert "in all" in caught.value.staff_message("en")
    assert caught.value.params["decoded_bytes"] > 100 * MiB


def object_flood(pages: int) -> bytes:
    """``pages`` distinct page objects packed into object streams: a file of a few MB that a PDF
    library must build ``pages`` objects for before it can even count them. Written by hand: xref
    stream, object streams, nothing a writer would normalise away."""
    per_stream = 10_000
    body = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def put(num: int, dictionary: bytes, stream: bytes | None = None) -> None:
        offsets[num] = len(body)
        body.extend(b"%d 0 obj\n" % num + dictionary)
        if stream is not None:
            body.extend(b"\nstream\n" + stream + b"\nendstream")
        body.extend(b"\nendobj\n")

    first_page = 3
    members = [(2, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (
        pages, b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))))]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>"  # nothing to repair
    members += [(first_page + i, page) for i in range(pages)]
    in_stream: dict[int, tuple[int, int]] = {}
    next_num = first_page + pages
    put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    for start in range(0, len(members), per_stream):
        group = members[start : start + per_stream]
        texts, header, pos = [], [], 0
        for index, (num, text) in enumerate(group):
            header.append(b"%d %d" % (num, pos))
            texts.append(text)
            pos += len(text) + 1
            in_stream[num] = (next_num, index)
        head = b" ".join(header) + b"\n"
        data = zlib.compress(head + b"\n".join(texts) + b"\n", 9)
        put(next_num, b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>"
            % (len(group), len(head), len(data)), data)  # fmt: skip
        next_num += 1
    xref_num = next_num
    rows = bytearray(b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big"))
    for num in range(1, xref_num + 1):
        if num in in_stream:
            stream_num, index = in_stream[num]
            rows += b"\x02" + stream_num.to_bytes(4, "big") + index.to_bytes(2, "big")
        else:
            rows += b"\x01" + offsets.get(num, len(body)).to_bytes(4, "big") + b"\x00\x00"
    data = zlib.compress(bytes(rows), 9)
    put(xref_num, b"<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>"
        % (xref_num + 1, len(data)), data)  # fmt: skip
    body.extend(b"startxref\n%d\n%%%%EOF\n" % offsets[xref_num])
    return bytes(body)


def test_object_flood_is_refused_inside_the_gates_memory_budget_not_the_kiosks() -> None:
    data = object_flood(400_000)
    assert len(data) < 8 * MiB
    with MemoryWatch() as kiosk, pytest.raises(InvalidDocument) as caught:
        check_pdf(data, **LIMITS)
    assert kiosk.growth < 64 * MiB, f"the kiosk grew by {kiosk.growth // MiB} MiB"
    assert caught.value.code in ("too_complex", "too_many_pages")
    if caught.value.code == "too_complex":
        assert "memory" in caught.value.staff_message("en")


def test_the_same_page_listed_over_and_over_is_refused_at_once() -> None:
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(1)))
    page = pdf.pages[0].obj
    pdf.Root.Pages.Kids = pikepdf.Array([page] * 300_000)
    pdf.Root.Pages.Count = 300_000
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert len(out.getvalue()) < 10_000
    with MemoryWatch() as kiosk, pytest.raises(InvalidDocument):
        check_pdf(out.getvalue(), **LIMITS)
    assert kiosk.growth < 64 * MiB, f"the kiosk grew by {kiosk.growth // MiB} MiB"


def doc_with_image(codec: str, *, inline: bool = False) -> bytes:
    """Page 2 draws an image compressed with ``codec`` (the bytes need not be valid: the gate never
    decodes them, and must refuse on the filter alone)."""
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(2)))
    page = pdf.pages[1]
    if inline:
        page.obj.Contents = pdf.make_stream(
            b"q 100 0 0 100 72 500 cm BI /W 8 /H 8 /BPC 1 /CS /G /F /%s ID \x00\x01\x02\x03 EI Q" % codec.encode()
        )
        return save(pdf)
    image = pikepdf.Stream(pdf, b"\x00\x00\x00\x0c\x6a\x50\x20\x20 not really an image")
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 64, 64, 8
    image.ColorSpace = pikepdf.Name.DeviceGray
    image.Filter = pikepdf.Name("/" + codec)
    page.obj.Resources.XObject = pikepdf.Dictionary(Im1=pdf.make_indirect(image))
    page.obj.Contents = pdf.make_stream(b"q 100 0 0 100 72 500 cm /Im1 Do Q")
    return save(pdf)


@pytest.mark.parametrize(
    ("codec", "inline", "named"),
    [
        ("JBIG2Decode", False, "JBIG2"),
        ("JPXDecode", False, "JPEG 2000"),
        ("JBIG2Decode", True, "JBIG2"),
        ("JPXDecode", True, "JPEG 2000"),
        ("JBIG2#44ecode", True, "JBIG2"),  # the same name, written with an escape
    ],
    ids=["jbig2", "jpx", "jbig2-inline", "jpx-inline", "jbig2-inline-escaped"],
)
def test_jbig2_and_jpeg2000_images_are_refused_naming_the_page(codec: str, inline: bool, named: str) -> None:
    with pytest.raises(UnsupportedImage) as caught:
        check_pdf(doc_with_image(codec, inline=inline), **LIMITS)
    exc = caught.value
    assert exc.code == "unsupported_image"
    assert f"{named} image (page 2)" in exc.staff_message("en")
    assert "sivu 2" in exc.staff_message("fi") and "sidan 2" in exc.staff_message("sv")


def _js(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hi')"))


def _link(pdf: pikepdf.Pdf, action: pikepdf.Dictionary) -> None:
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 72, 200, 100], A=action)
    pdf.pages[1].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))


def _attach(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["notes.txt"] = pikepdf.AttachedFileSpec(pdf, b"hello", filename="notes.txt")


def _attach_on_page(pdf: pikepdf.Pdf) -> None:
    spec = pikepdf.AttachedFileSpec(pdf, b"hello", filename="notes.txt")
    annot = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FileAttachment, Rect=[72, 72, 90, 90], FS=spec.obj
    )
    pdf.pages[1].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(annot)]))


def _names_js(pdf: pikepdf.Pdf) -> None:
    tree = pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("start"), pdf.make_indirect(_js(pdf))]))
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pdf.make_indirect(tree))


def _launch(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))


HOSTILE: dict[str, tuple[Any, type[InvalidDocument], str, str]] = {
    "openaction-js": (lambda p: setattr(p.Root, "OpenAction", _js(p)), HasJavascript, "has_javascript",
                      "document level, /OpenAction"),
    "page-aa-js": (lambda p: setattr(p.pages[1].obj, "AA", pikepdf.Dictionary(O=_js(p))), HasJavascript,
                   "has_javascript", "page 2, /AA"),
    "document-aa-js": (lambda p: setattr(p.Root, "AA", pikepdf.Dictionary(WC=_js(p))), HasJavascript,
                       "has_javascript", "document level, /AA"),
    "names-js": (_names_js, HasJavascript, "has_javascript", "document level"),
    "link-js": (lambda p: _link(p, _js(p)), HasJavascript, "has_javascript", "page 2"),
    "embedded-file": (_attach, HasEmbeddedFiles, "has_embedded_files", "document level"),
    "file-attachment-annotation": (_attach_on_page, HasEmbeddedFiles, "has_embedded_files", "page 2"),
    "launch-link": (lambda p: _link(p, _launch(p)), HasLaunchAction, "has_launch_action", "page 2"),
    "launch-openaction": (lambda p: setattr(p.Root, "OpenAction", _launch(p)), HasLaunchAction,
                          "has_launch_action", "document level, /OpenAction"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_active_content_and_attachments_are_refused_with_their_code(case: str) -> None:
    build, error, reason, where = HOSTILE[case]
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(2)))
    build(pdf)
    with pytest.raises(InvalidDocument) as caught:
        check_pdf(save(pdf), **LIMITS)
    exc = caught.value
    assert type(exc) is error and exc.code == reason
    assert f"({where}" in exc.staff_message("en"), exc.staff_message("en")
    # The agent's desk and the health report get the explicit code; the customer a plain sentence.
    assert exc.report()["reason"] == reason
    for lang in LANGS:
        assert exc.customer_message(lang) == InvalidDocument().customer_message(lang)


def test_an_ordinary_opening_action_and_link_still_print() -> None:
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(2)))
    pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])
    _link(pdf, pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://www.kela.fi/")))
    assert check_pdf(save(pdf), **LIMITS).pages == 2


def doc_with_page(width_pt: float, height_pt: float, *, user_unit: float | None = None) -> bytes:
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(2)))
    page = pdf.pages[1].obj
    page.MediaBox = [0, 0, width_pt, height_pt]
    if user_unit is not None:
        page.UserUnit = user_unit
    return save(pdf)


MM = 72 / 25.4


@pytest.mark.parametrize(
    ("width_mm", "height_mm", "user_unit"),
    [(5000, 5000, None), (420, 594, None), (5000 / 75, 5000 / 75, 75.0)],
    ids=["5m-square", "A2", "user-unit-5m"],
)
def test_page_far_larger_than_the_paper_is_refused_with_its_size(
    width_mm: float, height_mm: float, user_unit: float | None
) -> None:
    data = doc_with_page(width_mm * MM, height_mm * MM, user_unit=user_unit)
    with pytest.raises(PageTooLarge) as caught:
        check_pdf(data, **LIMITS)
    exc = caught.value
    assert exc.code == "page_too_large"
    real = round(width_mm * (user_unit or 1))
    message = exc.staff_message("en")
    assert f"Page 2 is {real} × {round(height_mm * (user_unit or 1))} mm" in message, message
    assert "A4" in message and "at least 65 %" in message


@pytest.mark.parametrize(
    ("width_mm", "height_mm"),
    [(297, 420), (420, 297), (215.9, 279.4), (279.4, 431.8)],
    ids=["A3", "A3-landscape", "Letter", "Tabloid"],
)
def test_page_somewhat_larger_than_the_paper_is_accepted_and_marked_to_be_fitted(
    width_mm: float, height_mm: float
) -> None:
    info = check_pdf(doc_with_page(width_mm * MM, height_mm * MM), **LIMITS)
    assert info.pages == 2 and info.fitted_pages == (2,)


def test_a4_landscape_and_a5_pages_need_no_fitting() -> None:
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(3)))
    pdf.pages[1].obj.MediaBox = [0, 0, 842, 595]
    pdf.pages[2].obj.MediaBox = [0, 0, 420, 595]
    assert check_pdf(save(pdf), **LIMITS).fitted_pages == ()


def test_a_page_the_gate_lets_through_as_fitted_comes_out_on_a4_shrunk_to_fit(cupsd: PrivateCupsd) -> None:
    """The gate refuses what would shrink below 65 % and leaves the rest to CUPS's print-scaling
    (auto: fit pages larger than the paper). This is the real cupsd and cups-filters doing it."""
    queue = cupsd.add_file_queue()
    printer = Printer(PrinterConfig(queue=queue.name), server=cupsd.socket)
    printer.print_pdf(doc_with_page(297 * MM, 420 * MM), timeout_s=90)
    with pikepdf.open(io.BytesIO(output_pdf_bytes(queue.output))) as out:
        assert [round(float(v)) for v in out.pages[1].mediabox] == [0, 0, 595, 842]
        drawn = b"".join(s.read_bytes() for s in pikepdf.Array(out.pages[1].obj.Contents).as_list()) \
            if isinstance(out.pages[1].obj.Contents, pikepdf.Array) else out.pages[1].obj.Contents.read_bytes()
    scale = float(re.search(rb"([\d.]+) 0 0 ([\d.]+) [\d.-]+ [\d.-]+ cm", drawn).group(1))  # type: ignore[union-attr]
    assert 0.6 < scale < 0.72, drawn[:200]


def ordinary_document_from_ghostscript(tmp_path: Path) -> bytes:
    """Three A4 pages with text (embedded fonts) and a photo-like and a flat image, written by
    Ghostscript's pdfwrite — a real producer, not a hand-built file."""
    ps = tmp_path / "letter.ps"
    ramp = "".join(f"{(x * 4 + y * 3) % 256:02x}" for y in range(96) for x in range(128))
    pages = []
    for n in (1, 2, 3):
        pages.append(f"""
/Helvetica findfont 14 scalefont setfont 72 770 moveto (Paatos / Beslut / Decision - sivu {n}) show
/Times-Roman findfont 11 scalefont setfont 72 740 moveto (Kela, Helsinki. Tama on testiasiakirja.) show
gsave 72 420 translate 256 192 scale 128 96 8 [128 0 0 -96 0 96] {{<{ramp}>}} image grestore
gsave 340 420 translate 192 192 scale 0.2 0.4 0.8 setrgbcolor 0 0 1 1 rectfill grestore
showpage""")
    ps.write_text("%!PS\n" + "\n".join(pages) + "\n")
    out = tmp_path / "letter.pdf"
    subprocess.run(
        [require_program("gs"), "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-sPAPERSIZE=a4",
         "-dEmbedAllFonts=true", f"-sOutputFile={out}", str(ps)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out.read_bytes()


def ordinary_document_with_truetype_and_jpeg() -> bytes:
    """Two A4 pages: an embedded TrueType font (DejaVu Sans, FontFile2), a JPEG photo, a Flate
    image with an ICC-free RGB colour space, and a small inline image — what office suites write."""
    from PIL import Image

    pdf = pikepdf.new()
    font_file = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").read_bytes()
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.DejaVuSans, Flags=32,
        FontBBox=[-1021, -463, 1793, 1232], ItalicAngle=0, Ascent=928, Descent=-236, CapHeight=729,
        StemV=80, FontFile2=pdf.make_stream(font_file, Length1=len(font_file)),
    ))  # fmt: skip
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.TrueType, BaseFont=pikepdf.Name.DejaVuSans,
        FirstChar=32, LastChar=126, Widths=[600] * 95, FontDescriptor=descriptor,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    ))  # fmt: skip
    photo = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").resize((600, 400)).save(photo, "JPEG", quality=85)
    jpeg = pdf.make_stream(photo.getvalue(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                           Width=600, Height=400, BitsPerComponent=8, ColorSpace=pikepdf.Name.DeviceRGB,
                           Filter=pikepdf.Name.DCTDecode)  # fmt: skip
    flat = pdf.make_stream(zlib.compress(bytes(range(256)) * 3 * 64), Type=pikepdf.Name.XObject,
                           Subtype=pikepdf.Name.Image, Width=256, Height=64, BitsPerComponent=8,
                           ColorSpace=pikepdf.Name.DeviceRGB, Filter=pikepdf.Name.FlateDecode)  # fmt: skip
    for n in (1, 2):
        content = (b"BT /F1 12 Tf 72 770 Td (Decision - page %d) Tj ET "
                   b"q 300 0 0 200 72 500 cm /Im1 Do Q q 256 0 0 64 72 400 cm /Im2 Do Q "
                   b"q 16 0 0 16 72 300 cm BI /W 4 /H 4 /BPC 8 /CS /G ID %s EI Q" % (n, bytes(range(0, 256, 16))))
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842], Contents=pdf.make_stream(content),
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font),
                                         XObject=pikepdf.Dictionary(Im1=jpeg, Im2=flat)),
        )  # fmt: skip
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_ordinary_multipage_a4_documents_with_fonts_and_images_are_accepted(tmp_path: Path) -> None:
    for data in (ordinary_document_from_ghostscript(tmp_path), ordinary_document_with_truetype_and_jpeg()):
        info = check_pdf(data, **LIMITS)
        assert info.pages in (2, 3)
        assert info.fitted_pages == ()
        assert 0 < info.decoded_bytes < 10 * MiB


def test_every_refusal_code_is_explicit_distinct_and_fits_the_agents_print_status() -> None:
    """The agent's desk learns why a print was refused from ``print.status``'s ``reason`` (≤ 60
    characters); each refusal has its own written-out code, never one derived at run time."""
    from etapiste import protocol as p

    refusals = [EmptyDocument, NotAPdf, MalformedPdf, EncryptedPdf, TooLarge, TooManyPages, NoPages,
                PageTooLarge, DecodedTooLarge, UnsupportedImage, HasJavascript, HasEmbeddedFiles,
                HasLaunchAction, TooComplex]  # fmt: skip
    codes = [cls.__dict__.get("code") for cls in refusals]
    assert all(isinstance(code, str) for code in codes), "each class sets its own code"
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", str(code))
        assert p.PrintStatus(transfer="t1", state="failed", reason=code).reason == code
