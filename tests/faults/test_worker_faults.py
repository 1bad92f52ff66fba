"""The transcode worker survives a failed database commit, gives up when stuck, and recovers.

Real redis-server, real `python -m app.worker` processes, the app under the role's
gunicorn.conf.py, and the worker's SQLite database locked from the test with an open
exclusive transaction for longer than the worker's busy timeout. Before each job had
its own session, one failed commit left the worker failing every later job with
PendingRollbackError while it stayed alive.
"""

import json
import sqlite3
from pathlib import Path

from werkzeug.datastructures import FileStorage

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Conversation, User
from app.services.voice import voice
from tests.app.test_live_and_limits import HttpUser
from tests.conftest import app_environment
from tests.faults.conftest import DEADLINE_SECONDS, wait_until
from tests.voice import audio
from tests.voice.test_worker import upload

EXIT_NO_PROGRESS = 75


def environment(redis_url: str, folder: Path, **extra: str) -> dict:
    return app_environment(folder, REDIS_URL=redis_url, WORKER_NAME="natter-faults-worker", **extra)


def database_path(env: dict) -> str:
    return env["DATABASE_URL"].removeprefix("sqlite:///")


def lock_database(env: dict) -> sqlite3.Connection:
    """An open exclusive transaction: every other connection's reads and writes wait."""
    connection = sqlite3.connect(database_path(env), timeout=DEADLINE_SECONDS, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    return connection


def release(connection: sqlite3.Connection) -> None:
    connection.execute("ROLLBACK")
    connection.close()


def ffmpeg_children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            comm = Path(f"/proc/{child}/comm")
            if comm.exists() and comm.read_text().strip() == "ffmpeg":
                children.append(int(child))
    return children


def worker_log(folder: Path) -> str:
    path = folder / "worker.log"
    return path.read_text(errors="replace") if path.exists() else ""


def contents(user: HttpUser, conversation_id: int) -> list[dict]:
    answer = user.http.get(
        f"{user.base}/api/chat/messages",
        params={"conversation_id": conversation_id},
        timeout=DEADLINE_SECONDS,
    )
    return [json.loads(message["content"]) for message in answer.json()["messages"]]


def all_transcoded(user: HttpUser, conversation_id: int, count: int) -> bool:
    found = contents(user, conversation_id)
    return len(found) == count and all(c["url_m4a"] and c["url"] == c["url_m4a"] for c in found)


def test_a_failed_commit_does_not_poison_the_worker(
    redis_server, deployed_app, start_worker, tmp_path, speech_files
):
    env = environment(redis_server, tmp_path, TRANSCODE_WAIT_SECONDS="0")
    alice = HttpUser(deployed_app(env), "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    worker = start_worker({**env, "DATABASE_BUSY_TIMEOUT_SECONDS": "0.5"})
    long_noise = audio.synthesize(
        "anoisesrc=d=300:r=16000:a=0.3", tmp_path / "long.wav", "-ac", "1"
    )
    assert upload(alice, conversation_id, long_noise).status_code == 201

    # The worker has read the message and runs ffmpeg: lock the database under it, so
    # the commit that settles the message fails ("database is locked").
    wait_until(lambda: ffmpeg_children(worker.pid), DEADLINE_SECONDS, "worker's ffmpeg")
    lock = lock_database(env)
    try:
        wait_until(
            lambda: "database is locked" in worker_log(tmp_path),
            DEADLINE_SECONDS,
            "the worker's commit failing",
        )
    finally:
        release(lock)

    assert upload(alice, conversation_id, speech_files["ogg"]).status_code == 201
    wait_until(
        lambda: all_transcoded(alice, conversation_id, 2),
        DEADLINE_SECONDS,
        "both voice messages transcoded after the failed commit",
        interval=0.2,
    )
    assert worker.poll() is None
    assert "PendingRollbackError" not in worker_log(tmp_path)
    first = contents(alice, conversation_id)[0]
    stored = tmp_path / "uploads" / "chat" / first["url_m4a"].rsplit("/", 1)[-1]
    assert abs(audio.duration(stored) - 300) < 1


def test_a_worker_that_cannot_make_progress_exits_for_systemd_to_restart(
    redis_server, deployed_app, start_worker, tmp_path, speech_files
):
    env = environment(redis_server, tmp_path, TRANSCODE_WAIT_SECONDS="0")
    alice = HttpUser(deployed_app(env), "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    assert upload(alice, conversation_id, speech_files["webm"]).status_code == 201

    lock = lock_database(env)
    try:
        stuck = start_worker(
            {**env, "DATABASE_BUSY_TIMEOUT_SECONDS": "0.5", "WORKER_MAX_CONSECUTIVE_FAILURES": "2"}
        )
        assert stuck.wait(timeout=DEADLINE_SECONDS) == EXIT_NO_PROGRESS
    finally:
        release(lock)
    assert "jobs in a row failed; exiting" in worker_log(tmp_path)

    start_worker(env)  # what systemd's Restart=always does
    wait_until(
        lambda: all_transcoded(alice, conversation_id, 1),
        DEADLINE_SECONDS,
        "the message transcoded by the restarted worker",
        interval=0.2,
    )


def leave_pending_without_a_job(env: dict, username: str, conversation_id: int, path) -> None:
    """What an upload whose process died between its commit and its enqueue leaves behind."""
    settings = Settings(
        app_env="production",
        secret_key=env["SECRET_KEY"],
        database_url=env["DATABASE_URL"],
        upload_dir=env["UPLOAD_DIR"],
    )
    app = create_app(settings)
    with app.app_context(), open(path, "rb") as file:
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
        conversation = db.session.get(Conversation, conversation_id)
        voice.receive(FileStorage(file, filename="blob"), conversation, user, settings)
        db.session.remove()
        db.engine.dispose()


def test_the_running_worker_finishes_messages_that_no_job_will(
    redis_server, deployed_app, start_worker, tmp_path, speech_files
):
    env = environment(redis_server, tmp_path, WORKER_RECOVER_INTERVAL_SECONDS="1")
    alice = HttpUser(deployed_app(env), "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    start_worker(env)
    wait_until(
        lambda: "listening on queue" in worker_log(tmp_path), DEADLINE_SECONDS, "worker start"
    )

    leave_pending_without_a_job(env, "alice", conversation_id, speech_files["wav"])
    assert contents(alice, conversation_id)[0]["url_m4a"] is None
    wait_until(
        lambda: all_transcoded(alice, conversation_id, 1),
        DEADLINE_SECONDS,
        "the orphaned message transcoded by the running worker",
        interval=0.2,
    )
    assert "left pending; transcoding it again" in worker_log(tmp_path)
