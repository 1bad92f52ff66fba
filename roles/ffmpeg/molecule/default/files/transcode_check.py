"""Runs the app's own app/services/voice/media.py on the test host: probe, to_m4a, to_mp3.

    python3 transcode_check.py FOLDER_WITH_MEDIA_PY SPEECH.wav

Prints JSON: the WAV's own length (from its header, without ffmpeg), what media.probe
says of the source and of both outputs (demuxer, codec, decoded duration), each output's
peak level (so a silent file cannot pass), its duration as the worker's check reads it,
and the loudest point of the waveform made beside it.
"""

import json
import re
import subprocess
import sys
import wave
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from app.services.voice import media  # noqa: E402 - the app's module, copied under this folder

source = Path(sys.argv[2])
with wave.open(str(source)) as recording:
    wav_seconds = recording.getnframes() / recording.getframerate()

limits = media.MediaLimits()
report = {"wav_seconds": round(wav_seconds, 3), "source": media.probe(source, limits).__dict__}
for name, transcode in (("m4a", media.to_m4a), ("mp3", media.to_mp3)):
    target = source.with_suffix(f".{name}")
    target.unlink(missing_ok=True)
    peaks = transcode(source, target, limits)
    levels = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(target), "-af", "volumedetect",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    peak = re.search(r"max_volume: (-?[0-9.]+) dB", levels.stderr)
    report[name] = {
        **media.probe(target, limits).__dict__,
        "bytes": target.stat().st_size,
        "max_volume_db": float(peak.group(1)) if peak else None,
        # How the worker accepts the output (an m4a read from its own index), and the
        # waveform the same ffmpeg run made.
        "verified_seconds": media.verify_output(target, wav_seconds, limits),
        "waveform_peak": max(peaks, default=0),
    }
print(json.dumps(report))
