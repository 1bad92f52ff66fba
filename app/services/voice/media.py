"""Probing and transcoding voice recordings with a hardened ffmpeg.

Every run: arguments as a list, only the `file` protocol, only the demuxers of
ALLOWED_DEMUXERS (ffmpeg guesses formats from content, and a playlist or concat
"audio" file could otherwise make it read other local files), `-nostdin`, the first
audio stream only, bounded duration and output size, a wall-clock timeout that
kills the whole process group, CPU and address-space limits, and never as root.
"""

import array
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.services.errors import N_
from app.services.storage import naming
from app.services.voice import mp4

# WebM/Matroska, Ogg, MP4/M4A (mov family), MP3, WAV: what browsers record or upload.
ALLOWED_DEMUXERS = "matroska,ogg,mov,mp3,wav"
# The raw file keeps an extension that says what it is, whatever the client called it.
RAW_EXTENSIONS = naming.RAW_EXTENSIONS
# Waveform: at most this many peaks, each 0-100, from mono PCM decoded at this rate.
WAVEFORM_POINTS = 100
WAVEFORM_RATE = 2000
# Peaks are scaled to the loudest one, but never below this level (-30 dBFS), so a
# silent recording draws a flat line instead of magnified noise.
WAVEFORM_FLOOR = 32768 // 32
# The unprivileged account ffmpeg drops to when the app itself runs as root (dev, CI).
FALLBACK_USER = "nobody"
# ffmpeg 7 runs each decoder, filter graph, encoder and muxer in a thread of its own, and
# glibc reserves up to 64 MiB of address space for each thread's malloc arena: with two
# outputs that alone passes RLIMIT_AS, and thread creation fails ("Resource temporarily
# unavailable"). Two arenas are plenty for one transcode.
FFMPEG_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2"}
SAFE_INPUT = ["-protocol_whitelist", "file", "-format_whitelist", ALLOWED_DEMUXERS]
# A transcode may differ from its input by encoder priming and frame padding (tens of
# milliseconds); a truncated one is short by much more than this.
DURATION_TOLERANCE_SECONDS = 0.5
DURATION_TOLERANCE_RATIO = 0.02


class MediaError(Exception):
    """A recording could not be used; the message is meant for the person."""


class UnsupportedMedia(MediaError):
    pass


class TranscodeFailed(MediaError):
    pass


@dataclass(frozen=True)
class MediaLimits:
    ffmpeg_bin: str = "ffmpeg"
    ffprobe_bin: str = "ffprobe"
    timeout_seconds: float = 60.0
    max_duration_seconds: int = 600
    memory_limit_bytes: int = 512 * 1024 * 1024
    cpu_seconds: int = 120
    aac_encoder: str = "aac"
    aac_quality: str = "0.8"
    mp3_encoder: str = "libmp3lame"

    @property
    def max_output_bytes(self) -> int:
        # Room for the longest message at twice the nominal bitrate, plus headers.
        return self.max_duration_seconds * 2 * 64_000 // 8 + 1_000_000

    @classmethod
    def from_settings(cls, settings) -> "MediaLimits":
        return cls(
            ffmpeg_bin=settings.ffmpeg_bin,
            ffprobe_bin=settings.ffprobe_bin,
            timeout_seconds=settings.ffmpeg_timeout_seconds,
            max_duration_seconds=settings.ffmpeg_max_duration_seconds,
            memory_limit_bytes=settings.ffmpeg_memory_limit_bytes,
            cpu_seconds=settings.ffmpeg_cpu_seconds,
            aac_encoder=settings.ffmpeg_aac_encoder,
            aac_quality=settings.voice_aac_quality,
            mp3_encoder=settings.ffmpeg_mp3_encoder,
        )


@dataclass(frozen=True)
class Probe:
    demuxer: str
    codec: str
    duration: float

    @property
    def raw_extension(self) -> str:
        return RAW_EXTENSIONS[self.demuxer]


def probe(path: Path, limits: MediaLimits) -> Probe:
    """Accept only real audio in an allowed container; its duration from decoding it.

    One ffprobe run reads the container, the first audio stream and every decoded frame's
    time (Chrome's WebM headers carry no duration), up to the length limit.
    """
    with _workspace(path) as (readable, _):
        result = _run(
            [limits.ffprobe_bin, "-v", "error", *SAFE_INPUT, "-select_streams", "a:0",
             "-read_intervals", f"%+{limits.max_duration_seconds}",
             "-show_entries", "format=format_name:stream=codec_name,sample_rate"
             ":frame=best_effort_timestamp_time,nb_samples",
             "-of", "json", str(readable)],
            limits,
        )  # fmt: skip
    if result.returncode != 0:
        raise UnsupportedMedia(N_("this file is not a recording in a supported audio format"))
    info = json.loads(result.stdout or "{}")
    demuxer = info.get("format", {}).get("format_name", "").split(",")[0]
    streams = info.get("streams") or []
    if demuxer not in RAW_EXTENSIONS or not streams:
        raise UnsupportedMedia(N_("this file holds no audio in a supported format"))
    duration = _decoded_end(info.get("frames") or [], streams[0].get("sample_rate"))
    if duration <= 0:
        raise UnsupportedMedia(N_("this recording is empty"))
    return Probe(demuxer=demuxer, codec=streams[0].get("codec_name", ""), duration=duration)


def _decoded_end(frames: list[dict], sample_rate: object) -> float:
    """Seconds to the end of the last decoded frame (its start plus its samples)."""
    rate = int(sample_rate) if str(sample_rate).isdigit() and int(sample_rate) > 0 else 0
    ends = [
        float(frame["best_effort_timestamp_time"]) + int(frame.get("nb_samples") or 0) / rate
        for frame in frames
        if rate and _is_number(frame.get("best_effort_timestamp_time"))
    ]
    return round(max(ends, default=0.0), 2)


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def decoded_duration(path: Path, limits: MediaLimits) -> float:
    """Seconds of audio, by decoding (an mp3 output's check)."""
    result = _run(
        [
            limits.ffmpeg_bin,
            "-nostdin",
            "-v",
            "error",
            *SAFE_INPUT,
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-t",
            str(limits.max_duration_seconds),
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-",
        ],
        limits,
    )
    if result.returncode != 0:
        raise UnsupportedMedia(N_("the audio in this file cannot be decoded"))
    times = [
        int(line.split("=", 1)[1])
        for line in result.stdout.splitlines()
        if line.startswith("out_time_us=") and line.split("=", 1)[1].lstrip("-").isdigit()
    ]
    return round(max(times, default=0) / 1_000_000, 2)


def verify_output(path: Path, expected_seconds: float, limits: MediaLimits) -> float:
    """The transcode's output is whole and lasts as long as its input; its duration.

    ffmpeg 5.1 exits 0 after "Error writing trailer: No space left on device", leaving a
    truncated file (an m4a without its index, an mp3 cut short): the exit code alone
    cannot be trusted before a message points at the file.
    """
    if path.suffix == ".m4a":
        try:
            duration = mp4.duration(path)  # our own file: its index says it all
        except (mp4.BrokenFile, OSError) as error:
            raise TranscodeFailed(f"the m4a output is not whole: {error}") from error
    else:
        with _workspace(path) as (readable, _):
            duration = decoded_duration(readable, limits)
    expected = min(expected_seconds, limits.max_duration_seconds)
    if abs(duration - expected) > DURATION_TOLERANCE_SECONDS + DURATION_TOLERANCE_RATIO * expected:
        raise TranscodeFailed(
            f"the {path.suffix} output lasts {duration:g} s, its input {expected:g} s: incomplete"
        )
    return duration


def m4a_codec_args(limits: MediaLimits) -> list[str]:
    """Mono AAC-LC in an MP4 (.m4a) with the index up front, so phones start playing at once.

    16 kHz, the fast coder, VBR quality 0.8: chosen by PESQ-WB on English and Mandarin
    speech (docs/developers/voice.md): 3.8/4.0 against the source where 48 kbit/s CBR at
    48 kHz scored 2.9/2.7, ~390 KB a minute, and about four times as fast.
    """
    return ["-ar", "16000", "-c:a", limits.aac_encoder, "-aac_coder", "fast",
            "-q:a", limits.aac_quality, "-threads", "1",
            "-movflags", "+faststart", "-f", "ipod"]  # fmt: skip


def mp3_codec_args(limits: MediaLimits) -> list[str]:
    """Mono MP3, 48 kbit/s CBR at 48 kHz (360 KB a minute, whatever the content); LAME's
    quality 7 scored higher PESQ-WB on speech than its default and runs faster."""
    return ["-ar", "48000", "-c:a", limits.mp3_encoder, "-b:a", "48k",
            "-compression_level", "7", "-threads", "1", "-f", "mp3"]  # fmt: skip


def to_m4a(source: Path, target: Path, limits: MediaLimits) -> list[int]:
    """Makes the m4a; the recording's waveform peaks, from the same decoding."""
    return _transcode(source, target, limits, m4a_codec_args(limits))


def to_mp3(source: Path, target: Path, limits: MediaLimits) -> list[int]:
    """Makes the mp3; the recording's waveform peaks, from the same decoding."""
    return _transcode(source, target, limits, mp3_codec_args(limits))


def waveform(source: Path, limits: MediaLimits) -> list[int]:
    """Up to WAVEFORM_POINTS peaks (0-100) of the recording, for the player to draw."""
    with _workspace(source) as (readable, workdir):
        pcm = workdir / f".{source.name}.peaks.pcm"
        command = [limits.ffmpeg_bin, "-nostdin", "-v", "error", "-y", *SAFE_INPUT,
                   "-i", str(readable), *_peaks_output(pcm, limits)]  # fmt: skip
        try:
            result = _run(command, limits)
            samples = array.array("h", pcm.read_bytes() if result.returncode == 0 else b"")
        finally:
            pcm.unlink(missing_ok=True)
    if result.returncode != 0 or not samples:
        raise TranscodeFailed("ffmpeg could not decode the recording for its waveform")
    return peaks(samples, WAVEFORM_POINTS)


def peaks(samples: array.array, points: int) -> list[int]:
    """The loudest sample of each of `points` equal stretches, scaled to 0-100."""
    points = min(points, len(samples))
    bounds = [len(samples) * i // points for i in range(points + 1)]
    loudest = [
        max(max(samples[a:b]), -min(samples[a:b])) for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    scale = max(max(loudest), WAVEFORM_FLOOR)
    return [min(100, round(100 * value / scale)) for value in loudest]


def transcode_command(source: Path, target: Path, limits: MediaLimits, codec_args: list) -> list:
    return [
        limits.ffmpeg_bin,
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-y",
        *SAFE_INPUT,
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-ac",
        "1",
        "-t",
        str(limits.max_duration_seconds),
        "-fs",
        str(limits.max_output_bytes),
        *codec_args,
        str(target),
    ]


def _peaks_output(pcm: Path, limits: MediaLimits) -> list[str]:
    """An output of mono PCM at WAVEFORM_RATE, read back for the waveform's peaks."""
    return ["-map", "0:a:0", "-t", str(limits.max_duration_seconds), "-ac", "1",
            "-ar", str(WAVEFORM_RATE), "-f", "s16le", str(pcm)]  # fmt: skip


def _transcode(source: Path, target: Path, limits: MediaLimits, codec_args: list) -> list[int]:
    """Makes target; the waveform's peaks from the same run (one decoding, one process)."""
    with _workspace(source) as (readable_source, workdir):
        partial = workdir / f".{target.name}.part"
        pcm = workdir / f".{target.name}.peaks.pcm"
        command = transcode_command(readable_source, partial, limits, codec_args)
        try:
            result = _run([*command, *_peaks_output(pcm, limits)], limits)
            whole = result.returncode == 0 and pcm.exists()
            samples = array.array("h", pcm.read_bytes() if whole else b"")
        finally:
            pcm.unlink(missing_ok=True)
        if result.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
            partial.unlink(missing_ok=True)
            detail = (result.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise TranscodeFailed(f"ffmpeg could not make {target.suffix}: {detail[0]}")
        staged = target.with_name(partial.name)
        try:
            shutil.move(partial, staged)
            os.replace(staged, target)
        except OSError:
            staged.unlink(missing_ok=True)  # a disk that filled mid-copy keeps no half file
            raise
    return peaks(samples, WAVEFORM_POINTS) if samples else []


@contextmanager
def _workspace(source: Path):
    """(input, output folder) that ffmpeg's account can read and write.

    Deployed, the app already runs as its own unprivileged user and works in place.
    Run as root (development, CI), ffmpeg drops to FALLBACK_USER and works on a copy
    in a private scratch folder.
    """
    if os.geteuid() != 0:
        yield source, source.parent
        return
    scratch = Path(tempfile.mkdtemp(prefix="natter-ffmpeg-"))
    try:
        account = pwd.getpwnam(FALLBACK_USER)
        os.chown(scratch, account.pw_uid, account.pw_gid)
        copy = scratch / f"input{source.suffix}"
        shutil.copyfile(source, copy)
        os.chmod(copy, 0o644)
        yield copy, scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(command: list, limits: MediaLimits) -> subprocess.CompletedProcess:
    def restrict() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_limit_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds,) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_output_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    drop = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam(FALLBACK_USER)
        drop = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    process = subprocess.Popen(
        command,
        env={**os.environ, **FFMPEG_ENVIRONMENT},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=restrict,  # noqa: PLW1509 - only setrlimit, no locks or threads touched
        close_fds=True,
        **drop,
    )
    try:
        stdout, stderr = process.communicate(timeout=limits.timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise TranscodeFailed(
            f"ffmpeg took longer than {limits.timeout_seconds:g} s and was stopped"
        ) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
