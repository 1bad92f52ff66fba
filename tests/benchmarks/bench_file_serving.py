"""Voice file serving: the access-controlled path vs Nginx serving the file as static.

The project's path is GET /uploads/<key>.m4a with a session: Nginx asks the app
(auth_request) whether this session may read the file, keeps a yes a few seconds per
session and URL, and sends the bytes from its internal location. "first request" makes
every URL new (the app is asked each time); "repeated" is a player asking for one file
again and again. The baseline is the same file from a plain static location of the same
Nginx server. wrk at a fixed concurrency, full file and `Range: bytes=0-1` (what a
media element asks first), rounds interleaved.
"""

import itertools
import time
from pathlib import Path

from tests.benchmarks.bench_upload_playable import TIME_LIMIT_SECONDS, playable_m4a
from tests.benchmarks.load import CONNECTIONS, UNIQUE_URLS_SCRIPT, median_run, wrk
from tests.benchmarks.report import BenchmarkError, Row
from tests.benchmarks.web_stack import WebStack, cookie_header
from tests.voice.test_worker import upload

VARIANTS = {"full file": {}, "Range: bytes=0-1": {"Range": "bytes=0-1"}}
REQUESTS = {"first request": UNIQUE_URLS_SCRIPT, "repeated": None}


def check_answers(stack: WebStack, owner, protected: str, static: str, size: int) -> None:
    stranger = stack.user("stranger")
    if stranger.http.get(protected, timeout=10).status_code != 404:
        raise BenchmarkError("a stranger could read the voice file: the access check is off")
    for url in (protected, static):
        full = owner.http.get(url, timeout=10)
        part = owner.http.get(url, headers=VARIANTS["Range: bytes=0-1"], timeout=10)
        if (full.status_code, len(full.content)) != (200, size):
            raise BenchmarkError(f"{url}: {full.status_code}, {len(full.content)} bytes")
        if (part.status_code, part.headers.get("Content-Range")) != (206, f"bytes 0-1/{size}"):
            raise BenchmarkError(f"{url} with Range: {part.status_code} {part.headers}")


def run(stack: WebStack, clip: Path, seconds: float, rounds: int) -> list[Row]:
    owner = stack.user("listener")
    conversation_id = owner.post("/api/chat/conversations", participants=[]).json()["id"]
    sent = upload(owner, conversation_id, clip).json()
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    m4a = sent["url_m4a"] or playable_m4a(owner, conversation_id, sent["id"], deadline)
    name = m4a.removeprefix("/uploads/")  # chat/<key>.m4a under UPLOAD_DIR
    size = (stack.uploads_dir / name).stat().st_size
    protected, static = f"{stack.base_url}{m4a}", f"{stack.base_url}/bench-static/{name}"
    check_answers(stack, owner, protected, static, size)

    rows = []
    session = {"Cookie": cookie_header(owner)}
    for (variant, headers), (kind, script) in itertools.product(VARIANTS.items(), REQUESTS.items()):
        project, baseline = [], []
        for _ in range(rounds):
            project.append(wrk(protected, seconds, {**session, **headers}, script))
            baseline.append(wrk(static, seconds, headers, script))
        project_run, baseline_run = median_run(project), median_run(baseline)
        rows.append(
            Row(
                f"voice file {size // 1024} KB, {variant}, {kind}, wrk -c{CONNECTIONS}",
                f"access-checked: {project_run.summary()}",
                f"Nginx static: {baseline_run.summary()}",
                baseline_run.requests_per_second / project_run.requests_per_second,
            )
        )
    return rows
