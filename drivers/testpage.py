"""The staff's printer test page: proof the whole path prints, with nothing of any customer on it.

It carries what the staff and the organiser's support need when they look at a printout — the
point's host name, the date and time, the queue and the device status as the driver saw it — plus a
frame and a grey ramp that show clipping and toner trouble at a glance. The PDF is written by hand
(one page, the standard Helvetica font, WinAnsi text) so that it needs no font files and no
template that could ever pick up someone's document.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Sequence

_A4 = (595, 842)
_MARGIN = 28  # ~10 mm


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252), escaped; characters outside it become '?'."""
    raw = text.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def render_test_page(title: str, lines: Sequence[str], *, ramp: bool = True) -> bytes:
    """One A4 page: a frame, ``title`` in large type, ``lines`` below, a grey ramp at the bottom (``ramp``;
    the kiosk's privacy information printout is a plain page of text without it)."""
    width, height = _A4
    ops: list[bytes] = [
        b"0.8 w",
        f"{_MARGIN} {_MARGIN} {width - 2 * _MARGIN} {height - 2 * _MARGIN} re S".encode(),
        b"BT /F1 22 Tf 56 770 Td " + _pdf_text(title) + b" Tj ET",
    ]
    y = 730
    for line in lines:
        ops.append(f"BT /F1 12 Tf 56 {y} Td ".encode() + _pdf_text(line) + b" Tj ET")
        y -= 18
    for step in range(11 if ramp else 0):  # grey ramp: white → black in 10 % steps
        grey = 1 - step / 10
        ops.append(f"{grey:.1f} g {56 + step * 44} 60 40 40 re f".encode())
    content = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_test_page(
    *,
    queue: str | None,
    status_lines: Sequence[str],
    host: str | None = None,
    when: dt.datetime | None = None,
) -> bytes:
    """The test page for this point: host name, local date and time, queue and device status."""
    host = host or socket.gethostname()
    when = when or dt.datetime.now().astimezone()
    lines = [
        "Tulostimen testisivu - Skrivarens testsida - Printer test page",
        "",
        f"Host: {host}",
        f"Date: {when.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"Queue: {queue or '-'}",
        "Device status:",
        *[f"  {line}" for line in status_lines],
        "",
        "This page holds no customer data. Ei asiakastietoja. Inga kunduppgifter.",
        "Check: the frame is whole and the grey ramp below has 11 distinct steps.",
    ]
    return render_test_page("etapiste - printer test page", lines)
