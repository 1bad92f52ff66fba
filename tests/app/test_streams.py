"""Event streams under pressure: a per-account cap, prompt cleanup, revocation, a flood."""

import contextlib
import socket
import time
from urllib.parse import urlsplit

import redis
import requests

from tests.app.test_live_and_limits import HttpUser, read_events

FLOOD = 40


def registered_streams(redis_url: str, user_id: int) -> int:
    return redis.Redis.from_url(redis_url).zcard(f"natter:streams:{user_id}")


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def open_raw_stream(base: str, cookie: str) -> socket.socket:
    """An event stream on a bare socket, read up to its first line (the stream is open)."""
    address = urlsplit(base)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    sock.sendall(
        f"GET /api/chat/events HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Cookie: session={cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    received = b""
    while b"connected" not in received:
        chunk = sock.recv(4096)
        assert chunk, "the server closed a new stream before it opened"
        received += chunk
    return sock


def test_the_oldest_streams_close_beyond_the_accounts_cap(redis_server, gunicorn_factory):
    base = gunicorn_factory({"REDIS_URL": redis_server, "EVENT_STREAMS_PER_USER": "3"}, workers=2)
    alice, bob = HttpUser(base, "alice"), HttpUser(base, "bob")
    conversation_id = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]
    streams = [bob.http.get(f"{base}/api/chat/events", stream=True, timeout=10) for _ in range(6)]
    for oldest in streams[:3]:
        assert read_events(oldest, wanted=1, timeout=10) == [
            ("stream_closed", {"reason": "replaced"})
        ]
    sent = alice.post("/api/chat/messages", conversation_id=conversation_id, content="hi").json()
    for newest in streams[3:]:
        assert read_events(newest, wanted=1, timeout=10) == [("message", sent)]
    for stream in streams:
        stream.close()


def test_a_flood_of_streams_from_one_account_starves_nobody(redis_server, gunicorn_factory):
    base = gunicorn_factory({"REDIS_URL": redis_server, "EVENT_STREAMS_PER_USER": "3"}, workers=1)
    alice, mallory = HttpUser(base, "alice"), HttpUser(base, "mallory")
    mallory_id = mallory.http.get(f"{base}/api/me", timeout=10).json()["id"]
    flood = []
    try:
        for _ in range(FLOOD):
            flood.append(open_raw_stream(base, mallory.http.cookies["session"]))
        assert registered_streams(redis_server, mallory_id) <= 3
        health = requests.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 200
        conversation = alice.post("/api/chat/conversations", participants=["mallory"])
        assert conversation.status_code == 201
    finally:
        for sock in flood:
            sock.close()


def test_a_closed_page_frees_its_stream_before_the_next_heartbeat(redis_server, gunicorn_factory):
    base = gunicorn_factory({"REDIS_URL": redis_server})
    bob = HttpUser(base, "bob")
    bob_id = bob.http.get(f"{base}/api/me", timeout=10).json()["id"]
    sock = open_raw_stream(base, bob.http.cookies["session"])
    assert registered_streams(redis_server, bob_id) == 1
    sock.close()
    # The heartbeat comes every 15 s; the server notices the closed socket well before.
    wait_until(lambda: registered_streams(redis_server, bob_id) == 0, 10, "stream freed")


def test_logging_out_closes_the_sessions_streams(redis_server, gunicorn_factory):
    base = gunicorn_factory({"REDIS_URL": redis_server}, workers=2)
    bob = HttpUser(base, "bob")
    with contextlib.closing(
        bob.http.get(f"{base}/api/chat/events", stream=True, timeout=10)
    ) as stream:
        assert bob.post("/api/auth/logout").status_code == 200
        assert read_events(stream, wanted=1, timeout=10) == [("stream_closed", {"reason": "ended"})]
