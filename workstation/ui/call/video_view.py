"""A video picture that shows only the newest frame.

Frames are handed in from any thread with :meth:`offer` (the asyncio thread decodes them):
that only keeps the frame, so the call's event loop is not held up. One converter thread,
shared by every view, turns the newest frame of each view into RGB at the size it is shown
(never larger than the frame), off the GUI thread, replacing any frame not painted yet. The GUI
thread is told at most once per painted frame, so a busy window drops stale frames instead of
queueing them: latency cannot grow.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:  # frames come from the call; the chart loads without the media stack
    import av


class _Converter:
    """The one thread converting views' newest frames (PyAV's scaler lets go of the
    interpreter while it works)."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._waiting: list[weakref.ref[VideoView]] = []
        self._thread: threading.Thread | None = None

    def request(self, view: VideoView) -> None:
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="video-convert",
                                                daemon=True)
                self._thread.start()
            self._waiting.append(weakref.ref(view))
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                waiting, self._waiting = self._waiting, []
            for ref in waiting:
                view = ref()
                if view is not None:
                    with contextlib.suppress(RuntimeError):  # the widget went away meanwhile
                        view._convert()


_CONVERTER = _Converter()


class VideoView(QWidget):
    """Signals:
        frame_ready(): internal; a converted frame waits (queued to the GUI thread).
    """

    frame_ready = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None, *,
                 mirrored: bool = False) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._incoming: av.VideoFrame | None = None
        self._queued = False  # the converter has been asked for this view
        self._pending: tuple[bytes, int, int, tuple[int, int]] | None = None
        self._notified = False
        self._target: tuple[int, int] | None = None  # device pixels, set on resize
        self._image: QImage | None = None
        self._pixels: bytes | None = None  # keeps the QImage's memory alive
        self._frame_size = (0, 0)
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
        """The newest frame (from any thread); an older one not yet converted is dropped."""
        with self._lock:
            self._incoming = frame
            self.frames_offered += 1
            ask = not self._queued
            self._queued = True
        if ask:
            _CONVERTER.request(self)

    def _convert(self) -> None:
        """On the converter thread: the newest frame, in RGB at the shown size."""
        with self._lock:
            frame, self._incoming = self._incoming, None
            self._queued = False
            target = self._target
        if frame is None:
            return
        width, height = _fitted(frame.width, frame.height, target)
        if (width, height) == (frame.width, frame.height):
            pixels = frame.to_ndarray(format="rgb24").tobytes()
        else:
            pixels = frame.reformat(width=width, height=height,
                                    format="rgb24").to_ndarray().tobytes()
        with self._lock:
            self._pending = (pixels, width, height, (frame.width, frame.height))
            notify = not self._notified
            self._notified = True
        if notify:
            self.frame_ready.emit()

    # -- GUI thread -----------------------------------------------------------------------

    @property
    def image(self) -> QImage | None:
        """The frame on screen (RGB, at the size shown), or None while the placeholder
        shows."""
        return self._image

    @property
    def frame_size(self) -> tuple[int, int]:
        """The size of the frame on screen as it arrived ((0, 0) before the first)."""
        return self._frame_size

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def clear(self) -> None:
        with self._lock:
            self._incoming = None
            self._pending = None
        self._image = None
        self._pixels = None
        self._frame_size = (0, 0)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        ratio = self.devicePixelRatioF()
        size = event.size()
        with self._lock:
            self._target = (max(2, round(size.width() * ratio)),
                            max(2, round(size.height() * ratio)))
        super().resizeEvent(event)

    def _on_frame_ready(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
            self._notified = False
        if pending is None:
            return
        self._pixels, width, height, self._frame_size = pending
        self._image = QImage(self._pixels, width, height, 3 * width,
                             QImage.Format.Format_RGB888)
        self.frames_shown += 1
        self.last_shown_at = time.monotonic()
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # Qt override
        painter = QPainter(self)
        try:
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
        finally:
            painter.end()


def _fitted(width: int, height: int, target: tuple[int, int] | None) -> tuple[int, int]:
    """The frame's size fitted inside ``target`` (aspect kept, never enlarged)."""
    if target is None or (width <= target[0] and height <= target[1]):
        return width, height
    scale = min(target[0] / width, target[1] / height)
    return max(2, round(width * scale)), max(2, round(height * scale))
