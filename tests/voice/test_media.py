"""Real ffmpeg on real speech: what is accepted, what it becomes, what is refused."""

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app.services.voice import media
from tests.voice import audio

SECRET = "TOP-SECRET-CONTENT-7c1e"


@pytest.mark.parametrize("fmt", list(audio.FORMATS))
def test_every_accepted_format_becomes_an_m4a_of_the_same_speech(
    fmt, speech_files, speech_wav, tmp_path, limits
):
    source = speech_files[fmt]
    info = media.probe(source, limits)
    expected = audio.duration(speech_wav)
    assert info.duration == pytest.approx(expected, rel=0.10)

    target = tmp_path / "voice.m4a"
    media.to_m4a(source, target, limits)

    streams = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,channels",
            "-of",
            "csv=p=0",
            str(target),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert streams == ["aac,1"]
    assert audio.duration(target) == pytest.approx(expected, rel=0.10)
    assert audio.rms_dbfs(target) > -40  # speech, not silence
    assert audio.envelope_correlation(target, speech_wav) > 0.9


def test_an_m4a_is_checked_from_its_own_index(speech_files, speech_wav, tmp_path, limits):
    whole = tmp_path / "voice.m4a"
    media.to_m4a(speech_files["webm"], whole, limits)
    expected = audio.duration(speech_wav)
    assert media.verify_output(whole, expected, limits) == pytest.approx(
        audio.duration(whole), abs=0.1
    )
    # Cut anywhere, or with bytes after its end, it is refused before anyone sees it.
    data = whole.read_bytes()
    broken = tmp_path / "broken.m4a"
    for length in [*range(0, len(data), max(1, len(data) // 12)), len(data) - 1]:
        broken.write_bytes(data[:length])
        with pytest.raises(media.TranscodeFailed, match="not whole"):
            media.verify_output(broken, expected, limits)
    broken.write_bytes(data + b"\0\0\0")
    with pytest.raises(media.TranscodeFailed, match="not whole"):
        media.verify_output(broken, expected, limits)


def test_mp3_is_made_when_asked(speech_files, tmp_path, limits):
    target = tmp_path / "voice.mp3"
    media.to_mp3(speech_files["webm"], target, limits)
    assert audio.rms_dbfs(target) > -40


def test_raw_extension_follows_the_content_not_the_name(speech_files, tmp_path, limits):
    disguised = tmp_path / "recording.mp3"
    disguised.write_bytes(speech_files["ogg"].read_bytes())
    assert media.probe(disguised, limits).raw_extension == "ogg"


def test_a_text_file_named_webm_is_refused(tmp_path, limits):
    fake = tmp_path / "voice.webm"
    fake.write_text("this is not audio at all\n" * 100)
    with pytest.raises(media.UnsupportedMedia, match="not a recording"):
        media.probe(fake, limits)


def test_a_video_without_audio_is_refused(tmp_path, limits):
    silent_video = tmp_path / "clip.webm"
    audio.synthesize("color=c=red:s=32x32:d=1", silent_video, "-c:v", "libvpx")
    with pytest.raises(media.UnsupportedMedia):
        media.probe(silent_video, limits)


def crafted_files(tmp_path, speech_files):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    secret_audio = tmp_path / "secret.wav"
    secret_audio.write_bytes(speech_files["wav"].read_bytes())
    return {
        "hls playlist": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
        f"{secret}\n#EXTINF:10,\n{secret_audio}\n#EXT-X-ENDLIST\n",
        "ffconcat": f"ffconcat version 1.0\nfile '{secret_audio}'\nfile '{secret}'\n",
        "subtitle referencing a file": f"WEBVTT\n\n00:00.000 --> 00:01.000\n{secret}\n",
    }


@pytest.mark.parametrize("kind", ["hls playlist", "ffconcat", "subtitle referencing a file"])
def test_crafted_files_never_make_ffmpeg_read_other_files(kind, tmp_path, speech_files, limits):
    upload = tmp_path / "upload.webm"
    upload.write_text(crafted_files(tmp_path, speech_files)[kind])
    with pytest.raises(media.UnsupportedMedia):
        media.probe(upload, limits)
    # Even handed straight to the transcoder, nothing of the other files comes out.
    target = tmp_path / "out.m4a"
    with pytest.raises(media.TranscodeFailed):
        media.to_m4a(upload, target, limits)
    assert not target.exists()
    for produced in tmp_path.iterdir():
        if produced.name not in {"secret.txt", "secret.wav", "upload.webm"}:
            assert SECRET.encode() not in produced.read_bytes()


def test_a_transcode_that_runs_too_long_is_killed(tmp_path, limits):
    long_input = tmp_path / "long.wav"
    audio.synthesize("anoisesrc=d=900:r=16000", long_input, "-ac", "1")
    started = time.monotonic()
    with pytest.raises(media.TranscodeFailed, match="longer than 0.5 s"):
        media.to_m4a(long_input, tmp_path / "long.m4a", replace(limits, timeout_seconds=0.5))
    assert time.monotonic() - started < 10
    assert not (tmp_path / "long.m4a").exists()
    leftovers = subprocess.run(["pgrep", "-f", str(long_input)], capture_output=True, text=True)
    assert leftovers.stdout == ""


def test_output_is_cut_at_the_maximum_duration(speech_files, tmp_path, limits):
    target = tmp_path / "short.m4a"
    media.to_m4a(speech_files["wav"], target, replace(limits, max_duration_seconds=2))
    assert audio.duration(target) == pytest.approx(2, abs=0.15)


def test_a_missing_encoder_fails_clearly(speech_files, tmp_path, limits):
    with pytest.raises(media.TranscodeFailed, match="could not make .m4a"):
        media.to_m4a(speech_files["wav"], tmp_path / "x.m4a", replace(limits, aac_encoder="nope"))


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop applies when the app runs as root")
def test_ffmpeg_never_runs_as_root(limits):
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        spy = folder / "whoami-ffmpeg"
        spy.write_text("#!/bin/sh\nid -u\n")
        spy.chmod(0o755)
        result = media._run([str(spy)], limits)
    finally:
        shutil.rmtree(folder)
    assert result.stdout.strip() not in ("", "0")
