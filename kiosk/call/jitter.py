"""The agent's picture handed to the decoder as soon as its last packet is in, not one frame later.

aiortc 1.16's jitter buffer knows a video frame is complete only when a packet of the *next* frame arrives (its
RTP timestamp differs). Every picture from the agent therefore waited one frame interval before decoding:
33 ms at 30 fps, 80–170 ms at the 6–12 fps a busy or thin link gives, and the first picture of a call waited as
long (``bench/README.md``, "The agent's first picture": 30 ms of the kiosk's 197 between the first video packet
and the picture). When the agent's video stops (the desk's camera paused, the browser throttled), the last
picture never came at all.

Senders mark a frame's last packet: the RTP marker bit (RFC 7741 §4.1 for VP8, RFC 6184 §5.1 for H.264), which
Chromium and aiortc both set. Here a video frame is complete when its packets run without a gap from the
buffer's start to one carrying the marker; aiortc's rule (the next frame's first packet) still holds when the
marker packet itself was lost and its frame is ended by the next one, exactly as before. Audio keeps aiortc's
buffer unchanged (its prefetch is the audio's smoothing, and the marker means something else there).

Written against aiortc 1.16 (``aiortc.jitterbuffer.JitterBuffer``'s ring of packets and ``_remove_frame``; the
receiver makes its buffers through the name ``aiortc.rtcrtpreceiver.JitterBuffer``); on any other version
:func:`install` leaves aiortc's buffer in place and a warning says so. Tested in ``tests/kiosk/test_call_jitter.py``.
"""

from __future__ import annotations

import logging

import aiortc
from aiortc.jitterbuffer import JitterBuffer, JitterFrame

log = logging.getLogger(__name__)

SUPPORTED_AIORTC = ("1.16.",)

_original: type[JitterBuffer] | None = None


class MarkedFrameJitterBuffer(JitterBuffer):
    """aiortc's buffer, but a video frame leaves it on its marked last packet (see the module's note)."""

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        if not self._is_video or self._origin is None:
            return super()._remove_frame(sequence_number)
        timestamp: int | None = None
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None  # a gap: the frame is not complete yet (a NACK may still fill it)
            if timestamp is not None and packet.timestamp != timestamp:
                return self._take(count, timestamp)  # the next frame began (its marked last packet was lost)
            timestamp = packet.timestamp
            if packet.marker:
                return self._take(count + 1, timestamp)
        return None

    def _take(self, count: int, timestamp: int) -> JitterFrame:
        """The first ``count`` packets, from the buffer's start, as one frame, and out of the buffer."""
        assert self._origin is not None
        parts = [self._packets[(self._origin + i) % self._capacity] for i in range(count)]
        frame = JitterFrame(data=b"".join(p._data for p in parts if p is not None), timestamp=timestamp)  # type: ignore[attr-defined]
        self.remove(count)
        return frame


def install() -> bool:
    """Make every video receiver aiortc creates from now on use :class:`MarkedFrameJitterBuffer` (idempotent)."""
    global _original
    from aiortc import rtcrtpreceiver

    if _original is not None:
        return True
    if not aiortc.__version__.startswith(SUPPORTED_AIORTC) or not hasattr(JitterBuffer, "_remove_frame"):
        log.warning("aiortc %s: its own jitter buffer stays (a frame decoded one frame late)", aiortc.__version__)
        return False
    _original = rtcrtpreceiver.JitterBuffer
    rtcrtpreceiver.JitterBuffer = MarkedFrameJitterBuffer  # type: ignore[misc]
    return True


def uninstall() -> None:
    """aiortc's own buffer again (for measuring against it, and for the tests)."""
    global _original
    from aiortc import rtcrtpreceiver

    if _original is not None:
        rtcrtpreceiver.JitterBuffer = _original  # type: ignore[misc]
        _original = None
