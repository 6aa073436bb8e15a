"""The point's media for calls: camera video (or a placeholder picture), microphone, speaker, remote video.

Plain asyncio + aiortc + PyAV, no Qt: the views receive frames as numpy arrays through the call engine's
events and paint them themselves (:mod:`kiosk.views.video`).

- :class:`CameraTrack` sends the newest camera frame at the configured rate; when the camera is missing or
  unplugged it sends a placeholder picture that says so in fi/sv/en, so the agent is never left looking at a
  frozen customer. The track never waits on the camera (the driver reads it in its own thread).
- :func:`open_microphone` / :func:`open_speaker` use PyAV's ALSA input/output through the ``pulse`` device
  (the av wheel's FFmpeg has no ``pulse`` format; see stack-notes). Tests and benchmarks use the synthetic
  :class:`PatternSource` and :class:`ToneTrack` instead of devices.
- :class:`TrackSink` consumes a remote track: video frames go to a callback as 32-bit BGRX arrays (only the
  newest is converted when the consumer is slower than the stream), audio goes to the speaker or is counted.

Where the pixels are converted, and why (docs/perf/README.md has the profile): every conversion runs in a worker
thread (OpenCV and PyAV's swscale release the GIL), never on the event loop. At 720p one BGR → YUV conversion
through PyAV took ~45 ms on a loaded point PC; on the loop that starved ICE consent checks, SCTP and the
arrival times aiortc's bandwidth estimator reads (a stalled loop looks like a congested network, so the agent's
browser was told to send less). The camera's BGR picture is converted once, straight to the encoders' I420
(``cv2.COLOR_BGR2YUV_I420``, ~4× cheaper than PyAV's bgr24 path); a received frame is converted once, at its
decoded size, to BGRX, which Qt paints without another full-size copy (``QImage.Format_RGB32``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import av
import cv2
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack

from drivers.camera import Camera, CameraReader, CameraStatus, Frame
from etapiste.config.point import Audio as AudioConfig
from etapiste.config.point import Camera as CameraConfig

log = logging.getLogger(__name__)

#: Self view and remote video callbacks get BGRX arrays (height × width × 4: Qt's ``Format_RGB32`` in memory).
FrameCallback = Callable[[np.ndarray[Any, np.dtype[np.uint8]]], None]

#: The self view is handed to the UI at most this wide (it is painted as a small inset; a full-size copy of
#: the camera picture for it would cost as much as the encoder's conversion).
SELF_VIEW_MAX_WIDTH = 480

PLACEHOLDER_LINES = ("Kamera ei toimi", "Kameran fungerar inte", "Camera not working")


class FrameSource(Protocol):
    """Anything that has a newest frame: the camera reader, or a synthetic pattern in tests."""

    def latest(self) -> tuple[int, Frame | None]: ...


def placeholder_frame(width: int, height: int, lines: tuple[str, ...] = PLACEHOLDER_LINES) -> Frame:
    """A calm grey picture with a crossed-out camera and the reason in three languages (ASCII only, so
    OpenCV's built-in font can draw it without a font file)."""
    img = np.full((height, width, 3), 64, dtype=np.uint8)
    scale = height / 720
    cx, cy = width // 2, int(height * 0.35)
    w, h = int(160 * scale), int(100 * scale)
    cv2.rectangle(img, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), (200, 200, 200), max(2, int(6 * scale)))
    cv2.circle(img, (cx, cy), int(30 * scale), (200, 200, 200), max(2, int(6 * scale)))
    cv2.line(img, (cx - w // 2 - 20, cy + h // 2 + 20), (cx + w // 2 + 20, cy - h // 2 - 20), (60, 60, 230), 8)
    for i, line in enumerate(lines):
        size = 1.4 * scale
        (tw, th), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, size, 2)
        y = int(height * 0.62) + i * int(th * 2.0)
        cv2.putText(img, line, ((width - tw) // 2, y), cv2.FONT_HERSHEY_SIMPLEX, size, (235, 235, 235), 2, cv2.LINE_AA)
    return img


class PatternSource:
    """A moving test pattern at a given size (tests and benchmarks: no camera on CI machines)."""

    def __init__(self, width: int = 640, height: int = 480) -> None:
        x = np.linspace(0, 255, width, dtype=np.uint8)
        y = np.linspace(0, 255, height, dtype=np.uint8)
        base = np.zeros((height, width, 3), dtype=np.uint8)
        base[..., 0] = x[None, :]
        base[..., 1] = y[:, None]
        base[..., 2] = 160
        self._base = base
        self._n = 0
        self.width, self.height = width, height

    def latest(self) -> tuple[int, Frame | None]:
        self._n += 1
        return self._n, np.roll(self._base, self._n * 8, axis=1)


def shrink(frame: Frame, width: int, height: int) -> Frame:
    """``frame`` at ``width`` × ``height``, with OpenCV's area filter (no moiré) at a fraction of its cost.

    The area filter is fast only for a factor of exactly 2; any other ratio takes its general path, which
    costs by the size of the source (1280×720 → 480×270, the self view of a 720p call, took 6.7 ms a frame
    here). So the picture is halved first while it is at least twice the target (an exact 2 × 2 average,
    0.5 ms at 720p) and only the rest, less than 2×, takes the general path on the smaller picture (2.3 ms):
    2.8 ms for the self view in all."""
    while frame.shape[1] >= 2 * width and frame.shape[0] >= 2 * height:
        half = (frame.shape[1] // 2, frame.shape[0] // 2)
        frame = np.asarray(cv2.resize(frame, half, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    if frame.shape[:2] != (height, width):
        frame = np.asarray(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return frame


def to_i420(frame: Frame, width: int, height: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A BGR picture as the encoders' planar YUV 4:2:0 (BT.601, as swscale's bgr24 → yuv420p), resized first
    if the camera gave another size (resizing the smaller BGR picture before converting is the cheaper order)."""
    return np.asarray(cv2.cvtColor(shrink(frame, width, height), cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)


def i420_frame(i420: np.ndarray[Any, np.dtype[np.uint8]]) -> av.VideoFrame:
    """:func:`to_i420`'s picture as a frame for the encoders, copied plane by plane into the frame's own
    buffers: PyAV's ``from_ndarray`` copies row by row in Python objects, 0.27 ms a 720p frame against 0.12
    here, and it ran on the event loop (now in the camera's worker thread with the conversion)."""
    rows, width = i420.shape
    height = rows * 2 // 3
    out = av.VideoFrame(width, height, "yuv420p")
    luma, quarter = height * width, height * width // 4
    flat = i420.reshape(-1)
    chroma = (height // 2, width // 2)
    planes = (i420[:height], flat[luma : luma + quarter].reshape(chroma), flat[luma + quarter :].reshape(chroma))
    for plane, source in zip(out.planes, planes, strict=True):
        # A plane's rows may be padded past its width (PyAV aligns them: 426 pixels wide → 432).
        np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width] = source
    return out


def self_view(frame: Frame, max_width: int = SELF_VIEW_MAX_WIDTH) -> Frame:
    """The customer's own picture for the inset: at most ``max_width`` wide, BGRX like the remote video."""
    height, width = frame.shape[:2]
    if width > max_width:
        frame = shrink(frame, max_width, max(2, height * max_width // width))
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), dtype=np.uint8)


class CameraTrack(VideoStreamTrack):
    """The video the point sends: the newest frame of ``source`` at ``fps``, or the placeholder.

    ``on_self_frame`` receives a small BGRX copy of what is sent, at most ``self_view_fps`` a second (called on
    the event loop). The track ends when stopped (the call ended): ``recv`` then raises ``MediaStreamError``,
    which ends the relay reading it. Before, it went on reading and converting the camera after every call,
    each ended call adding another full-rate reader until the point spent its processor on calls long gone.
    """

    kind = "video"

    def __init__(
        self,
        source: FrameSource,
        width: int,
        height: int,
        fps: int = 30,
        on_self_frame: FrameCallback | None = None,
        self_view_fps: float = 15.0,
    ) -> None:
        super().__init__()
        self._source = source
        self.width, self.height, self.fps = width, height, fps
        self._on_self = on_self_frame
        self._self_interval = 1.0 / self_view_fps if self_view_fps > 0 else float("inf")
        self._last_self = -float("inf")
        self._placeholder_i420 = to_i420(placeholder_frame(width, height), width, height)
        self._placeholder_self: Frame | None = None
        self._begun: float | None = None
        self._count = 0
        self.placeholder_sent = 0
        self.frames_sent = 0
        self.source_reads = 0
        """How many times the camera (frame source) was asked for a picture."""

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Pace at the configured rate (aiortc's own pacing is fixed at 30 fps)."""
        if self.readyState != "live":
            raise MediaStreamError
        clock = 90000
        if self._begun is None:
            self._begun = time.monotonic()
        else:
            self._count += 1
            wait = self._begun + self._count / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if self.readyState != "live":
            raise MediaStreamError
        return int(self._count * clock / self.fps), fractions.Fraction(1, clock)

    def _convert(self, want_self: bool) -> tuple[av.VideoFrame, Frame | None]:
        """Worker thread: take the newest picture and convert it once (an I420 frame for the encoders, a small
        BGRX inset for the self view when one is due)."""
        _, frame = self._source.latest()
        self.source_reads += 1
        if frame is None:
            self.placeholder_sent += 1
            if want_self and self._placeholder_self is None:
                self._placeholder_self = self_view(placeholder_frame(self.width, self.height))
            return i420_frame(self._placeholder_i420), self._placeholder_self if want_self else None
        return i420_frame(to_i420(frame, self.width, self.height)), self_view(frame) if want_self else None

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        now = time.monotonic()
        want_self = self._on_self is not None and now - self._last_self >= self._self_interval
        loop = asyncio.get_running_loop()
        # Already in the encoders' own pixel format: the relay hands the same frame to every connection's
        # encoder (agent and interpreter); left in bgr24, two encoder threads would convert it at once
        # through the one converter PyAV keeps per frame, which hangs or crashes the process.
        out, inset = await loop.run_in_executor(None, self._convert, want_self)
        if self.readyState != "live":
            raise MediaStreamError
        self.frames_sent += 1
        out.pts, out.time_base = pts, time_base
        if inset is not None and self._on_self is not None:
            self._last_self = now
            self._on_self(inset)
        return out


class ToneTrack(MediaStreamTrack):
    """A steady 440 Hz tone at 48 kHz mono (the synthetic microphone): audible proof that audio flows.

    Its own pacing, not aiortc's ``AudioStreamTrack`` (which makes 8 kHz silence frames): 20 ms frames of
    960 samples in real time.
    """

    kind = "audio"

    def __init__(self, hz: float = 440.0, level: int = 3000, rate: int = 48000) -> None:
        super().__init__()
        self.hz, self.level, self.rate = hz, level, rate
        self._begun: float | None = None
        self._sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples = self.rate // 50
        if self._begun is None:
            self._begun = time.monotonic()
        else:
            self._sent += samples
            wait = self._begun + self._sent / self.rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(samples) + self._sent) / self.rate
        tone = (np.sin(2 * np.pi * self.hz * t) * self.level).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self._sent, fractions.Fraction(1, self.rate)
        return frame


def _alsa_env() -> None:
    """Point the av wheel's bundled libasound at the system's ALSA configuration and plugins (stack-notes)."""
    os.environ.setdefault("ALSA_CONFIG_DIR", "/usr/share/alsa")
    os.environ.setdefault("ALSA_PLUGIN_DIR", "/usr/lib/x86_64-linux-gnu/alsa-lib")


class AudioDeviceError(RuntimeError):
    """The configured microphone or speaker cannot be opened (named in the message for staff)."""


def open_microphone(config: AudioConfig) -> MediaStreamTrack:
    """The configured microphone as an aiortc track (``pulse`` → PulseAudio's default source)."""
    from aiortc.contrib.media import MediaPlayer

    _alsa_env()
    try:
        player = MediaPlayer(config.microphone, format="alsa", options={"channels": "1", "sample_rate": "48000"})
    except (av.FFmpegError, OSError) as exc:
        raise AudioDeviceError(f"microphone {config.microphone!r} cannot be opened: {exc}") from exc
    if player.audio is None:
        raise AudioDeviceError(f"microphone {config.microphone!r} gives no audio")
    return player.audio


def open_speaker(config: AudioConfig) -> Any:
    """A MediaRecorder playing into the configured speaker; ``addTrack`` the remote audio, then ``start``."""
    from aiortc.contrib.media import MediaRecorder

    _alsa_env()
    try:
        return MediaRecorder(config.speaker, format="alsa")
    except (av.FFmpegError, OSError) as exc:
        raise AudioDeviceError(f"speaker {config.speaker!r} cannot be opened: {exc}") from exc


def to_bgrx(frame: av.VideoFrame) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A decoded frame as height × width × 4 BGRX at its own size (swscale's fastest RGB path here: ~3× faster
    than rgb24 at 720p, and what ``QImage.Format_RGB32`` paints without converting)."""
    return np.asarray(frame.to_ndarray(format="bgra"), dtype=np.uint8)


class TrackSink:
    """Consumes one remote track until it ends; counts frames; hands video on as BGRX arrays.

    Conversion happens only for the newest frame the consumer can take: when frames pile up (the machine is
    busy) older ones are dropped instead of delaying the picture. It runs in a worker thread, at the decoded
    size (the view scales when painting), so a 720p picture neither stalls the event loop nor loses detail.
    """

    def __init__(self, track: MediaStreamTrack, on_video: FrameCallback | None = None, speaker: Any = None) -> None:
        self.track = track
        self.kind = track.kind
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.size: tuple[int, int] | None = None
        self.skipped = 0
        """Decoded frames not converted for display because a newer one was already waiting."""
        self._on_video = on_video
        self._speaker = speaker
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame: Any = await self.track.recv()
                now = time.monotonic()
                self.frames += 1
                self.last_frame_at = now
                if self.first_frame_at is None:
                    self.first_frame_at = now
                if self.kind == "video":
                    self.size = (frame.width, frame.height)
                    if self._on_video is not None:
                        if self._newer_waiting():
                            self.skipped += 1  # behind: show the newer frame instead of this one
                            continue
                        image = await loop.run_in_executor(None, to_bgrx, frame)
                        self._on_video(image)

    def _newer_waiting(self) -> bool:
        # aiortc's remote tracks queue decoded frames in ``_queue``; if that is not there, convert every frame.
        queue = getattr(self.track, "_queue", None)
        return isinstance(queue, asyncio.Queue) and queue.qsize() > 0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


@dataclass
class MediaConfig:
    """What the engine sends: a frame source (camera or pattern) and an audio track factory."""

    video: FrameSource
    width: int = 640
    height: int = 480
    fps: int = 30
    audio: Callable[[], MediaStreamTrack] | None = None
    """Makes the microphone track once per call (``None``: a silent track)."""
    speaker: Callable[[], Any] | None = None
    """Makes a MediaRecorder-like sink for remote audio (``None``: remote audio is only counted)."""
    camera_status: Callable[[], CameraStatus | None] | None = None


class PointMedia:
    """The configured camera (read in a thread) and audio devices, for :class:`kiosk.call.CallEngine`."""

    def __init__(self, camera: CameraConfig, audio: AudioConfig, on_camera: Callable[[CameraStatus], None]) -> None:
        self.camera_config = camera
        self.audio_config = audio
        self.reader = CameraReader(Camera(camera), on_status=on_camera)
        self._lock = threading.Lock()

    def start(self) -> None:
        self.reader.start()

    def stop(self) -> None:
        self.reader.stop()

    def media_config(self) -> MediaConfig:
        return MediaConfig(
            video=self.reader,
            width=self.camera_config.width,
            height=self.camera_config.height,
            fps=self.camera_config.fps,
            audio=lambda: open_microphone(self.audio_config),
            speaker=lambda: open_speaker(self.audio_config),
            camera_status=self.reader.status,
        )
