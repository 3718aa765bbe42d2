"""Camera, microphone, speaker, and whether this PC encodes 720p video fast enough.

Each device is opened the way a call opens it (``workstation.devices``) and released at once;
nothing is recorded or kept.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar

from workstation.readiness.runner import Finding

T = TypeVar("T")

if TYPE_CHECKING:
    from workstation.devices.camera import Camera

CAMERA_FIX = ("Plug in a camera (a USB webcam), check that the system's camera settings show it, "
              "then run the check again.")
CAMERA_BUSY_FIX = ("Close other programs that may hold the camera (video meetings, the browser), "
                   "unplug it and plug it in again, then run the check again.")
HEADSET_FIX = ("Plug in a headset (it avoids echo for the patient), check that the system's "
               "sound settings show it, then run the check again.")
# Frames per second of 720p VP8 this PC must encode: a call sends 30; below 15 it stutters.
ENCODE_PASS_FPS, ENCODE_WARN_FPS = 30.0, 15.0
ENCODE_FRAMES = 60
ENCODE_MAX_S = 8.0  # a very slow PC is measured on fewer frames rather than for minutes


def check_camera(first_frame_s: float = 5.0) -> Finding:
    from workstation.devices.camera import Camera, CameraInfo, CameraUnavailable, list_cameras

    cameras = list_cameras()
    if not cameras and sys.platform.startswith("linux"):
        return Finding("fail", "No camera found: the system shows no video device "
                               "(/dev/video*).", CAMERA_FIX)
    # Elsewhere the system lists no devices to us: try its first camera.
    problems = []
    for info in cameras or [CameraInfo(0, "the system's first camera")]:
        try:
            camera = Camera(info.index)
        except CameraUnavailable as exc:
            problems.append(f"{info.name}: {exc}")
            continue
        if not _gives_picture(camera, first_frame_s):
            problems.append(f"{info.name}: opened, but gave no picture in "
                            f"{first_frame_s:.0f} s")
            continue
        found = (f"Camera {info.name!r} gave a picture at {camera.width}×{camera.height}, "
                 f"{camera.fps} fps.")
        if camera.width < 1280 or camera.height < 720:
            return Finding("warn", f"{found} Calls send 1280×720 when the camera gives it; "
                                   "this one is less sharp.",
                           "For a sharper picture, use a camera that gives 720p (1280×720).")
        return Finding("pass", found)
    if not cameras:
        return Finding("fail", f"No camera could be opened ({'; '.join(problems)}).",
                       CAMERA_FIX)
    return Finding("fail", f"A camera is there but gives no picture: {'; '.join(problems)}.",
                   CAMERA_BUSY_FIX)


def _gives_picture(camera: Camera, wait_s: float) -> bool:
    """Start the camera, wait for its first frame, stop it."""
    pictured = threading.Event()
    camera.start(lambda _frame: pictured.set(), lambda _why: None)
    try:
        return pictured.wait(wait_s)
    finally:
        camera.stop()


def check_microphone(first_sound_s: float = 2.0) -> Finding:
    from workstation.devices.audio import AudioUnavailable, Microphone

    opened = _default_device(Microphone, inputs=True)
    if isinstance(opened, Finding):
        return opened
    microphone, names = opened
    heard = threading.Event()
    try:
        microphone.start(lambda _frame: heard.set())
        got_sound = heard.wait(first_sound_s)
    except AudioUnavailable as exc:
        return Finding("fail", f"{exc} (found: {_listed(names)}).",
                       "Close other programs that may hold the microphone, check the sound "
                       "settings' default input, then run the check again.")
    finally:
        microphone.stop()
    if not got_sound:
        return Finding("fail", f"The default microphone opened but sent no sound in "
                               f"{first_sound_s:.0f} s (found: {_listed(names)}).",
                       "Check the default input in the sound settings (and that it is not "
                       "muted in hardware), then run the check again.")
    return Finding("pass", f"The default microphone sends sound (found: {_listed(names)}).")


def check_speaker() -> Finding:
    from workstation.devices.audio import AudioUnavailable, Speaker

    opened = _default_device(Speaker, inputs=False)
    if isinstance(opened, Finding):
        return opened
    speaker, names = opened
    try:
        speaker.start()  # plays silence: IT hears the tone in the workstation's device check
    except AudioUnavailable as exc:
        return Finding("fail", f"{exc} (found: {_listed(names)}).",
                       "Check the default output in the sound settings, then run the check "
                       "again.")
    finally:
        speaker.stop()
    return Finding("pass", f"The default speaker opened (found: {_listed(names)}). The "
                           "workstation's device check plays a tone to hear.")


def _default_device(make: Callable[[], T], *, inputs: bool) -> tuple[T, list[str]] | Finding:
    """The system's default microphone or speaker opened, and the names of those the system
    lists; or why not."""
    from workstation.devices.audio import AudioUnavailable, list_audio_devices

    try:
        device = make()  # raises when PortAudio is missing
    except AudioUnavailable as exc:
        return Finding("fail", str(exc), "Reinstall the workstation (its sound library "
                                         "is missing).")
    names = [d.name for d in list_audio_devices() if (d.inputs if inputs else d.outputs) > 0]
    if not names:
        what = "microphone found: the system shows no sound input" if inputs else \
            "speaker found: the system shows no sound output"
        return Finding("fail", f"No {what}.", HEADSET_FIX)
    return device, names


def check_video_encoding() -> Finding:
    """Encode 720p test frames with the VP8 encoder calls use (aiortc's, its real-time
    settings, the top bitrate a call reaches) and report frames per second."""
    import av
    import numpy as np
    from aiortc.codecs.vpx import MAX_BITRATE, Vp8Encoder

    from workstation.devices.synthetic import TestPattern

    pattern = TestPattern(1280, 720)
    # A camera's picture is never clean: with sensor-like noise the encoder works at the full
    # bitrate, as in a call, rather than coasting on a perfectly flat test picture.
    rng = np.random.default_rng(720)
    noise = [rng.integers(-4, 5, size=(720 * 3 // 2, 1280), dtype=np.int16) for _ in range(4)]
    frames = []
    for i in range(ENCODE_FRAMES + 5):
        planes = pattern.frame(at_ms=i * 33).to_ndarray().astype(np.int16) + noise[i % 4]
        frame = av.VideoFrame.from_ndarray(np.clip(planes, 0, 255).astype(np.uint8),
                                           format="yuv420p")
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90_000)
        frames.append(frame)
    encoder = Vp8Encoder()
    encoder.target_bitrate = MAX_BITRATE
    for frame in frames[:5]:  # the encoder's start and first keyframe are not a call's pace
        encoder.encode(frame)
    started = time.perf_counter()
    encoded = 0
    for frame in frames[5:]:
        encoder.encode(frame)
        encoded += 1
        if time.perf_counter() - started > ENCODE_MAX_S:
            break
    fps = encoded / (time.perf_counter() - started)
    found = f"VP8 encodes 1280×720 at {fps:.0f} frames per second here"
    if fps >= ENCODE_PASS_FPS:
        return Finding("pass", f"{found} (a call needs {ENCODE_PASS_FPS:.0f}).")
    slow_fix = ("Close other programs using the processor, or use a PC with a faster "
                "processor for video visits.")
    if fps >= ENCODE_WARN_FPS:
        return Finding("warn", f"{found}: below the {ENCODE_PASS_FPS:.0f} a call sends, so "
                               "the patient's picture of the provider may stutter.", slow_fix)
    return Finding("fail", f"{found}: too slow for video visits (needs "
                           f"{ENCODE_PASS_FPS:.0f}, at least {ENCODE_WARN_FPS:.0f}).", slow_fix)


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")
