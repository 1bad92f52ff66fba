"""Transcoding pipeline vs the bare ffmpeg command with identical arguments.

    python -m tests.benchmarks.bench_transcode [--runs N]

The same 60 s speech clip (espeak-ng, WebM/Opus like Chrome's recordings) goes through
app.services.media.to_m4a (limits, scratch copy, process group, privilege drop when
root) and through the very command line it builds, run bare. Both are timed over N
runs in this one process; the ratio of the medians is the pipeline's overhead.
"""

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from app.services import media
from tests.voice import audio

CLIP_SECONDS = 60


def make_clip(folder: Path) -> Path:
    sentence = folder / "sentence.wav"
    audio.speak(audio.SENTENCE, sentence)
    looped = folder / "speech-60s.wav"
    audio.ffmpeg("-stream_loop", "-1", "-i", str(sentence), "-t", str(CLIP_SECONDS), str(looped))
    return audio.encode(looped, folder / "speech-60s.webm", "webm")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    limits = media.MediaLimits()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        clip = make_clip(folder)
        bare_target = folder / "bare.m4a"
        pipeline_target = folder / "pipeline.m4a"
        bare_command = media.transcode_command(
            clip, bare_target, limits, media.m4a_codec_args(limits)
        )
        bare, pipeline = [], []
        for _ in range(runs):  # interleaved, so drift hits both alike
            bare.append(timed(lambda: subprocess.run(bare_command, check=True)))
            pipeline.append(timed(lambda: media.to_m4a(clip, pipeline_target, limits)))
    bare_median, pipeline_median = statistics.median(bare), statistics.median(pipeline)
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}"
    )
    print(
        f"clip: {CLIP_SECONDS} s speech, WebM/Opus -> m4a AAC {limits.aac_bitrate} mono, "
        f"{runs} runs each"
    )
    print(f"{'':24}{'median s':>10}{'x realtime':>12}")
    print(f"{'bare ffmpeg':24}{bare_median:>10.3f}{CLIP_SECONDS / bare_median:>12.0f}")
    print(
        f"{'pipeline (to_m4a)':24}{pipeline_median:>10.3f}{CLIP_SECONDS / pipeline_median:>12.0f}"
    )
    print(f"ratio pipeline / bare: {pipeline_median / bare_median:.3f}")


if __name__ == "__main__":
    main()
