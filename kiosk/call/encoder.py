"""The VP8 encoder's speed settings for a point PC (aiortc 1.16's are its defaults, not tunable).

aiortc encodes VP8 with ``cpu-used -6`` and the temporal denoiser at ``noise-sensitivity 4``. Measured on a
1280×720 picture on this 2-core machine (CPU per frame, same bitrate): -6/4 19.5 ms, -6/0 14.0 ms, -8/0 12.0 ms;
the denoiser alone is ~30 % of the encoder. A kiosk camera is fixed in a lit booth, its picture carries little
sensor noise, and the encoder runs for every frame of every call: :func:`install` makes aiortc's encoder use
:data:`SPEED` and :data:`NOISE_SENSITIVITY` (the rest of aiortc's method is unchanged: CBR, the bitrate REMB asks
for, a keyframe on request). Written against aiortc 1.16 (``aiortc.codecs.vpx.Vp8Encoder``); on another version
aiortc's own settings stay and a warning says so.
"""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any

import aiortc

log = logging.getLogger(__name__)

#: libvpx realtime speed (-16 … 16, further from 0 is faster and a little less sharp); aiortc uses -6.
SPEED = -8
#: libvpx's temporal denoiser (0 off, 4 adaptive as aiortc); off: see the module's note.
NOISE_SENSITIVITY = 0
SUPPORTED_AIORTC = ("1.16.",)

_installed = False


def options(bitrate: int) -> dict[str, str]:
    """The encoder's options at ``bitrate`` (aiortc's, with the point's speed and denoiser)."""
    return {
        "bufsize": str(bitrate),
        "cpu-used": str(SPEED),
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "noise-sensitivity": str(NOISE_SENSITIVITY),
        "overshoot-pct": "15",
        "partitions": "0",
        "static-thresh": "1",
        "undershoot-pct": "100",
    }


def install() -> bool:
    """Use :func:`options` for every VP8 encoder aiortc creates from now on (idempotent)."""
    global _installed
    if _installed:
        return True
    from aiortc.codecs import vpx

    if not aiortc.__version__.startswith(SUPPORTED_AIORTC) or not hasattr(vpx.Vp8Encoder, "encode"):
        log.warning("aiortc %s: its own VP8 speed settings stay", aiortc.__version__)
        return False
    original = vpx.Vp8Encoder.encode

    def encode(self: Any, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        codec = self.codec
        fresh = codec is None or (
            frame.width != codec.width
            or frame.height != codec.height
            or abs(self.target_bitrate - codec.bit_rate) / codec.bit_rate > 0.1
        )
        if fresh:
            # Open the codec here, as aiortc would, but with the point's options; aiortc's method then finds
            # it in place (same size, same bitrate) and only encodes.
            import av

            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            codec = av.CodecContext.create("libvpx", "w")
            codec.width, codec.height = frame.width, frame.height
            codec.bit_rate = self.target_bitrate
            codec.pix_fmt = "yuv420p"
            codec.gop_size = 3000
            codec.qmin, codec.qmax = 2, 56
            codec.options = self.point_options = options(self.target_bitrate)
            codec.thread_count = vpx.number_of_threads(frame.width * frame.height, multiprocessing.cpu_count())
            self.codec = codec
        result: tuple[list[bytes], int] = original(self, frame, force_keyframe)
        return result

    vpx.Vp8Encoder.encode = encode  # type: ignore[method-assign]
    _installed = True
    return True
