"""The outgoing audio track: Opus packets, one per 20 ms, that decode back to what was sent."""

from __future__ import annotations

import av

from workstation.devices.synthetic import AUDIO_RATE, AUDIO_SAMPLES, Tone, rms
from workstation.rtc.tracks import AudioTrack


def _decoded(packets: list[av.Packet]) -> list[av.AudioFrame]:  # type: ignore[type-arg]
    decoder = av.CodecContext.create("libopus", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.sample_rate = AUDIO_RATE
    frames: list[av.AudioFrame] = []
    for packet in packets:
        frames += decoder.decode(packet)
    return frames


async def test_each_tick_hands_out_one_opus_packet_of_20_ms() -> None:
    track = AudioTrack(Tone().frame)
    packets = [await track.recv() for _ in range(10)]
    assert [p.pts for p in packets] == [n * AUDIO_SAMPLES for n in range(10)]
    assert all(isinstance(p, av.Packet) and 10 < p.size < 400 for p in packets)
    frames = _decoded(packets)
    assert len(frames) == 10 and all(f.samples == AUDIO_SAMPLES for f in frames)
    assert min(rms(f) for f in frames[2:]) > 0.05  # the tone comes through (level 0.1)
    assert track.captured_at is not None


async def test_muted_sends_packets_that_decode_to_silence() -> None:
    track = AudioTrack(Tone().frame)
    track.muted = True
    frames = _decoded([await track.recv() for _ in range(5)])
    assert len(frames) == 5
    assert max(rms(f) for f in frames) < 0.002  # the tone is gone (codec noise only)


async def test_a_frame_of_the_wrong_length_goes_out_as_silence_not_an_error() -> None:
    tone = Tone()

    def produce() -> av.AudioFrame:
        frame = tone.frame()
        return av.AudioFrame.from_ndarray(frame.to_ndarray()[:, :500], format="s16",
                                          layout="mono")

    track = AudioTrack(produce)
    frames = _decoded([await track.recv() for _ in range(3)])
    assert len(frames) == 3 and max(rms(f) for f in frames) < 0.002
