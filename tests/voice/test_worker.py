"""Background transcoding with a real redis-server and real `python -m app.worker` processes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
import requests
from rq import Queue
from rq.registry import StartedJobRegistry

from tests.app.test_live_and_limits import HttpUser
from tests.conftest import ROOT, app_environment, stop_process
from tests.voice import audio

UPLOAD = "/api/chat/messages/upload_audio"


@pytest.fixture
def start_worker(tmp_path):
    """Starts `python -m app.worker` processes; all stopped (by PID) at the end."""
    started = []
    log_path = tmp_path / "worker.log"

    def start(env: dict) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.worker"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process(process)


def upload(user: HttpUser, conversation_id: int, path) -> requests.Response:
    with open(path, "rb") as file:
        return user.http.post(
            f"{user.base}{UPLOAD}",
            data={"conversation_id": conversation_id},
            files={"file": ("blob", file)},
            headers={"X-CSRFToken": user.token},
            timeout=60,
        )


def wait_for_content(user: HttpUser, conversation_id: int, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = user.http.get(
            f"{user.base}/api/chat/messages",
            params={"conversation_id": conversation_id},
            timeout=10,
        ).json()["messages"]
        content = json.loads(messages[-1]["content"])
        if predicate(content):
            return content
        time.sleep(0.2)
    raise AssertionError(f"content never settled: {content}")


def environment(redis_server, tmp_path, **extra) -> dict:
    return app_environment(tmp_path, REDIS_URL=redis_server, WORKER_NAME="test-worker-1", **extra)


def test_worker_transcodes_and_the_message_is_updated(
    redis_server, gunicorn_factory, start_worker, tmp_path, speech_files, speech_wav
):
    env = environment(redis_server, tmp_path, TRANSCODE_WAIT_SECONDS="0")
    base = gunicorn_factory(env)
    start_worker(env)
    alice = HttpUser(base, "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    response = upload(alice, conversation_id, speech_files["webm"])
    assert response.status_code == 201, response.text
    assert response.json()["transcoded"] is False  # answered before the worker finished
    content = wait_for_content(alice, conversation_id, lambda c: c["url_m4a"], timeout=60)
    assert content["url"] == content["url_m4a"]
    m4a = alice.http.get(f"{base}{content['url_m4a']}", timeout=10)
    assert m4a.status_code == 200 and m4a.headers["Content-Type"] == "audio/mp4"
    stored = tmp_path / "uploads" / "chat" / content["url_m4a"].split("/")[-1]
    assert abs(audio.duration(stored) - audio.duration(speech_wav)) < 0.1 * audio.duration(
        speech_wav
    )
    assert content["duration"] == pytest.approx(audio.duration(stored), abs=0.1)


def test_upload_waits_for_a_quick_worker(
    redis_server, gunicorn_factory, start_worker, tmp_path, speech_files
):
    env = environment(redis_server, tmp_path, TRANSCODE_WAIT_SECONDS="20")
    base = gunicorn_factory(env)
    start_worker(env)
    alice = HttpUser(base, "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    body = upload(alice, conversation_id, speech_files["ogg"]).json()
    assert body["transcoded"] is True and body["url_m4a"]


def test_a_worker_killed_mid_job_does_not_leave_the_message_stuck(
    redis_server, gunicorn_factory, start_worker, tmp_path
):
    long_speech = tmp_path / "long.wav"
    audio.synthesize("anoisesrc=d=600:r=16000:a=0.3", long_speech, "-ac", "1")
    env = environment(redis_server, tmp_path, TRANSCODE_WAIT_SECONDS="0")
    base = gunicorn_factory(env)
    alice = HttpUser(base, "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    assert upload(alice, conversation_id, long_speech).status_code == 201

    worker = start_worker(env)
    started = StartedJobRegistry(
        queue=Queue("transcode", connection=redis.Redis.from_url(redis_server))
    )
    deadline = time.monotonic() + 30
    while not started.get_job_ids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.get_job_ids(), "the worker never started the job"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    start_worker(env)
    content = wait_for_content(alice, conversation_id, lambda c: c["url_m4a"], timeout=120)
    assert content["url"] == content["url_m4a"]
    assert "left pending; transcoding it again" in (tmp_path / "worker.log").read_text()
