"""Synthetic sources, and what the workstation does on a machine with no camera or sound."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.devices.audio import AudioUnavailable, Microphone, Speaker, list_audio_devices
from workstation.devices.camera import Camera, CameraUnavailable, list_cameras
from workstation.devices.synthetic import (
    BLOCK,
    TestPattern,
    Tone,
    age_ms,
    code_from_levels,
    read_time_code,
    rms,
    silence_like,
)


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_the_time_code_reads_back_what_was_drawn(size: tuple[int, int]) -> None:
    pattern = TestPattern(*size)
    for stamp in (0, 1, 123_456_789, 2**32 - 1):
        frame = pattern.frame(stamp)
        assert (frame.width, frame.height) == size
        assert read_time_code(frame) == stamp


@pytest.mark.parametrize("size", [(960, 540), (640, 360)])
def test_the_time_code_reads_back_from_a_frame_the_sender_scaled_down(
        size: tuple[int, int]) -> None:
    # Browsers lower the resolution while their bandwidth estimate ramps up: the blocks
    # shrink with the picture, and the reader is told the width it was drawn at.
    frame = TestPattern(1280, 720).frame(987_654_321).reformat(width=size[0], height=size[1])
    assert read_time_code(frame, sent_width=1280) == 987_654_321
    assert read_time_code(frame) is None  # read as full size, the check fails


def test_time_code_levels_decode_with_their_check() -> None:
    frame = TestPattern(640, 480).frame(42)
    luma = frame.to_ndarray()
    levels = [float(luma[BLOCK + BLOCK // 2, i * BLOCK + BLOCK // 2]) for i in range(40)]
    assert code_from_levels(levels, 128) == 42
    levels[0] = 255 - levels[0]
    assert code_from_levels(levels, 128) is None


def test_a_damaged_time_code_is_not_read() -> None:
    frame = TestPattern(640, 480).frame(123_456_789)
    data = frame.to_ndarray()
    data[BLOCK:2 * BLOCK, :3 * BLOCK] = 255 - data[BLOCK:2 * BLOCK, :3 * BLOCK]  # flip 3 bits
    damaged = type(frame).from_ndarray(data, format="yuv420p")
    assert read_time_code(damaged) is None


def test_frame_age_wraps_with_the_clock() -> None:
    assert age_ms(2**32 - 10, now_ms=5) == 15
    assert age_ms(1000, now_ms=1040) == 40


def test_a_tone_is_heard_and_silence_is_not() -> None:
    tone = Tone(level=0.1)
    loud = [rms(tone.frame()) for _ in range(5)]
    assert all(0.06 < v < 0.08 for v in loud)  # a sine at 0.1 of full scale: 0.1/sqrt(2)
    assert rms(silence_like()) == 0.0


def test_a_pattern_too_small_for_its_time_code_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        TestPattern(320, 240)


def test_no_camera_at_an_index_is_a_clear_error() -> None:
    assert all(c.index != 63 for c in list_cameras())
    with pytest.raises(CameraUnavailable, match="No camera at index 63"):
        Camera(63)


def test_no_sound_device_is_a_clear_error() -> None:
    assert all(d.index != 999 for d in list_audio_devices())
    with pytest.raises(AudioUnavailable, match="microphone"):
        Microphone(999).start(lambda _frame: None)
    speaker = Speaker(999)
    with pytest.raises(AudioUnavailable, match="speaker"):
        speaker.start()
    speaker.play(np.zeros(960, dtype=np.int16))  # queued sound without a device: no crash
