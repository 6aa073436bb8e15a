"""The call's video in Qt (offscreen): the agent's picture from a real call painted letterboxed with the
customer's self view, frames replaced rather than queued when the UI is busy, nothing left after the call."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QImage, QPaintEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.call import RemoteVideoFrame, SelfVideoFrame
from kiosk.views.video import VideoView, fit
from simulation.call import connected_call
from simulation.switchboard import serve

pytestmark = pytest.mark.usefixtures("loopback_ice")


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> np.ndarray:
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[...] = rgb
    return frame


def view(qtbot: QtBot, width: int = 800, height: int = 600) -> VideoView:
    widget = VideoView()
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def pixel(widget: VideoView, x: int, y: int) -> tuple[int, int, int]:
    colour = widget.grab().toImage().pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


def test_a_wide_picture_is_letterboxed_never_stretched(qtbot: QtBot) -> None:
    widget = view(qtbot, 800, 600)
    widget.show_remote(solid(1280, 720, (200, 30, 40)))
    QApplication.processEvents()
    assert fit(QSize(1280, 720), QRect(0, 0, 800, 600)) == QRect(0, 75, 800, 450)
    assert pixel(widget, 400, 300) == (200, 30, 40)
    assert pixel(widget, 400, 10) == (0, 0, 0)  # the bar above the picture
    assert widget.frames_painted == 1


def test_frames_arriving_faster_than_painting_replace_each_other(qtbot: QtBot) -> None:
    widget = view(qtbot)
    for i in range(50):  # the UI was busy for 50 frame intervals
        widget.show_remote(solid(320, 240, (i, i, i)))
    QApplication.processEvents()
    assert widget.frames_shown == 50
    assert widget.frames_painted == 1  # one paint, of the newest frame
    assert pixel(widget, 400, 300) == (49, 49, 49)


def test_the_self_view_sits_in_the_corner_over_the_agent(qtbot: QtBot) -> None:
    widget = view(qtbot, 800, 600)
    widget.show_remote(solid(800, 600, (10, 120, 10)))
    widget.show_self(solid(320, 240, (250, 250, 0)))
    QApplication.processEvents()
    assert pixel(widget, 100, 100) == (10, 120, 10)
    assert pixel(widget, 800 - 16 - 40, 600 - 16 - 40) == (250, 250, 0)


def on_screen(widget: VideoView, x: int, y: int) -> tuple[int, int, int]:
    """What the screen shows (the window's backing store, with what earlier paints left), unlike ``grab()``,
    which paints the whole widget afresh."""
    screen = QApplication.primaryScreen()
    colour = screen.grabWindow(widget.winId()).toImage().pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


def test_the_customers_own_picture_repaints_only_its_corner(qtbot: QtBot) -> None:
    """The self view comes 15 times a second: each repaints its inset only, not the agent's whole picture
    (which cost a 1080p kiosk 6.7 % of a core for nothing), and what it leaves is still right on screen."""
    widget = view(qtbot, 800, 600)
    widget.show_remote(solid(800, 600, (10, 120, 10)))
    widget.show_self(solid(320, 240, (250, 250, 0)))
    QApplication.processEvents()
    painted: list[QRect] = []
    paint = widget.paintEvent

    def recording(event: QPaintEvent) -> None:
        painted.append(event.rect())
        paint(event)

    widget.paintEvent = recording  # type: ignore[method-assign]
    widget.show_self(solid(320, 120, (0, 0, 250)))  # the camera's picture changes shape: a lower inset
    QApplication.processEvents()
    corner = QRect(800 - 176 - 16 - 2, 600 - 132 - 16 - 2, 176 + 4, 132 + 4)  # the taller inset, its pen
    assert painted and all(corner.contains(rect) for rect in painted), painted
    assert on_screen(widget, 800 - 16 - 40, 600 - 16 - 20) == (0, 0, 250)  # the new self view
    assert on_screen(widget, 800 - 16 - 40, 600 - 16 - 120) == (10, 120, 10)  # the agent where the old one was
    assert on_screen(widget, 100, 100) == (10, 120, 10)


def test_the_bars_are_black_again_when_the_agents_picture_changes_shape(qtbot: QtBot) -> None:
    """Only the bars are filled black (the picture covers the rest): a 4:3 picture followed by a 16:9 one
    leaves no strip of the old picture above or below the new one."""
    widget = view(qtbot, 800, 600)
    widget.show_remote(solid(640, 480, (200, 30, 40)))
    QApplication.processEvents()
    assert on_screen(widget, 400, 20) == (200, 30, 40)
    widget.show_remote(solid(1280, 720, (20, 30, 200)))
    QApplication.processEvents()
    assert on_screen(widget, 400, 20) == (0, 0, 0) and on_screen(widget, 400, 590) == (0, 0, 0)
    assert on_screen(widget, 400, 300) == (20, 30, 200)


def test_clearing_after_the_call_leaves_only_black(qtbot: QtBot) -> None:
    widget = view(qtbot)
    widget.show_remote(solid(320, 240, (200, 200, 200)))
    widget.show_self(solid(320, 240, (200, 200, 200)))
    QApplication.processEvents()
    widget.clear()
    QApplication.processEvents()
    image = widget.grab().toImage()
    assert {image.pixelColor(x, y).rgb() for x in range(0, 800, 50) for y in range(0, 600, 50)} == {0xFF000000}


def test_a_bad_frame_shape_is_refused_clearly(qtbot: QtBot) -> None:
    widget = view(qtbot)
    with pytest.raises(ValueError, match="RGB"):
        widget.show_remote(np.zeros((240, 320), dtype=np.uint8))


async def test_the_agents_picture_from_a_real_call_is_painted_with_the_self_view(qtbot: QtBot) -> None:
    widget = view(qtbot, 640, 480)
    async with serve() as sb, connected_call(sb) as (engine, _, _agent):

        def paint(event: object) -> None:
            if isinstance(event, RemoteVideoFrame):
                widget.show_remote(event.image)
            elif isinstance(event, SelfVideoFrame):
                widget.show_self(event.image)

        engine.subscribe(paint)
        for _ in range(500):
            await asyncio.sleep(0.01)
            QApplication.processEvents()
            if widget.frames_painted >= 30:
                break
        assert widget.frames_painted >= 30
        # The agent's test pattern fills the middle (not black); the self view's white frame is drawn.
        centre = pixel(widget, 320, 200)
        assert sum(centre) > 60
        width = int(640 * 0.22)
        assert pixel(widget, 640 - 16 - width, 480 - 16 - 10) == (255, 255, 255)


async def test_when_decoding_runs_ahead_only_the_newest_frame_is_converted_for_the_screen() -> None:
    import av
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    from kiosk.media import TrackSink

    class Decoded(MediaStreamTrack):
        """Like aiortc's remote track: decoded frames wait in ``_queue``."""

        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self._queue: asyncio.Queue = asyncio.Queue()

        async def recv(self):
            frame = await self._queue.get()
            if frame is None:
                raise MediaStreamError
            return frame

    track = Decoded()
    for shade in range(5):  # five frames decoded while the UI was busy
        track._queue.put_nowait(av.VideoFrame.from_ndarray(solid(64, 48, (shade * 40, 0, 0)), format="rgb24"))
    shown: list[np.ndarray] = []
    sink = TrackSink(track, on_video=shown.append)
    sink.start()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if sink.frames == 5 and shown:  # the newest one converted (in a worker thread)
            break
    track._queue.put_nowait(None)  # the track ends
    await sink.stop()
    assert sink.frames == 5 and sink.skipped == 4
    assert len(shown) == 1 and abs(int(shown[0][10, 10, 2]) - 160) < 8  # the newest one (BGRX: red is third)


def test_the_agents_picture_is_enlarged_smoothly_not_by_doubling_pixels(qtbot: QtBot) -> None:
    import cv2

    # A paper the agent holds up: dark text on white, 640×360 shown in a 960×540 view (1.5×, as a 720p agent
    # on a 1080p kiosk screen). Repeating the nearest pixel doubles every other row and column of each stroke.
    paper = np.full((360, 640, 3), 235, dtype=np.uint8)
    for y in range(30, 350, 24):
        cv2.putText(paper, "Kela 1.1.2027 paatos 12345", (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1,
                    cv2.LINE_AA)
    widget = view(qtbot, 960, 540)
    widget.show_remote(np.ascontiguousarray(paper[:, :, ::-1]))  # RGB888 is painted as is: the same pixels
    QApplication.processEvents()
    shown = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = shown.width(), shown.height()
    painted = np.frombuffer(shown.constBits(), np.uint8).reshape(height, shown.bytesPerLine())[:, : width * 3]
    painted = painted.reshape(height, width, 3)[:, :, ::-1]

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        mse = float(np.mean((a.astype(float) - b.astype(float)) ** 2))
        return 10 * np.log10(255**2 / mse)

    smooth = psnr(painted, cv2.resize(paper, (960, 540), interpolation=cv2.INTER_LINEAR))
    doubled = psnr(painted, cv2.resize(paper, (960, 540), interpolation=cv2.INTER_NEAREST))
    assert smooth > doubled + 5, f"pixels doubled: {smooth:.1f} dB to a bilinear scaling, {doubled:.1f} to nearest"
