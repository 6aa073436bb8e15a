"""The agent's picture reaches the decoder when its last packet is in (kiosk/call/jitter.py): over a real aiortc
connection the agent's last picture before their video pauses is shown, and each frame leaves the buffer on its
own marked packet, or on the next frame's when the marked one was lost."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket
from av import VideoFrame

from kiosk.call import jitter
from kiosk.call.jitter import MarkedFrameJitterBuffer

RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.fixture
def marked_frames() -> Iterator[None]:
    was_installed = jitter._original is not None
    assert jitter.install()
    yield
    if not was_installed:
        jitter.uninstall()


class PausingCamera(MediaStreamTrack):
    """The agent's camera: ``red`` red pictures, one blue one, then nothing (the video paused)."""

    kind = "video"

    def __init__(self, red: int) -> None:
        super().__init__()
        self.pictures = [RED] * red + [BLUE]
        self.sent = 0

    async def recv(self) -> VideoFrame:
        if self.sent == len(self.pictures):
            await asyncio.Event().wait()  # paused: no more pictures until the call ends
        await asyncio.sleep(1 / 30)
        image = np.empty((240, 320, 3), dtype=np.uint8)
        image[...] = self.pictures[self.sent]
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.sent * 3000, fractions.Fraction(1, 90000)
        self.sent += 1
        return frame


@contextlib.asynccontextmanager
async def call_from(camera: MediaStreamTrack) -> AsyncIterator[list[np.ndarray]]:
    """A real aiortc connection on loopback, the agent's camera one way; yields the pictures the point decodes."""
    agent, point = RTCPeerConnection(), RTCPeerConnection()
    seen: list[np.ndarray] = []
    consumers: list[asyncio.Task[None]] = []

    async def consume(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                seen.append(frame.to_ndarray(format="rgb24"))

    @point.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        consumers.append(asyncio.ensure_future(consume(track)))

    agent.addTrack(camera)
    try:
        await agent.setLocalDescription(await agent.createOffer())
        await point.setRemoteDescription(agent.localDescription)
        await point.setLocalDescription(await point.createAnswer())
        await agent.setRemoteDescription(point.localDescription)
        yield seen
    finally:
        await agent.close()
        await point.close()
        for task in consumers:
            task.cancel()


def colour(image: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in image.reshape(-1, 3).mean(axis=0))
    return r, g, b


@pytest.mark.usefixtures("loopback_ice", "marked_frames")
async def test_the_agents_last_picture_before_a_pause_is_shown() -> None:
    camera = PausingCamera(red=20)
    async with call_from(camera) as seen:
        for _ in range(1000):  # up to 10 s on a loaded machine; the blue one comes within ~0.7 s
            await asyncio.sleep(0.01)
            if camera.sent == len(camera.pictures) and seen and colour(seen[-1])[2] > 150:
                break
        assert seen, "no picture from the agent at all"
        r, _, b = colour(seen[-1])
        # aiortc's own buffer holds the blue picture until a packet of the next one arrives, which never comes:
        # the customer would go on seeing the red one.
        assert b > 150 and r < 100, f"the point shows {colour(seen[-1])}, not the agent's last (blue) picture"


def packet(seq: int, timestamp: int, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=int(marker))
    p._data = bytes([seq % 256])  # type: ignore[attr-defined]  # what aiortc's depayloader leaves on it
    return p


def feed(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[JitterFrame | None]:
    return [buffer.add(p)[1] for p in packets]


def frames(out: list[JitterFrame | None]) -> list[tuple[bytes, int] | None]:
    return [None if f is None else (f.data, f.timestamp) for f in out]


def test_a_frame_leaves_on_its_marked_last_packet() -> None:
    frame = [packet(10, 3000), packet(11, 3000), packet(12, 3000, marker=True)]
    out = feed(MarkedFrameJitterBuffer(capacity=128, is_video=True), frame)
    assert out[:2] == [None, None]
    assert out[2] is not None and out[2].data == bytes([10, 11, 12]) and out[2].timestamp == 3000
    # aiortc's own buffer: nothing until the next frame's first packet.
    assert feed(JitterBuffer(capacity=128, is_video=True), frame) == [None, None, None]


def test_a_gap_holds_the_frame_until_the_missing_packet_comes() -> None:
    buffer = MarkedFrameJitterBuffer(capacity=128, is_video=True)
    assert feed(buffer, [packet(10, 3000), packet(12, 3000, marker=True)]) == [None, None]
    late = buffer.add(packet(11, 3000))[1]  # the retransmission
    assert late is not None and late.data == bytes([10, 11, 12])


def test_a_lost_marked_packet_ends_the_frame_at_the_next_one_as_before() -> None:
    buffer = MarkedFrameJitterBuffer(capacity=128, is_video=True)
    # 12 carried the marker and was lost; 12 is then never retransmitted: its sequence number is skipped
    # by a frame that does carry the marker, so the buffer moves on as aiortc's did.
    out = feed(buffer, [packet(10, 3000), packet(11, 3000), packet(12, 6000), packet(13, 6000, marker=True)])
    assert out[2] is not None and out[2].data == bytes([10, 11]) and out[2].timestamp == 3000
    assert out[3] is not None and out[3].data == bytes([12, 13]) and out[3].timestamp == 6000


def test_audio_keeps_aiortcs_buffer() -> None:
    # The audio buffer's prefetch is its smoothing: four packets (80 ms) wait, marker or not.
    audio = [packet(n, n * 960, marker=True) for n in range(5)]
    ours = frames(feed(MarkedFrameJitterBuffer(capacity=16, prefetch=4), audio))
    assert ours == frames(feed(JitterBuffer(capacity=16, prefetch=4), audio))
    assert ours == [None, None, None, None, (bytes([0]), 0)]


def test_install_puts_it_in_aiortcs_receiver_and_uninstall_takes_it_out() -> None:
    from aiortc import rtcrtpreceiver

    was_installed = jitter._original is not None
    jitter.uninstall()
    assert rtcrtpreceiver.JitterBuffer is JitterBuffer
    assert jitter.install() and jitter.install()
    assert rtcrtpreceiver.JitterBuffer is MarkedFrameJitterBuffer
    if not was_installed:
        jitter.uninstall()
        assert rtcrtpreceiver.JitterBuffer is JitterBuffer
