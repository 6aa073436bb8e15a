"""Call quality from aiortc's statistics: bitrate both ways, received frame rate, packet loss, round trip.

Two audiences, two shapes:

- **Staff diagnostics** get a :class:`QualitySample` per peer every few seconds (what the connection does
  now, and whether it is relayed) — enough to tell "the library's network is slow" from "the camera is off".
- **The organiser** gets one :class:`CallSummary` per call (medians over the call of what the point
  received from the agent), which the session's record carries to the provisioning agent; there it only
  moves one cell of each quality histogram of the day (docs/statistics.md). No call id, no time of day,
  no peer: nothing that could be joined back to a customer's visit. :class:`QualityAggregate` gathers
  the samples of one call (or of many, for staff diagnostics) and makes the summary.

aiortc's report has transport byte counters, RTP packet counters and loss per inbound stream, and the
remote side's RTCP receiver reports (``remote-inbound-rtp``: round trip, fraction lost). It has no
decoded-frame counter, so the received frame rate comes from the engine's own count of decoded frames.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class QualitySample:
    """One interval's figures for one peer connection."""

    interval_s: float
    send_kbps: float
    receive_kbps: float
    fps_received: float
    loss_percent: float
    """Inbound packets lost in the interval, as a percentage of those expected."""
    rtt_ms: float | None
    """Round trip from the peer's RTCP receiver reports; ``None`` until the first report."""
    jitter_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QualityMeter:
    """Turns successive cumulative reports into per-interval samples (one meter per peer connection)."""

    _last: dict[str, float] | None = None
    _last_at: float | None = None

    def sample(self, report: Any, *, frames_received: int, now: float) -> QualitySample | None:
        """A sample since the previous call, or ``None`` for the first call (no interval yet)."""
        totals = {"sent": 0.0, "received": 0.0, "packets": 0.0, "lost": 0.0, "frames": float(frames_received)}
        rtts: list[float] = []
        jitters: list[float] = []
        for stats in dict(report).values():
            kind = getattr(stats, "type", "")
            if kind == "transport":
                totals["sent"] += stats.bytesSent
                totals["received"] += stats.bytesReceived
            elif kind == "inbound-rtp":
                totals["packets"] += stats.packetsReceived
                totals["lost"] += max(0, stats.packetsLost)
                if stats.kind == "audio" and stats.jitter is not None:
                    jitters.append(float(stats.jitter))
            elif kind == "remote-inbound-rtp" and getattr(stats, "roundTripTime", None) is not None:
                rtts.append(float(stats.roundTripTime))
        last, last_at = self._last, self._last_at
        self._last, self._last_at = totals, now
        if last is None or last_at is None or now <= last_at:
            return None
        dt = now - last_at
        d = {k: max(0.0, totals[k] - last[k]) for k in totals}
        expected = d["packets"] + d["lost"]
        return QualitySample(
            interval_s=round(dt, 3),
            send_kbps=round(d["sent"] * 8 / dt / 1000, 1),
            receive_kbps=round(d["received"] * 8 / dt / 1000, 1),
            fps_received=round(d["frames"] / dt, 1),
            loss_percent=round(100.0 * d["lost"] / expected, 2) if expected else 0.0,
            rtt_ms=round(1000 * statistics.fmean(rtts), 1) if rtts else None,
            # Audio jitter is in RTP clock units (48 kHz for Opus).
            jitter_ms=round(1000 * statistics.fmean(jitters) / 48000, 1) if jitters else None,
        )


@dataclass(frozen=True)
class CallSummary:
    """One call's quality as the statistics count it: medians over the call's samples of the agent's
    connection, as the point received it (what the customer saw and heard) and the round trip."""

    bitrate_kbps: float
    fps: float
    loss_pct: float
    rtt_ms: float


@dataclass
class QualityAggregate:
    """Anonymous figures over many samples (any number of calls) for the organiser's statistics.

    ``window``: only the newest ``window`` samples' figures are kept (``samples`` still counts every one).
    The point's health aggregate lives as long as the kiosk process, a sample every few seconds per
    connection: unbounded, it grew with every call the point ever had (and each health report sorted it
    all); one call's own aggregate ends with the call and keeps everything.
    """

    samples: int = 0
    window: int | None = None
    _send: deque[float] = field(default_factory=deque)
    _receive: deque[float] = field(default_factory=deque)
    _fps: deque[float] = field(default_factory=deque)
    _loss: deque[float] = field(default_factory=deque)
    _rtt: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        for name in ("_send", "_receive", "_fps", "_loss", "_rtt"):
            setattr(self, name, deque(getattr(self, name), maxlen=self.window))

    @property
    def kept(self) -> int:
        """How many samples' figures are held now (at most ``window``)."""
        return len(self._send)

    def add(self, sample: QualitySample) -> None:
        self.samples += 1
        self._send.append(sample.send_kbps)
        self._receive.append(sample.receive_kbps)
        self._fps.append(sample.fps_received)
        self._loss.append(sample.loss_percent)
        if sample.rtt_ms is not None:
            self._rtt.append(sample.rtt_ms)

    @staticmethod
    def _median(values: Sequence[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    @staticmethod
    def _p95(values: Sequence[float]) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)

    def summary(self) -> CallSummary | None:
        """The call's :class:`CallSummary`, or ``None`` while a figure is missing (a call too short for a
        sample, or without a round trip report): such a call is not counted in the quality histograms,
        rather than counted with a guess."""
        receive, fps, loss, rtt = (self._median(v) for v in (self._receive, self._fps, self._loss, self._rtt))
        if receive is None or fps is None or loss is None or rtt is None:
            return None
        return CallSummary(bitrate_kbps=receive, fps=fps, loss_pct=loss, rtt_ms=rtt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "send_kbps_median": self._median(self._send),
            "receive_kbps_median": self._median(self._receive),
            "fps_received_median": self._median(self._fps),
            "loss_percent_median": self._median(self._loss),
            "loss_percent_p95": self._p95(self._loss),
            "rtt_ms_median": self._median(self._rtt),
            "rtt_ms_p95": self._p95(self._rtt),
        }
