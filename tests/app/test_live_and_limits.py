"""Real Gunicorn (gevent workers) and a real redis-server on loopback."""

import contextlib
import json
import time

import redis
import requests
from urllib3.util.retry import Retry

# Generous: a request must answer, but a busy machine may take its time (never a hang).
TIMEOUT = 30


class HttpUser:
    def __init__(
        self, base_url: str, username: str, register: bool = True, verify=True, headers=None
    ):
        self.base = base_url
        self.http = requests.Session()
        # Loopback only: no proxy from the environment, and REQUESTS_CA_BUNDLE must not
        # override `verify` (requests lets the environment win over the session).
        self.http.trust_env = False
        self.http.verify = verify
        # As browsers do (RFC 9110, 9.2.2): a GET on a kept connection that the server closed
        # just then (Gunicorn drops idle ones after 2 s) is sent again; a POST never is.
        # Every answer, a 429 or 503 with Retry-After too, reaches the test as it came.
        retry = Retry(
            total=2, connect=2, read=2, status=0, backoff_factor=0, respect_retry_after_header=False
        )
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        for scheme in ("http://", "https://"):
            self.http.mount(scheme, adapter)
        self.http.headers.update(headers or {})
        self.username = username
        self.token = self.http.get(f"{base_url}/api/auth/csrf", timeout=TIMEOUT).json()[
            "csrf_token"
        ]
        if register:
            response = self.post("/api/auth/register", username=username, password="long password")
            assert response.status_code == 201, response.text

    def post(self, path, **body):
        response = self.http.post(
            f"{self.base}{path}", json=body, headers={"X-CSRFToken": self.token}, timeout=TIMEOUT
        )
        # Logging in rotates the CSRF token; the answer carries the new one.
        if response.ok and "csrf_token" in response.text:
            self.token = response.json()["csrf_token"]
        return response

    def login(self, password):
        return self.post("/api/auth/login", username=self.username, password=password)


def read_events(response, wanted: int, timeout: float) -> list[tuple[str, dict]]:
    events, current, deadline = [], {}, time.monotonic() + timeout
    for line in response.iter_lines(decode_unicode=True):
        if time.monotonic() > deadline:
            break
        if line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            events.append((current.get("event", "message"), json.loads(line[6:])))
            current = {}
            if len(events) >= wanted:
                break
    return events


def test_live_stream_delivers_a_message_across_workers(redis_server, gunicorn_factory):
    base = gunicorn_factory({"REDIS_URL": redis_server}, workers=2)
    alice, bob = HttpUser(base, "alice"), HttpUser(base, "bob")
    conversation_id = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]

    # Several streams so that, with two workers, some surely sit in the other process.
    streams = [
        bob.http.get(f"{base}/api/chat/events", stream=True, timeout=TIMEOUT) for _ in range(4)
    ]
    for stream in streams:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["X-Accel-Buffering"] == "no"
    # Each stream answers only once its process listens to Redis: nothing is missed.
    sent = alice.post("/api/chat/messages", conversation_id=conversation_id, content="live hello")
    assert sent.status_code == 201
    for stream in streams:
        events = read_events(stream, wanted=1, timeout=TIMEOUT)
        assert events == [("message", sent.json())]
        stream.close()


def test_stream_resumes_from_last_event_id(gunicorn_factory):
    base = gunicorn_factory({})
    alice, bob = HttpUser(base, "alice"), HttpUser(base, "bob")
    conversation_id = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]
    first = alice.post("/api/chat/messages", conversation_id=conversation_id, content="one").json()
    second = alice.post("/api/chat/messages", conversation_id=conversation_id, content="two").json()
    # Bob's page had loaded the conversation, then lost its stream; meanwhile Alice edited
    # one message, recalled another and changed one in a conversation Bob is not in.
    loaded = bob.http.get(f"{base}/api/chat/messages?conversation_id={conversation_id}").json()
    edit = alice.http.patch(
        f"{base}/api/chat/messages/{first['id']}",
        json={"content": "one, corrected"},
        headers={"X-CSRFToken": alice.token},
    )
    assert edit.status_code == 200
    assert alice.post(f"/api/chat/messages/{second['id']}/recall").status_code == 200
    HttpUser(base, "carol")
    with_carol = alice.post("/api/chat/conversations", participants=["carol"]).json()["id"]
    alice.post(f"/api/chat/messages/{_sent(alice, with_carol)}/recall")
    with bob.http.get(
        f"{base}/api/chat/events?changes_after={loaded['last_change_id']}",
        headers={"Last-Event-ID": str(first["id"])},
        stream=True,
        timeout=TIMEOUT,
    ) as stream:
        third = _sent(alice, conversation_id, "three")
        events = read_events(stream, wanted=4, timeout=TIMEOUT)
    # The missed message, the missed changes as the messages are now, then live again.
    assert [(name, data["id"]) for name, data in events] == [
        ("message", second["id"]),
        ("message_updated", first["id"]),
        ("message_updated", second["id"]),
        ("message", third),
    ]
    assert events[1][1]["content"] == "one, corrected" and events[1][1]["edited_at"]
    assert events[2][1]["content"] == "" and events[2][1]["recalled_at"]
    assert events[1][1]["change_id"] < events[2][1]["change_id"]


def _sent(user: HttpUser, conversation_id: int, content: str = "hello") -> int:
    response = user.post("/api/chat/messages", conversation_id=conversation_id, content=content)
    assert response.status_code == 201
    return response.json()["id"]


def test_rate_limit_is_shared_by_two_processes_and_survives_redis_loss(
    redis_server, gunicorn_factory
):
    env = {
        "RATELIMIT_STORAGE_URI": redis_server,
        "REDIS_URL": redis_server,
        "RATELIMIT_LOGIN": "3 per minute",
    }
    first, second = gunicorn_factory(env), gunicorn_factory(env)
    HttpUser(first, "alice")
    on_first, on_second = (
        HttpUser(first, "alice", register=False),
        HttpUser(second, "alice", register=False),
    )
    assert on_first.login("wrong password").status_code == 401
    assert on_second.login("wrong password").status_code == 401
    assert on_first.login("wrong password").status_code == 401
    limited = on_second.login("wrong password")
    assert limited.status_code == 429
    assert "too many requests" in limited.json()["error"]
    assert int(limited.headers["Retry-After"]) > 0

    # Redis goes away: the chat keeps answering (per-process limits take over).
    with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
        redis.Redis.from_url(redis_server).shutdown(nosave=True)
    after_loss = HttpUser(second, "bob")
    conversation_id = after_loss.post("/api/chat/conversations", participants=[]).json()["id"]
    sent = after_loss.post(
        "/api/chat/messages", conversation_id=conversation_id, content="still up"
    )
    assert sent.status_code == 201
    assert HttpUser(second, "alice", register=False).login("long password").status_code == 200
    health = requests.get(f"{second}/healthz", timeout=TIMEOUT)
    assert health.status_code == 503 and health.json()["redis"].startswith("error")
