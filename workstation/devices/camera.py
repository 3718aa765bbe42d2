"""The camera, through FFmpeg's device inputs in PyAV (the codec library calls already use):
Video4Linux2 on Linux, AVFoundation on macOS, DirectShow on Windows; the device list, opening
with fallbacks, and a capture thread that hands over each decoded frame.

Reading a frame blocks, so it runs on a thread of its own; each frame is handed over with
``deliver`` (the caller passes something thread-safe, such as ``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import glob
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import av

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
    """Cameras the system shows, empty when none. Linux: /dev/video*, named from sysfs;
    macOS and Windows: FFmpeg's list of the AVFoundation or DirectShow video inputs."""
    if sys.platform == "linux":
        return _video4linux_cameras()
    try:
        found = av.enumerate_input_devices(INPUT_FORMAT)
    except Exception as exc:  # no device list: no cameras, said once
        log.warning("The camera list could not be read: %s", exc)
        return []
    video = [d for d in found if not d.media_types or "video" in d.media_types]
    return [CameraInfo(index, d.description or d.name) for index, d in enumerate(video)]


def _video4linux_cameras() -> list[CameraInfo]:
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


INPUT_FORMAT = {"linux": "video4linux2", "darwin": "avfoundation"}.get(sys.platform, "dshow")


def _device(index: int) -> str:
    """What FFmpeg opens for camera ``index``."""
    if sys.platform == "linux":
        return f"/dev/video{index}"
    if sys.platform == "darwin":
        return str(index)  # AVFoundation takes the index itself
    cameras = list_cameras()  # DirectShow takes the camera's name
    named = next((c.name for c in cameras if c.index == index), None)
    return f"video={named}" if named else f"video=camera {index}"


def _options(width: int, height: int, fps: int, compressed: bool) -> dict[str, str]:
    options = {"video_size": f"{width}x{height}", "framerate": str(fps)}
    if compressed:
        # USB cameras send 720p at 30 frames a second as MJPEG only (raw YUYV is too big
        # for USB 2.0): ask for it first, the raw format next.
        options["input_format" if sys.platform == "linux" else "vcodec"] = "mjpeg"  # dshow
    return options


class Camera:
    """An open camera. ``start(deliver)`` runs the capture thread; ``stop()`` ends it and
    releases the device. A camera that stops giving frames (unplugged) calls ``on_lost``."""

    def __init__(self, index: int, modes: tuple[tuple[int, int, int], ...] = MODES) -> None:
        self.width, self.height, self.fps = 0, 0, 0
        self._container: Any = None
        device = _device(index)
        problem = ""
        # AVFoundation chooses the camera's own format: no compressed first try there.
        compression = (False,) if sys.platform == "darwin" else (True, False)
        for (width, height, fps), compressed in (
                (mode, compressed) for mode in modes for compressed in compression):
            try:
                container = av.open(device, format=INPUT_FORMAT,
                                    options=_options(width, height, fps, compressed))
            except (av.FFmpegError, OSError) as exc:
                problem = str(exc)
                continue
            stream = container.streams.video[0]
            self.width, self.height = stream.codec_context.width, stream.codec_context.height
            self.fps = int(stream.average_rate or fps)
            self._container = container
            break
        if self._container is None:
            log.info("No camera at %s: %s", device, problem)
            raise CameraUnavailable(
                f"No camera at index {index}: it is missing, unplugged, or in use by another "
                "program.")
        self._thread: threading.Thread | None = None
        self._running = False

    def _frames(self) -> Iterator[av.VideoFrame]:
        return self._container.decode(video=0)  # type: ignore[no-any-return]

    def start(self, deliver: Callable[[av.VideoFrame], None],
              on_lost: Callable[[str], None]) -> None:
        self._running = True

        def run() -> None:
            try:
                for frame in self._frames():
                    if not self._running:
                        return
                    deliver(frame)
            except (av.FFmpegError, OSError) as exc:
                if self._running:
                    log.warning("The camera stopped: %s", exc)
            if self._running:
                on_lost("The camera stopped sending video (unplugged?).")

        self._thread = threading.Thread(target=run, name="camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._container.close()
