"""The voice upload and /uploads endpoints, in-process (no Redis), with real ffmpeg."""

import io
import json
import logging
import os
from pathlib import Path

import pytest

from tests.conftest import ApiClient
from tests.voice import audio

UPLOAD = "/api/chat/messages/upload_audio"


def user(app, name) -> ApiClient:
    api = ApiClient(app.test_client())
    assert api.register(name).status_code == 201
    return api


def upload(api, conversation_id, path: Path, filename="blob", **form):
    data = {
        "conversation_id": str(conversation_id),
        **form,
        "file": (io.BytesIO(path.read_bytes()), filename),
    }
    return api.post(UPLOAD, data=data, content_type="multipart/form-data")


@pytest.fixture
def chat(tmp_path, voice_app):
    """alice and bob in one conversation, mallory outside it."""
    app = voice_app(tmp_path)
    alice, bob, mallory = user(app, "alice"), user(app, "bob"), user(app, "mallory")
    return app, alice, bob, mallory, alice.conversation_with("bob")


@pytest.mark.both_databases
def test_upload_keeps_raw_and_makes_m4a(chat, speech_files, speech_wav, tmp_path, files_in):
    app, alice, bob, _, conversation_id = chat
    response = upload(alice, conversation_id, speech_files["webm"], duration="4.2")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["type"] == "audio" and body["transcoded"] is True
    content = json.loads(body["content"])
    assert set(content) == {"url", "url_raw", "url_m4a", "url_mp3", "duration", "waveform"}
    assert content["url"] == content["url_m4a"] == body["url_m4a"]
    assert content["url_raw"].endswith("-raw.webm") and content["url_mp3"] is None
    assert content["duration"] == pytest.approx(audio.duration(speech_wav), rel=0.1)
    key = content["url_m4a"].split("/")[-1].removesuffix(".m4a")
    assert files_in(tmp_path) == [f"{key}-raw.webm", f"{key}.m4a"]

    listed = bob.messages(conversation_id).get_json()["messages"]
    assert json.loads(listed[-1]["content"]) == content


def test_m4a_failure_falls_back_to_mp3(tmp_path, speech_files, caplog, voice_app):
    app = voice_app(tmp_path, ffmpeg_aac_encoder="no_such_encoder")
    alice = user(app, "alice")
    with caplog.at_level(logging.WARNING):
        body = upload(alice, alice.conversation_with(), speech_files["ogg"]).get_json()
    content = json.loads(body["content"])
    assert body["transcoded"] is True
    assert content["url_m4a"] is None and content["url"] == content["url_mp3"]
    assert "m4a transcode failed" in caplog.text


def test_both_transcodes_failing_keeps_raw_and_still_sends(
    tmp_path, speech_files, caplog, voice_app
):
    app = voice_app(
        tmp_path, ffmpeg_aac_encoder="no_such_encoder", ffmpeg_mp3_encoder="no_such_encoder"
    )
    alice = user(app, "alice")
    conversation_id = alice.conversation_with()
    with caplog.at_level(logging.WARNING):
        response = upload(alice, conversation_id, speech_files["wav"])
    assert response.status_code == 201
    body = response.get_json()
    content = json.loads(body["content"])
    assert body["transcoded"] is False
    assert content["url"] == content["url_raw"] and content["url_raw"].endswith(".wav")
    assert "keeping only the raw file" in caplog.text
    assert alice.get(content["url_raw"]).status_code == 200


@pytest.mark.parametrize(
    ("payload", "filename"),
    [
        (b"just some text, not audio\n" * 50, "voice.webm"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 200, "a.png"),
    ],
)
def test_non_audio_is_refused_and_deleted(chat, tmp_path, payload, filename, files_in):
    _, alice, _, _, conversation_id = chat
    fake = tmp_path / "fake"
    fake.write_bytes(payload)
    response = upload(alice, conversation_id, fake, filename=filename)
    assert response.status_code == 415
    assert "supported audio format" in response.get_json()["error"]
    assert files_in(tmp_path) == []
    assert alice.messages(conversation_id).get_json()["messages"] == []


def test_oversize_upload_is_413_json(tmp_path, speech_files, voice_app, files_in):
    app = voice_app(tmp_path, max_content_length=10_000)
    alice = user(app, "alice")
    response = upload(alice, alice.conversation_with(), speech_files["wav"])
    assert response.status_code == 413
    assert "error" in response.get_json()
    assert files_in(tmp_path) == []


def test_outsider_cannot_upload(chat, speech_files):
    _, _, _, mallory, conversation_id = chat
    assert upload(mallory, conversation_id, speech_files["mp3"]).status_code == 404


def test_missing_file_is_400(chat):
    _, alice, _, _, conversation_id = chat
    response = alice.post(
        UPLOAD, data={"conversation_id": str(conversation_id)}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "file" in response.get_json()["error"]


@pytest.fixture
def sent(chat, speech_files):
    app, alice, bob, mallory, conversation_id = chat
    content = json.loads(upload(alice, conversation_id, speech_files["webm"]).get_json()["content"])
    return app, alice, bob, mallory, content


@pytest.mark.parametrize(
    ("variant", "mimetype"), [("url_m4a", "audio/mp4"), ("url_raw", "audio/webm")]
)
def test_participants_get_the_file_with_audio_type(sent, variant, mimetype):
    _, _, bob, _, content = sent
    response = bob.get(content[variant])
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_range_requests(sent, tmp_path):
    _, _, bob, _, content = sent
    whole = bob.get(content["url_m4a"]).data
    first = bob.get(content["url_m4a"], headers={"Range": "bytes=0-1"})
    assert first.status_code == 206
    assert first.headers["Content-Length"] == "2" and first.data == whole[:2]
    assert first.headers["Content-Range"] == f"bytes 0-1/{len(whole)}"
    middle = bob.get(content["url_m4a"], headers={"Range": "bytes=100-199"})
    assert middle.status_code == 206 and middle.data == whole[100:200]
    suffix = bob.get(content["url_m4a"], headers={"Range": "bytes=-50"})
    assert suffix.status_code == 206 and suffix.data == whole[-50:]


def test_conditional_request_is_304(sent):
    _, _, bob, _, content = sent
    etag = bob.get(content["url_m4a"]).headers["ETag"]
    assert bob.get(content["url_m4a"], headers={"If-None-Match": etag}).status_code == 304


def test_outsiders_and_strangers_get_404(sent):
    app, _, _, mallory, content = sent
    assert mallory.get(content["url_m4a"]).status_code == 404
    assert ApiClient(app.test_client()).get(content["url_m4a"]).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/uploads/chat/../../etc/passwd",
        "/uploads/..%2f..%2fetc%2fpasswd",
        "/uploads/chat/%2e%2e/x",
        "/uploads/chat/" + "a" * 32 + ".m4a/../../test.sqlite3",
        "/uploads/test.sqlite3",
        "/uploads/chat/.hidden.incoming",
    ],
)
def test_traversal_is_impossible(sent, path):
    _, _, bob, _, _ = sent
    response = bob.get(path)
    assert response.status_code == 404


def test_deployed_answers_with_x_accel_redirect(
    tmp_path, speech_files, voice_app, storage_overrides
):
    app = voice_app(tmp_path, uploads_accel_prefix="/_protected_uploads/")
    alice = user(app, "alice")
    content = json.loads(
        upload(alice, alice.conversation_with(), speech_files["wav"]).get_json()["content"]
    )
    response = alice.get(content["url_m4a"])
    assert response.status_code == 200
    name = content["url_m4a"].removeprefix("/uploads/")
    redirect = response.headers["X-Accel-Redirect"]
    if storage_overrides.get("storage_backend") == "s3":
        # /_protected_uploads/<host>/<bucket>/chat/<name>?<presigned query>
        host = storage_overrides["s3_endpoint_url"].removeprefix("http://")
        bucket = storage_overrides["s3_bucket"]
        assert redirect.startswith(f"/_protected_uploads/{host}/{bucket}/{name}?")
        assert "X-Amz-Expires=60&" in redirect and "X-Amz-Signature=" in redirect
    else:
        assert redirect == f"/_protected_uploads/{name}"
    assert response.data == b""
    assert response.mimetype == "audio/mp4"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_a_clear_error_and_leaves_nothing(
    chat, speech_files, tmp_path, monkeypatch, files_in
):
    _, alice, _, _, conversation_id = chat
    chat_dir = tmp_path / "uploads" / "chat"
    real_open = open

    def open_full_disk(path, mode="r", *args, **kwargs):
        # The upload's own file behaves like a file on a full disk (writes hit ENOSPC).
        if str(path).startswith(str(chat_dir)) and "w" in mode:
            return real_open("/dev/full", mode, *args, **kwargs)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", open_full_disk)
    response = upload(alice, conversation_id, speech_files["wav"])
    monkeypatch.undo()
    assert response.status_code == 507
    assert "no room" in response.get_json()["error"]
    assert files_in(tmp_path) == []
    assert alice.messages(conversation_id).get_json()["messages"] == []
