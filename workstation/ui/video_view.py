"""A video picture that shows only the newest frame.

Frames are handed in from any thread (the asyncio thread decodes them) with :meth:`offer`; each
is converted to RGB there, off the GUI thread, and replaces the one before. The GUI thread is
told at most once per painted frame, so a busy window drops stale frames instead of queueing
them: latency cannot grow.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:  # frames come from the call; the chart loads without the media stack
    import av


class VideoView(QWidget):
    """Signals:
        frame_ready(): internal; a new frame waits (queued to the GUI thread).
    """

    frame_ready = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None, *,
                 mirrored: bool = False) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: tuple[bytes, int, int] | None = None
        self._notified = False
        self._image: QImage | None = None
        self._pixels: bytes | None = None  # keeps the QImage's memory alive
        self._placeholder = placeholder
        self._mirrored = mirrored
        self.frames_shown = 0
        self.frames_offered = 0
        self.last_shown_at = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.frame_ready.connect(self._on_frame_ready, Qt.ConnectionType.QueuedConnection)

    # -- any thread -----------------------------------------------------------------------

    def offer(self, frame: av.VideoFrame) -> None:
        """The newest frame (from any thread); an older one not yet painted is dropped."""
        rgb = (frame.to_ndarray(format="rgb24").tobytes(), frame.width, frame.height)
        with self._lock:
            self._pending = rgb
            self.frames_offered += 1
            notify = not self._notified
            self._notified = True
        if notify:
            self.frame_ready.emit()

    # -- GUI thread -----------------------------------------------------------------------

    @property
    def image(self) -> QImage | None:
        """The frame on screen (RGB), or None while the placeholder shows."""
        return self._image

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def clear(self) -> None:
        with self._lock:
            self._pending = None
        self._image = None
        self._pixels = None
        self.update()

    def _on_frame_ready(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
            self._notified = False
        if pending is None:
            return
        self._pixels, width, height = pending
        self._image = QImage(self._pixels, width, height, 3 * width,
                             QImage.Format.Format_RGB888)
        self.frames_shown += 1
        self.last_shown_at = time.monotonic()
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#111"))
        image = self._image
        if image is None:
            painter.setPen(QColor("#eee"))
            painter.drawText(self.rect().adjusted(8, 8, -8, -8),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._placeholder)
            return
        scaled = image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(self.rect().center())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._mirrored:  # a self view reads like a mirror
            painter.translate(target.center().x() * 2 + 1, 0)
            painter.scale(-1, 1)
        painter.drawImage(target, image)
