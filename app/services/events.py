"""Live events for open pages.

Each process keeps its own subscribers (one queue per open event stream). With
Redis, a published event goes through one pub/sub channel and one listener per
process hands it to that process's subscribers, so every Gunicorn worker sees every
event. Without Redis, events reach the process's own subscribers. When Redis fails
(down, or stalled: every call times out), the hub ends its streams and refuses new ones
for a while (`live()` is false), so pages fall back to polling instead of waiting on
events that another process could never pass on.
"""

import contextlib
import json
import logging
import queue
import threading
import time
from collections import defaultdict

import redis
from flask import current_app

from app.services import redis_link

CHANNEL = "natter:events"
# A page that stops reading loses its stream rather than growing memory without bound.
SUBSCRIBER_QUEUE_SIZE = 256
RECONNECT_DELAY_SECONDS = 2.0
# The listener waits this long for a message at a time, and pings Redis after this much
# silence, so a stalled server is noticed even when nothing is published.
LISTEN_POLL_SECONDS = 1.0
LIVENESS_SECONDS = 5.0
# Put in a subscriber's queue to end its stream (the page then polls).
END_OF_STREAM = None

log = logging.getLogger(__name__)


class EventHub:
    def __init__(self, settings, breaker: redis_link.Breaker):
        self.redis_url = settings.redis_url
        self._subscribers: dict[int, set[queue.Queue]] = defaultdict(set)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._client = redis_link.client(self.redis_url, settings) if self.redis_url else None
        self._breaker = breaker

    def live(self) -> bool:
        """False while Redis is known to be failing: streams would miss other processes' events."""
        return self._client is None or self._breaker.allows()

    def subscribe(self, user_id: int) -> queue.Queue:
        subscription: queue.Queue = queue.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        with self._lock:
            self._subscribers[user_id].add(subscription)
            if self._client is not None and self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name="natter-events", daemon=True
                )
                self._listener.start()
        return subscription

    def unsubscribe(self, user_id: int, subscription: queue.Queue) -> None:
        with self._lock:
            self._subscribers[user_id].discard(subscription)
            if not self._subscribers[user_id]:
                del self._subscribers[user_id]

    def publish(self, user_ids: list[int], event: str, data: dict) -> None:
        payload = json.dumps({"user_ids": user_ids, "event": event, "data": data})
        if self._client is not None and self._breaker.allows():
            try:
                self._client.publish(CHANNEL, payload)
                return
            except redis.RedisError as error:
                log.warning("live events: Redis publish failed, local delivery only: %s", error)
                self._went_down()
        self._deliver(payload)

    def _went_down(self) -> None:
        """Redis failed: end every stream here, so their pages poll until Redis is back."""
        self._breaker.failed()
        with self._lock:
            streams = [s for subscriptions in self._subscribers.values() for s in subscriptions]
        for subscription in streams:
            # A stream that stopped reading ends at its own deadline anyway.
            with contextlib.suppress(queue.Full):
                subscription.put_nowait(END_OF_STREAM)

    def _deliver(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        with self._lock:
            targets = [
                subscription
                for user_id in message["user_ids"]
                for subscription in self._subscribers.get(user_id, ())
            ]
        for subscription in targets:
            try:
                subscription.put_nowait(message)
            except queue.Full:
                log.warning("live events: a slow stream missed an event")

    def _listen(self) -> None:
        while True:
            try:
                self._listen_until_failure()
            except redis.RedisError as error:
                log.warning("live events: Redis listener lost (%s); retrying", error)
                self._went_down()
                time.sleep(RECONNECT_DELAY_SECONDS)

    def _listen_until_failure(self) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            quiet_since = time.monotonic()
            while True:
                item = pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                if item is not None:
                    self._deliver(item["data"])
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= LIVENESS_SECONDS:
                    self._client.ping()  # a stalled Redis times out here
                    quiet_since = time.monotonic()
        finally:
            pubsub.close()


def init_app(app) -> None:
    app.extensions["natter_events"] = EventHub(app.config["SETTINGS"], redis_link.breaker(app))


def hub() -> EventHub:
    return current_app.extensions["natter_events"]


def publish_message(message, event: str = "message") -> None:
    """Tell every participant's open pages about a new or changed message."""
    from app.services import conversations, messages

    user_ids = conversations.participant_ids(message.conversation_id)
    hub().publish(user_ids, event, messages.serialize(message))


def format_sse(event: str, data: dict) -> str:
    # Only new messages carry an id: it is what Last-Event-ID resumes from.
    id_line = f"id: {data['id']}\n" if event == "message" else ""
    return f"{id_line}event: {event}\ndata: {json.dumps(data)}\n\n"
