"""Voice quality and speed: the chosen m4a/mp3 settings beside the previous ones.

For each output and language: PESQ-WB (ITU-T P.862.2) of the transcoded speech against
its source WAV, mean over the corpus of tests/voice/audio.py (espeak-ng sentences recorded
as WebM/Opus and Ogg/Opus), and × realtime on one core: seconds of audio per CPU-second
of the ffmpeg process (user + system, from wait4, so other load on the machine inflates
it less than wall time would) on a looped clip of that language. Both settings run the
same command line from media.transcode_command, interleaved, in the same run.
The ratio is CPU time of the new settings over the previous ones (below 1: faster).
"""

import os
import subprocess
from pathlib import Path

from app.services.voice import media
from tests.benchmarks.report import Row, median
from tests.voice import audio

# What media.py ran before issue 12: ffmpeg's defaults (48 kHz, twoloop coder, CBR).
PREVIOUS = {
    "m4a": ["-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", "-f", "ipod"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
}
CHOSEN = {"m4a": media.m4a_codec_args, "mp3": media.mp3_codec_args}


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU time of one ffmpeg run."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"ffmpeg failed: {command}")
    return usage.ru_utime + usage.ru_stime


def looped(folder: Path, language: str, sources: list[Path], seconds: int) -> Path:
    """`seconds` of the language's sentences, looped, as WebM/Opus."""
    listing = folder / f"{language}-list.txt"
    listing.write_text("".join(f"file '{source}'\n" for source in sources))
    wav = folder / f"{language}-{seconds}s.wav"
    audio.ffmpeg("-f", "concat", "-safe", "0", "-stream_loop", "-1", "-i", str(listing),
                 "-t", str(seconds), str(wav))  # fmt: skip
    clip = folder / f"{language}-{seconds}s.webm"
    audio.ffmpeg("-i", str(wav), *audio.RECORDED["webm"], str(clip))
    return clip


def quality(items, codec_args: list[str], folder: Path, extension: str) -> tuple[float, float]:
    """(mean PESQ-WB, KB per minute) of the corpus items through these arguments."""
    limits, scores, size, seconds = media.MediaLimits(), [], 0, 0.0
    for _, source, recording in items:
        target = folder / f"q.{extension}"
        subprocess.run(media.transcode_command(recording, target, limits, codec_args), check=True)
        scores.append(audio.pesq_wb(source, target))
        size += target.stat().st_size
        seconds += audio.duration(source)
    return sum(scores) / len(scores), size / 1000 / (seconds / 60)


def speed(clip: Path, args: dict, folder: Path, extension: str, runs: int) -> dict:
    """Median CPU seconds of each settings' command on the clip, interleaved, and of
    ffmpeg starting and exiting ("start": Debian's ffmpeg loads ~200 shared libraries,
    a fixed cost of every run that no encoder setting moves)."""
    limits, times = media.MediaLimits(), {name: [] for name in [*args, "start"]}
    for _ in range(runs):
        times["start"].append(cpu_seconds([limits.ffmpeg_bin, "-v", "error", "-version"]))
        for name, codec_args in args.items():
            target = folder / f"s-{name}.{extension}"
            times[name].append(
                cpu_seconds(media.transcode_command(clip, target, limits, codec_args))
            )
    return {name: median(values) for name, values in times.items()}


def run(folder: Path, clip_seconds: int, runs: int, smoke: bool) -> list[Row]:
    folder.mkdir(exist_ok=True)
    items = audio.corpus(folder, 1 if smoke else None)
    if smoke:  # one sentence per language, as Chrome records it: proves each row works
        items = [item for item in items if item[2].suffix == ".webm"]
    clips = {
        language: looped(
            folder, language, sorted({s for lang, s, _ in items if lang == language}), clip_seconds
        )
        for language in audio.CORPUS
    }
    rows = []
    for extension in CHOSEN:
        args = {"new": CHOSEN[extension](media.MediaLimits()), "old": PREVIOUS[extension]}
        for language, clip in clips.items():
            mine = [item for item in items if item[0] == language]
            cpu = speed(clip, args, folder, extension, runs)
            new_q, new_kb = quality(mine, args["new"], folder, extension)
            old_q, old_kb = quality(mine, args["old"], folder, extension)
            rows.append(
                Row(
                    f"voice {extension}, {language}: PESQ-WB over {len(mine)} recordings,"
                    f" × realtime on one core ({clip_seconds} s, median of {runs})",
                    f"chosen: PESQ {new_q:.2f}, {clip_seconds / cpu['new']:.0f}×"
                    f" ({clip_seconds / (cpu['new'] - cpu['start']):.0f}× after ffmpeg's"
                    f" {cpu['start'] * 1000:.0f} ms start), {new_kb:.0f} KB/min",
                    f"previous: PESQ {old_q:.2f}, {clip_seconds / cpu['old']:.0f}×,"
                    f" {old_kb:.0f} KB/min",
                    cpu["new"] / cpu["old"],
                )
            )
    return rows
