"""Redis stalled (SIGSTOP) or dead (SIGKILL): the chat keeps answering without it.

The app runs the deployed way (the chat_app role's gunicorn.conf.py: gevent, two
workers). Every request below carries a timeout that is the deadline it must meet:
before Redis calls had socket timeouts, a stalled Redis hung login, posting and
uploads until it resumed.
"""

import os
import signal

import pytest
import requests

from app.version import VERSION
from tests.app.test_live_and_limits import HttpUser
from tests.conftest import app_environment
from tests.faults.conftest import DEADLINE_SECONDS, wait_until

# A request that meets a failing Redis pays REDIS_SOCKET_TIMEOUT_SECONDS (1 s) a few times
# at most (rate limit and its backend check, event publish): about 3 s on an idle machine.
# The deadline is wider for a machine shared with other test runs; a hang is endless.
ANSWER_SECONDS = 15
# An upload also transcodes in the request (a 5-second sentence).
UPLOAD_SECONDS = 60
# An open event stream ends once its process notices Redis failing (5 s of silence, a ping).
STREAM_END_SECONDS = 30
EXPECTED_ERROR = {"stalled": "error: TimeoutError", "dead": "error: ConnectionError"}


def api(user: HttpUser, method: str, path: str, timeout=ANSWER_SECONDS, **kwargs):
    url, headers = f"{user.base}{path}", {"X-CSRFToken": user.token}
    return user.http.request(method, url, headers=headers, timeout=timeout, **kwargs)


def break_redis(process, fault: str) -> None:
    if fault == "stalled":
        os.kill(process.pid, signal.SIGSTOP)
    else:
        process.kill()
        process.wait(timeout=10)


def stream_is_refused_or_ends(user: HttpUser) -> None:
    """The page's event stream is refused (503 JSON) or ends, so the page polls instead."""
    with api(user, "GET", "/api/chat/events", timeout=(ANSWER_SECONDS, STREAM_END_SECONDS),
             stream=True) as response:  # fmt: skip
        if response.status_code == 503:
            assert "poll" in response.json()["error"]
            return
        assert response.status_code == 200
        for _ in response.iter_lines():
            pass  # a read timeout here means the stream never ended


@pytest.mark.parametrize("fault", ["stalled", "dead"])
def test_login_posting_and_upload_answer_while_redis_fails(
    fault, redis_process, deployed_app, tmp_path, speech_files
):
    process, url = redis_process
    env = app_environment(
        tmp_path, REDIS_URL=url, RATELIMIT_STORAGE_URI=url[:-1] + "1", TRANSCODE_WAIT_SECONDS="3"
    )
    base = deployed_app(env)
    alice, bob = HttpUser(base, "alice"), HttpUser(base, "bob")
    conversation_id = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]

    break_redis(process, fault)

    credentials = {"username": "bob", "password": "long password"}
    login = api(bob, "POST", "/api/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    sent = api(alice, "POST", "/api/chat/messages",
               json={"conversation_id": conversation_id, "content": "still here"})  # fmt: skip
    assert sent.status_code == 201, sent.text
    polled = api(bob, "GET", f"/api/chat/messages?conversation_id={conversation_id}&after_id=0")
    assert [m["content"] for m in polled.json()["messages"]] == ["still here"]
    stream_is_refused_or_ends(bob)

    with open(speech_files["webm"], "rb") as file:
        uploaded = api(alice, "POST", "/api/chat/messages/upload_audio", timeout=UPLOAD_SECONDS,
                       data={"conversation_id": conversation_id},
                       files={"file": ("blob", file)})  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["transcoded"] is True  # in the request: no worker could do it

    health = requests.get(f"{base}/healthz", timeout=ANSWER_SECONDS)
    assert health.status_code == 503
    assert health.json() == {
        "status": "error",
        "version": VERSION,
        "database": "ok",
        "redis": EXPECTED_ERROR[fault],
        "uploads": "ok",
        "storage": "local: ok",
    }


def test_the_app_comes_back_when_a_stalled_redis_resumes(redis_process, deployed_app, tmp_path):
    process, url = redis_process
    base = deployed_app(app_environment(tmp_path, REDIS_URL=url, RATELIMIT_STORAGE_URI=url))
    alice = HttpUser(base, "alice")
    break_redis(process, "stalled")
    assert requests.get(f"{base}/healthz", timeout=ANSWER_SECONDS).status_code == 503
    os.kill(process.pid, signal.SIGCONT)

    def healthy() -> bool:
        return requests.get(f"{base}/healthz", timeout=ANSWER_SECONDS).status_code == 200

    wait_until(healthy, DEADLINE_SECONDS, "healthz after Redis resumed", interval=0.2)
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    sent = api(alice, "POST", "/api/chat/messages",
               json={"conversation_id": conversation_id, "content": "back"})  # fmt: skip
    assert sent.status_code == 201
