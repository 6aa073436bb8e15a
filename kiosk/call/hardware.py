"""The point PC's own video encoder: found once at start, used for H.264 where it works, x264 where it does not.

A point's mini-PC usually has a graphics unit that encodes H.264 at almost no processor cost (Intel Quick
Sync, NVIDIA NVENC, a V4L2 memory-to-memory encoder on ARM boards). In software the encoder is the largest
single cost of a call (``docs/perf/README.md``). FFmpeg in PyAV's wheel carries these encoders; whether one
works depends on the PC's device, driver and permissions, so it is **tried, not assumed**:

* :func:`probe_here` opens each candidate at a small size and encodes a few frames; the first whose stream a
  standard decoder turns back into those pictures (a key frame, the right size, the picture sent) is the
  point's. It runs in a child process (:func:`find`, bounded by :data:`PROBE_TIMEOUT_S`):
  a graphics driver that hangs or crashes takes the probe down, never the kiosk.
* :mod:`kiosk.call.encoder` then opens that encoder for each H.264 call, and offers H.264 first (the point
  saves the encoder's whole cost; VP8 has no hardware path here). If it fails in a call (a driver update, a
  device reset), the call goes on with x264 from that frame and the point stops using it until the kiosk
  restarts; the agent sees one key frame's pause at most.
* ``devices.video_encoder: software`` in the point's configuration skips all of it (a fleet-wide switch if a
  driver misbehaves).

What the probe found is logged once at start with each candidate's reason (an ops engineer reading the
kiosk's journal sees "video encoder: h264_qsv" or why none was used).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import functools
import json
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Hardware H.264 encoders in the order tried (Intel, NVIDIA, VA-API where FFmpeg has it, V4L2 M2M).
CANDIDATES = ("h264_qsv", "h264_nvenc", "h264_vaapi", "h264_v4l2m2m")
#: The longest the probe may take before the point settles for software.
PROBE_TIMEOUT_S = 15.0
#: An H.264 key frame carries these NAL units (sequence parameter set, IDR slice).
_SPS, _IDR = 7, 5
#: Pictures the probe encodes, and how far (mean absolute luma difference, of 255) the decoded last one may be
#: from what was sent: x264 at the probe's rate comes back within 0.5, another of its pictures is 56 away.
FRAMES, MAX_MEAN_ERROR = 5, 12.0


@dataclass(frozen=True)
class Probe:
    """What the probe found: ``codec`` is the working hardware encoder, or ``None``; ``tried`` says why each
    candidate before it (or every candidate) was not used, in FFmpeg's words."""

    codec: str | None
    tried: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        reasons = "; ".join(f"{name}: {why}" for name, why in self.tried.items())
        if self.codec is not None:
            return f"video encoder: {self.codec} (hardware)" + (f"; not used: {reasons}" if reasons else "")
        return "video encoder: software (no hardware encoder works here" + (f": {reasons})" if reasons else ")")


@functools.cache
def pixel_format(codec_name: str) -> str:
    """The picture format to hand ``codec_name``: the call's own ``yuv420p`` where the encoder takes it,
    else ``nv12`` (Quick Sync and VA-API take only that from memory)."""
    import av

    formats = av.Codec(codec_name, "w").video_formats or []
    names = [f.name for f in formats]
    return "yuv420p" if "yuv420p" in names or not names else "nv12"


def has_key_frame(data: bytes) -> bool:
    """Whether an H.264 byte stream (Annex B) holds a sequence parameter set and an IDR slice."""
    kinds = {data[i + 3] & 0x1F for i in range(len(data) - 3) if data[i : i + 3] == b"\x00\x00\x01"}
    return {_SPS, _IDR} <= kinds


def probe_here(candidates: Sequence[str] = CANDIDATES, width: int = 320, height: int = 240) -> Probe:
    """Try each candidate in this process (see :func:`find` for the safe way)."""
    import av
    import numpy as np

    tried: dict[str, str] = {}
    for name in candidates:
        if name not in av.codecs_available:
            tried[name] = "not in this FFmpeg build"
            continue
        # A picture with edges and gradients, moving a little each frame (a flat one proves nothing).
        ys, xs = np.mgrid[0:height, 0:width]
        pictures = [((xs * 2 + ys + 8 * i) % 256).astype(np.uint8) for i in range(FRAMES)]
        try:
            codec: Any = av.CodecContext.create(name, "w")
            codec.width, codec.height = width, height
            codec.pix_fmt = pixel_format(name)
            codec.time_base = fractions.Fraction(1, 30)
            codec.framerate = fractions.Fraction(30, 1)
            codec.bit_rate = 2_000_000
            data = b""
            for i, luma in enumerate(pictures):
                frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format=codec.pix_fmt)
                frame.pts = i
                data += b"".join(bytes(packet) for packet in codec.encode(frame))
            data += b"".join(bytes(packet) for packet in codec.encode(None))
        except Exception as e:  # whatever FFmpeg or the driver says is the reason this one is not used
            tried[name] = str(e) or type(e).__name__
            continue
        why_not = _not_the_picture(data, pictures[-1])
        if why_not is not None:
            tried[name] = why_not
            continue
        return Probe(name, tried)
    return Probe(None, tried)


def _not_the_picture(data: bytes, last: Any) -> str | None:
    """Why ``data`` is not an H.264 stream that a standard decoder (FFmpeg's own, as in the agent's browser)
    turns back into the pictures sent (``None``: it is): a driver that encodes without an error but sends
    garbage would leave the agent looking at nothing."""
    import av
    import numpy as np

    if not has_key_frame(data):
        return f"opened, but gave no H.264 key frame ({len(data)} bytes)"
    try:
        decoder: Any = av.CodecContext.create("h264", "r")
        packets = [*decoder.parse(data), *decoder.parse(None)]  # None: the parser's last picture too
        frames = [f for packet in packets for f in decoder.decode(packet)]
        frames += decoder.decode(None)
    except Exception as e:
        return f"its stream does not decode ({e})"
    if not frames:
        return "its stream decodes to no picture"
    got = frames[-1].to_ndarray(format="gray")
    if got.shape != last.shape:
        return f"its stream decodes to {got.shape[1]}×{got.shape[0]}, not {last.shape[1]}×{last.shape[0]}"
    error = float(np.abs(got.astype(np.int16) - last.astype(np.int16)).mean())
    if error > MAX_MEAN_ERROR:
        return f"its stream decodes to another picture (mean error {error:.0f} of 255)"
    return None


async def find(candidates: Sequence[str] = CANDIDATES, *, command: Sequence[str] | None = None,
               timeout_s: float = PROBE_TIMEOUT_S) -> Probe:  # fmt: skip
    """:func:`probe_here` in a child process: a hang or a crash there is a reason, not the kiosk's end.
    ``command`` replaces the child's command line (the tests' faults)."""
    # The file itself, not ``-m kiosk.call.hardware``: the kiosk's packages (Qt, aiortc) stay out of the child;
    # ``-P`` keeps this file's directory off its import path.
    argv = list(command) if command is not None else [sys.executable, "-P", __file__, *candidates]
    try:
        child = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError as e:
        return Probe(None, {"probe": f"could not start: {e}"})
    try:
        out, _ = await asyncio.wait_for(child.communicate(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()
        return Probe(None, {"probe": f"no answer in {timeout_s:g} s"})
    if child.returncode != 0:
        code = child.returncode or 0
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return Probe(None, {"probe": f"ended with {how}"})
    try:
        answer = json.loads(out)
        codec = answer["codec"]
        tried = {str(k): str(v) for k, v in answer["tried"].items()}
        if codec is not None and not isinstance(codec, str):
            raise TypeError("codec")
    except (ValueError, KeyError, TypeError, AttributeError):
        return Probe(None, {"probe": f"unreadable answer: {out[:80]!r}"})
    return Probe(codec, tried)


def main(argv: Sequence[str]) -> int:
    result = probe_here(argv or CANDIDATES)
    print(json.dumps({"codec": result.codec, "tried": result.tried}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
