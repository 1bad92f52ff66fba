"""Live events for open pages.

Each process keeps its own subscribers (one queue per open event stream). With
Redis, a published event goes through one pub/sub channel and one listener per
process hands it to that process's subscribers, so every Gunicorn worker sees every
event. Without Redis, or while Redis is down, events reach the publishing process's
own subscribers only; pages then catch up through polling.
"""

import json
import logging
import queue
import threading
import time
from collections import defaultdict

import redis
from flask import current_app

from app.services import metrics

CHANNEL = "natter:events"
# A page that stops reading loses its stream rather than growing memory without bound.
SUBSCRIBER_QUEUE_SIZE = 256
RECONNECT_DELAY_SECONDS = 2.0

log = logging.getLogger(__name__)


class EventHub:
    def __init__(self, redis_url: str = ""):
        self.redis_url = redis_url
        self._subscribers: dict[int, set[queue.Queue]] = defaultdict(set)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._client = redis.Redis.from_url(redis_url) if redis_url else None

    def subscribe(self, user_id: int) -> queue.Queue:
        subscription: queue.Queue = queue.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        with self._lock:
            self._subscribers[user_id].add(subscription)
            if self._client is not None and self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name="natter-events", daemon=True
                )
                self._listener.start()
        metrics.OPEN_STREAMS.inc()
        return subscription

    def unsubscribe(self, user_id: int, subscription: queue.Queue) -> None:
        with self._lock:
            self._subscribers[user_id].discard(subscription)
            if not self._subscribers[user_id]:
                del self._subscribers[user_id]
        metrics.OPEN_STREAMS.dec()

    def publish(self, user_ids: list[int], event: str, data: dict) -> None:
        payload = json.dumps({"user_ids": user_ids, "event": event, "data": data})
        if self._client is not None:
            try:
                self._client.publish(CHANNEL, payload)
                return
            except redis.RedisError as error:
                log.warning("live events: Redis publish failed, local delivery only: %s", error)
        self._deliver(payload)

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
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                for item in pubsub.listen():
                    self._deliver(item["data"])
            except redis.RedisError as error:
                log.warning("live events: Redis listener lost (%s); retrying", error)
                time.sleep(RECONNECT_DELAY_SECONDS)


def init_app(app) -> None:
    app.extensions["natter_events"] = EventHub(app.config["SETTINGS"].redis_url)


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
