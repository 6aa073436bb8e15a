"""What the point tells the agent's browser it can receive (kiosk/call/bandwidth.py): a point whose event loop
falls behind now and then (Qt painting, a keyframe to decode) is still sent a clear picture of the agent.

The first two tests drive aiortc's own receive-side estimator with the arrival pattern of such a loop and a
sender that follows every report (as the agent's Chromium follows REMB); no clock is read. The last one is a
real call between the kiosk engine and an aiortc agent over the switchboard."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from aiortc.rate import RemoteBitrateEstimator

from etapiste.config.loader import ConfigError
from etapiste.config.point import SAMPLE_CONFIG, parse_point_config
from kiosk.call import CallEngine, bandwidth
from simulation.call import connected_call
from simulation.switchboard import serve

FPS = 30
PACKET = 1100  # bytes of one video packet
CAP_KBPS = 2500  # the agent's browser sends at most this much (its own limit for the picture size)
FlooredOrNot = bandwidth.FlooredEstimate | RemoteBitrateEstimator


def follow_reports(estimate: FlooredOrNot, *, late_every_ms: float, late_by_ms: float, seconds: float = 60
                   ) -> list[int]:  # fmt: skip
    """The reports (kbit/s) a sender gets when it starts at 300 kbit/s and then sends exactly what it is told.

    Every ``late_every_ms`` the point's loop falls behind: over half a period packets are read later and later,
    up to ``late_by_ms``, then the backlog is read in one go. ``late_by_ms`` 0 is a punctual loop."""
    reports: list[int] = []
    rate_kbps = 300.0
    for frame in range(int(seconds * FPS)):
        sent_ms = frame * 1000 / FPS
        for i in range(max(1, round(rate_kbps * 1000 / 8 / FPS / PACKET))):
            sent = sent_ms + i * 0.3
            phase, half = sent % late_every_ms, late_every_ms / 2
            if phase < half:
                late = late_by_ms * phase / half
            elif phase < half * 1.25:
                late = late_by_ms * (1 - (phase - half) / half * 4)
            else:
                late = 0.0
            remb = estimate.add(
                arrival_time_ms=int(sent + 5 + late),
                abs_send_time=int(sent / 1000 * (1 << 18)) & 0xFFFFFF,  # 6.18 fixed-point seconds, 24 bits
                payload_size=PACKET,
                ssrc=1,
            )
            if remb is not None:
                reports.append(remb[0] // 1000)
                rate_kbps = min(remb[0] / 1000, CAP_KBPS)
        if frame < 3 * FPS:  # the browser's own start-up ramp before the first report
            rate_kbps = min(rate_kbps * 1.01, CAP_KBPS)
    return reports


def test_a_point_loop_that_falls_behind_now_and_then_is_still_sent_a_clear_picture() -> None:
    floor_kbps = bandwidth.FLOOR_BPS // 1000
    # aiortc's estimate alone: the late reads look like a growing network queue, the sender follows it down
    # and stays there (the bench saw the agent's browser send the kiosk 320×240 at ~63 kbit/s).
    alone = follow_reports(RemoteBitrateEstimator(), late_every_ms=2000, late_by_ms=100)
    assert max(alone[len(alone) // 2 :]) < floor_kbps / 2
    floored = bandwidth.FlooredEstimate(RemoteBitrateEstimator())
    reports = follow_reports(floored, late_every_ms=2000, late_by_ms=100)
    assert reports and min(reports) >= floor_kbps
    assert floored.estimated_bps is not None and floored.estimated_bps < bandwidth.FLOOR_BPS  # still measured


def test_a_punctual_point_reports_aiortcs_estimate_above_the_floor() -> None:
    floored = bandwidth.FlooredEstimate(RemoteBitrateEstimator())
    reports = follow_reports(floored, late_every_ms=1e9, late_by_ms=0)
    assert reports[-1] >= CAP_KBPS  # aiortc's own estimate took the sender to its limit, past the floor
    assert floored.reported_bps == floored.estimated_bps


def _sample_with_ice(ice: str, credential: Path) -> str:
    text = resources.files("etapiste.config").joinpath(SAMPLE_CONFIG).read_text(encoding="utf-8")
    assert "ice:\n  servers: []\n" in text
    text = text.replace("ice:\n  servers: []\n", f"ice:\n  servers: []\n{ice}")
    return text.replace("/etc/etapiste/switchboard-credential", str(credential))


async def test_the_points_configuration_sets_the_floor_and_an_impossible_one_is_refused_by_name(tmp_path: Path):
    """An organiser lowers the floor for a point behind a slow line; every video receiver the point's engine
    makes from then on reports at least that, not the default."""
    credential = tmp_path / "credential"
    credential.write_text("secret\n")
    CallEngine.from_config(parse_point_config(_sample_with_ice("  receive_floor_kbps: 1500\n", credential)))
    pc = RTCPeerConnection()
    try:
        estimate = bandwidth.floored(pc.addTransceiver("video").receiver)
        assert estimate is not None and estimate.floor_bps == 1_500_000
    finally:
        await pc.close()
    with pytest.raises(ConfigError) as refused:
        parse_point_config(_sample_with_ice("  receive_floor_kbps: 50000\n", credential))
    assert "ice.receive_floor_kbps" in str(refused.value)


async def test_in_a_call_the_agent_is_told_the_point_can_take_at_least_the_floor() -> None:
    async with serve() as sb, connected_call(sb) as (engine, _events, agent):
        estimates = [
            e for peer in engine.peers.values() for r in peer.pc.getReceivers() if (e := bandwidth.floored(r))
        ]
        assert len(estimates) == 1  # the agent's video; audio carries no estimate
        senders = [s for pc in agent.pcs.values() for s in pc.getSenders() if s.track and s.track.kind == "video"]

        def agent_encoding_at(bps: int) -> bool:
            encoders = [getattr(s, "_RTCRtpSender__encoder", None) for s in senders]
            return any(e is not None and e.target_bitrate >= bps for e in encoders)

        await agent.until(lambda: estimates[0].reported_bps is not None, 20, "the point's first REMB")
        assert estimates[0].reported_bps >= bandwidth.FLOOR_BPS
        # The agent's encoder took it (aiortc's VP8 encoder caps at its own maximum).
        await agent.until(lambda: agent_encoding_at(1_000_000), 10, "the agent's encoder raised to the report")
