"""`python -m app.worker`: an RQ worker for the transcode queue, in the app's context.

Each worker has a stable name (WORKER_NAME, e.g. the systemd instance). On start it
first finishes what a previous life of the same worker left half done: voice
messages whose job it had started, or whose job failed or vanished, are transcoded
again, so a killed worker never leaves a message stuck on "transcoding".
"""

import logging
import os
import socket

import redis
from rq import SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app import create_app
from app.jobs import QUEUE_NAME, job_id, queue_for
from app.services import voice

log = logging.getLogger("natter.worker")
ORPHANED = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def is_orphaned(message_id: int, worker_name: str, connection) -> bool:
    try:
        job = Job.fetch(job_id(message_id), connection=connection)
    except NoSuchJobError:
        return True
    status = job.get_status(refresh=True)
    return status in ORPHANED or (status == JobStatus.STARTED and job.worker_name == worker_name)


def recover(worker: SimpleWorker, settings) -> int:
    connection = worker.connection
    if connection.exists(worker.key) and not connection.hexists(worker.key, "death"):
        # This name is ours: the registration left behind is a previous life killed mid-job.
        connection.delete(worker.key)
    recovered = 0
    for message_id in voice.pending_message_ids():
        if is_orphaned(message_id, worker.name, connection):
            log.warning("voice message %s was left pending; transcoding it again", message_id)
            voice.transcode(message_id, settings)
            recovered += 1
    return recovered


def main() -> None:
    app = create_app()
    settings = app.config["SETTINGS"]
    if not settings.redis_url:
        raise SystemExit("REDIS_URL is not set: without Redis the app transcodes in-process")
    name = os.environ.get("WORKER_NAME") or f"natter-{socket.gethostname()}"
    with app.app_context():
        queue = queue_for(settings)
        # SimpleWorker runs jobs in this process: no fork of the app's database engine,
        # and killing the worker kills its job, which recover() then redoes.
        worker = SimpleWorker(
            [queue], connection=redis.Redis.from_url(settings.redis_url), name=name
        )
        recover(worker, settings)
        log.info("transcode worker %s listening on queue %s", name, QUEUE_NAME)
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main()
