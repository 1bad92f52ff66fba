"""`flask storage migrate --to s3` and `prune-local` on a populated local install."""

import hashlib
import io
import json

import pytest

from app import create_app
from app.extensions import db
from app.models import ChatMessage
from tests.conftest import ApiClient, make_settings

UPLOAD = "/api/chat/messages/upload_audio"


def make_app(tmp_path, **overrides):
    app = create_app(make_settings(tmp_path, **overrides))
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def populated(tmp_path, speech_files):
    """A local install: alice sent bob three voice messages; (app, bob, contents)."""
    app = make_app(tmp_path)
    alice, bob = ApiClient(app.test_client()), ApiClient(app.test_client())
    assert alice.register("alice").status_code == 201 and bob.register("bob").status_code == 201
    conversation_id = alice.conversation_with("bob")
    contents = []
    for fmt in ("webm", "ogg", "wav"):
        data = {
            "conversation_id": str(conversation_id),
            "file": (io.BytesIO(speech_files[fmt].read_bytes()), "b"),
        }
        response = alice.post(UPLOAD, data=data, content_type="multipart/form-data")
        assert response.status_code == 201
        contents.append(json.loads(response.get_json()["content"]))
    return app, contents


def names(content) -> list[str]:
    return [content[k].rsplit("/", 1)[1] for k in ("url_raw", "url_m4a") if content[k]]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_migrate_copies_verifies_switches_and_resumes(populated, rgw, tmp_path):
    _, contents = populated
    bucket = rgw.new_bucket()
    chat = tmp_path / "uploads" / "chat"
    local = {name: digest((chat / name).read_bytes()) for c in contents for name in names(c)}
    # An earlier run was cut off mid-copy: one object is there, but damaged.
    first = names(contents[0])[0]
    rgw.client().put_object(Bucket=bucket, Key=f"chat/{first}", Body=b"half a file")

    app = make_app(tmp_path, **{**rgw.settings(bucket), "storage_backend": "local"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert result.exit_code == 0, result.output
    assert "switched 3 message(s) to s3: copied 6 file(s), 0 already verified" in result.output
    client = rgw.client()
    for name, expected in local.items():
        body = client.get_object(Bucket=bucket, Key=f"chat/{name}")["Body"].read()
        assert digest(body) == expected, name
    with app.app_context():
        assert set(db.session.execute(db.select(ChatMessage.storage)).scalars()) == {"s3"}
    assert sorted(p.name for p in chat.iterdir()) == sorted(local)  # local files stay

    again = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert "switched 0 message(s)" in again.output and again.exit_code == 0

    # The install now runs on S3; the migrated messages play from the bucket.
    s3_app = make_app(tmp_path, **rgw.settings(bucket))
    bob = ApiClient(s3_app.test_client())
    assert bob.login("bob").status_code == 200
    played = bob.get(contents[1]["url_m4a"])
    assert played.status_code == 200
    assert digest(played.data) == local[names(contents[1])[1]]

    pruned = runner.invoke(args=["storage", "prune-local"])
    assert "removed 6 local voice file(s)" in pruned.output
    assert list(chat.iterdir()) == []
    assert bob.get(contents[2]["url_m4a"]).status_code == 200


def test_a_missing_local_file_keeps_its_message_local(populated, rgw, tmp_path):
    _, contents = populated
    bucket = rgw.new_bucket()
    lost = names(contents[0])[1]
    (tmp_path / "uploads" / "chat" / lost).unlink()
    app = make_app(tmp_path, **{**rgw.settings(bucket), "storage_backend": "local"})
    result = app.test_cli_runner().invoke(args=["storage", "migrate", "--to", "s3"])
    assert result.exit_code != 0 and lost in result.output
    assert "switched 2 message(s)" in result.output
    with app.app_context():
        states = dict(db.session.execute(db.select(ChatMessage.id, ChatMessage.storage)).all())
    assert sorted(states.values(), key=str) == ["local", "s3", "s3"]


def test_migrate_needs_a_bucket(populated):
    app, _ = populated
    result = app.test_cli_runner().invoke(args=["storage", "migrate", "--to", "s3"])
    assert result.exit_code != 0 and "S3_BUCKET" in result.output
