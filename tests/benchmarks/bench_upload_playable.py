"""Upload -> playable latency of a 10 s WebM/Opus clip, vs the bare transcode of it.

    python -m tests.benchmarks.bench_upload_playable [--uploads N]

Real redis-server, the app under Gunicorn (gevent) and one `python -m app.worker`, all
on loopback. "Playable" = the message's content names an m4a and that file answers 200.
The upload does not wait for the job (TRANSCODE_WAIT_SECONDS=0), so the figure is the
whole trip: upload, probe, queue, worker transcode, content update, first fetch.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.services import media
from tests.app.test_live_and_limits import HttpUser
from tests.conftest import ROOT, app_environment, start_app, start_redis, stop_process
from tests.voice import audio
from tests.voice.test_worker import upload

CLIP_SECONDS = 10
TIME_LIMIT_SECONDS = 120


def start(command: list, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=10)
    uploads = parser.parse_args().uploads
    folder = Path(tempfile.mkdtemp(prefix="natter-bench-"))
    processes = []
    try:
        sentence = audio.speak(audio.SENTENCE, folder / "sentence.wav")
        looped = folder / "clip.wav"
        audio.ffmpeg(
            "-stream_loop", "-1", "-i", str(sentence), "-t", str(CLIP_SECONDS), str(looped)
        )
        clip = audio.encode(looped, folder / "clip.webm", "webm")

        redis_process, redis_url = start_redis(folder)
        processes.append(redis_process)
        env = app_environment(
            folder,
            TRANSCODE_WAIT_SECONDS="0",
            REDIS_URL=redis_url,
            RATELIMIT_UPLOAD="1000 per minute",
            WORKER_NAME="bench-1",
        )
        with open(folder / "web.log", "ab") as log:
            web, base = start_app(env, log, workers=2)
        processes.append(web)
        processes.append(start([sys.executable, "-m", "app.worker"], env, folder / "worker.log"))
        user = HttpUser(base, "bench")
        conversation_id = user.post("/api/chat/conversations", participants=[]).json()["id"]

        latencies, deadline = [], time.monotonic() + TIME_LIMIT_SECONDS
        for _ in range(uploads):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            message_id = upload(user, conversation_id, clip).json()["id"]
            while time.monotonic() < deadline:
                listed = user.http.get(
                    f"{base}/api/chat/messages",
                    params={"conversation_id": conversation_id, "after_id": message_id - 1},
                    timeout=10,
                ).json()
                m4a = json.loads(listed["messages"][0]["content"])["url_m4a"]
                if m4a and user.http.get(f"{base}{m4a}", timeout=10).status_code == 200:
                    latencies.append(time.perf_counter() - started)
                    break
                time.sleep(0.02)

        limits = media.MediaLimits()
        bare = []
        for _ in range(5):
            began = time.perf_counter()
            subprocess.run(
                media.transcode_command(
                    clip, folder / "bare.m4a", limits, media.m4a_codec_args(limits)
                ),
                check=True,
            )
            bare.append(time.perf_counter() - began)
    finally:
        for process in reversed(processes):
            stop_process(process)
        shutil.rmtree(folder, ignore_errors=True)

    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    baseline = statistics.median(bare)
    print(
        f"{len(ordered)} uploads of a {CLIP_SECONDS} s WebM/Opus clip, Gunicorn + RQ worker + Redis"
    )
    print(f"upload -> playable: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(f"bare ffmpeg transcode of the clip: median {baseline * 1000:.0f} ms")
    print(f"ratio p50 / bare: {p50 / baseline:.2f}")


if __name__ == "__main__":
    main()
