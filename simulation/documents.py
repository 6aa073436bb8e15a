"""The documents the simulation prints and sends: small valid PDFs made on the spot, so no test, demo or
benchmark carries a binary fixture (and none carries anyone's real document)."""

from __future__ import annotations

import io
import os
import re

import pikepdf


def pdf_with_text(pages: int = 1, text: str = "etapiste test document") -> bytes:
    """A small valid PDF with ``pages`` A4 pages, each carrying a line of text: what a printer's output is
    read back and counted by (``text - page N`` on page N)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    for n in range(1, pages + 1):
        safe = re.sub(r"[()\\]", "", f"{text} - page {n}")
        content = pdf.make_stream(f"BT /F1 14 Tf 72 770 Td ({safe}) Tj ET".encode("latin-1", "replace"))
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 595, 842],
            Contents=content,
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def pdf_of_size(size_kib: int) -> bytes:
    """A valid one-page PDF carrying ``size_kib`` of incompressible bytes: a transfer's size, so chunking,
    backpressure and progress have something to work on."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj["/EtapisteTestPayload"] = pdf.make_stream(os.urandom(size_kib * 1024))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
