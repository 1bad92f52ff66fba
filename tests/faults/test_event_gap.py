"""An event one process could not publish (Redis stalled) must not leave another process's
streams silently behind: once Redis answers again they are told to catch up.

Found by the soak (docs/developers/soak.md): messages sent through one app host during and
just after a Redis stall never reached the streams held by the other app host, whose
listener had not noticed the stall, and their pages never learned of the gap."""

import os
import signal
import time

from app.services.events import EventHub
from app.services.redis_link import Breaker
from tests.conftest import make_settings

RETRY_SECONDS = 2.0


def test_a_stream_on_another_process_catches_up_after_a_publish_redis_missed(
    redis_process, tmp_path
):
    process, url = redis_process
    settings = make_settings(tmp_path, redis_url=url, redis_retry_seconds=RETRY_SECONDS)
    sender, other = (
        EventHub(settings, Breaker(RETRY_SECONDS)),
        EventHub(settings, Breaker(RETRY_SECONDS)),
    )
    held = other.subscribe(user_id=1, session_hash="bob")
    mine = sender.subscribe(user_id=1, session_hash="bob-phone")
    os.kill(process.pid, signal.SIGSTOP)
    try:
        sender.publish([1], "message", {"id": 7})  # times out; the breaker opens
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert mine.closed_reason == "unavailable"
    sender.publish([1], "message", {"id": 8})  # Redis answers again, but the breaker is open
    deadline = time.monotonic() + 30
    while held.closed_reason is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert held.closed_reason == "resync", "the other process's stream never learned of the gap"
    received = []
    while not held.inbox.empty():
        received.append(held.inbox.get_nowait())
    assert {"user_ids": [1], "event": "message", "data": {"id": 8}} not in received


def test_a_stream_resumed_after_the_resync_replays_from_the_first_missed_message(
    redis_process, tmp_path
):
    """A page may have seen a later message from another process before it reconnects,
    so its after_id is past the one it missed (the long soak lost one message so): the
    resync leaves the floor in Redis, and a resumed stream's backlog starts there."""
    process, url = redis_process
    settings = make_settings(tmp_path, redis_url=url, redis_retry_seconds=RETRY_SECONDS)
    sender, other = (
        EventHub(settings, Breaker(RETRY_SECONDS)),
        EventHub(settings, Breaker(RETRY_SECONDS)),
    )
    assert other.resume_from(12, 5) == (12, 5)  # no resync yet: the page's own cursors
    held = other.subscribe(user_id=1, session_hash="bob")
    sender.subscribe(user_id=1, session_hash="bob-phone")  # its listener announces the resync
    os.kill(process.pid, signal.SIGSTOP)
    try:
        sender.publish([1], "message", {"id": 10})  # times out; the breaker opens
    finally:
        os.kill(process.pid, signal.SIGCONT)
    sender.publish([1], "message_updated", {"id": 4, "change_id": 3})  # local only
    sender.publish([1], "message", {"id": 9})  # local only; ids come out of order
    deadline = time.monotonic() + 30
    while held.closed_reason is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert held.closed_reason == "resync"
    # The page saw message 12 (published by another process) before it reconnected.
    assert other.resume_from(12, 5) == (8, 2)
    assert other.resume_from(7, None) == (7, None)
    assert other.resume_from(None, None) == (None, None)  # a fresh page: nothing to replay
