"""S3 going away (a real RGW container paused): uploads, transcodes, health, orphans.

A paused gateway still accepts TCP connections (the kernel answers) but never replies:
the worst case for a client, which must rely on its own timeouts.
"""

import io
import json
from datetime import timedelta

import pytest

from app import create_app
from app.extensions import db
from app.services.voice import voice
from tests.app.test_live_and_limits import HttpUser
from tests.conftest import ApiClient, app_environment, make_settings
from tests.faults.conftest import DEADLINE_SECONDS, wait_until
from tests.voice.test_worker import upload as http_upload
from tests.voice.test_worker import wait_for_content

UPLOAD = "/api/chat/messages/upload_audio"


@pytest.fixture
def s3_app(tmp_path, own_rgw):
    """(app, gateway, bucket): the app in-process on a bucket of this test's own RGW."""
    bucket = own_rgw.new_bucket()
    settings = make_settings(tmp_path, **own_rgw.settings(bucket), s3_timeout_seconds=1.0)
    app = create_app(settings)
    with app.app_context():
        db.create_all()
    yield app, own_rgw, bucket
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def objects(gateway, bucket: str) -> list[str]:
    listed = gateway.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def send(api: ApiClient, conversation_id: int, path):
    data = {"conversation_id": str(conversation_id), "file": (io.BytesIO(path.read_bytes()), "b")}
    return api.post(UPLOAD, data=data, content_type="multipart/form-data")


def test_upload_while_s3_is_unreachable_is_a_503_and_leaves_nothing(s3_app, speech_files, tmp_path):
    app, gateway, bucket = s3_app
    alice = ApiClient(app.test_client())
    assert alice.register("alice").status_code == 201
    conversation_id = alice.conversation_with()
    gateway.pause()
    try:
        response = send(alice, conversation_id, speech_files["wav"])
        health = alice.get("/healthz")
    finally:
        gateway.resume()
    assert response.status_code == 503
    assert "storage is unreachable" in response.get_json()["error"]
    assert health.status_code == 503 and health.get_json()["storage"].startswith("s3: error")
    assert alice.messages(conversation_id).get_json()["messages"] == []
    assert list((tmp_path / "uploads" / "chat").iterdir()) == []
    # A store that timed out may still land once the server runs again: the sweep
    # removes whatever no message points at.
    with app.app_context():
        voice.sweep_orphans(app.config["SETTINGS"], timedelta(0))
    assert objects(gateway, bucket) == []
    assert alice.get("/healthz").get_json()["storage"] == "s3: ok"
    # The page keeps the recording; the same file goes through once S3 is back.
    retried = send(alice, conversation_id, speech_files["wav"])
    assert retried.status_code == 201, retried.get_json()
    assert retried.get_json()["transcoded"] is True


def test_the_sweep_keeps_every_file_a_message_uses(s3_app, speech_files):
    app, gateway, bucket = s3_app
    alice = ApiClient(app.test_client())
    assert alice.register("alice").status_code == 201
    content = json.loads(
        send(alice, alice.conversation_with(), speech_files["ogg"]).json["content"]
    )
    stray = "chat/" + "f" * 32 + "-raw.ogg"
    gateway.client().put_object(Bucket=bucket, Key=stray, Body=b"orphan")
    with app.app_context():
        removed = voice.sweep_orphans(app.config["SETTINGS"], timedelta(0))
        assert voice.sweep_orphans(app.config["SETTINGS"], timedelta(hours=1)) == []
    assert removed == [stray.removeprefix("chat/")]
    kept = sorted(url.removeprefix("/uploads/") for url in (content["url_raw"], content["url_m4a"]))
    assert objects(gateway, bucket) == kept


def test_a_transcode_waits_for_s3_and_settles_when_it_returns(
    own_rgw, redis_server, gunicorn_factory, start_worker, tmp_path, speech_files
):
    bucket = own_rgw.new_bucket()
    env = app_environment(
        tmp_path,
        REDIS_URL=redis_server,
        WORKER_NAME="natter-s3-worker",
        TRANSCODE_WAIT_SECONDS="0",
        S3_TIMEOUT_SECONDS="1",
        **own_rgw.environment(bucket),
    )
    base = gunicorn_factory(env)
    alice = HttpUser(base, "alice")
    conversation_id = alice.post("/api/chat/conversations", participants=[]).json()["id"]
    response = http_upload(alice, conversation_id, speech_files["webm"])
    assert response.status_code == 201, response.text
    assert response.json()["transcoded"] is False

    own_rgw.pause()
    try:
        start_worker(env)
        log = tmp_path / "worker.log"
        wait_until(
            lambda: log.exists() and "storage is unreachable" in log.read_text(),
            DEADLINE_SECONDS,
            "the worker met the unreachable storage",
        )
    finally:
        own_rgw.resume()
    content = wait_for_content(alice, conversation_id, lambda c: c["url_m4a"], timeout=120)
    assert content["url"] == content["url_m4a"]
    assert sorted(objects(own_rgw, bucket)) == sorted(
        url.removeprefix("/uploads/") for url in (content["url_raw"], content["url_m4a"])
    )
    m4a = alice.http.get(f"{base}{content['url_m4a']}", timeout=10)
    assert m4a.status_code == 200 and m4a.headers["Content-Type"] == "audio/mp4"
