"""Waveform peaks made on the server: silence draws low, speech draws high, bad input fails."""

import json

import pytest

from app.services.voice import media, voice
from tests.voice import audio


@pytest.fixture
def speech_pause_speech(speech_wav, tmp_path):
    """Speech, 4 s of digital silence, speech again, as WebM/Opus like Chrome records."""
    silence = audio.synthesize("anullsrc=r=48000:cl=mono", tmp_path / "pause.wav", "-t", "4")
    joined = tmp_path / "joined.wav"
    audio.ffmpeg(
        "-i", str(speech_wav), "-i", str(silence), "-i", str(speech_wav),
        "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1", str(joined),
    )  # fmt: skip
    return audio.encode(joined, tmp_path / "joined.webm", "webm"), audio.duration(speech_wav)


def test_a_pause_draws_low_and_speech_draws_high(speech_pause_speech, limits):
    recording, speech_seconds = speech_pause_speech
    peaks = media.waveform(recording, limits)
    assert len(peaks) == media.WAVEFORM_POINTS
    assert all(isinstance(p, int) and 0 <= p <= 100 for p in peaks)
    total = 2 * speech_seconds + 4
    index = [round(len(peaks) * t / total) for t in (speech_seconds, speech_seconds + 4)]
    pause = peaks[index[0] + 2 : index[1] - 2]  # margins: Opus smears the edges
    speech = peaks[2 : index[0] - 2] + peaks[index[1] + 2 : -2]
    assert max(pause) <= 3, pause
    assert max(speech) == 100 and sorted(speech)[len(speech) // 2] >= 30, speech


def test_a_silent_recording_stays_flat(tmp_path, limits):
    silent = audio.synthesize("anullsrc=r=48000:cl=mono", tmp_path / "silent.ogg", "-t", "3",
                              "-c:a", "libopus")  # fmt: skip
    assert max(media.waveform(silent, limits)) <= 1


def test_a_very_short_recording_gives_fewer_points():
    samples = media.array.array("h", [0, 1000, -32768, 5])
    assert media.peaks(samples, 100) == [0, 3, 100, 0]


def test_undecodable_input_raises_a_media_error(tmp_path, limits):
    fake = tmp_path / "voice.webm"
    fake.write_text("not audio\n" * 50)
    with pytest.raises(media.MediaError):
        media.waveform(fake, limits)


def test_the_transcode_puts_the_waveform_in_the_content(speech_pause_speech, tmp_path, limits):
    recording, _ = speech_pause_speech
    # Made beside each output by the same ffmpeg run: the same peaks as decoding alone.
    for convert, name in ((media.to_m4a, "voice.m4a"), (media.to_mp3, "voice.mp3")):
        assert convert(recording, tmp_path / name, limits) == media.waveform(recording, limits)
    field = voice.waveform_field(recording, limits, 1)
    assert field["waveform"] == media.waveform(recording, limits)
    fake = tmp_path / "broken.webm"
    fake.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 100)
    assert voice.waveform_field(fake, limits, 1) == {}  # the message still settles without it
    old = voice.voice_content("k-raw.webm", "k.m4a", None, 3.0)
    assert "waveform" not in old and json.loads(json.dumps(old))["url"].endswith("k.m4a")
