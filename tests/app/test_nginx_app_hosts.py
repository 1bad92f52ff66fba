"""Two app hosts behind the nginx role's site: two Gunicorns sharing the database and
Redis, as app hosts do, in the upstream Nginx spreads requests over
(nginx_app_servers). Live events cross from one to the other; when one stops, no
request is lost and the chat goes on."""

import json
import threading

import pytest

from tests.benchmarks.web_stack import web_stack
from tests.conftest import stop_process

MESSAGES = 6


@pytest.fixture
def stack(tmp_path):
    with web_stack(tmp_path, app_hosts=2) as running:
        yield running


def served_by(stack, method: str, path: str) -> list[tuple[int, str]]:
    """(status, the app servers Nginx tried) of each `method path` request so far."""
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
    posts = served_by(stack, "POST", "/api/chat/messages")
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
    polls = served_by(stack, "GET", "/api/chat/messages")[before:]
    assert len(polls) == MESSAGES and all(status == 200 for status, _ in polls)
    assert all(upstream.endswith(second) for _, upstream in polls)
    history = bob.http.get(
        f"{stack.base_url}/api/chat/messages", params={"conversation_id": conversation}, timeout=60
    )
    assert [m["content"] for m in history.json()["messages"]] == [
        f"m{number}" for number in range(2 * MESSAGES)
    ]
