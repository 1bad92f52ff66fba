"""Transcoding pipeline vs the bare ffmpeg command with identical arguments.

The same speech clip (espeak-ng, WebM/Opus like Chrome's recordings) goes through
app.services.voice.media.to_m4a (limits, scratch copy, process group, privilege drop when
root) and through the very command line it builds, run bare, interleaved. The ratio
of the medians is the pipeline's overhead; × realtime is on one core (ffmpeg's AAC
encoder is single-threaded).
"""

import subprocess
import time
from pathlib import Path

from app.services.voice import media
from tests.benchmarks.report import Row, median
from tests.voice import audio


def make_clip(folder: Path, seconds: int) -> Path:
    """`seconds` of looped speech as WebM/Opus."""
    sentence = folder / "sentence.wav"
    if not sentence.exists():
        audio.speak(audio.SENTENCE, sentence)
    looped = folder / f"speech-{seconds}s.wav"
    audio.ffmpeg("-stream_loop", "-1", "-i", str(sentence), "-t", str(seconds), str(looped))
    return audio.encode(looped, folder / f"speech-{seconds}s.webm", "webm")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bare_m4a_command(clip: Path, target: Path) -> list[str]:
    """The ffmpeg command line media.to_m4a runs, to run without the pipeline around it."""
    limits = media.MediaLimits()
    return media.transcode_command(clip, target, limits, media.m4a_codec_args(limits))


def run(folder: Path, clip_seconds: int, runs: int) -> list[Row]:
    limits = media.MediaLimits()
    clip = make_clip(folder, clip_seconds)
    bare_command = bare_m4a_command(clip, folder / "bare.m4a")
    bare, pipeline = [], []
    for _ in range(runs):
        bare.append(timed(lambda: subprocess.run(bare_command, check=True)))
        pipeline.append(timed(lambda: media.to_m4a(clip, folder / "pipeline.m4a", limits)))
    bare_s, pipeline_s = median(bare), median(pipeline)
    return [
        Row(
            f"transcode {clip_seconds} s speech → m4a (median of {runs})",
            f"pipeline {pipeline_s:.3f} s ({clip_seconds / pipeline_s:.0f}× realtime)",
            f"bare ffmpeg, same arguments, {bare_s:.3f} s ({clip_seconds / bare_s:.0f}×)",
            pipeline_s / bare_s,
        )
    ]
