"""Exactly-once text sends: a repeat with the client's key answers the message it stored."""

import concurrent.futures
import queue
import uuid

import pytest

from app.extensions import db
from app.models import User
from app.services import events
from app.services.chat import client_keys
from tests.app.test_live_and_limits import HttpUser

SEND = "/api/chat/messages"


def send(api, conversation_id, content, client_id):
    return api.post(
        SEND, {"conversation_id": conversation_id, "content": content, "client_id": client_id}
    )


def message_events(subscription) -> list[dict]:
    """The new-message events waiting in an in-process subscription's inbox."""
    received = []
    while True:
        try:
            event = subscription.inbox.get_nowait()
        except queue.Empty:
            return [e["data"] for e in received if e and e["event"] == "message"]
        received.append(event)


@pytest.mark.both_databases
def test_a_repeat_answers_the_stored_message_without_a_second_one_or_event(app, api_for):
    alice, bob = api_for("alice"), api_for("bob")
    conversation_id = alice.conversation_with("bob")
    key = str(uuid.uuid4())
    with app.app_context():
        bob_id = db.session.execute(db.select(User.id).filter_by(username="bob")).scalar_one()
        subscription = events.hub().subscribe(bob_id, "0" * 64)

    first = send(alice, conversation_id, "hello", key)
    again = send(alice, conversation_id, "hello", key.upper())  # the same key, other case
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    listed = bob.messages(conversation_id).get_json()["messages"]
    assert [(m["id"], m["content"]) for m in listed] == [(first.get_json()["id"], "hello")]
    assert [e["id"] for e in message_events(subscription)] == [first.get_json()["id"]]


@pytest.mark.both_databases
def test_the_same_key_with_other_content_is_a_conflict(api_for):
    alice = api_for("alice")
    api_for("bob")
    conversation_id = alice.conversation_with("bob")
    other_conversation = alice.conversation_with()
    key = str(uuid.uuid4())
    assert send(alice, conversation_id, "hello", key).status_code == 201
    for answer in (
        send(alice, conversation_id, "hello!", key),
        send(alice, other_conversation, "hello", key),
    ):
        assert answer.status_code == 409
        assert answer.get_json()["code"] == "client_id_reused"
    assert len(alice.messages(conversation_id).get_json()["messages"]) == 1
    assert alice.messages(other_conversation).get_json()["messages"] == []


def test_keys_are_per_sender_and_optional(api_for):
    alice, bob = api_for("alice"), api_for("bob")
    conversation_id = alice.conversation_with("bob")
    key = str(uuid.uuid4())
    assert send(alice, conversation_id, "hi", key).status_code == 201
    assert send(bob, conversation_id, "hi", key).status_code == 201  # bob's own key
    assert send(alice, conversation_id, "hi", None).status_code == 201
    assert alice.send(conversation_id, "hi").status_code == 201  # no key: always a new one
    assert len(alice.messages(conversation_id).get_json()["messages"]) == 4


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", 42, ["x"], "a" * 37])
def test_a_malformed_key_is_a_400_and_stores_nothing(api_for, bad):
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    answer = send(alice, conversation_id, "hello", bad)
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "invalid_client_id"
    assert "UUID" in answer.get_json()["error"]
    assert alice.messages(conversation_id).get_json()["messages"] == []


def test_the_conflict_is_translated(api_for):
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    key = str(uuid.uuid4())
    send(alice, conversation_id, "hello", key)
    answer = alice.post(
        SEND,
        {"conversation_id": conversation_id, "content": "other", "client_id": key},
        headers={"Accept-Language": "zh-CN"},
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"] == "这个 client_id 已经用于另一条消息"


@pytest.mark.both_databases
def test_a_repeat_that_loses_the_race_to_the_index_answers_the_winner(app, api_for, monkeypatch):
    """The lookup misses (the other repeat commits just after it), the index refuses the
    insert: the answer is the message the other repeat stored, and no second one exists."""
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    key = str(uuid.uuid4())
    first = send(alice, conversation_id, "hello", key).get_json()
    real_stored = client_keys.stored
    lookups = []

    def missing_once(*args):
        lookups.append(args)
        return None if len(lookups) == 1 else real_stored(*args)

    monkeypatch.setattr(client_keys, "stored", missing_once)
    again = send(alice, conversation_id, "hello", key)
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    assert len(lookups) == 2  # the second lookup came after the refused insert
    assert len(alice.messages(conversation_id).get_json()["messages"]) == 1


def test_concurrent_repeats_on_two_workers_store_each_message_once(gunicorn_factory):
    """Four copies of each send at once, on two Gunicorn workers and PostgreSQL."""
    base = gunicorn_factory({"RATELIMIT_POST": "10000 per minute"}, workers=2)
    alice = HttpUser(base, "alice")
    HttpUser(base, "bob")
    conversation_id = alice.post("/api/chat/conversations", participants=["bob"]).json()["id"]
    keys = [str(uuid.uuid4()) for _ in range(10)]

    def post(key):
        answer = alice.post(SEND, conversation_id=conversation_id, content=key, client_id=key)
        return key, answer.status_code, answer.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, [key for key in keys for _ in range(4)]))
    for key in keys:
        mine = [(status, message_id) for k, status, message_id in answers if k == key]
        assert sorted(status for status, _ in mine) == [200, 200, 200, 201]
        assert len({message_id for _, message_id in mine}) == 1
    listed = alice.http.get(
        f"{base}{SEND}?conversation_id={conversation_id}&limit=100", timeout=30
    ).json()["messages"]
    assert sorted(m["content"] for m in listed) == sorted(keys)
