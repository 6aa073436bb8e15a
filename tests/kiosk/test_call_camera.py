"""The point's camera during a call: its frames reach the agent; when it is unplugged the agent sees the
placeholder picture (not a frozen customer), the kiosk and staff are told, and the picture returns by itself."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers import camera as cam
from drivers.camera import Camera, CameraReader, CameraStatus
from etapiste.config.point import Camera as CameraConfig
from kiosk.call import CallTrouble
from kiosk.media import MediaConfig, ToneTrack, i420_frame, placeholder_frame, self_view, to_i420
from simulation.call import connected_call, point_engine
from simulation.desk_agent import AiortcAgent
from simulation.switchboard import serve
from tests.drivers.test_camera import record

pytestmark = pytest.mark.usefixtures("loopback_ice")


def close_to(frame: np.ndarray, reference: np.ndarray) -> bool:
    """VP8 is lossy: compare mean absolute difference."""
    return float(np.mean(np.abs(frame.astype(int) - reference.astype(int)))) < 12


def mostly(frame: np.ndarray | None, bgr: tuple[int, int, int]) -> bool:
    """The picture's median colour is ``bgr`` (the clip's moving bar and VP8's losses aside)."""
    if frame is None:
        return False
    median = np.median(frame.reshape(-1, 3), axis=0)
    return bool(np.all(np.abs(median - np.array(bgr)) < 25))


def test_the_placeholder_says_the_camera_is_not_working_in_three_languages() -> None:
    img = placeholder_frame(640, 480)
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8
    # Mostly calm grey, with light text and the crossed-out camera drawn on it.
    assert np.median(img) == 64 and (img > 200).mean() > 0.005


def checkerboard(width: int, height: int, square: int) -> np.ndarray:
    """Black and white squares of ``square`` pixels: the finest detail a camera gives (a striped shirt, a
    knitted pattern, a newspaper held up)."""
    board = (((np.indices((height, width)) // square).sum(axis=0) % 2) * 255).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


@pytest.mark.parametrize("square", [1, 2])
@pytest.mark.parametrize("camera", [(1280, 720), (1920, 1080)])
def test_the_customers_own_picture_is_scaled_down_without_moire(camera: tuple[int, int], square: int) -> None:
    """Fine detail shrinks into the small inset no more striped than OpenCV's area filter leaves it (a
    bilinear shortcut paints bands of 7..220 over a 2-pixel pattern): kiosk.media.shrink halves, then filters."""
    picture = checkerboard(*camera, square)
    whole = self_view(picture)
    assert whole.shape[1] == 480
    inset = whole[4:-4, 4:-4, :3]  # the edge rows may blend with the border
    area = cv2.resize(picture, (whole.shape[1], whole.shape[0]), interpolation=cv2.INTER_AREA)[4:-4, 4:-4]
    assert int(np.ptp(inset)) <= int(np.ptp(area)) + 8, f"stripes {inset.min()}..{inset.max()}"


def test_the_self_view_of_a_720p_camera_is_the_area_filters_picture() -> None:
    """Halving first and filtering the rest gives what OpenCV's area filter gives in one go (≥ 40 dB: no one
    sees the difference), at under half its cost."""
    rng = np.random.default_rng(7)
    picture = cv2.GaussianBlur((rng.random((720, 1280, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    cv2.putText(picture, "Kela 0123456789", (60, 360), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 4)
    inset = self_view(picture)[:, :, :3]
    reference = cv2.resize(picture, (inset.shape[1], inset.shape[0]), interpolation=cv2.INTER_AREA)
    mse = float(np.mean((inset.astype(float) - reference.astype(float)) ** 2))
    assert inset.shape == (270, 480, 3) and 10 * np.log10(255**2 / max(mse, 1e-9)) >= 40


@pytest.mark.parametrize("size", [(1280, 720), (640, 480), (426, 240)])
def test_the_encoder_gets_the_cameras_picture_whatever_the_frames_row_padding(size: tuple[int, int]) -> None:
    """The frame handed to the encoders holds the camera's picture, also where PyAV pads a plane's rows past
    its width (426 wide: rows of 432): a wrong stride would shear the customer's picture diagonally."""
    width, height = size
    rng = np.random.default_rng(3)
    picture = cv2.GaussianBlur((rng.random((height, width, 3)) * 255).astype(np.uint8), (0, 0), 2)
    frame = i420_frame(to_i420(picture, width, height))
    assert (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p")
    back = frame.to_ndarray(format="bgr24")
    assert float(np.mean(np.abs(back.astype(int) - picture.astype(int)))) < 3  # chroma subsampling's loss only


async def test_unplugging_the_camera_mid_call_shows_the_agent_the_placeholder_and_tells_staff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cam, "REOPEN_INTERVAL_S", 0.2)
    clip = record(tmp_path / "cam.avi", frames=90, size=(320, 240), colour=(40, 160, 40))
    saved = clip.read_bytes()
    reader = CameraReader(Camera(CameraConfig(device=str(clip), width=320, height=240, fps=30)))
    media = MediaConfig(video=reader, width=320, height=240, fps=30, audio=ToneTrack)
    async with serve() as sb, connected_call(sb, media=media) as (engine, events, agent):
        reader._on_status = engine.camera_changed  # what kiosk.media.PointMedia wires
        reader.start()
        try:
            green = (40, 160, 40)
            await agent.until(lambda: mostly(agent.last_video, green), timeout=30, what="the camera's green picture")
            clip.unlink()  # the file runs out and cannot be re-opened: the camera is gone
            trouble = await events.first(CallTrouble, lambda e: e.kind == "camera_unavailable", timeout=30)
            assert trouble.detail in ("unplugged", "missing")
            placeholder = placeholder_frame(320, 240)
            await agent.until(lambda: close_to(agent.last_video, placeholder), timeout=30, what="the placeholder")
            assert engine.health()["camera"]["state"] in ("unplugged", "missing")
            told = await agent.until(lambda: agent.data_seen("device.status"), what="device.status")
            assert [(m.device, m.ok, m.reason) for m in told] == [("camera", False, trouble.detail)]

            clip.write_bytes(saved)  # plugged back in
            await events.first(CallTrouble, lambda e: e.kind == "camera_back", timeout=30)
            await agent.until(lambda: mostly(agent.last_video, green), timeout=30, what="the camera's picture again")
            back = await agent.until(lambda: agent.data_seen("device.status")[1:], what="device.status ok")
            assert [(m.ok, m.reason) for m in back] == [(True, None)]
        finally:
            reader.stop()


async def test_a_camera_already_broken_when_the_agent_answers_is_named_on_the_desk_at_once() -> None:
    async with serve() as sb, point_engine(sb) as (engine, events):
        agent = AiortcAgent(sb)
        try:
            await engine.start(timeout=10)
            engine.camera_changed(CameraStatus(state="missing", device="/dev/video0"))
            await events.first(CallTrouble, lambda e: e.kind == "camera_unavailable")
            await agent.connect()
            engine.request_call("kela")
            await agent.accept_next()
            await agent.channel_open()
            told = await agent.until(lambda: agent.data_seen("device.status"), what="device.status")
            assert [(m.device, m.ok, m.reason) for m in told] == [("camera", False, "missing")]
        finally:
            await agent.close()
