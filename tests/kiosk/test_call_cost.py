"""What a call costs the point, and what it must survive on a busy one (issue 18; figures in bench/README.md).

- An ended call stops reading and converting the camera (each ended call used to leave a full-rate camera reader
  running on the event loop: after a few calls the point had no processor left and a document transfer
  dropped with ``call_dropped``).
- The agent's picture reaches the view at the size the agent's side sent it (no downscale on the way).
"""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.call import CallEnded, RemoteVideoFrame, SelfVideoFrame
from kiosk.media import CameraTrack, MediaConfig, PatternSource, ToneTrack
from kiosk.views.video import VideoView
from simulation import desk_agent
from simulation.call import connected_call
from simulation.switchboard import serve

pytestmark = pytest.mark.usefixtures("loopback_ice")


class CountingPattern(PatternSource):
    """The test pattern, counting how often the engine takes a picture from the "camera"."""

    reads = 0

    def latest(self):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().latest()


async def test_an_ended_call_stops_reading_the_camera_and_showing_the_customer() -> None:
    camera = CountingPattern(320, 240)
    media = MediaConfig(video=camera, width=320, height=240, audio=ToneTrack)
    async with serve() as sb, connected_call(sb, media=media) as (engine, events, _agent):
        await events.until(lambda: events.count(SelfVideoFrame) > 3, what="the self view")
        track = engine._video
        assert track is not None
        task = engine.hang_up()
        assert task is not None
        await task
        await events.first(CallEnded)
        assert track.readyState == "ended"
        await asyncio.sleep(0.3)  # a conversion under way when the call ended may finish
        reads, shown = camera.reads, events.count(SelfVideoFrame)
        await asyncio.sleep(1.0)  # 30 frame intervals
        # Nothing takes pictures from the camera any more, and the customer's picture is not handed on.
        assert camera.reads == reads
        assert events.count(SelfVideoFrame) == shown


async def test_the_agents_picture_is_painted_at_the_size_it_was_sent(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = (1280, 720)
    monkeypatch.setattr(
        desk_agent, "CameraTrack", lambda _source, _w, _h, fps: CameraTrack(PatternSource(*sent), *sent, fps)
    )
    widget = VideoView()
    qtbot.addWidget(widget)
    widget.resize(640, 360)  # a view smaller than the picture: the painter scales, nothing before it
    widget.show()
    async with serve() as sb, connected_call(sb) as (engine, _events, _agent):
        engine.subscribe(lambda e: widget.show_remote(e.image) if isinstance(e, RemoteVideoFrame) else None)
        for _ in range(500):
            await asyncio.sleep(0.01)
            QApplication.processEvents()
            if widget.frames_painted >= 10:
                break
        assert widget.frames_painted >= 10
        size = widget.remote_size
        assert size is not None and (size.width(), size.height()) == sent


def test_the_vp8_encoder_runs_at_the_points_speed_settings_and_still_encodes() -> None:
    from aiortc.codecs import get_encoder
    from aiortc.codecs.vpx import Vp8Decoder, vp8_depayload
    from aiortc.jitterbuffer import JitterFrame

    from kiosk.call import encoder
    from kiosk.media import i420_frame, to_i420

    assert encoder.install()
    vp8 = get_encoder(next(c for c in __import__("aiortc.codecs", fromlist=["CODECS"]).CODECS["video"]
                           if c.mimeType == "video/VP8"))
    picture = PatternSource(320, 240).latest()[1]
    assert picture is not None
    frame = i420_frame(to_i420(picture, 320, 240))
    frame.pts, frame.time_base = 0, __import__("fractions").Fraction(1, 90000)
    payloads, timestamp = vp8.encode(frame, force_keyframe=True)
    options = vp8.point_options  # type: ignore[attr-defined]
    assert options["cpu-used"] == str(encoder.SPEED) and options["noise-sensitivity"] == "0"
    # What it made is a VP8 picture of the same size.
    data = b"".join(vp8_depayload(p) for p in payloads)
    (decoded,) = Vp8Decoder().decode(JitterFrame(data=data, timestamp=timestamp))
    assert (decoded.width, decoded.height) == (320, 240)


def test_the_h264_encoder_runs_at_the_points_preset_and_still_encodes() -> None:
    import fractions

    from aiortc.codecs import CODECS, get_encoder
    from aiortc.codecs.h264 import H264Decoder, h264_depayload
    from aiortc.jitterbuffer import JitterFrame

    from kiosk.call import encoder
    from kiosk.media import i420_frame, to_i420

    # aiortc's own preset (medium) takes ~27 ms of CPU a 720p frame: a call that negotiated H.264 would choke.
    assert encoder.install()
    h264 = get_encoder(next(c for c in CODECS["video"] if c.mimeType == "video/H264"))
    picture = PatternSource(320, 240).latest()[1]
    assert picture is not None
    frame = i420_frame(to_i420(picture, 320, 240))
    frame.pts, frame.time_base = 0, fractions.Fraction(1, 90000)
    payloads, timestamp = h264.encode(frame, force_keyframe=True)
    options = h264.point_options  # type: ignore[attr-defined]
    assert options["preset"] == encoder.H264_PRESET and options["tune"] == "zerolatency"
    data = b"".join(h264_depayload(p) for p in payloads)
    (decoded,) = H264Decoder().decode(JitterFrame(data=data, timestamp=timestamp))
    assert (decoded.width, decoded.height) == (320, 240)


def first_video_codec(sdp: str) -> str:
    """The codec an SDP's video section lists first (what both ends send)."""
    lines = sdp.splitlines()
    video = next(line for line in lines if line.startswith("m=video"))
    first = video.split()[3]
    rtpmap = next(line for line in lines if line.startswith(f"a=rtpmap:{first} "))
    return rtpmap.split()[1].split("/")[0]


@pytest.mark.parametrize("preferred", ["vp8", "h264"])
async def test_the_call_uses_the_codec_the_point_offers_first_and_pictures_flow_both_ways(
    preferred: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.call import encoder

    monkeypatch.setattr(encoder, "PREFERRED", preferred)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        pc = next(iter(engine.peers.values())).pc
        assert pc.remoteDescription is not None
        assert first_video_codec(pc.remoteDescription.sdp).lower() == preferred
        pictures, desk_frames = events.count(RemoteVideoFrame), agent.frames["video"]
        await events.until(lambda: events.count(RemoteVideoFrame) >= pictures + 10 and agent.frames["video"]
                           >= desk_frames + 10, 30, "ten more pictures each way")
