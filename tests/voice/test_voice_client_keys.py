"""Exactly-once voice sends: a repeated upload with its client key stores no second file."""

import uuid

import pytest

from app.services.chat import client_keys
from tests.voice.test_upload import upload, user


@pytest.fixture
def chat(tmp_path, voice_app):
    app = voice_app(tmp_path)
    alice, bob = user(app, "alice"), user(app, "bob")
    return alice, bob, alice.conversation_with("bob")


@pytest.mark.both_databases
def test_a_repeated_upload_answers_the_stored_message_and_keeps_one_file_set(
    chat, speech_files, tmp_path, files_in
):
    alice, bob, conversation_id = chat
    key = str(uuid.uuid4())
    first = upload(alice, conversation_id, speech_files["webm"], client_id=key)
    assert first.status_code == 201, first.get_json()
    kept = files_in(tmp_path)
    again = upload(alice, conversation_id, speech_files["webm"], client_id=key)
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["url_m4a"] == first.get_json()["url_m4a"]
    assert files_in(tmp_path) == kept and len(kept) == 2  # raw + m4a, once
    assert len(bob.messages(conversation_id).get_json()["messages"]) == 1


def test_the_same_key_with_another_recording_is_a_conflict_and_writes_nothing(
    chat, speech_files, tmp_path, files_in
):
    alice, _, conversation_id = chat
    key = str(uuid.uuid4())
    assert upload(alice, conversation_id, speech_files["webm"], client_id=key).status_code == 201
    kept = files_in(tmp_path)
    other = upload(alice, conversation_id, speech_files["ogg"], client_id=key)
    assert other.status_code == 409 and other.get_json()["code"] == "client_id_reused"
    assert files_in(tmp_path) == kept


def test_a_malformed_key_is_a_400_before_any_file_is_written(chat, speech_files, tmp_path):
    alice, _, conversation_id = chat
    answer = upload(alice, conversation_id, speech_files["webm"], client_id="nope")
    assert answer.status_code == 400 and answer.get_json()["code"] == "invalid_client_id"
    assert not (tmp_path / "uploads" / "chat").exists() or not any(
        (tmp_path / "uploads" / "chat").iterdir()
    )


@pytest.mark.both_databases
def test_a_repeat_losing_the_race_removes_its_file_and_answers_the_winner(
    chat, speech_files, tmp_path, files_in, monkeypatch
):
    """Its lookup misses (the other repeat commits just after), so it writes its file; the
    key's index refuses its commit: the file goes, the answer is the stored message."""
    alice, _, conversation_id = chat
    key = str(uuid.uuid4())
    first = upload(alice, conversation_id, speech_files["webm"], client_id=key).get_json()
    kept = files_in(tmp_path)
    real_stored = client_keys.stored
    lookups = []

    def missing_once(*args):
        lookups.append(args)
        return None if len(lookups) == 1 else real_stored(*args)

    monkeypatch.setattr(client_keys, "stored", missing_once)
    again = upload(alice, conversation_id, speech_files["webm"], client_id=key)
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    assert len(lookups) == 2
    assert files_in(tmp_path) == kept
    assert len(alice.messages(conversation_id).get_json()["messages"]) == 1
