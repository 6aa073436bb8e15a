"""The camera driver through OpenCV's real capture code. There is no camera on CI machines, so the device is
what OpenCV also accepts as one: a video file path. A file that ends is a camera that stops giving frames
(unplugged); a path that is not there is a missing camera; a file that reappears is a camera plugged back."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers import camera as cam
from drivers.camera import Camera, CameraMissing, CameraReader, CameraStatus
from drivers.errors import DeviceError
from etapiste.config.point import Camera as CameraConfig


def record(path: Path, frames: int = 20, size: tuple[int, int] = (640, 480), colour=(40, 90, 200)) -> Path:
    """A short MJPG clip of a solid colour (BGR) with a moving bar, as a camera's stream."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    assert writer.isOpened()
    for i in range(frames):
        img = np.zeros((size[1], size[0], 3), dtype=np.uint8)
        img[...] = colour
        img[:, (i * 10) % size[0] : (i * 10) % size[0] + 10] = 255
        writer.write(img)
    writer.release()
    return path


def test_a_missing_camera_is_a_clear_error_for_staff_in_three_languages(tmp_path: Path) -> None:
    camera = Camera(CameraConfig(device=str(tmp_path / "video0")))
    with pytest.raises(CameraMissing) as err:
        camera.open()
    assert isinstance(err.value, DeviceError)
    assert camera.status().state == "missing"
    for language in ("fi", "sv", "en"):
        assert "devices.camera.device" in err.value.staff_message(language)
        assert err.value.customer_message(language)
    assert not camera.status().ready


def test_frames_come_at_the_configured_size_in_colour(tmp_path: Path) -> None:
    clip = record(tmp_path / "cam.avi")
    camera = Camera(CameraConfig(device=str(clip), width=320, height=240, fps=30))
    status = camera.open()
    assert status.ready and status.size == (640, 480)
    frame = camera.read()
    assert frame is not None and frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    b, g, r = (int(v) for v in frame[120, 160])
    assert abs(b - 40) < 25 and abs(g - 90) < 25 and abs(r - 200) < 25  # MJPG is lossy
    camera.close()
    assert camera.status().state == "closed"


def test_a_camera_that_stops_giving_frames_counts_as_unplugged(tmp_path: Path) -> None:
    camera = Camera(CameraConfig(device=str(record(tmp_path / "cam.avi", frames=5))))
    camera.open()
    got = [camera.read() is not None for _ in range(5 + cam.FAILED_READS_UNPLUGGED)]
    assert got == [True] * 5 + [False] * cam.FAILED_READS_UNPLUGGED
    status = camera.status()
    assert status.state == "unplugged"
    assert "unplugged" in status.staff_message("en")


def test_the_reader_reports_unplug_and_replug_and_never_serves_a_stale_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cam, "REOPEN_INTERVAL_S", 0.1)
    clip = record(tmp_path / "cam.avi", frames=10)
    saved = clip.read_bytes()
    states: list[str] = []
    changed = threading.Condition()

    def on_status(status: CameraStatus) -> None:
        with changed:
            states.append(status.state)
            if status.state == "unplugged":
                clip.unlink()  # the cable stays out: re-opening fails until it is back
            changed.notify_all()

    reader = CameraReader(Camera(CameraConfig(device=str(clip), width=320, height=240)), on_status)
    reader.start()
    try:
        with changed:
            assert changed.wait_for(lambda: "missing" in states, 20)
        assert reader.latest()[1] is None  # no frozen customer picture while the camera is away
        seq_before = reader.latest()[0]
        clip.write_bytes(saved)  # plugged back
        with changed:
            assert changed.wait_for(lambda: states.count("ready") >= 2, 20)
        assert states[:3] == ["ready", "unplugged", "missing"]
        with changed:
            changed.wait_for(lambda: reader.latest()[0] > seq_before, 5)
        assert reader.latest()[0] > seq_before
    finally:
        reader.stop()
    assert reader.latest()[1] is None


def test_status_is_serialisable_for_the_health_report(tmp_path: Path) -> None:
    camera = Camera(CameraConfig(device=str(record(tmp_path / "cam.avi"))))
    camera.open()
    assert camera.status().to_dict() == {"state": "ready", "device": str(tmp_path / "cam.avi"),
                                         "size": (640, 480), "fps": 30.0}
    assert camera.status().staff_message("fi") == "Kamera toimii (640×480)"
