"""Redis clients that give up quickly, and a breaker that stops asking a Redis that failed.

A stalled Redis (stopped process, full network buffer) accepts connections and never
answers: without timeouts every request that touches it hangs. With them, one call
costs REDIS_SOCKET_TIMEOUT_SECONDS; the breaker then keeps the process away from Redis
for REDIS_RETRY_SECONDS, so later requests do not pay that again.
"""

import threading
import time

import redis


def client(url: str, settings) -> redis.Redis:
    """A client whose connects and reads time out after the configured seconds."""
    return redis.Redis.from_url(url, **settings.redis_timeouts())


class Breaker:
    """Open after a failure: callers skip Redis until `pause` seconds have passed."""

    def __init__(self, pause: float):
        self.pause = pause
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        return time.monotonic() >= self._retry_at

    def failed(self) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.pause

    def succeeded(self) -> None:
        with self._lock:
            self._retry_at = 0.0


def breaker(app) -> Breaker:
    """The process's one breaker: live events and job dispatch share what they learn."""
    settings = app.config["SETTINGS"]
    return app.extensions.setdefault("natter_redis_breaker", Breaker(settings.redis_retry_seconds))
