"""Unread counts that hold across devices, the activity-sorted list, keyset history paging."""

import sqlite3

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import ChatMessage, Conversation, User
from app.services.chat import messages
from tests.app.test_names import flask_db
from tests.conftest import app_environment


def conversation_list(api) -> list[dict]:
    response = api.get("/api/chat/conversations")
    assert response.status_code == 200
    return response.get_json()["conversations"]


def unread_by_id(api) -> dict[int, int]:
    return {item["id"]: item["unread"] for item in conversation_list(api)}


def mark_read(api, conversation_id, message_id):
    return api.post(
        "/api/chat/read", {"conversation_id": conversation_id, "message_id": message_id}
    )


def test_unread_counts_are_the_same_on_two_devices_and_the_list_follows_activity(api_for):
    alice, phone = api_for("alice"), api_for("bob")
    laptop = api_for()
    assert laptop.login("bob").status_code == 200
    first = alice.conversation_with("bob")
    sent = [alice.send(first, f"hello {n}").get_json()["id"] for n in range(3)]
    titled = alice.post("/api/chat/conversations", {"participants": ["bob"], "title": "Plans"})
    second = titled.get_json()["id"]

    # The titled conversation is newer activity; nobody wrote there yet.
    for device in (phone, laptop):
        items = conversation_list(device)
        assert [item["id"] for item in items] == [second, first]
        assert items[1]["unread"] == 3
        assert items[1]["last_message"]["content"] == "hello 2"
        assert items[1]["last_message"]["sender_display_name"] == "alice"
        assert items[0]["unread"] == 0 and items[0]["last_message"] is None
    assert unread_by_id(alice) == {first: 0, second: 0}  # your own messages are read

    # Read on the phone: the laptop agrees.
    answer = mark_read(phone, first, sent[1])
    assert answer.status_code == 200
    assert answer.get_json() == {
        "conversation_id": first,
        "last_read_message_id": sent[1],
        "unread": 1,
    }
    assert unread_by_id(laptop)[first] == 1
    # An older page (the laptop scrolled back) never moves the position back.
    assert mark_read(laptop, first, sent[0]).get_json()["last_read_message_id"] == sent[1]
    assert unread_by_id(phone)[first] == 1

    # A reply moves the conversation to the top and is unread for alice only.
    reply = phone.send(first, "line one\nline two").get_json()["id"]
    assert [item["id"] for item in conversation_list(alice)] == [first, second]
    assert unread_by_id(alice) == {first: 1, second: 0}
    assert conversation_list(alice)[0]["last_message"]["content"] == "line one\nline two"
    assert unread_by_id(laptop)[first] == 1  # bob's own reply adds nothing
    mark_read(laptop, first, reply)
    assert unread_by_id(phone) == {first: 0, second: 0}


BAD_READS = [
    ({"message_id": "$first"}, 400, "invalid_input"),  # conversation_id missing
    ({"conversation_id": "$mine"}, 400, "invalid_input"),  # message_id missing
    ({"conversation_id": "$mine", "message_id": "seven"}, 400, "invalid_input"),
    ({"conversation_id": "$mine", "message_id": True}, 400, "invalid_input"),
    ({"conversation_id": "$mine", "message_id": 1.5}, 400, "invalid_input"),
    ({"conversation_id": "$mine", "message_id": 10**30}, 400, "invalid_input"),
    ({"conversation_id": "$mine", "message_id": "$other_message"}, 400, "message_not_found"),
    ({"conversation_id": "$mine", "message_id": 999999}, 400, "message_not_found"),
    ({"conversation_id": "$others", "message_id": "$other_message"}, 404, "conversation_not_found"),
    ([1, 2], 400, "invalid_input"),
]


def test_marking_read_with_bad_input_is_a_clear_error_and_changes_nothing(api_for):
    alice, bob, carol = api_for("alice"), api_for("bob"), api_for("carol")
    mine = alice.conversation_with("bob")
    first = alice.send(mine, "unread").get_json()["id"]
    others = carol.conversation_with()
    other_message = carol.send(others, "not yours").get_json()["id"]
    values = {"$mine": mine, "$first": first, "$others": others, "$other_message": other_message}
    for body, status, code in BAD_READS:
        if isinstance(body, dict):
            body = {key: values.get(value, value) for key, value in body.items()}
        response = bob.post("/api/chat/read", body)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["code"] == code, body
        assert response.get_json()["error"]
    response = bob.post("/api/chat/read", data="conversation_id=1", content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"
    assert unread_by_id(bob) == {mine: 1}
    assert unread_by_id(carol) == {others: 0}


def seed(app, conversation_id: int, sender: str, count: int) -> list[int]:
    """Messages written through the service layer (the API's rate limit is per minute)."""
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username=sender)).scalar_one()
        conversation = db.session.get(Conversation, conversation_id)
        return [messages.post_text(conversation, user, f"m{n}")[0].id for n in range(count)]


def test_paging_back_through_200_messages_has_no_duplicates_or_gaps(app, api_for):
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    elsewhere = alice.post("/api/chat/conversations", {"participants": [], "title": "x"})
    sent = seed(app, conversation_id, "alice", 200)
    seed(app, elsewhere.get_json()["id"], "alice", 5)  # interleaved ids of another conversation

    pages = [alice.messages(conversation_id, limit=30).get_json()["messages"]]
    while pages[-1]:
        before = pages[-1][0]["id"]
        pages.append(
            alice.messages(conversation_id, before_id=before, limit=30).get_json()["messages"]
        )
    seen = [message["id"] for page in reversed(pages) for message in page]
    assert seen == sent
    assert [len(page) for page in pages] == [30] * 6 + [20, 0]
    assert pages[0][-1]["content"] == "m199" and pages[-2][0]["content"] == "m0"
    for query in [
        "before_id=abc",
        "before_id=1.5",
        "before_id=1&after_id=1",
        "before_id=5&limit=0",
    ]:
        response = alice.get(f"/api/chat/messages?conversation_id={conversation_id}&{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]
    # The largest id the columns hold is a cursor like any other; beyond it, a clear 400.
    largest = 2**31 - 1
    latest = alice.messages(conversation_id, before_id=largest, limit=30).get_json()["messages"]
    assert latest == pages[0]
    assert alice.messages(conversation_id, after_id=largest).get_json()["messages"] == []
    beyond = alice.messages(conversation_id, before_id=largest + 1)
    assert beyond.status_code == 400 and "out of range" in beyond.get_json()["error"]


@pytest.mark.sqlite  # reads SQLite's query plans
def test_the_list_and_history_pages_use_indexes(app, api_for):
    alice = api_for("alice")
    api_for("bob")
    conversation_id = alice.conversation_with("bob")
    seed(app, conversation_id, "alice", 20)
    last = seed(app, conversation_id, "bob", 1)[0]
    statements = []
    with app.app_context():
        engine = db.engine

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        try:
            assert unread_by_id(alice)[conversation_id] == 1
            alice.messages(conversation_id, before_id=last, limit=10)
            mark_read(alice, conversation_id, last)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        plans = []
        with engine.connect() as connection:
            for statement, parameters in statements:
                if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
                    rows = connection.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, parameters
                    ).all()
                    plans.append((statement, [row[-1] for row in rows]))
    touched = [plan for plan in plans if "chat_messages" in plan[0]]
    assert touched
    for statement, steps in plans:
        # "SCAN t" is a full table scan; an index use reads "SEARCH t USING ... INDEX".
        full_scans = [s for s in steps if s.startswith("SCAN") and "USING" not in s]
        assert full_scans in ([], ["SCAN CONSTANT ROW"]), (
            statement,
            steps,
        )
    assert any(
        "ix_chat_messages_conversation_id_id" in step for _, steps in touched for step in steps
    )
    with app.app_context():
        assert db.session.get(ChatMessage, last) is not None


@pytest.mark.sqlite  # builds the earlier schema with sqlite3
def test_the_migration_counts_earlier_messages_as_read(tmp_path):
    env = app_environment(tmp_path)
    assert flask_db(env, "upgrade", "0004_admin_and_invites").returncode == 0
    database = tmp_path / "shared.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO users (id, username, username_key, password_hash, created_at)"
            " VALUES (1, 'alice', 'alice', 'x', '2026-01-01'), (2, 'bob', 'bob', 'x', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO conversations (id, created_by_id, created_at)"
            " VALUES (1, 1, '2026-01-01'), (2, 1, '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO conversation_participants (conversation_id, user_id)"
            " VALUES (1, 1), (1, 2), (2, 1)"
        )
        connection.executemany(
            "INSERT INTO chat_messages (id, conversation_id, sender_id, type, content, created_at)"
            " VALUES (?, 1, 1, 'text', 'old', '2026-01-01')",
            [(5,), (9,)],
        )
    assert flask_db(env, "upgrade", "0006_unread").returncode == 0
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT conversation_id, user_id, last_read_message_id"
            " FROM conversation_participants ORDER BY 1, 2"
        ).fetchall()
    assert rows == [(1, 1, 9), (1, 2, 9), (2, 1, 0)]
