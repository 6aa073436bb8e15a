"""What the point asks the agent's browser to send it, written into the offer (Chromium reads it from there).

Why: aiortc offers no transport-wide congestion control, so Chromium paces what it sends the point by aiortc's
REMB and loss reports. aiortc's estimator sends its first REMB only after ~3 s, at the rate it measured (what
Chromium's 300 kbit/s start gave it), then grows ~8 % a second, and cuts to 0.85 × on any delay it reads as
congestion — which a busy point's late event loop looks like. The desk thus sent the point 640×360 at 6–12 fps
where it sent a Chromium point 1280×720 at 30 (bench/bench_call.py, same run). Chromium takes three codec
parameters from the remote description for its sender: ``x-google-start-bitrate`` (where its estimate starts),
``x-google-min-bitrate`` (a floor that REMB cannot push it under) and ``x-google-max-bitrate`` (kbit/s).

The floor weakens congestion control on a link that really is slower; :data:`MIN_KBPS` is what a 640×360 picture
at 30 fps needs, well under what a library's connection carries, and loss still lowers the picture's size.
"""

from __future__ import annotations

import re

#: Where the agent's browser starts (kbit/s): enough for 720p30 from the first second.
START_KBPS = 1500
#: The least it sends while the call runs (REMB cannot push it lower).
MIN_KBPS = 600
#: The most: 720p30 VP8 at a quality the customer sees as sharp.
MAX_KBPS = 2500

_RTPMAP = re.compile(r"^a=rtpmap:(\d+) ([A-Za-z0-9-]+)/", re.MULTILINE)


def bitrate_hints(sdp: str, start: int = START_KBPS, low: int = MIN_KBPS, high: int = MAX_KBPS) -> str:
    """``sdp`` with the x-google bitrate parameters on every video codec (not on retransmission or FEC
    payloads); existing ``fmtp`` lines keep their parameters."""
    hints = f"x-google-start-bitrate={start};x-google-min-bitrate={low};x-google-max-bitrate={high}"
    newline = "\r\n" if "\r\n" in sdp else "\n"
    out: list[str] = []
    for section in re.split(r"(?=^m=)", sdp, flags=re.MULTILINE):
        if not section.startswith("m=video"):
            out.append(section)
            continue
        codecs = [pt for pt, name in _RTPMAP.findall(section) if name.lower() not in ("rtx", "red", "ulpfec")]
        lines = section.split(newline)
        have_fmtp = set()
        for i, line in enumerate(lines):
            m = re.match(r"^a=fmtp:(\d+) (.*)$", line)
            if m and m.group(1) in codecs and "x-google-" not in line:
                lines[i] = f"{line};{hints}"
                have_fmtp.add(m.group(1))
        for pt in codecs:
            if pt in have_fmtp:
                continue
            at = next(i for i, line in enumerate(lines) if line.startswith(f"a=rtpmap:{pt} "))
            lines.insert(at + 1, f"a=fmtp:{pt} {hints}")
        out.append(newline.join(lines))
    return "".join(out)
