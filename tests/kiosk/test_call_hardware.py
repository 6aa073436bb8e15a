"""The PC's hardware H.264 encoder: found by trying, never assumed; a failure in a call leaves the call on x264.

This machine has no graphics unit, so every hardware encoder in PyAV's FFmpeg fails here with the driver's own
error; that is the fault the tests use. A working encoder is stood in for by x264 only where the probe's
choosing is tested (it cannot exist here as hardware).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator

import pytest

from kiosk.call import RemoteVideoFrame, encoder, hardware
from simulation.call import connected_call, point_engine
from simulation.switchboard import serve
from simulation.waiting import polled
from tests.kiosk.test_call_cost import first_video_codec


@pytest.fixture(autouse=True)
def software_again() -> Iterator[None]:
    """Each test leaves the process's encoder choice as it found it (x264, nothing probed)."""
    yield
    encoder.use_hardware(None)
    encoder._probed = False


def test_the_probe_takes_the_first_encoder_that_gives_a_key_frame_and_says_why_not_the_others() -> None:
    found = hardware.probe_here(("h264_nvenc", "h264_nowhere", "libx264", "libopenh264"))
    assert found.codec == "libx264"  # the stand-in for a working hardware encoder
    assert found.tried["h264_nowhere"] == "not in this FFmpeg build"
    assert "avcodec_open2" in found.tried["h264_nvenc"]  # FFmpeg's own words: no NVIDIA device here
    assert "libopenh264" not in found.tried  # not tried once one worked
    assert found.describe().startswith("video encoder: libx264 (hardware); not used: h264_nvenc: ")


async def test_on_a_pc_without_a_graphics_unit_the_point_stays_in_software_and_the_journal_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "kiosk.call")
    async with serve() as sb, point_engine(sb, video_encoder="auto") as (engine, _):
        await engine.start(timeout=10)
        await polled(lambda: "video encoder:" in caplog.text, "the probe's finding in the log", 30)
        assert encoder.hardware_in_use() is None and encoder.preferred() == "vp8"
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("video encoder:"))
    assert line.startswith("video encoder: software (no hardware encoder works here: h264_qsv: ")
    for name in hardware.CANDIDATES:
        assert f"{name}: " in line


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("import os; os.abort()", "ended with signal SIGABRT"),  # a driver that crashes the process
        ("import time; time.sleep(60)", "no answer in 1 s"),  # a driver that hangs
        ("print('Segmentation fault?')", "unreadable answer"),
        ('print(\'{"codec": 7, "tried": {}}\')', "unreadable answer"),
    ],
)
async def test_a_probe_that_crashes_hangs_or_talks_nonsense_leaves_the_point_in_software(
    script: str, reason: str
) -> None:
    found = await hardware.find(command=[sys.executable, "-c", script], timeout_s=1)
    assert found.codec is None
    assert found.tried["probe"].startswith(reason)


async def test_the_probe_in_its_child_process_finds_what_the_process_itself_finds() -> None:
    here = hardware.probe_here(("h264_qsv", "libx264"))
    child = await hardware.find(("h264_qsv", "libx264"))
    assert (child.codec, list(child.tried)) == (here.codec, list(here.tried)) == ("libx264", ["h264_qsv"])


async def test_a_hardware_encoder_that_fails_in_the_call_hands_the_call_to_x264_and_the_agent_sees_the_customer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As on a point whose probe found NVENC and whose driver then went away: the encoder cannot open in the call.
    encoder.use_hardware("h264_nvenc")
    assert encoder.preferred() == "h264"
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        pc = next(iter(engine.peers.values())).pc
        assert pc.remoteDescription is not None
        assert first_video_codec(pc.remoteDescription.sdp) == "H264"  # H.264 offered first, as with hardware
        pictures, desk_frames = events.count(RemoteVideoFrame), agent.frames["video"]
        await events.until(lambda: agent.frames["video"] >= desk_frames + 10 and events.count(RemoteVideoFrame)
                           >= pictures + 10, 30, "ten more pictures each way")  # fmt: skip
    assert encoder.hardware_in_use() is None and encoder.preferred() == "vp8"  # the next call: VP8 first again
    warnings = [r.getMessage() for r in caplog.records if "hardware video encoder" in r.getMessage()]
    assert len(warnings) == 1 and "h264_nvenc" in warnings[0] and "software from now on" in warnings[0]


def test_an_h264_stream_without_a_key_frame_is_not_taken_for_a_working_encoder() -> None:
    sps, pps, idr, slice_ = (b"\x00\x00\x00\x01" + bytes([t]) + b"\x11\x22" for t in (0x67, 0x68, 0x65, 0x41))
    assert hardware.has_key_frame(sps + pps + idr)
    assert not hardware.has_key_frame(slice_ + slice_)
    assert not hardware.has_key_frame(b"")


async def test_a_software_setting_never_probes() -> None:
    async with serve() as sb, point_engine(sb, video_encoder="software") as (engine, _):
        await engine.start(timeout=10)
        await asyncio.sleep(0.5)  # the probe would have been claimed on the loop's next turn
        assert encoder._probed is False


def test_an_encoder_whose_stream_is_not_the_picture_sent_is_not_taken() -> None:
    # A driver that encodes without an error but sends something else would leave the agent looking at nothing.
    found = hardware.probe_here(("libvpx",))  # a working encoder, but not of H.264
    assert found.codec is None and found.tried["libvpx"].startswith("opened, but gave no H.264 key frame")
    import fractions

    import av
    import numpy as np

    ys, xs = np.mgrid[0:240, 0:320]
    sent = ((xs * 2 + ys) % 256).astype(np.uint8)
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"  # type: ignore[attr-defined]
    codec.time_base = fractions.Fraction(1, 30)
    frame = av.VideoFrame.from_ndarray(sent, format="gray").reformat(format="yuv420p")
    frame.pts = 0
    data = b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])  # type: ignore[attr-defined]
    assert hardware._not_the_picture(data, sent) is None
    assert (hardware._not_the_picture(data, 255 - sent) or "").startswith("its stream decodes to another picture")
    assert (hardware._not_the_picture(data[: len(data) // 3], sent) or "") != ""  # cut short: not taken
