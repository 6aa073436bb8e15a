"""Is this PDF fit to print here? A gate in front of the printer, with a precise reason when not.

The agent's PDF comes over the network from outside the point, so it is checked before CUPS ever
sees it: a file that is not a PDF, is damaged, is encrypted, is too big or has too many pages is
refused with an :class:`~drivers.printer_errors.InvalidDocument` that tells the agent exactly what
to fix ("42 pages; at most 30"), while the customer is told only that it cannot be printed here.

The check is strict on purpose: qpdf's silent recovery of a damaged cross-reference table is *not*
attempted, because a truncated transfer recovers into a document with pages missing, and a
customer who takes home half a decision is worse off than one whose agent resends it. The check
works on bytes in memory and writes nothing to disk.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pikepdf

from drivers.printer_errors import (
    EmptyDocument,
    EncryptedPdf,
    MalformedPdf,
    NoPages,
    NotAPdf,
    TooLarge,
    TooManyPages,
)

#: The PDF header may follow a little leading junk (the spec's readers allow up to 1024 bytes).
_HEADER_WINDOW = 1024
_QPDF_PREFIX = re.compile(r"^stream <[^>]*>(?: \(([^)]*)\))?:\s*")


@dataclass(frozen=True)
class PdfInfo:
    """What the check learnt about an acceptable document."""

    pages: int
    size: int
    """Bytes."""


def _megabytes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in MB with enough decimals that a file just over the limit does not read as equal."""
    for decimals in (1, 3, 6):
        a, b = f"{size / 1e6:.{decimals}f}", f"{limit / 1e6:.{decimals}f}"
        if a != b:
            return a, b
    return str(size / 1e6), str(limit / 1e6)


def _qpdf_detail(exc: Exception) -> str:
    """qpdf's own words, without the in-memory stream's name, short enough for a status line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    match = _QPDF_PREFIX.match(text)
    if match:
        where = f"{match.group(1)}: " if match.group(1) else ""
        text = where + text[match.end() :]
    return text[:160]


def check_pdf(data: bytes, *, max_pages: int, max_bytes: int) -> PdfInfo:
    """Accept ``data`` as a printable PDF or raise the precise :class:`InvalidDocument`.

    Order matters: size first (never parse what is too big), then the header (a Word file is "not a
    PDF", not "damaged"), then structure, encryption and pages.
    """
    size = len(data)
    if size == 0:
        raise EmptyDocument()
    if size > max_bytes:
        size_mb, max_mb = _megabytes(size, max_bytes)
        raise TooLarge(size=size, max_bytes=max_bytes, size_mb=size_mb, max_mb=max_mb)
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise NotAPdf()
    try:
        pdf = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        raise MalformedPdf(detail=_qpdf_detail(exc)) from None
    with pdf:
        if pdf.is_encrypted:
            # Opens with an empty user password but still carries restrictions (e.g. no printing).
            raise EncryptedPdf()
        try:
            pages = len(pdf.pages)
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            raise MalformedPdf(detail=_qpdf_detail(exc)) from None
        if pages == 0:
            raise NoPages()
        if pages > max_pages:
            raise TooManyPages(pages=pages, max_pages=max_pages)
        _check_pages(pdf)
    return PdfInfo(pages=pages, size=size)


def _check_pages(pdf: pikepdf.Pdf) -> None:
    """Every page has a page size and content that decodes — what the print filters will need."""
    for number, page in enumerate(pdf.pages, start=1):
        try:
            box = page.mediabox
            if len(box) != 4:
                raise ValueError("page size (MediaBox) is not four numbers")
            contents = page.obj.get("/Contents")
            if contents is not None:
                streams = contents if isinstance(contents, pikepdf.Array) else [contents]
                for stream in streams:
                    if not isinstance(stream, pikepdf.Stream):
                        raise ValueError("page content is not a stream")
                    stream.read_bytes()
        except (pikepdf.PdfError, ValueError, RuntimeError, TypeError, KeyError) as exc:
            raise MalformedPdf(detail=f"page {number}: {_qpdf_detail(exc)}") from None
