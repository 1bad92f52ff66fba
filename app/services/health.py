"""Health of what the app depends on: the database and, when configured, Redis."""

import redis
from sqlalchemy import text

from app.extensions import db


def check(settings) -> dict:
    """{"status", "database", "redis"}: "ok", "disabled" or "error: <kind>" each."""
    report = {"status": "ok", "database": "ok", "redis": "disabled"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure makes the host unhealthy
        report.update(status="error", database=f"error: {error.__class__.__name__}")
    if settings.redis_url:
        try:
            redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
            report["redis"] = "ok"
        except redis.RedisError as error:
            report.update(status="error", redis=f"error: {error.__class__.__name__}")
    return report
