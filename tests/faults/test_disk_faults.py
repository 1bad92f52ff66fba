"""Full disks, for real: small tmpfs mounts that fill, with real ffmpeg.

- ffmpeg 5.1 exits 0 after "Error writing trailer: No space left on device": the
  transcode must be verified (decodes, lasts as long as its input) before a message
  points at it, and a half-written file is removed; the raw file stays the source.
- Uploads keep a free-space reserve (UPLOAD_MIN_FREE_BYTES): below it they are refused
  with a 507 JSON error, nothing is written, and text chat (its database elsewhere)
  goes on.
- A database commit that fails after the raw file was saved leaves no orphan file.
"""

import contextlib
import json
import logging
import sqlite3
import tempfile
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from app.services.voice import media
from tests.conftest import ApiClient, make_settings
from tests.faults.conftest import files_in, fill, free_bytes
from tests.voice import audio
from tests.voice.test_upload import upload

KIB = 1024
PAGE = 4096
# Two minutes of noise: Opus at 16 kbit/s (~190 KB raw), ~750 KB as m4a, ~960 KB as mp3.
NOISE_SECONDS = 120
# How much room the disk lacks for a complete m4a: enough for every audio frame, not for
# the index that +faststart writes at the end. This is where ffmpeg 5.1 exits 0.
SHORT_BY = 8 * KIB


@pytest.fixture(scope="module")
def noise(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("noise") / "noise.ogg"
    return audio.synthesize(
        f"anoisesrc=d={NOISE_SECONDS}:r=16000:a=0.3", target,
        "-ac", "1", "-c:a", "libopus", "-b:a", "16k",
    )  # fmt: skip


@contextlib.contextmanager
def running_app(tmp_path: Path, **overrides):
    app = create_app(make_settings(tmp_path, **overrides))
    app.config.update(TESTING=True)
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def chat_user(app) -> tuple[ApiClient, int]:
    alice = ApiClient(app.test_client())
    assert alice.register("alice").status_code == 201
    return alice, alice.conversation_with()


def rounded(size: int) -> int:
    return -(-size // PAGE) * PAGE


def scratch_short_of_an_m4a(small_disk, tmp_path, noise, monkeypatch) -> Path:
    """ffmpeg's scratch folder on a tmpfs with room for the input copy and an m4a less SHORT_BY.

    Run as root (tests), ffmpeg works in a private scratch folder (tempfile's); deployed,
    it writes next to the uploads. Either way its output lands on the disk that fills.
    """
    complete = tmp_path / "complete.m4a"
    media.to_m4a(noise, complete, media.MediaLimits())
    room = rounded(noise.stat().st_size) + complete.stat().st_size - SHORT_BY
    scratch = small_disk((room + 64 * KIB) // KIB)
    fill(scratch, room)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def test_a_truncated_transcode_is_never_accepted(small_disk, tmp_path, noise, monkeypatch):
    scratch_short_of_an_m4a(small_disk, tmp_path, noise, monkeypatch)
    limits = media.MediaLimits()
    target = tmp_path / "out.m4a"
    try:
        media.to_m4a(noise, target, limits)  # ffmpeg 5.1: exit 0, a file without its index
    except media.MediaError as error:
        # A later ffmpeg may report the full disk itself; then nothing may be left either.
        assert "No space left on device" in str(error)
        assert not target.exists()
        return
    with pytest.raises(media.MediaError):
        media.verify_output(target, NOISE_SECONDS, limits)


def test_a_full_disk_during_transcoding_keeps_the_raw_file_as_the_source(
    small_disk, tmp_path, noise, monkeypatch, caplog
):
    scratch_short_of_an_m4a(small_disk, tmp_path, noise, monkeypatch)
    caplog.set_level(logging.WARNING, logger="app.services.voice.voice")
    # The scratch disk is sized against the m4a; the mp3 (smaller since the PESQ-chosen
    # encodings) could fit, so the fallback is taken out: only the full disk is tested here.
    with running_app(
        tmp_path, upload_min_free_bytes=0, ffmpeg_mp3_encoder="no_such_encoder"
    ) as app:
        alice, conversation_id = chat_user(app)
        response = upload(alice, conversation_id, noise)
        assert response.status_code == 201, response.get_json()
        content = json.loads(response.get_json()["content"])
        assert content["url"] == content["url_raw"]
        assert content["url_m4a"] is None and content["url_mp3"] is None
        chat = tmp_path / "uploads" / "chat"
        assert files_in(chat) == {content["url_raw"].rsplit("/", 1)[-1]}
        assert audio.duration(chat / files_in(chat).pop()) == pytest.approx(NOISE_SECONDS, abs=1)
        assert alice.get(content["url"]).status_code == 200
    assert "m4a transcode failed" in caplog.text and "mp3 transcode failed" in caplog.text


@pytest.mark.parametrize(
    ("reserve", "left"),
    [(512 * KIB, 400 * KIB), (0, 64 * KIB)],
    ids=["below-the-reserve", "disk-fills-while-saving"],
)
def test_a_full_upload_disk_refuses_recordings_and_text_goes_on(
    small_disk, tmp_path, noise, reserve, left
):
    uploads = small_disk(1024)
    fill(uploads, left)
    with running_app(tmp_path, upload_dir=str(uploads), upload_min_free_bytes=reserve) as app:
        alice, conversation_id = chat_user(app)
        before = files_in(uploads / "chat")
        response = upload(alice, conversation_id, noise)
        assert response.status_code == 507
        assert "no room" in response.get_json()["error"]
        assert files_in(uploads / "chat") == before  # nothing written, no orphan
        assert free_bytes(uploads) >= left - PAGE
        assert alice.send(conversation_id, "text still works").status_code == 201
        assert [m["type"] for m in alice.messages(conversation_id).get_json()["messages"]] == [
            "text"
        ]
        health = alice.get("/healthz")
        if reserve:
            assert health.status_code == 503
            assert health.get_json()["uploads"].startswith("error:")


def test_a_failed_database_commit_leaves_no_orphan_file(tmp_path, speech_files):
    with running_app(tmp_path, database_busy_timeout_seconds=0.2) as app:
        alice, conversation_id = chat_user(app)
        # A writer holds the database: reads go on, the upload's commit cannot.
        writer = sqlite3.connect(tmp_path / "test.sqlite3", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            response = upload(alice, conversation_id, speech_files["ogg"])
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert response.status_code == 503
        assert "nothing was saved" in response.get_json()["error"]
        assert files_in(tmp_path / "uploads" / "chat") == set()
        assert upload(alice, conversation_id, speech_files["ogg"]).status_code == 201
