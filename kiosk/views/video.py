"""The call's video on the kiosk: the agent's picture filling the widget, the customer's own picture inset.

Why a plain QWidget painting a QImage in ``paintEvent`` (and not QVideoWidget/QVideoSink): measured on a point
PC class machine it costs ~5 % of a core at 720p30 against 37–45 % for Qt's video sink with software OpenGL,
and it draws offscreen too (tests, screenshots). See the stack notes.

Frames come from the call engine's events as numpy arrays at the size they were decoded: BGRX (height × width
× 4), which is ``QImage.Format_RGB32`` in memory, the format the raster painter draws and scales directly; RGB
(× 3, ``Format_RGB888``) is accepted too but costs a full-size conversion inside every paint (measured: docs/perf).
The picture is scaled only when painted, into the letterboxed rectangle, smoothly (bilinear, as a browser
does). :meth:`VideoView.show_remote` only keeps the newest array and asks Qt for a repaint; Qt merges repaint
requests, so a frame arriving while the previous one is still waiting to be painted simply replaces it — the UI
never queues up video and never stalls on it.
The QImage wraps the array's memory without a copy; the array is kept alive as long as the image is used.
Each pixel is written once a paint: black only in the letterbox bars, and a self-view frame repaints its inset
alone (offscreen, 720p remote at 30 fps and the self view at 15: 8.1 → 6.7 % of a core at 1280×720, 19.3 →
11.2 % at 1920×1080).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen, QRegion
from PySide6.QtWidgets import QSizePolicy, QWidget

RGB = np.ndarray[Any, np.dtype[np.uint8]]

#: The self view's width as a fraction of the widget's, and its margin in pixels.
SELF_VIEW_FRACTION = 0.22
SELF_VIEW_MARGIN = 16


_FORMATS = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGB32}


def _image(frame: RGB) -> tuple[QImage, RGB]:
    """A QImage over ``frame``'s memory (made contiguous first, which the engine's frames already are: no copy);
    return both so the memory outlives the image."""
    if frame.ndim != 3 or frame.shape[2] not in _FORMATS:
        raise ValueError(f"expected a BGRX (height × width × 4) or RGB (× 3) frame, got shape {frame.shape}")
    data = np.ascontiguousarray(frame, dtype=np.uint8)
    height, width, channels = data.shape
    image = QImage(data.data, width, height, data.strides[0], _FORMATS[channels])
    return image, data


def fit(source: QSize, target: QRect) -> QRect:
    """The largest rectangle of ``source``'s aspect ratio centred in ``target`` (letterbox, never stretched)."""
    if source.isEmpty() or target.isEmpty():
        return QRect(target)
    scaled = source.scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
    x = target.x() + (target.width() - scaled.width()) // 2
    y = target.y() + (target.height() - scaled.height()) // 2
    return QRect(x, y, scaled.width(), scaled.height())


class VideoView(QWidget):
    """Paints the remote picture letterboxed on black, and the self view in the bottom-right corner. With
    more than one remote participant (an interpreter, a joint call's second agent) each gets a column of
    its own, in the order they first sent a picture, so the customer sees everyone at once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("video")
        self._remotes: dict[str, tuple[QImage, RGB]] = {}
        self._self: tuple[QImage, RGB] | None = None
        self.frames_shown = 0
        """Remote frames handed in; ``frames_painted`` counts those that reached the screen."""
        self.frames_painted = 0
        self._pending = False

    @property
    def remote_size(self) -> QSize | None:
        """The size of the remote picture being shown (what was decoded: the view scales only when painting)."""
        first = next(iter(self._remotes.values()), None)
        return first[0].size() if first is not None else None

    @property
    def remote_peers(self) -> list[str]:
        """The remote participants whose picture is shown, left to right."""
        return list(self._remotes)

    def show_remote(self, frame: RGB, peer: str = "") -> None:
        """The newest frame of remote participant ``peer``; replaces one of theirs not painted yet."""
        self._remotes[peer] = _image(frame)
        self.frames_shown += 1
        self._pending = True
        self.update()

    def show_self(self, frame: RGB) -> None:
        """The customer's own newest picture. Only its inset is repainted: the agent's picture under it stays
        as painted (a whole repaint per self-view frame scaled the agent's full picture 15 more times a second:
        45 paints a second instead of 30)."""
        before = self._self_box()
        self._self = _image(frame)
        after = self._self_box()
        for box in (before, after):  # Qt merges the two when the inset kept its place
            if box is not None:
                self.update(box.adjusted(-2, -2, 2, 2))  # the frame's pen straddles the edge

    def drop_remote(self, peer: str) -> None:
        """``peer`` left the call: their column goes."""
        if self._remotes.pop(peer, None) is not None:
            self.update()

    def clear(self) -> None:
        """End of the call: drop every picture (nothing of the customer stays in the widget)."""
        self._remotes.clear()
        self._self = None
        self._pending = False
        self.update()

    def _self_box(self) -> QRect | None:
        """Where the self view is painted: bottom right, a fixed fraction of the widget's width."""
        if self._self is None:
            return None
        image = self._self[0]
        width = max(80, int(self.width() * SELF_VIEW_FRACTION))
        height = int(width * image.height() / max(1, image.width()))
        return QRect(self.width() - width - SELF_VIEW_MARGIN, self.height() - height - SELF_VIEW_MARGIN, width, height)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            # Black only where no picture goes (the letterbox bars): the pictures cover the rest, and filling
            # the whole screen first would write every pixel twice a frame.
            background = QRegion(event.rect())
            pictures = []
            if self._remotes:
                columns = len(self._remotes)
                width = self.width() // columns
                for i, (image, _) in enumerate(self._remotes.values()):
                    place = fit(image.size(), QRect(i * width, 0, width, self.height()))
                    pictures.append((place, image))
                    background = background.subtracted(QRegion(place))
            painter.save()
            painter.setClipRegion(background)
            painter.fillRect(event.rect(), QColor(0, 0, 0))
            painter.restore()
            # Scaled smoothly (bilinear), as a browser does: Qt's default picks the nearest pixel, which at the
            # kiosk screen's 1.5× (a 720p agent on 1080p) doubles every other row and column of the agent's face
            # and of a paper they hold up (26.6 dB against a Lanczos scaling, bilinear 34.7; 640×480 at 2.25×:
            # 23.7 and 31.5). Measured: +3.5 % of a core at 720p30 on a 1920×1080 screen (docs/perf/README.md).
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            for place, image in pictures:
                painter.drawImage(place, image)
            if pictures and self._pending:
                self._pending = False
                self.frames_painted += 1
            box = self._self_box()
            if self._self is not None and box is not None:
                painter.drawImage(box, self._self[0])
                painter.setPen(QPen(QColor(255, 255, 255), 2))
                painter.drawRect(box)
        finally:
            painter.end()
