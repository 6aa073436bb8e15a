"""What the point tells the agent's browser it can receive: aiortc's bandwidth estimate, with a floor.

The agent's Chromium paces the video it sends the point by the point's REMB (aiortc has no transport-cc).
aiortc estimates it from the abs-send-time of each packet against its *arrival time*, and it reads that time
when the asyncio loop gets to the packet, not when the socket received it. On a point PC the same loop
decodes, paints through Qt and runs the data channel, so it is late by tens of milliseconds now and then;
the estimator reads each late batch as a growing network queue ("overusing"), cuts its estimate, and the
agent's browser follows: in ``bench/bench_call.py`` it sent the kiosk 320×240 at ~63 kbit/s while sending a
Chromium point 640×480 at 1700 kbit/s in the same run. A customer who is not used to video calls then sees
the agent as a blur.

REMB is an upper bound in Chromium's sender: it sends ``min(its own loss-based estimate, REMB)``. So the
point reports ``max(aiortc's estimate, FLOOR_BPS)``: the false limit goes, a real one stays — a network that
cannot carry the floor loses packets, the point's receiver reports say so, and Chromium's loss-based control
backs off (later than a working delay-based estimate would: on a link slower than the floor the customer may
see a freeze before the picture settles lower). Above the floor aiortc's estimate still rules. Written against
aiortc 1.16 (the receiver's private estimator attribute); on another version aiortc's estimate goes out
unchanged and a warning says so.
"""

from __future__ import annotations

import logging
from typing import Any

import aiortc

log = logging.getLogger(__name__)

#: The least the point reports it can receive, bit/s: Chromium's own ceiling for a 1280×720 picture (it sends
#: a 640×480 one at up to 1.7 Mbit/s), so aiortc's estimate never holds the agent's picture below what the
#: browser would send a Chromium point. Measured in ``bench/bench_call.py --parts 2`` (same run, same desk):
#: at 1.5 Mbit/s the desk still sent the kiosk 480×360 at 1.5 Mbit/s, "limited by bandwidth"; at 2.5 it sent
#: 640×480 and 1280×720, "limited by none", as to the Chromium point.
FLOOR_BPS = 2_500_000
SUPPORTED_AIORTC = ("1.16.",)
_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"

_installed = False
_floor_bps = FLOOR_BPS


class FlooredEstimate:
    """aiortc's :class:`~aiortc.rate.RemoteBitrateEstimator`, whose reports never go below ``floor_bps``."""

    def __init__(self, estimator: Any, floor_bps: int = FLOOR_BPS) -> None:
        self.estimator = estimator
        self.floor_bps = floor_bps
        self.estimated_bps: int | None = None
        """aiortc's own last estimate (what the point would have reported)."""
        self.reported_bps: int | None = None

    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
            ) -> tuple[int, list[int]] | None:  # fmt: skip
        remb: tuple[int, list[int]] | None = self.estimator.add(
            arrival_time_ms=arrival_time_ms, abs_send_time=abs_send_time, payload_size=payload_size, ssrc=ssrc
        )
        if remb is None:
            return None
        bitrate, ssrcs = remb
        self.estimated_bps = bitrate
        self.reported_bps = max(bitrate, self.floor_bps)
        return self.reported_bps, ssrcs


def floored(receiver: Any) -> FlooredEstimate | None:
    """The receiver's estimate wrapper (``None``: an audio receiver, or aiortc's own estimate in use)."""
    estimate = getattr(receiver, _ESTIMATOR, None)
    return estimate if isinstance(estimate, FlooredEstimate) else None


def install(floor_bps: int = FLOOR_BPS) -> bool:
    """Floor the estimate of every video receiver aiortc creates from now on at ``floor_bps`` (the point's
    ``ice.receive_floor_kbps``; a later call sets the floor for receivers created after it)."""
    global _installed, _floor_bps
    _floor_bps = floor_bps
    if _installed:
        return True
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    if not aiortc.__version__.startswith(SUPPORTED_AIORTC):
        log.warning("aiortc %s: its own bandwidth estimate goes to the agent's browser unfloored", aiortc.__version__)
        return False
    original = RTCRtpReceiver.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        estimator = getattr(self, _ESTIMATOR, None)
        if estimator is not None:  # video only (aiortc keeps none for audio)
            setattr(self, _ESTIMATOR, FlooredEstimate(estimator, _floor_bps))

    RTCRtpReceiver.__init__ = __init__  # type: ignore[method-assign]
    _installed = True
    return True
