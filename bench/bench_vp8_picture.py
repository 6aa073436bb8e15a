"""What VP8 costs at the point's settings depends on the picture it films: the kiosk's test picture (a gradient
panning 8 pixels a frame, what ``bench_call.py``'s kiosk sends) against a still background with a turning disc
and a counter (what Chromium's own fake camera films), 150 frames of each, one thread.

Why it matters: ``bench_call.py`` compares the kiosk's CPU with the desk's in the same call; the two encoders
must film the same thing (its ``--desk-camera same``).

Run: ``.venv/bin/python bench/bench_vp8_picture.py [--size 1280x720] [--frames 150]``
"""

from __future__ import annotations

import argparse
import fractions
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiortc.codecs import CODECS, get_encoder

from kiosk.call import encoder
from kiosk.media import PatternSource, i420_frame, to_i420


def disc_and_counter(width: int, height: int) -> Callable[[int], np.ndarray]:
    """A still grey background, a green disc whose mouth turns, a frame counter: like Chromium's fake camera."""

    def picture(n: int) -> np.ndarray:
        img = np.full((height, width, 3), 40, np.uint8)
        radius = height // 4
        cv2.ellipse(img, (width // 2, height // 2), (radius, radius), (n * 20) % 360, 30, 330, (0, 200, 0), -1)
        cv2.putText(img, f"{n // 30:02d}:{n % 30:02d} {n}", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (255,) * 3, 3)
        return img

    return picture


def measure(make: Callable[[int], np.ndarray], width: int, height: int, frames: int) -> tuple[float, float]:
    """CPU ms a frame and the bitrate VP8 made (kbit/s at 30 fps), the frames prepared beforehand."""
    vp8 = get_encoder(next(c for c in CODECS["video"] if c.mimeType == "video/VP8"))
    vp8.target_bitrate = 2_500_000
    prepared = []
    for n in range(frames):
        frame = i420_frame(to_i420(make(n), width, height))
        frame.pts, frame.time_base = n * 3000, fractions.Fraction(1, 90000)
        prepared.append(frame)
    size, began = 0, time.process_time()
    for i, frame in enumerate(prepared):
        payloads, _ = vp8.encode(frame, force_keyframe=i == 0)
        size += sum(len(p) for p in payloads)
    cpu = time.process_time() - began
    return cpu / frames * 1000, size * 8 / (frames / 30) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    cv2.setNumThreads(1)
    encoder.install()  # the point's speed settings
    pattern = PatternSource(width, height)

    def panning(_: int) -> np.ndarray:
        picture = pattern.latest()[1]
        assert picture is not None
        return picture

    print(f"VP8 at the point's settings, {width}×{height}, {args.frames} frames, 2.5 Mbit/s target")
    for name, make in (("the kiosk's panning test picture", panning),
                       ("a still background, a disc and a counter (like Chromium's fake camera)",
                        disc_and_counter(width, height))):
        ms, kbps = measure(make, width, height, args.frames)
        print(f"   {name}: {ms:.2f} ms CPU a frame, {kbps:.0f} kbit/s made")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
