"""Two app hosts behind the nginx role's site: two Gunicorns sharing the database and
Redis, as app hosts do, in the upstream Nginx spreads requests over
(nginx_app_servers). Live events cross from one to the other; when one stops, no
request is lost and the chat goes on."""

import json
import subprocess
import threading
import time

import pytest

from tests.benchmarks.web_stack import web_stack
from tests.conftest import stop_process

MESSAGES = 6


@pytest.fixture
def stack(tmp_path):
    with web_stack(tmp_path, app_hosts=2) as running:
        yield running


def idle_connections_to(socket_paths: set[str]) -> int:
    """Connections accepted on these unix sockets that are still open (ss's listing)."""
    listing = subprocess.run(
        ["ss", "-x", "-H", "state", "connected"], capture_output=True, text=True, check=True
    ).stdout
    return sum(1 for line in listing.splitlines() if line.split()[4] in socket_paths)


def served_by(stack, method: str, path: str, at_least: int = 0) -> list[tuple[int, str]]:
    """(status, the app servers Nginx tried) of each `method path` request so far, once
    there are `at_least` (Nginx logs a request after its answer has gone out)."""
    deadline = time.monotonic() + 30
    while len(answers := logged(stack, method, path)) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)
    return answers


def logged(stack, method: str, path: str) -> list[tuple[int, str]]:
    log = stack.uploads_dir.parent / "nginx" / "access.log"
    answers = []
    for line in log.read_text().splitlines():
        asked_method, asked_path, status, upstream = line.split(" ", 3)
        if (asked_method, asked_path) == (method, path):
            answers.append((int(status), upstream.strip('"')))
    return answers


def app_socket(stack, number: int) -> str:
    return f"unix:{stack.uploads_dir.parent / f'app-{number}.sock'}"


def read_messages(stream, wanted: int, into: list) -> None:
    """The contents of the first `wanted` message events of an open event stream."""
    for line in stream.iter_lines(decode_unicode=True):
        if line.startswith("data: ") and '"content"' in line:
            into.append(json.loads(line[6:])["content"])
            if len(into) == wanted:
                return


def test_two_app_hosts_share_the_chat_and_one_can_stop(stack):
    alice, bob = stack.user("alice"), stack.user("bob")
    conversation = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]
    first, second = app_socket(stack, 1), app_socket(stack, 2)

    # Bob's page holds a stream on one app host; Alice's messages go through both.
    stream = bob.http.get(f"{stack.base_url}/api/chat/events", stream=True, timeout=60)
    assert stream.status_code == 200
    received = []
    reader = threading.Thread(target=read_messages, args=(stream, MESSAGES, received))
    reader.start()
    try:
        for number in range(MESSAGES):
            sent = alice.post(
                "/api/chat/messages", conversation_id=conversation, content=f"m{number}"
            )
            assert sent.status_code == 201, sent.text
        reader.join(timeout=90)
    finally:
        stream.close()
    posts = served_by(stack, "POST", "/api/chat/messages", at_least=MESSAGES)
    assert {upstream for _, upstream in posts} == {first, second}
    assert received == [f"m{number}" for number in range(MESSAGES)]

    # The first app host stops: every poll and every message still goes through.
    stop_process(stack.app_processes[0])
    before = len(served_by(stack, "GET", "/api/chat/messages"))
    for number in range(MESSAGES, 2 * MESSAGES):
        sent = alice.post("/api/chat/messages", conversation_id=conversation, content=f"m{number}")
        assert sent.status_code == 201, sent.text
        polled = bob.http.get(
            f"{stack.base_url}/api/chat/messages",
            params={"conversation_id": conversation, "limit": 1},
            timeout=60,
        )
        assert polled.status_code == 200, polled.text
        assert polled.json()["messages"][-1]["content"] == f"m{number}"
    polls = served_by(stack, "GET", "/api/chat/messages", at_least=before + MESSAGES)[before:]
    assert len(polls) == MESSAGES and all(status == 200 for status, _ in polls)
    assert all(upstream.endswith(second) for _, upstream in polls)
    history = bob.http.get(
        f"{stack.base_url}/api/chat/messages", params={"conversation_id": conversation}, timeout=60
    )
    assert [m["content"] for m in history.json()["messages"]] == [
        f"m{number}" for number in range(2 * MESSAGES)
    ]


# Long keepalives on both sides, so a slow machine does not close them before `ss` looks.
KEEP_LONG_NGINX = {"nginx_app_keepalive_timeout": "120s"}
KEEP_LONG_GUNICORN = {"chat_app_gunicorn_keepalive": 180}


@pytest.mark.parametrize("keepalive", [16, 0])
def test_nginx_keeps_connections_to_the_app_hosts_for_later_requests(tmp_path, keepalive):
    """With keepalive on (16), a burst of requests leaves Nginx's connections to the app
    hosts open for the next ones; with 0, each request had its own and none is left."""
    nginx = {**KEEP_LONG_NGINX, "nginx_app_keepalive": keepalive}
    with web_stack(tmp_path, nginx_overrides=nginx, app_hosts=2,
                   gunicorn_overrides=KEEP_LONG_GUNICORN) as stack:  # fmt: skip
        alice = stack.user("alice")
        for _ in range(12):
            assert alice.http.get(f"{stack.base_url}/api/me", timeout=60).status_code == 200
        sockets = {app_socket(stack, number).removeprefix("unix:") for number in (1, 2)}
        served = {upstream for _, upstream in served_by(stack, "GET", "/api/me", at_least=12)}
        assert served == {app_socket(stack, 1), app_socket(stack, 2)}
        if keepalive:
            assert idle_connections_to(sockets) >= 2
        else:
            assert idle_connections_to(sockets) == 0
