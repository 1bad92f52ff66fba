"""Background transcoding: RQ jobs on Redis when configured, in-process otherwise."""

import time

import redis
from flask import current_app
from rq import Queue, Retry
from rq.job import Job
from rq.results import Result

from app.services import redis_link
from app.services.storage import StorageUnavailable
from app.services.voice import voice

QUEUE_NAME = "transcode"
# A job that outlives ffmpeg's own timeout twice (m4a then mp3) is dead.
JOB_TIMEOUT_MARGIN_SECONDS = 30
# A job that failed (database locked, disk full) runs again after these many seconds.
RETRY_INTERVALS = [2, 10, 60]


def settings():
    return current_app.config["SETTINGS"]


def transcode_message(message_id: int) -> dict:
    """The job body; the worker runs it inside the app's context."""
    return voice.transcode(message_id, settings())


def queue_for(current_settings) -> Queue:
    connection = redis_link.client(current_settings.redis_url, current_settings)
    return Queue(QUEUE_NAME, connection=connection)


def job_id(message_id: int) -> str:
    return f"transcode-{message_id}"


def job_timeout(current_settings) -> int:
    return int(2 * current_settings.ffmpeg_timeout_seconds + JOB_TIMEOUT_MARGIN_SECONDS)


def dispatch(message_id: int) -> None:
    """Transcode now (no Redis, or Redis failing) or in a worker, waiting a little for it."""
    current = settings()
    breaker = redis_link.breaker(current_app)
    if not current.redis_url or not breaker.allows():
        transcode_now(message_id, current)
        return
    try:
        job = queue_for(current).enqueue(
            transcode_message,
            message_id,
            job_id=job_id(message_id),
            job_timeout=job_timeout(current),
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            failure_ttl=24 * 3600,
        )
    except redis.RedisError as error:
        breaker.failed()
        current_app.logger.warning("Redis unavailable, transcoding in the request: %s", error)
        transcode_now(message_id, current)
        return
    try:
        wait_for(job, current.transcode_wait_seconds, current.redis_socket_timeout_seconds / 2)
    except redis.RedisError as error:
        # The job is queued: a worker transcodes it once Redis answers again.
        breaker.failed()
        current_app.logger.warning("Redis failed while the upload waited: %s", error)


def transcode_now(message_id: int, current) -> None:
    """In the request; storage failing leaves the message pending (playing the raw file)."""
    try:
        voice.transcode(message_id, current)
    except StorageUnavailable as error:
        # The raw file is stored and the message sent; a worker's recovery redoes it.
        current_app.logger.warning("voice message %s stays pending: %s", message_id, error)


def queue_depth(current_settings) -> int | None:
    """Jobs waiting in the transcode queue; None without Redis or when it does not answer."""
    if not current_settings.redis_url:
        return None
    try:
        return queue_for(current_settings).count
    except redis.RedisError:
        return None


def wait_for(job: Job, seconds: float, slice_seconds: float) -> None:
    """Until the job's first result (done or failed) or `seconds` have passed.

    Blocks on the job's own result stream, which the worker appends to when it ends, so
    the upload answers the moment the transcode does. Each wait stays shorter than the
    Redis client's read timeout (`slice_seconds`), so a long wait is not a stalled Redis.
    """
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        block_ms = max(1, int(min(remaining, slice_seconds) * 1000))
        if job.connection.xread({Result.get_key(job.id): "0-0"}, count=1, block=block_ms):
            return
