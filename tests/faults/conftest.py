"""Fault-suite fixtures: the app the deployed way, small filesystems that fill, helpers.

Every process, mount and Redis server started here is stopped (by PID) or unmounted
in teardown; names of mount points carry the `natter-faults-` prefix.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.benchmarks.web_stack import ROLES, render, role_defaults
from tests.conftest import (
    ROOT,
    free_port,
    migrate_database,
    start_redis,
    stop_process,
    wait_for_http,
    wait_for_port,
)
from tests.voice.test_worker import start_worker  # noqa: F401 - the fixture, shared here

# What a test waits for at most before it calls a fault a hang.
DEADLINE_SECONDS = 120


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Polls `predicate` until it returns something truthy; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not after {timeout} s")


@pytest.fixture
def deployed_app(tmp_path):
    """start(env) -> URL of the app under Gunicorn with the chat_app role's gunicorn.conf.py."""
    started, logs = [], []

    def start(env: dict) -> str:
        config = render(
            "gunicorn.conf.py.j2",
            [ROLES / "chat_app" / "templates"],
            tmp_path / f"gunicorn-{len(started)}.conf.py",
            **role_defaults("chat_app"),
        )
        migrate_database(env)
        port = free_port()
        log = open(tmp_path / f"gunicorn-{len(started)}.log", "ab")  # noqa: SIM115 - closed below
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(config),
             "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        started.append(process)
        wait_for_port(port, process)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", process)
        return base

    yield start
    for process in started:
        stop_process(process)
    for log in logs:
        log.close()


@pytest.fixture
def redis_process(tmp_path_factory):
    """(process, URL) of a real redis-server this test may stop, kill or resume."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield process, url
    if process.poll() is None:
        os.kill(process.pid, 18)  # SIGCONT: a stopped server cannot handle SIGTERM
    stop_process(process)


@pytest.fixture
def small_disk():
    """mount(size_kib) -> a fresh tmpfs of that size, unmounted at the end.

    Mounted under /tmp rather than pytest's private (0700) folders, so that ffmpeg,
    which drops to `nobody` when the tests run as root, can reach it.
    """
    mounted = []
    parent = Path(tempfile.mkdtemp(prefix="natter-faults-"))
    parent.chmod(0o755)

    def mount(size_kib: int) -> Path:
        point = parent / f"disk-{len(mounted)}"
        point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.fail(f"cannot mount a tmpfs (the fault suite runs as root): {result.stderr}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "--lazy", str(point)], check=True)
    shutil.rmtree(parent)


def fill(folder: Path, leave_bytes: int) -> Path:
    """Writes a filler file in `folder` until `leave_bytes` (rounded to 4 KiB) are free."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    size = max(0, free - leave_bytes)
    with open(filler, "wb") as file:
        file.write(b"\0" * (size // 4096 * 4096))
    return filler


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def files_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.exists() else set()
