"""Where upload → playable goes, stage by stage (issue 17's evidence for its ≤ 1.5 goal).

    python -m tests.benchmarks.upload_stages     # writes build/profile-upload-playable.txt

Times, median of RUNS, in one run on the web stack of `make bench`: the whole trip (as
bench_upload_playable measures it), the bare ffmpeg transcode (its baseline), the two
ffmpeg runs inside the trip taken alone (the upload's probe, the job's transcode with
its waveform and check), ffprobe/ffmpeg starting and exiting with no work, and the rest
(HTTP and multipart through Nginx, the rows, the Redis hop to the worker, storing, the
commit and the event, fetching the m4a).
"""

import subprocess
import tempfile
import time
from pathlib import Path

from app.services.voice import media
from tests.benchmarks.bench_transcode import bare_m4a_command, make_clip, timed
from tests.benchmarks.bench_upload_playable import TIME_LIMIT_SECONDS, one_trip
from tests.benchmarks.report import median
from tests.benchmarks.web_stack import web_stack
from tests.conftest import ROOT

CLIP_SECONDS = 10
RUNS = 9
REPORT = ROOT / "build" / "profile-upload-playable.txt"


def the_job_transcode(clip: Path, target: Path, limits: media.MediaLimits) -> None:
    media.to_m4a(clip, target, limits)
    media.verify_output(target, CLIP_SECONDS, limits)


def stages(folder: Path) -> dict[str, float]:
    clip, limits = make_clip(folder, CLIP_SECONDS), media.MediaLimits()
    bare = bare_m4a_command(clip, folder / "bare.m4a")
    measured = {
        "bare ffmpeg transcode (the baseline)": lambda: subprocess.run(bare, check=True),
        "upload's probe (ffprobe, decodes for the duration)": lambda: media.probe(clip, limits),
        "job's transcode (ffmpeg + waveform, m4a index check)": lambda: the_job_transcode(
            clip, folder / "job.m4a", limits
        ),
        "ffprobe start and exit, no work": lambda: subprocess.run(
            [limits.ffprobe_bin, "-v", "error", "-version"], check=True, capture_output=True
        ),
        "ffmpeg start and exit, no work": lambda: subprocess.run(
            [limits.ffmpeg_bin, "-v", "error", "-version"], check=True, capture_output=True
        ),
    }
    times = {name: [] for name in ["whole trip, through Nginx", *measured]}
    with web_stack(folder / "stack") as stack:
        user = stack.user("stages")
        conversation = user.post("/api/chat/conversations", participants=[]).json()["id"]
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        for _ in range(RUNS):  # interleaved, so a busy moment touches every stage
            times["whole trip, through Nginx"].append(one_trip(user, conversation, clip, deadline))
            for name, action in measured.items():
                times[name].append(timed(action))
    return {name: median(values) for name, values in times.items()}


def report(medians: dict[str, float]) -> str:
    trip = medians["whole trip, through Nginx"]
    bare = medians["bare ffmpeg transcode (the baseline)"]
    ffmpeg_runs = (
        medians["upload's probe (ffprobe, decodes for the duration)"]
        + medians["job's transcode (ffmpeg + waveform, m4a index check)"]
    )
    rows = [
        *medians.items(),
        ("the rest: HTTP, rows, Redis hop, storing, commit", trip - ffmpeg_runs),
    ]
    lines = [f"upload → playable, {CLIP_SECONDS} s WebM/Opus, median of {RUNS}", ""]
    lines += [
        f"{name:58s} {seconds * 1000:7.1f} ms  {seconds / bare:5.2f}× bare"
        for name, seconds in rows
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="natter-stages-") as folder:
        text = report(stages(Path(folder)))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
