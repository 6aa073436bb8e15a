"""The camera driver: the configured OpenCV capture device, its frames, and its health.

How it fits together::

    Camera(config)                 one per point, built from etapiste.config.point.Camera
      .open()                      raises CameraMissing when the device cannot be opened
      .read() -> ndarray | None    one BGR frame (height × width × 3), or None when the device is gone
      .status() -> CameraStatus    ready | missing | unplugged, with fi/sv/en messages for staff
      .close()
    CameraReader(camera)           a thread that keeps the newest frame and re-opens an unplugged camera

Why a reader thread: ``VideoCapture.read()`` blocks for a frame interval (33 ms at 30 fps) and sometimes
far longer when a USB camera misbehaves. The call engine's video track must never wait on it, so the
thread keeps only the newest frame and the track takes whatever is there (or a placeholder picture).

A device is an index (``0`` → ``/dev/video0``) or a path. Any path OpenCV can open works, which is also how
the tests drive the real capture code: a video file is a camera that "unplugs" when the file ends.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import cv2
import numpy as np

from drivers.errors import DeviceError
from etapiste import texts
from etapiste.codes import CameraCode
from etapiste.config.point import Camera as CameraConfig
from etapiste.language import Language

log = logging.getLogger(__name__)

#: How often an unplugged or missing camera is tried again (a replugged USB camera comes back by itself).
REOPEN_INTERVAL_S = 2.0
#: Consecutive failed reads after which an open camera counts as unplugged.
FAILED_READS_UNPLUGGED = 3

Frame = np.ndarray[Any, np.dtype[np.uint8]]


class CameraError(DeviceError):
    """The camera cannot give pictures; the customer sees a placeholder and the agent is told."""

    code: ClassVar[CameraCode] = "camera_error"

    def __init__(self, device: int | str, detail: str = "") -> None:
        super().__init__(f"camera {device!r}: {detail or type(self).__name__}")
        self.device = device
        self.detail = detail

    def staff_message(self, language: Language) -> str:
        return f"{self.staff_template(language)} ({self.device})"


class CameraMissing(CameraError):
    code: ClassVar[CameraCode] = "camera_missing"


class CameraUnplugged(CameraError):
    code: ClassVar[CameraCode] = "camera_unplugged"


CameraState = Literal["ready", "missing", "unplugged", "closed"]


@dataclass(frozen=True)
class CameraStatus:
    """What staff and the point's health report see; ``size``/``fps`` are what the device really gives."""

    state: CameraState
    device: int | str
    size: tuple[int, int] | None = None
    fps: float | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def staff_message(self, language: Language) -> str:
        if self.state == "missing":
            return CameraMissing(self.device).staff_message(language)
        if self.state == "unplugged":
            return CameraUnplugged(self.device).staff_message(language)
        text = texts.text("camera.ready" if self.state == "ready" else "camera.closed", language)
        return f"{text} ({self.size[0]}×{self.size[1]})" if self.size and self.state == "ready" else text

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "device": self.device, "size": self.size, "fps": self.fps}


class Camera:
    """One capture device as configured. Not thread-safe: one reader at a time (see :class:`CameraReader`)."""

    def __init__(self, config: CameraConfig | None = None) -> None:
        self.config = config or CameraConfig()
        self._cap: cv2.VideoCapture | None = None
        self._state: CameraState = "closed"
        self._size: tuple[int, int] | None = None
        self._fps: float | None = None
        self._failures = 0

    @property
    def device(self) -> int | str:
        return self.config.device

    def open(self) -> CameraStatus:
        """Open the device and ask for the configured size and rate; raise :class:`CameraMissing` if absent.

        Cameras give the nearest mode they have; the status reports what was really granted.
        """
        self.close()
        cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            self._state = "missing"
            raise CameraMissing(self.device, "the device cannot be opened")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.height)
        cap.set(cv2.CAP_PROP_FPS, self.config.fps)
        with contextlib.suppress(cv2.error):  # not every backend has a buffer to shrink
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self._failures = 0
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._size = (width, height) if width and height else None
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        self._fps = fps if fps > 0 else None
        self._state = "ready"
        log.info("camera %r open: %s at %s fps", self.device, self._size, self._fps)
        return self.status()

    def read(self) -> Frame | None:
        """The next frame as BGR, resized to the configured size; ``None`` if none came.

        After :data:`FAILED_READS_UNPLUGGED` failures in a row the camera counts as unplugged and is released.
        """
        if self._cap is None:
            return None
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._failures += 1
            if self._failures >= FAILED_READS_UNPLUGGED:
                log.warning("camera %r stopped giving frames; treating it as unplugged", self.device)
                self._release()
                self._state = "unplugged"
            return None
        self._failures = 0
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        want = (self.config.width, self.config.height)
        if (frame.shape[1], frame.shape[0]) != want:
            frame = cv2.resize(frame, want, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def status(self) -> CameraStatus:
        return CameraStatus(self._state, self.device, self._size, self._fps)

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        self._release()
        if self._state == "ready":
            self._state = "closed"


StatusListener = Callable[[CameraStatus], None]


class CameraReader:
    """Reads the camera in its own thread, keeps the newest frame, and re-opens a lost camera.

    ``on_status`` is called (from the reader thread) whenever the state changes, so the kiosk can switch to
    the placeholder, tell staff and the agent, and switch back when the camera returns.
    """

    def __init__(self, camera: Camera, on_status: StatusListener | None = None) -> None:
        self.camera = camera
        self._on_status = on_status
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_state: CameraState | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.camera.close()
        with self._lock:
            self._frame = None

    def latest(self) -> tuple[int, Frame | None]:
        """(sequence number, newest frame); the number grows with every new frame, so callers see staleness."""
        with self._lock:
            return self._seq, self._frame

    def status(self) -> CameraStatus:
        return self.camera.status()

    def _report(self) -> None:
        status = self.camera.status()
        if status.state != self._last_state:
            self._last_state = status.state
            if status.state != "ready":
                with self._lock:
                    self._frame = None
            if self._on_status is not None:
                try:
                    self._on_status(status)
                except Exception:  # a listener's bug must not stop the camera
                    log.exception("camera status listener failed")

    def _run(self) -> None:
        interval = 1.0 / max(1, self.camera.config.fps)
        while not self._stop.is_set():
            if self.camera.status().state != "ready":
                with contextlib.suppress(CameraMissing):
                    self.camera.open()
                self._report()
                if self.camera.status().state != "ready":
                    self._stop.wait(REOPEN_INTERVAL_S)
                    continue
            started = time.monotonic()
            frame = self.camera.read()
            if frame is not None:
                with self._lock:
                    self._frame = frame
                    self._seq += 1
            self._report()
            # A file or a fast device would otherwise be read far faster than the configured rate.
            spare = interval - (time.monotonic() - started)
            if spare > 0:
                self._stop.wait(spare)
