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
