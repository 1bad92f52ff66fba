"""`python -m app.worker`: an RQ worker for the transcode queue, in the app's context.

Each worker has a stable name (WORKER_NAME, e.g. the systemd instance). On start it
first finishes what a previous life of the same worker left half done: voice
messages whose job it had started, or whose job failed or vanished, are transcoded
again, so a killed worker never leaves a message stuck on "transcoding". It repeats
that every WORKER_RECOVER_INTERVAL_SECONDS for messages whose job failed after all its
retries or vanished.

Each job gets a database session of its own, removed (rolled back) after the job
whatever happened, so one failed commit cannot poison the jobs after it. A worker that
cannot make progress (WORKER_MAX_CONSECUTIVE_FAILURES jobs in a row fail, or Redis stops
answering) exits with EXIT_NO_PROGRESS, and systemd (Restart=always) starts it again.
"""

import logging
import os
import socket
from datetime import timedelta

from rq import SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app import create_app
from app.extensions import db
from app.jobs import QUEUE_NAME, job_id, queue_for
from app.services import redis_link
from app.services.voice import voice

log = logging.getLogger("natter.worker")
ORPHANED = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
# EX_TEMPFAIL: systemd restarts the unit; the log says why.
EXIT_NO_PROGRESS = 75
# RQ's worker TTL; its blocking dequeue waits this minus 15 s, and its connection's read
# timeout is that plus 10 s: the longest a stalled Redis can hold the idle worker.
WORKER_TTL_SECONDS = 35


class TranscodeWorker(SimpleWorker):
    """SimpleWorker with a database session per job, a failure count, periodic recovery."""

    def __init__(self, *args, settings, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.failures_in_a_row = 0
        self.maintenance_interval = settings.worker_recover_interval_seconds

    def perform_job(self, job, queue, execution) -> bool:
        try:
            succeeded = super().perform_job(job, queue, execution)
        finally:
            db.session.remove()  # rolls back whatever the job left: the next starts clean
        self.count(succeeded)
        return succeeded

    def count(self, succeeded: bool) -> None:
        self.failures_in_a_row = 0 if succeeded else self.failures_in_a_row + 1
        if self.failures_in_a_row >= self.settings.worker_max_consecutive_failures:
            log.error("%s jobs in a row failed; exiting so systemd restarts the worker",
                      self.failures_in_a_row)  # fmt: skip
            raise SystemExit(EXIT_NO_PROGRESS)

    def run_maintenance_tasks(self) -> None:
        periodic = self.last_cleaned_at is not None  # main() recovered at start already
        super().run_maintenance_tasks()
        if periodic:
            grace = self.settings.worker_recover_interval_seconds
            self.count(redo_orphans(self, self.settings, older_than_seconds=grace))


def is_orphaned(message_id: int, worker_name: str, connection) -> bool:
    try:
        job = Job.fetch(job_id(message_id), connection=connection)
    except NoSuchJobError:
        return True
    status = job.get_status(refresh=True)
    return status in ORPHANED or (status == JobStatus.STARTED and job.worker_name == worker_name)


def recover(worker: SimpleWorker, settings) -> bool:
    """At start: forget a previous life's registration, then redo what it left."""
    connection = worker.connection
    if connection.exists(worker.key) and not connection.hexists(worker.key, "death"):
        # This name is ours: the registration left behind is a previous life killed mid-job.
        connection.delete(worker.key)
    return redo_orphans(worker, settings, older_than_seconds=0)


def redo_orphans(worker: SimpleWorker, settings, older_than_seconds: float) -> bool:
    """Transcode pending messages that no job will finish; False if that failed."""
    try:
        for message_id in voice.pending_message_ids(timedelta(seconds=older_than_seconds)):
            if is_orphaned(message_id, worker.name, worker.connection):
                log.warning("voice message %s was left pending; transcoding it again", message_id)
                voice.transcode(message_id, settings)
        return True
    except Exception:  # noqa: BLE001 - database, disk or Redis: counted, retried later
        log.exception("recovering pending voice messages failed; trying again later")
        return False
    finally:
        db.session.remove()


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
        worker = TranscodeWorker(
            [queue],
            connection=redis_link.client(settings.redis_url, settings),
            name=name,
            worker_ttl=WORKER_TTL_SECONDS,
            settings=settings,
        )
        worker.count(recover(worker, settings))
        log.info("transcode worker %s listening on queue %s", name, QUEUE_NAME)
        worker.work(with_scheduler=True)
        if not worker._stop_requested:
            # RQ's loop ended by itself (Redis timed out or failed): let systemd restart us.
            raise SystemExit(EXIT_NO_PROGRESS)


if __name__ == "__main__":
    main()
