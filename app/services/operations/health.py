"""Health of what the app depends on: database, Redis when configured, upload room, storage."""

import redis
from sqlalchemy import text

from app.extensions import db
from app.services import redis_link, storage
from app.services.voice import voice
from app.version import VERSION


def check(settings) -> dict:
    """{"status", "version", "database", "redis", "uploads", "storage"}: "ok", "disabled",
    "error: ..." (storage: "<backend>: ok" or "<backend>: error: ..."; version: the app's).
    """
    report = {"status": "ok", "version": VERSION, "database": "ok", "redis": "disabled"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure makes the host unhealthy
        report.update(status="error", database=f"error: {error.__class__.__name__}")
    if settings.redis_url:
        try:
            redis_link.client(settings.redis_url, settings).ping()
            report["redis"] = "ok"
        except redis.RedisError as error:
            report.update(status="error", redis=f"error: {error.__class__.__name__}")
    report["uploads"] = voice.room_report(settings)
    report["storage"] = f"{settings.storage_backend}: " + storage.backend(settings).health()
    if report["uploads"] != "ok" or not report["storage"].endswith(": ok"):
        report["status"] = "error"
    return report
