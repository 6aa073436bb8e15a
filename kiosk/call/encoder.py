"""The video encoders' settings for a point PC (aiortc 1.16's are its defaults, not tunable), and which codec
the point offers first.

**VP8.** aiortc encodes with ``cpu-used -6`` and the temporal denoiser at ``noise-sensitivity 4``. Measured on a
1280×720 picture on this 2-core machine (CPU per frame, same bitrate): -6/4 19.5 ms, -6/0 14.0 ms, -8/0 12.0 ms;
the denoiser alone is ~30 % of the encoder. A kiosk camera is fixed in a lit booth, its picture carries little
sensor noise, and the encoder runs for every frame of every call: the point uses :data:`SPEED` and
:data:`NOISE_SENSITIVITY` (the rest of aiortc's method is unchanged: CBR, the bitrate REMB asks for, a keyframe
on request).

**H.264** (x264). aiortc opens it at its default preset (``medium``, only ``tune zerolatency``): 27 ms of CPU a
720p frame here, which would choke a point whose call negotiated H.264. At ``superfast`` with the same zero-latency
tuning and a constant-rate buffer like VP8's it takes 4.7 ms against VP8's 7.1 (the point's settings), at a
picture as good for the same bitrate (PSNR 48.8 against 47.7 dB at 2.5 Mbit/s, 44.5 against 44.2 at 1 Mbit/s;
``ultrafast``, 3.1 ms, loses 1.5 dB at 1 Mbit/s: no deblocking).

**Which codec the point offers first** (:data:`PREFERRED`, VP8). Offering H.264 first was measured
(``bench/bench_call.py --parts 2``, alternating, 2026-12-03 night): the agent's Chromium answers with it in
both directions, its own CPU falls (720p: 34–36 → 26 % of a core), but the kiosk's stays (38–40 → 37–38 %; not
profiled: decoding H.264 and aiortc's H.264 packetizing in Python would be where the encoder's gain goes), so the
kiosk ÷ desk ratio worsens (1.11–1.13 → 1.43–1.44), and the agent's picture would come from Chromium's
OpenH264 rather than libvpx. VP8 stays first; the agent's browser answers with H.264 only if it has no VP8.

**A PC with a hardware H.264 encoder** (:mod:`kiosk.call.hardware`, found by trying it at start) offers H.264
first and encodes it there (:func:`use_hardware`); a failure in a call moves that call, and every later one, to
x264. Not measured on such a PC (this machine has no graphics unit): what it saves is at most the software
encoder's cost, x264's 4.7 ms a 720p frame (14 % of a core at 30 fps); decoding the agent's H.264 stays in
software. That decision is the point's (H.264 first) because the agent's browser, answering, follows it.

:func:`install` makes aiortc's encoders use these settings; written against aiortc 1.16
(``aiortc.codecs.vpx.Vp8Encoder`` and ``aiortc.codecs.h264.H264Encoder``); on another version aiortc's own
settings stay and a warning says so.
"""

from __future__ import annotations

import fractions
import logging
import multiprocessing
from collections.abc import Callable
from typing import Any

import aiortc

from kiosk.call import hardware

log = logging.getLogger(__name__)

#: libvpx realtime speed (-16 … 16, further from 0 is faster and a little less sharp); aiortc uses -6.
SPEED = -8
#: libvpx's temporal denoiser (0 off, 4 adaptive as aiortc); off: see the module's note.
NOISE_SENSITIVITY = 0
#: x264's speed preset and the options beside it (see the module's note).
H264_PRESET = "superfast"
#: The codec the point offers first (``"vp8"`` or ``"h264"``, see the module's note); the other follows it.
#: A point with a working hardware H.264 encoder offers H.264 first instead (:func:`preferred`).
PREFERRED = "vp8"
SUPPORTED_AIORTC = ("1.16.",)

_installed = False
_hardware: str | None = None
"""The hardware H.264 encoder in use (:mod:`kiosk.call.hardware`), or ``None`` for x264."""
_probed = False


def claim_probe() -> bool:
    """Whether the caller is the first in this process to look for a hardware encoder (it is done once)."""
    global _probed
    first, _probed = not _probed, True
    return first


def use_hardware(codec_name: str | None) -> None:
    """Open ``codec_name`` (a hardware H.264 encoder the probe found working) for H.264 calls from now on, and
    offer H.264 first; ``None`` goes back to x264 and :data:`PREFERRED`."""
    global _hardware
    _hardware = codec_name


def hardware_in_use() -> str | None:
    """The hardware H.264 encoder in use, or ``None``."""
    return _hardware


def preferred() -> str:
    """The codec the point offers first: H.264 while a hardware encoder carries it, else :data:`PREFERRED`."""
    return "h264" if _hardware is not None else PREFERRED


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


def h264_options(bitrate: int) -> dict[str, str]:
    """x264's options at ``bitrate``: fast, no frame held back (zero latency), and a buffer of one second at that
    rate so a keyframe does not burst far above what the network was told (aiortc sets none)."""
    return {
        "preset": H264_PRESET,
        "tune": "zerolatency",
        "level": "31",
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
    }


def install() -> bool:
    """Use :func:`options` for every VP8 encoder and :func:`h264_options` for every H.264 encoder aiortc creates
    from now on (idempotent)."""
    global _installed
    if _installed:
        return True
    from aiortc.codecs import h264, vpx

    if not aiortc.__version__.startswith(SUPPORTED_AIORTC) or not all(
        hasattr(cls, "encode") and hasattr(cls, "target_bitrate") for cls in (vpx.Vp8Encoder, h264.H264Encoder)
    ):
        log.warning("aiortc %s: its own encoder settings stay", aiortc.__version__)
        return False
    _install_vp8(vpx)
    _install_h264(h264)
    _installed = True
    return True


def _fresh(encoder: Any, frame: Any) -> bool:
    """Whether aiortc would open its codec again for ``frame``: none yet, another size, or the bitrate moved
    more than 10 % (aiortc's own rule in both encoders)."""
    codec = encoder.codec
    return codec is None or (
        frame.width != codec.width
        or frame.height != codec.height
        or abs(encoder.target_bitrate - codec.bit_rate) / codec.bit_rate > 0.1
    )


def _open_with_point_settings(encoder_class: Any, codec_name: Callable[[], str],
                              configure: Callable[[Any, Any], None]) -> None:  # fmt: skip
    """Make ``encoder_class.encode`` open its codec itself, as aiortc would but with ``configure(encoder, codec)``
    adding the point's settings; aiortc's method then finds it in place (same size, same bitrate) and only
    encodes."""
    original = encoder_class.encode

    def encode(self: Any, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        if _fresh(self, frame):
            import av

            codec: Any = av.CodecContext.create(codec_name(), "w")
            codec.width, codec.height = frame.width, frame.height
            codec.bit_rate = self.target_bitrate
            codec.pix_fmt = "yuv420p"
            configure(self, codec)
            self.codec = codec
        result: tuple[list[bytes], int] = original(self, frame, force_keyframe)
        return result

    encoder_class.encode = encode


def _install_vp8(vpx: Any) -> None:
    def configure(encoder: Any, codec: Any) -> None:
        codec.gop_size = 3000
        codec.qmin, codec.qmax = 2, 56
        codec.options = encoder.point_options = options(encoder.target_bitrate)
        codec.thread_count = vpx.number_of_threads(codec.width * codec.height, multiprocessing.cpu_count())

    _open_with_point_settings(vpx.Vp8Encoder, lambda: "libvpx", configure)


def hardware_options(codec_name: str, bitrate: int) -> dict[str, str]:
    """A hardware encoder's options at ``bitrate``: its fastest low-delay mode, no frame held back, the same
    one-second rate buffer as x264 (names differ by vendor; an option the encoder does not know is ignored by
    FFmpeg, which says so in its log)."""
    rate = {"maxrate": str(bitrate), "bufsize": str(bitrate)}
    if codec_name == "h264_qsv":
        return {**rate, "preset": "veryfast", "look_ahead": "0", "async_depth": "1", "low_power": "1"}
    if codec_name == "h264_nvenc":
        return {**rate, "preset": "p1", "tune": "ull", "zerolatency": "1", "delay": "0", "rc": "cbr"}
    return rate


def _install_h264(h264: Any) -> None:
    def configure(encoder: Any, codec: Any) -> None:
        codec.framerate = fractions.Fraction(h264.MAX_FRAME_RATE, 1)
        codec.time_base = fractions.Fraction(1, h264.MAX_FRAME_RATE)
        if codec.name == "libx264":
            codec.options = encoder.point_options = h264_options(encoder.target_bitrate)
        else:
            codec.pix_fmt = hardware.pixel_format(codec.name)
            codec.options = encoder.point_options = hardware_options(codec.name, encoder.target_bitrate)
            codec.gop_size = 3000  # a key frame when the agent asks (aiortc forces one), not on a schedule
            codec.max_b_frames = 0
        codec.profile = "Baseline"  # what the offer's profile-level-id 42e01f / 42001f promise
        encoder.buffer_data, encoder.buffer_pts = b"", None  # as aiortc does when it opens the codec again

    _open_with_point_settings(h264.H264Encoder, lambda: _hardware or "libx264", configure)
    _fall_back_to_software(h264.H264Encoder)


def _fall_back_to_software(encoder_class: Any) -> None:
    """Make ``encoder_class.encode`` take the call over to x264 when the hardware encoder fails (it cannot open,
    or an encode fails): that frame is encoded again in software, as a key frame, and the point stops using the
    hardware encoder (:func:`use_hardware` ``None``) until the kiosk restarts; a call still on it elsewhere
    moves to x264 at its next frame. (PyAV converts each frame to the format the codec was opened with.)"""
    inner = encoder_class.encode

    def encode(self: Any, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        result: tuple[list[bytes], int]
        current = self.codec.name if self.codec is not None else None
        if current not in (None, "libx264") and _hardware is None:  # given up in another call
            self.codec, force_keyframe, current = None, True, None
        on_hardware = current not in (None, "libx264") or (current is None and _hardware is not None)
        try:
            result = inner(self, frame, force_keyframe)
        except Exception as e:  # whatever a driver or its options did: this path cannot be tested without it
            if not on_hardware:
                raise
            log.warning("the hardware video encoder %s failed (%s): H.264 is encoded in software from now on",
                        current or _hardware, e)  # fmt: skip
            use_hardware(None)
            self.codec = None
            result = inner(self, frame, True)
        return result

    encoder_class.encode = encode


def codec_preferences(kind: str = "video") -> list[Any]:
    """aiortc's codecs for ``kind`` with :func:`preferred` first (its retransmission entries stay where they are:
    aiortc pairs them with the codecs offered)."""
    from aiortc import RTCRtpSender

    codecs = list(RTCRtpSender.getCapabilities(kind).codecs)
    first = [c for c in codecs if c.mimeType.lower() == f"{kind}/{preferred()}"]
    return first + [c for c in codecs if c not in first]
