"""A scanned page's imaging: the screen preview, the blank-page measure and the compression for the PDF.

It runs inside the scanner worker (:mod:`drivers.scanner_worker`), next to the pixels: the raw page
(26 MB for A4 at 300 dpi in colour) never crosses into the kiosk process, which is busy with the video
call; only the small preview and the compressed page do.

Compression (why these numbers): a page is JPEG with 4:2:0 chroma subsampling and its dpi recorded, which
img2pdf wraps into the PDF *without re-encoding*. Quality 80 first: small print and stamps stay crisp at
300 dpi, and text sharpness lives in luma, so halving chroma costs nothing visible. A page over the 1 MB
budget is re-encoded at 70, then 60 (the floor, kept whatever its size). Measured (bench_scanner.py) on a
synthetic dense A4 page of 8 pt text with a colour logo, a stamp and scanner noise: quality 80 ≈ 1.19
MB / 36.4 dB PSNR, 70 ≈ 0.92 MB / 35.4 dB, 60 ≈ 0.78 MB / 34.7 dB; a sparser page or the test backend's
grid is ~0.4 MB at 80. The resolution is never reduced, so small print stays legible. Grey pages are
8-bit grey JPEG; line art is CCITT G4 (lossless, a few tens of kB a page).
"""

from __future__ import annotations

import ctypes
import io

from PIL import Image

JPEG_LADDER = (80, 70, 60)
"""Qualities tried in turn until a page fits the budget; the last one is kept whatever its size."""
PAGE_BUDGET = 1_000_000
"""Bytes a page may take (the brief's ≈ 1 MB a page)."""
PREVIEW_MAX_PX = 1200
"""The preview's longer side: sharp on a 1080p kiosk screen, 8× fewer pixels than the page at 300 dpi."""
DARK = 160
"""A pixel darker than this (0–255) counts as ink; paper texture and scanner noise stay above it."""


def wipe(buf: bytearray) -> None:
    """Overwrite a buffer that held a customer's page with zeros (memset: 26 MB in a few ms)."""
    if buf:
        ctypes.memset((ctypes.c_char * len(buf)).from_buffer(buf), 0, len(buf))


def make_preview(image: Image.Image) -> Image.Image:
    """The page shrunk by a whole factor (box filter: fast, and text stays readable)."""
    factor = max(1, -(-max(image.size) // PREVIEW_MAX_PX))
    return image.reduce(factor) if factor > 1 else image.copy()


def ink_fraction(image: Image.Image) -> float:
    """Share of clearly dark pixels; a blank sheet has next to none."""
    gray = image.convert("L") if image.mode != "L" else image
    hist = gray.histogram()
    return sum(hist[:DARK]) / (sum(hist) or 1)


def encode_page(image: Image.Image, mode: str, dpi: int) -> tuple[str, bytearray]:
    """``(format, bytes)`` for img2pdf: ``"g4"`` TIFF for line art, else ``"jpeg"``."""
    out = io.BytesIO()
    if mode == "Lineart":
        image.convert("1").save(out, "TIFF", compression="group4", dpi=(dpi, dpi))
        return "g4", bytearray(out.getbuffer())
    for quality in JPEG_LADDER:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, subsampling="4:2:0", dpi=(dpi, dpi))
        if out.tell() <= PAGE_BUDGET:
            break
    return "jpeg", bytearray(out.getbuffer())
