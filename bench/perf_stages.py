"""Share of a py-spy profile per stage of a call (docs/perf/README.md).

Run: ``.venv/bin/python bench/perf_stages.py PROFILE.folded SECONDS RATE`` on ``py-spy record -f raw --threads``
output; prints a Markdown table: percent of one core per stage (thread time sampled busy, idle waits left out).
"""

from __future__ import annotations

import collections
import sys

STAGES = (
    ("camera capture + conversion", ("CameraTrack", "PatternSource", "to_i420", "self_view", "roll (")),
    ("VP8/H.264 encoder", ("Vp8Encoder.encode", "H264Encoder.encode", "encode (kiosk/call/encoder")),
    ("decoder", ("decoder_worker", "Vp8Decoder", "H264Decoder")),
    ("frame conversion for Qt", ("to_bgrx", "to_ndarray")),
    ("painting (Qt)", ("paintEvent", "processEvents", "drawImage")),
    ("audio (Opus, tone)", ("Opus", "ToneTrack", "audio")),
    ("SRTP/DTLS/SCTP/ICE", ("rtcdtlstransport", "rtcsctptransport", "aioice", "srtp")),
    ("RTP send/receive", ("rtcrtpsender", "rtcrtpreceiver", "jitterbuffer", "rate.py")),
    ("signalling + bookkeeping", ("aiohttp", "kiosk/call", "switchboard", "stats")),
)
IDLE = ("Queue.get", "Condition.wait", "select (selectors.py")


def stages(path: str) -> tuple[collections.Counter[str], int]:
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, n = line.rsplit(" ", 1)
            frames = stack.split(";")
            if any(key in frames[-1] for key in IDLE) or frames[-1].strip().endswith("thread.py:81)"):
                continue
            total += int(n)
            name = next((name for name, keys in STAGES if any(k in stack for k in keys)), "other (event loop)")
            counts[name] += int(n)
    return counts, total


def main() -> None:
    path, seconds, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    counts, total = stages(path)
    for name, n in counts.most_common():
        print(f"| {name} | {100 * n / rate / seconds:.0f} % |")
    print(f"| all sampled busy | {100 * total / rate / seconds:.0f} % |")


if __name__ == "__main__":
    main()
