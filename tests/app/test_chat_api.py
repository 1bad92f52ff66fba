import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import User
from app.services.chat import history
from app.version import VERSION


@pytest.mark.both_databases
def test_text_round_trip_between_two_users(api_for):
    alice, bob = api_for("alice"), api_for("bob")
    conversation_id = alice.conversation_with("bob")
    sent = alice.send(conversation_id, "hello bob")
    assert sent.status_code == 201
    assert sent.get_json()["type"] == "text"

    listing = bob.get("/api/chat/conversations").get_json()["conversations"]
    assert [c["id"] for c in listing] == [conversation_id]
    assert listing[0]["participants"] == ["alice", "bob"]

    messages = bob.messages(conversation_id).get_json()["messages"]
    assert [(m["sender"], m["content"]) for m in messages] == [("alice", "hello bob")]
    assert messages[0]["sender_display_name"] == "alice"  # no display name: the username
    assert set(messages[0]) == {
        "id", "conversation_id", "sender", "sender_id", "sender_display_name", "type", "content",
        "created_at", "edited_at", "recalled_at", "client_id",
    }  # fmt: skip


def test_non_participant_gets_404(api_for):
    alice = api_for("alice")
    api_for("bob")
    mallory = api_for("mallory")
    conversation_id = alice.conversation_with("bob")
    assert mallory.messages(conversation_id).status_code == 404
    assert mallory.send(conversation_id, "hi").status_code == 404
    # Same answer as for a conversation that does not exist.
    assert mallory.messages(999).get_json() == mallory.messages(conversation_id).get_json()


def test_after_id_returns_only_newer_messages_oldest_first(api_for):
    alice = api_for("alice")
    api_for("bob")
    conversation_id = alice.conversation_with("bob")
    ids = [alice.send(conversation_id, f"m{i}").get_json()["id"] for i in range(5)]
    newer = alice.messages(conversation_id, after_id=ids[1]).get_json()["messages"]
    assert [m["id"] for m in newer] == ids[2:]
    assert alice.messages(conversation_id, after_id=ids[-1]).get_json()["messages"] == []
    latest_two = alice.messages(conversation_id, limit=2).get_json()["messages"]
    assert [m["content"] for m in latest_two] == ["m3", "m4"]


def test_a_resumed_streams_backlog_replays_from_a_resync_floor_then_the_new(api_for, app):
    alice = api_for("alice")
    api_for("bob")
    conversation_id = alice.conversation_with("bob")
    ids = [alice.send(conversation_id, f"m{i}").get_json()["id"] for i in range(5)]
    with app.app_context():
        bob_id = db.session.execute(db.select(User.id).filter_by(username="bob")).scalar_one()
        plain = history.missed_by(bob_id, ids[2])
        replayed = history.missed_by(bob_id, ids[3], replay_from=ids[0])
    assert [m["id"] for m in plain] == ids[3:]
    assert [m["id"] for m in replayed] == ids[1:]


def test_unknown_participant_is_rejected(api_for):
    response = api_for("alice").post("/api/chat/conversations", {"participants": ["ghost"]})
    assert response.status_code == 400
    assert "ghost" in response.get_json()["error"]


def test_bad_query_values_are_400(api_for):
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    assert alice.get("/api/chat/messages").status_code == 400
    assert alice.messages("abc").status_code == 400
    assert alice.messages(conversation_id, limit=0).status_code == 400
    assert alice.send(conversation_id, "   ").status_code == 400


def test_chat_api_needs_login(client):
    assert client.get("/api/chat/conversations").status_code == 401


@pytest.mark.both_databases
def test_empty_poll_is_one_indexed_query_per_table(app, api_for):
    alice = api_for("alice")
    conversation_id = alice.conversation_with()
    last = alice.send(conversation_id, "latest").get_json()["id"]
    # As a polling page asks: new messages, and changes since it loaded the conversation.
    cursor = alice.messages(conversation_id).get_json()["last_change_id"]

    statements = []
    with app.app_context():
        engine = db.engine

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        # Warm the session's user lookup so only the poll's own work is counted.
        alice.messages(conversation_id, after_id=last, changes_after=cursor)
        event.listen(engine, "before_cursor_execute", record)
        try:
            response = alice.messages(conversation_id, after_id=last, changes_after=cursor)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.get_json() == {"messages": [], "changes": [], "last_change_id": cursor}
        for table in ("chat_messages", "message_changes"):
            poll_queries = [(s, p) for s, p in statements if table in s]
            assert len(poll_queries) == 1, (table, poll_queries)
            statement, parameters = poll_queries[0]
            with engine.connect() as connection:
                if engine.dialect.name == "sqlite":
                    plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                else:
                    # A table of one row is read whole; forbid that to see the index it would use.
                    connection.exec_driver_sql("SET enable_seqscan = off")
                    plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
                details = [row[-1] for row in plan]
            assert any(f"ix_{table}_conversation_id_id" in line for line in details), details
    assert len(response.data) < 80


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "version": VERSION,
        "database": "ok",
        "redis": "disabled",
        "uploads": "ok",
        "storage": "local: ok",
    }


def test_pages(api_for, client):
    assert client.get("/chat").status_code == 302
    assert "/login" in client.get("/").headers["Location"]
    alice = api_for("alice")
    page = alice.get("/chat")
    assert page.status_code == 200
    assert b"voice-recorder" in page.data and b"chat-page.js" in page.data
    assert b'data-max-seconds="120"' in page.data  # VOICE_MAX_SECONDS, for the recorder
