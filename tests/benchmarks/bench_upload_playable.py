"""Upload → playable of a 10 s WebM/Opus clip through Nginx, Gunicorn, Redis and a worker.

"Playable" = the message names an m4a and that file answers 200 through Nginx. The app
runs with the production setting TRANSCODE_WAIT_SECONDS=3: the upload answers once the
worker is done (or after 3 s, and then the client polls every 20 ms, as the page would
get a live event). The baseline is the bare ffmpeg transcode of the same clip.
"""

import json
import subprocess
import time
from pathlib import Path

from tests.benchmarks.bench_transcode import bare_m4a_command, timed
from tests.benchmarks.report import BenchmarkError, Row, median, percentile
from tests.benchmarks.web_stack import WebStack
from tests.voice.test_worker import upload

TIME_LIMIT_SECONDS = 120


def playable_m4a(user, conversation_id: int, message_id: int, deadline: float) -> str:
    while time.monotonic() < deadline:
        listed = user.http.get(
            f"{user.base}/api/chat/messages",
            params={"conversation_id": conversation_id, "after_id": message_id - 1},
            timeout=10,
        ).json()
        m4a = json.loads(listed["messages"][0]["content"])["url_m4a"]
        if m4a:
            return m4a
        time.sleep(0.02)
    raise BenchmarkError(f"message {message_id} never got an m4a")


def one_trip(user, conversation_id: int, clip: Path, deadline: float) -> float:
    started = time.perf_counter()
    answer = upload(user, conversation_id, clip)
    if answer.status_code != 201:
        raise BenchmarkError(f"upload answered {answer.status_code}: {answer.text}")
    sent = answer.json()
    m4a = sent["url_m4a"] or playable_m4a(user, conversation_id, sent["id"], deadline)
    fetched = user.http.get(f"{user.base}{m4a}", timeout=10)
    if fetched.status_code != 200 or fetched.headers["Content-Type"] != "audio/mp4":
        raise BenchmarkError(f"{m4a} answered {fetched.status_code} {fetched.headers}")
    return time.perf_counter() - started


def run(stack: WebStack, clip: Path, clip_seconds: int, uploads: int, label: str = "") -> list[Row]:
    """`label` names a variant of the stack (e.g. "with S3 ..."); empty for the default."""
    user = stack.user("uploader")
    conversation_id = user.post("/api/chat/conversations", participants=[]).json()["id"]
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    trips = [one_trip(user, conversation_id, clip, deadline) for _ in range(uploads)]
    command = bare_m4a_command(clip, clip.with_name("bare.m4a"))
    bare = [timed(lambda: subprocess.run(command, check=True)) for _ in range(max(3, uploads // 2))]
    p50, p95, bare_s = median(trips), percentile(trips, 0.95), median(bare)
    return [
        Row(
            f"upload → playable{' ' + label if label else ''}, {clip_seconds} s WebM/Opus"
            f" ×{uploads}, via Nginx",
            f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms",
            f"bare ffmpeg transcode {bare_s * 1000:.0f} ms",
            p50 / bare_s,
        )
    ]
