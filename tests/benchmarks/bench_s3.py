"""Voice files on S3: the same web stack with STORAGE_BACKEND=s3 on a real Ceph RGW.

Rows, each beside a baseline measured in the same run:
- upload → playable with S3 (raw file stored in the bucket, fetched by the worker, m4a
  stored back, then played through Nginx's S3 location) vs the bare ffmpeg transcode;
- the voice file through the S3 path, **cold**: one request at a time, Nginx's cache
  emptied before each (the access check, the presigned URL, Nginx fetching the whole
  object from RGW and caching it), vs the same bytes from a plain Nginx static location,
  one request at a time;
- the voice file through the S3 path, **cached** (repeated plays: the access check, then
  Nginx's cache) under wrk, vs the same static file under wrk.
"""

import shutil
import time
from pathlib import Path

import requests

from tests.benchmarks import bench_upload_playable
from tests.benchmarks.bench_upload_playable import TIME_LIMIT_SECONDS, playable_m4a
from tests.benchmarks.load import CONNECTIONS, median_run, wrk
from tests.benchmarks.report import BenchmarkError, Row, median, percentile
from tests.benchmarks.web_stack import WebStack, cookie_header, s3_overrides, web_stack
from tests.storage import rgw
from tests.voice.test_worker import upload

LABEL = "with S3 (Ceph RGW dbstore, loopback)"


def run(folder: Path, clip: Path, clip_seconds: int, budget) -> list[Row]:
    gateway = rgw.start_gateway()
    try:
        bucket = gateway.new_bucket()
        nginx, app = s3_overrides(folder, gateway, bucket)
        with web_stack(folder, nginx_overrides=nginx, app_overrides=app) as stack:
            rows = bench_upload_playable.run(stack, clip, clip_seconds, budget.uploads, LABEL)
            rows += file_rows(stack, gateway, bucket, clip, folder / "nginx" / "s3-cache", budget)
    finally:
        gateway.remove()
    return rows


def stored_voice_file(stack: WebStack, gateway, bucket: str, clip: Path):
    """(owner, /uploads/chat/<name>.m4a URL, static URL of the same bytes, size)."""
    owner = stack.user("s3listener")
    conversation_id = owner.post("/api/chat/conversations", participants=[]).json()["id"]
    sent = upload(owner, conversation_id, clip).json()
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    m4a = sent["url_m4a"] or playable_m4a(owner, conversation_id, sent["id"], deadline)
    key = m4a.removeprefix("/uploads/")  # chat/<key>.m4a, the object's key
    body = gateway.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    if (stack.uploads_dir / key).exists():
        raise BenchmarkError(f"{key} is on local disk: the app is not storing in S3")
    # The baseline: the very bytes of the object, as a file of the static location.
    (stack.uploads_dir / key).parent.mkdir(parents=True, exist_ok=True)
    (stack.uploads_dir / key).write_bytes(body)
    return owner, f"{stack.base_url}{m4a}", f"{stack.base_url}/bench-static/{key}", len(body)


def one_request(http: requests.Session, url: str, size: int, cache: str | None) -> float:
    started = time.perf_counter()
    answer = http.get(url, timeout=30)
    elapsed = time.perf_counter() - started
    if (answer.status_code, len(answer.content)) != (200, size):
        raise BenchmarkError(f"{url}: {answer.status_code}, {len(answer.content)} bytes")
    if cache and answer.headers.get("X-Cache-Status") != cache:
        raise BenchmarkError(f"{url}: cache {answer.headers.get('X-Cache-Status')}, not {cache}")
    return elapsed


def empty_cache(cache_dir: Path) -> None:
    """Nginx treats a cache entry whose file is gone as a miss and fetches it again."""
    for entry in cache_dir.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def file_rows(stack: WebStack, gateway, bucket: str, clip: Path, cache_dir: Path, budget):
    owner, protected, static, size = stored_voice_file(stack, gateway, bucket, clip)
    stranger = stack.user("s3stranger")
    if stranger.http.get(protected, timeout=10).status_code != 404:
        raise BenchmarkError("a stranger could read the voice file: the access check is off")
    cold, bare = [], []
    for _ in range(budget.uploads * 2):  # interleaved, one request at a time
        empty_cache(cache_dir)
        cold.append(one_request(owner.http, protected, size, "MISS"))
        bare.append(one_request(owner.http, static, size, None))
    one_request(owner.http, protected, size, "HIT")
    project, baseline = [], []
    session = {"Cookie": cookie_header(owner)}
    for _ in range(budget.load_rounds):
        project.append(wrk(protected, budget.load_seconds, session))
        baseline.append(wrk(static, budget.load_seconds))
    project_run, baseline_run = median_run(project), median_run(baseline)
    kb = size // 1024
    return [
        Row(
            f"voice file {kb} KB via S3, cold (cache emptied before each), ×{len(cold)} in turn",
            f"access check + RGW fetch: p50 {median(cold) * 1000:.1f} ms,"
            f" p95 {percentile(cold, 0.95) * 1000:.1f} ms",
            f"Nginx static: p50 {median(bare) * 1000:.1f} ms,"
            f" p95 {percentile(bare, 0.95) * 1000:.1f} ms",
            median(cold) / median(bare),
        ),
        Row(
            f"voice file {kb} KB via S3, cached (repeated plays), wrk -c{CONNECTIONS}",
            f"access check + Nginx cache: {project_run.summary()}",
            f"Nginx static: {baseline_run.summary()}",
            baseline_run.requests_per_second / project_run.requests_per_second,
        ),
    ]
