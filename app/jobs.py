"""Background transcoding: RQ jobs on Redis when configured, in-process otherwise."""

import time

import redis
from flask import current_app
from rq import Queue, Retry
from rq.job import Job, JobStatus

from app.services import voice

QUEUE_NAME = "transcode"
# A job that outlives ffmpeg's own timeout twice (m4a then mp3) is dead.
JOB_TIMEOUT_MARGIN_SECONDS = 30
WAIT_POLL_SECONDS = 0.05


def settings():
    return current_app.config["SETTINGS"]


def transcode_message(message_id: int) -> dict:
    """The job body; the worker runs it inside the app's context."""
    return voice.transcode(message_id, settings())


def queue_for(current_settings) -> Queue:
    connection = redis.Redis.from_url(current_settings.redis_url)
    return Queue(QUEUE_NAME, connection=connection)


def job_id(message_id: int) -> str:
    return f"transcode-{message_id}"


def job_timeout(current_settings) -> int:
    return int(2 * current_settings.ffmpeg_timeout_seconds + JOB_TIMEOUT_MARGIN_SECONDS)


def dispatch(message_id: int) -> None:
    """Transcode now (no Redis) or in a worker, waiting a little for it to finish."""
    current = settings()
    if not current.redis_url:
        voice.transcode(message_id, current)
        return
    try:
        job = queue_for(current).enqueue(
            transcode_message,
            message_id,
            job_id=job_id(message_id),
            job_timeout=job_timeout(current),
            retry=Retry(max=2, interval=[1, 5]),
            failure_ttl=24 * 3600,
        )
    except redis.RedisError as error:
        current_app.logger.warning("Redis unavailable, transcoding in the request: %s", error)
        voice.transcode(message_id, current)
        return
    wait_for(job, current.transcode_wait_seconds)


def queue_depth(current_settings) -> int | None:
    """Jobs waiting in the transcode queue; None without Redis or when it does not answer."""
    if not current_settings.redis_url:
        return None
    try:
        return queue_for(current_settings).count
    except redis.RedisError:
        return None


def wait_for(job: Job, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED):
            return
        time.sleep(WAIT_POLL_SECONDS)
