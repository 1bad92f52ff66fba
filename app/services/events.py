"""Live events for open pages: the transport only; the domain decides what to publish.

Each process keeps its own subscriptions (one per open event stream). With Redis, a
published event goes through one pub/sub channel and one listener per process hands it
to that process's subscriptions, so every Gunicorn worker sees every event. Without Redis,
or while Redis is down, events reach the publishing process's own subscriptions only;
pages then catch up through polling.

What a process could not publish (Redis down or stalled) reached only its own streams:
once Redis answers again, it publishes a "resync" and every process closes its streams,
whose pages catch up from the database (polling with after_id) and reopen them. A page
may meanwhile have seen a later message (another process published it), so its after_id
is past the one it missed: the resync also leaves in Redis, for 90 seconds, the id
before the first message published locally only, and resumed streams replay from there
(resume_from; the page keeps one of each message).

Streams can be closed from anywhere: when their session ends (logout, "log out
everywhere", a password change) and when an account opens more than
EVENT_STREAMS_PER_USER of them (the oldest goes; Redis keeps the per-account register
so the cap holds across processes).
"""

import json
import logging
import queue
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import redis
from flask import current_app

from app.services import metrics, redis_link
from app.services.errors import N_, Unavailable

CHANNEL = "natter:events"
STREAMS_KEY = "natter:streams:{user_id}"
# A page that stops reading loses its stream rather than growing memory without bound.
SUBSCRIBER_QUEUE_SIZE = 256
RECONNECT_DELAY_SECONDS = 2.0
# The listener waits this long for a message at a time, and pings Redis after this much
# silence, so a stalled server is noticed even when nothing is published.
LISTEN_POLL_SECONDS = 1.0
LIVENESS_SECONDS = 5.0
# A new stream waits at most this long for this process's Redis listener (starting, or
# reconnecting after a failure) before it is refused.
LISTENER_WAIT_SECONDS = 5.0
PAUSED = N_("live events are paused while Redis is down; poll for messages")
# A registered stream not refreshed for this long belongs to a process that died.
STREAM_REGISTRATION_SECONDS = 60
# Where streams resumed after a resync replay from (message ids, change ids): kept longer
# than a page waits between a closed stream and a new one (30 s of polling), and no
# longer, since every stream resumed meanwhile replays from it.
RESUME_FLOOR_KEY = "natter:events:resume-floor:{cursor}"
RESUME_FLOOR_SECONDS = 90
RESUME_CURSORS = ("after_id", "changes_after")
# Lowers each floor to its argument (never raises it) and renews its expiry.
LOWER_FLOORS = """
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if not current or tonumber(ARGV[i]) < tonumber(current) then redis.call('SET', key, ARGV[i]) end
  redis.call('EXPIRE', key, ARGV[#ARGV])
end
"""

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscription:
    """One open event stream: its queue, and why it was closed if it was."""

    user_id: int
    session_hash: str
    stream_id: str = field(default_factory=lambda: secrets.token_hex(8))
    inbox: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE))
    closed_reason: str | None = None

    def offer(self, message: dict) -> None:
        try:
            self.inbox.put_nowait(message)
        except queue.Full:
            log.warning("live events: a slow stream missed an event")

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            # Wake the stream even if its queue is full: drop one event to make room.
            try:
                self.inbox.put_nowait(None)
            except queue.Full:
                self.inbox.get_nowait()
                self.inbox.put_nowait(None)


class EventHub:
    def __init__(self, settings, breaker: redis_link.Breaker):
        self.redis_url = settings.redis_url
        self.streams_per_user = settings.event_streams_per_user
        self._subscribers: dict[int, list[Subscription]] = defaultdict(list)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()
        self._client = redis_link.client(self.redis_url, settings) if self.redis_url else None
        self._breaker = breaker
        # Set when an event went to this process's streams only: the others missed it.
        self._unpublished = threading.Event()
        # The cursors just before the first such event (after_id, changes_after).
        self._missed_floor: dict[str, int] = {}

    def live(self) -> bool:
        """False while Redis is known to be failing: streams would miss other processes' events."""
        return self._client is None or self._breaker.allows()

    def subscribe(self, user_id: int, session_hash: str) -> Subscription:
        subscription = Subscription(user_id, session_hash)
        with self._lock:
            self._subscribers[user_id].append(subscription)
            local = self._subscribers[user_id]
            surplus = local[: max(0, len(local) - self.streams_per_user)]
            if self._client is not None and self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name="natter-events", daemon=True
                )
                self._listener.start()
        # A stream opened while this process does not listen (its listener starting, or
        # reconnecting after Redis failed) would miss what other processes publish, and
        # its page would never know: refused, the page polls and tries again.
        if self._client is not None and not self._listening.wait(LISTENER_WAIT_SECONDS):
            self._forget(subscription)
            raise Unavailable(PAUSED)
        for old in surplus:
            old.close("replaced")
        self._register(subscription)
        metrics.OPEN_STREAMS.inc()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._forget(subscription)
        metrics.OPEN_STREAMS.dec()
        self._redis_call(
            lambda client: client.zrem(self._streams_key(subscription), subscription.stream_id)
        )

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            streams = self._subscribers.get(subscription.user_id, [])
            if subscription in streams:
                streams.remove(subscription)
            if not streams:
                self._subscribers.pop(subscription.user_id, None)

    def refresh(self, subscription: Subscription) -> None:
        """Called at each heartbeat: the stream is still open, keep its registration."""
        self._redis_call(
            lambda client: client.zadd(
                self._streams_key(subscription), {subscription.stream_id: time.time()}, xx=True
            )
        )

    def publish(self, user_ids: list[int], event: str, data: dict) -> None:
        self._send({"user_ids": user_ids, "event": event, "data": data})

    def close_streams(
        self, session_hashes: list[str] = (), stream_ids: list[str] = (), reason: str = "ended"
    ) -> None:
        self._send(
            {
                "control": "close",
                "session_hashes": list(session_hashes),
                "stream_ids": list(stream_ids),
                "reason": reason,
            }
        )

    def _send(self, message: dict) -> None:
        payload = json.dumps(message)
        if self._client is not None and self._breaker.allows():
            try:
                self._client.publish(CHANNEL, payload)
                self._announce_missed_events()
                return
            except redis.RedisError as error:
                log.warning("live events: Redis publish failed, local delivery only: %s", error)
                self._went_down()
        if self._client is not None:
            self._note_missed(message)
            self._unpublished.set()
        self._deliver(payload)

    def _note_missed(self, message: dict) -> None:
        data = message.get("data") or {}
        cursors = {}
        if message.get("event") == "message" and "id" in data:
            cursors["after_id"] = data["id"] - 1
        if "change_id" in data:
            cursors["changes_after"] = data["change_id"] - 1
        self._note_floor(cursors)

    def _announce_missed_events(self) -> None:
        """After events went to this process's streams only, every stream must catch up."""
        if not self._unpublished.is_set() or not self._breaker.allows():
            return
        self._unpublished.clear()
        with self._lock:
            floor, self._missed_floor = self._missed_floor, {}
        try:
            if floor:
                keys = [RESUME_FLOOR_KEY.format(cursor=cursor) for cursor in floor]
                self._client.eval(LOWER_FLOORS, len(keys), *keys, *floor.values(),
                                  RESUME_FLOOR_SECONDS)  # fmt: skip
            self._client.publish(CHANNEL, json.dumps({"control": "resync"}))
            log.info("live events: Redis is back; every stream catches up")
        except redis.RedisError as error:
            self._note_floor(floor)
            self._unpublished.set()
            log.warning("live events: Redis failed again before the resync: %s", error)
            self._went_down()

    def _note_floor(self, floor: dict[str, int]) -> None:
        with self._lock:
            for cursor, value in floor.items():
                self._missed_floor[cursor] = min(value, self._missed_floor.get(cursor, value))

    def resume_from(self, after_id: int | None, changes_after: int | None) -> tuple:
        """Where a resumed stream's backlog starts: its cursors, lowered to a recent
        resync's floor (what some streams may have missed); None stays None (no resume)."""
        if self._client is None or (after_id is None and changes_after is None):
            return after_id, changes_after
        keys = [RESUME_FLOOR_KEY.format(cursor=cursor) for cursor in RESUME_CURSORS]
        floors = self._redis_call(lambda client: client.mget(keys)) or [None, None]
        return tuple(
            cursor if cursor is None or floor is None else min(cursor, int(floor))
            for cursor, floor in zip((after_id, changes_after), floors, strict=True)
        )

    def _went_down(self) -> None:
        """Redis failed: end every stream here, so their pages poll until Redis is back."""
        self._breaker.failed()
        self._close_all("unavailable")

    def _close_all(self, reason: str) -> None:
        with self._lock:
            streams = [s for subscriptions in self._subscribers.values() for s in subscriptions]
        for subscription in streams:
            subscription.close(reason)

    def _deliver(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        if message.get("control") == "close":
            self._close_matching(message)
            return
        if message.get("control") == "resync":
            self._close_all("resync")
            return
        with self._lock:
            targets = [
                subscription
                for user_id in message["user_ids"]
                for subscription in self._subscribers.get(user_id, ())
            ]
        for subscription in targets:
            subscription.offer(message)

    def _close_matching(self, message: dict) -> None:
        sessions, streams = set(message["session_hashes"]), set(message["stream_ids"])
        with self._lock:
            targets = [
                subscription
                for user_streams in self._subscribers.values()
                for subscription in user_streams
                if subscription.session_hash in sessions or subscription.stream_id in streams
            ]
        for subscription in targets:
            subscription.close(message["reason"])

    def _register(self, subscription: Subscription) -> None:
        """Adds the stream to the account's register; closes the oldest beyond the cap."""

        def register(client) -> list[bytes]:
            key, now = self._streams_key(subscription), time.time()
            pipe = client.pipeline()
            pipe.zremrangebyscore(key, 0, now - STREAM_REGISTRATION_SECONDS)
            pipe.zadd(key, {subscription.stream_id: now})
            pipe.expire(key, STREAM_REGISTRATION_SECONDS)
            pipe.zrange(key, 0, -1)
            return pipe.execute()[-1]

        registered = self._redis_call(register) or []
        surplus = [stream.decode() for stream in registered[: -self.streams_per_user]]
        if surplus:
            self._redis_call(lambda client: client.zrem(self._streams_key(subscription), *surplus))
            self.close_streams(stream_ids=surplus, reason="replaced")

    def _redis_call(self, call):
        if self._client is None or not self._breaker.allows():
            return None
        try:
            return call(self._client)
        except redis.RedisError as error:
            log.warning("live events: Redis unavailable for the stream register: %s", error)
            self._went_down()
            return None

    @staticmethod
    def _streams_key(subscription: Subscription) -> str:
        return STREAMS_KEY.format(user_id=subscription.user_id)

    def _listen(self) -> None:
        while True:
            try:
                self._listen_until_failure()
            except redis.RedisError as error:
                self._listening.clear()
                log.warning("live events: Redis listener lost (%s); retrying", error)
                self._went_down()
                time.sleep(RECONNECT_DELAY_SECONDS)

    def _listen_until_failure(self) -> None:
        pubsub = self._client.pubsub()
        try:
            pubsub.subscribe(CHANNEL)
            quiet_since = time.monotonic()
            while True:
                self._announce_missed_events()
                item = pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                if item is not None:
                    quiet_since = time.monotonic()
                    if item["type"] == "subscribe":
                        self._breaker.succeeded()
                        self._listening.set()
                    elif item["type"] == "message":
                        self._deliver(item["data"])
                elif time.monotonic() - quiet_since >= LIVENESS_SECONDS:
                    self._client.ping()  # a stalled Redis times out here
                    quiet_since = time.monotonic()
        finally:
            pubsub.close()


def init_app(app) -> None:
    app.extensions["natter_events"] = EventHub(app.config["SETTINGS"], redis_link.breaker(app))


def hub() -> EventHub:
    return current_app.extensions["natter_events"]


def format_sse(event: str, data: dict) -> str:
    # Only new messages carry an id: it is what Last-Event-ID resumes from.
    id_line = f"id: {data['id']}\n" if event == "message" else ""
    return f"{id_line}event: {event}\ndata: {json.dumps(data)}\n\n"
