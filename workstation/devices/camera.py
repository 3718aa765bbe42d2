"""The camera, through OpenCV (headless build): device list, opening with fallbacks, and a
capture thread that keeps only the newest frame.

OpenCV's ``read()`` blocks, so it runs on a thread of its own; each frame is handed over with
``deliver`` (the caller passes something thread-safe, such as ``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import glob
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

log = logging.getLogger(__name__)

# Tried in order until the camera accepts one: 720p30 preferred, then smaller.
MODES = ((1280, 720, 30), (960, 540, 30), (640, 480, 30), (640, 480, 15))


class CameraUnavailable(Exception):
    """No camera, a camera another program holds, or one unplugged; the message says which."""


@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str


def list_cameras() -> list[CameraInfo]:
    """Cameras the system shows (Linux: /dev/video*, named from sysfs). Empty when none."""
    cameras = []
    for path in sorted(glob.glob("/dev/video*")):
        match = re.fullmatch(r"/dev/video(\d+)", path)
        if not match:
            continue
        index = int(match.group(1))
        try:
            with open(f"/sys/class/video4linux/video{index}/name", encoding="utf-8") as f:
                name = f.read().strip()
        except OSError:
            name = f"Camera {index}"
        cameras.append(CameraInfo(index, name))
    return cameras


class Camera:
    """An open camera. ``start(deliver)`` runs the capture thread; ``stop()`` ends it and
    releases the device. A camera that stops giving frames (unplugged) calls ``on_lost``."""

    def __init__(self, index: int, modes: tuple[tuple[int, int, int], ...] = MODES) -> None:
        import cv2

        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(
                f"No camera at index {index}: it is missing, unplugged, or in use by another "
                "program.")
        self.width, self.height, self.fps = self._choose(capture, modes)
        self._capture = capture
        self._thread: threading.Thread | None = None
        self._running = False

    @staticmethod
    def _choose(capture: object, modes: tuple[tuple[int, int, int], ...],
                ) -> tuple[int, int, int]:
        import cv2

        for width, height, fps in modes:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)  # type: ignore[attr-defined]
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)  # type: ignore[attr-defined]
            capture.set(cv2.CAP_PROP_FPS, fps)  # type: ignore[attr-defined]
            got = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),  # type: ignore[attr-defined]
                   int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))  # type: ignore[attr-defined]
            if got == (width, height):
                return width, height, fps
        return got[0], got[1], 30

    def start(self, deliver: Callable[[av.VideoFrame], None],
              on_lost: Callable[[str], None]) -> None:
        self._running = True

        def run() -> None:
            failures = 0
            while self._running:
                ok, image = self._capture.read()
                if not ok:
                    failures += 1
                    if failures >= 10:  # a third of a second of nothing: the camera is gone
                        on_lost("The camera stopped sending video (unplugged?).")
                        return
                    continue
                failures = 0
                deliver(av.VideoFrame.from_ndarray(np.asarray(image, dtype=np.uint8),
                                                   format="bgr24"))

        self._thread = threading.Thread(target=run, name="camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._capture.release()
