"""Names people use: usernames of any script, case-insensitive; display names; migrations."""

import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import models  # noqa: F401 - the tables compared below
from app.extensions import db
from tests.conftest import ROOT, app_environment, migrate_database


def test_chinese_username_registers_and_logs_in(api_for):
    api = api_for()
    response = api.register("小明")
    assert response.status_code == 201
    assert {**response.get_json(), "csrf_token": None} == {
        "id": 1, "username": "小明", "display_name": "小明", "locale": None, "is_admin": False,
        "voice_speed": 1,
        "csrf_token": None,
    }  # fmt: skip
    phone = api_for()
    assert phone.login("小明").status_code == 200


@pytest.mark.both_databases
def test_username_is_case_insensitive_and_stored_as_typed(api_for):
    assert api_for().register("Alice").status_code == 201
    for typed in ("alice", "ALICE", " Alice ", "ａｌｉｃｅ"):  # the last one full-width
        login = api_for().login(typed)
        assert login.status_code == 200, typed
        assert login.get_json()["username"] == "Alice"
    taken = api_for().register("aLiCe")
    assert taken.status_code == 409 and taken.get_json()["code"] == "username_taken"


@pytest.mark.parametrize(
    "name",
    ["ab", "a", "小", "bad name!", "x\u202eevil", "\u0301abc", "tab\tname", "a" * 33,
     "汉" * 17, "emoji😀", "semi;colon", 7, None, ["alice"]],
)  # fmt: skip
def test_bad_usernames_are_refused_and_nothing_is_created(api_for, app, name):
    api = api_for()
    response = api.post("/api/auth/register", {"username": name, "password": "long enough pw"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "username_invalid"
    from app.extensions import db
    from app.models import User

    with app.app_context():
        assert db.session.execute(db.select(db.func.count(User.id))).scalar() == 0


@pytest.mark.parametrize("name", ["김민준", "Zoë", "o_brien", "ab.c-d", "小明1"])
def test_usernames_of_any_script(api_for, name):
    assert api_for().register(name).status_code == 201


def test_display_name_at_registration_and_change(api_for):
    api = api_for()
    created = api.post(
        "/api/auth/register",
        {"username": "bob", "password": "long enough pw", "display_name": "  Bob 🎉 "},
    )
    assert created.status_code == 201 and created.get_json()["display_name"] == "Bob 🎉"
    changed = api.client.patch(
        "/api/me", json={"display_name": "Zoe\u0308 👩‍👩‍👧"}, headers={"X-CSRFToken": api.csrf()}
    )
    assert changed.status_code == 200
    assert changed.get_json()["display_name"] == "Zoë 👩‍👩‍👧"  # NFC: one ë
    assert api.get("/api/me").get_json()["display_name"] == "Zoë 👩‍👩‍👧"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"display_name": "evil\u202egnp.exe"}, "direction"),
     ({"display_name": "a\u2066b"}, "direction"),
     ({"display_name": "bell\x07"}, "control"),
     ({"display_name": "zero\u200bwidth"}, "control"),
     ({"display_name": "   "}, "empty"),
     ({"display_name": "x" * 41}, "40"),
     ({"display_name": 12}, "text"),
     ({"display_name": None}, "text"),
     ({"nickname": "x"}, "display_name"),
     ({}, "display_name"),
     ({"display_name": "fine", "locale": "xx"}, "locale")],
)  # fmt: skip
def test_bad_display_names_are_refused_and_nothing_changes(api_for, body, fragment):
    api = api_for("carol")
    response = api.client.patch("/api/me", json=body, headers={"X-CSRFToken": api.csrf()})
    assert response.status_code == 400
    # invalid_text: the request's JSON check refuses control characters in any string first.
    codes = {"display_name_invalid", "profile_invalid", "locale_invalid", "invalid_text"}
    assert response.get_json()["code"] in codes
    assert fragment in response.get_json()["error"]
    assert api.get("/api/me").get_json()["display_name"] == "carol"


def test_display_name_refusal_in_chinese(api_for):
    api = api_for("dave")
    response = api.client.patch(
        "/api/me",
        json={"display_name": "x\u202ey"},
        headers={"X-CSRFToken": api.csrf(), "Accept-Language": "zh-CN"},
    )
    assert response.get_json() == {
        "error": "显示名称不能包含文字方向控制字符", "code": "display_name_invalid",
    }  # fmt: skip


def test_profile_change_needs_login_and_json(api_for):
    visitor = api_for()
    anonymous = visitor.client.patch(
        "/api/me", json={"display_name": "x"}, headers={"X-CSRFToken": visitor.csrf()}
    )
    assert anonymous.status_code == 401 and anonymous.get_json()["code"] == "login_required"
    api = api_for("erin")
    plain = api.client.patch(
        "/api/me", data="x", content_type="text/plain", headers={"X-CSRFToken": api.csrf()}
    )
    assert plain.status_code == 415


def test_participants_match_case_insensitively_and_messages_show_display_names(api_for):
    alice = api_for()
    alice.post(
        "/api/auth/register",
        {"username": "Alice", "password": "long enough pw", "display_name": "爱丽丝"},
    )
    bob = api_for("bob")
    created = bob.post("/api/chat/conversations", {"participants": ["ALICE"]})
    assert created.status_code == 201
    members = created.get_json()["members"]
    assert {m["display_name"] for m in members} == {"爱丽丝", "bob"}
    conversation_id = created.get_json()["id"]
    assert alice.send(conversation_id, "你好").status_code == 201
    message = bob.messages(conversation_id).get_json()["messages"][0]
    assert message["sender"] == "Alice" and message["sender_display_name"] == "爱丽丝"


def test_one_to_one_conversation_is_not_duplicated(api_for):
    alice, bob, carol = api_for("alice"), api_for("bob"), api_for("carol")
    first = alice.post("/api/chat/conversations", {"participants": ["bob"]})
    assert first.status_code == 201
    again = alice.post("/api/chat/conversations", {"participants": ["Bob", "alice"]})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    from_bob = bob.post("/api/chat/conversations", {"participants": ["ALICE"]})
    assert from_bob.status_code == 200 and from_bob.get_json()["id"] == first.get_json()["id"]
    group = alice.post("/api/chat/conversations", {"participants": ["bob", "carol"]})
    assert group.status_code == 201 and group.get_json()["id"] != first.get_json()["id"]
    titled = alice.post("/api/chat/conversations", {"participants": ["bob"], "title": "Work"})
    assert titled.status_code == 201
    assert carol.post("/api/chat/conversations", {"participants": ["bob"]}).status_code == 201
    listed = alice.get("/api/chat/conversations").get_json()["conversations"]
    assert len(listed) == 3


def flask_db(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.sqlite
def test_migration_fills_the_folded_usernames(tmp_path):
    env = app_environment(tmp_path)
    assert flask_db(env, "upgrade", "0001").returncode == 0
    database = tmp_path / "shared.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?, 'x', '2026-01-01')",
            [("Alice",), ("bob",)],
        )
    migrate_database(env)
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT username, username_key, display_name, locale FROM users ORDER BY id"
        ).fetchall()
        assert rows == [("Alice", "alice", "Alice", None), ("bob", "bob", "bob", None)]
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(
                "INSERT INTO users (username, username_key, password_hash, created_at)"
                " VALUES ('ALICE', 'alice', 'x', '2026-01-01')"
            )


@pytest.mark.sqlite
def test_migration_refuses_names_that_differ_only_in_case(tmp_path):
    env = app_environment(tmp_path)
    assert flask_db(env, "upgrade", "0001").returncode == 0
    with sqlite3.connect(tmp_path / "shared.sqlite3") as connection:
        connection.executemany(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?, 'x', '2026-01-01')",
            [("Alice",), ("alice",)],
        )
    result = flask_db(env, "upgrade")
    assert result.returncode != 0
    assert "usernames that differ only in case must be renamed" in result.stderr
    assert "Alice, alice" in result.stderr


def test_migrations_build_the_models_schema_on_postgresql(tmp_path):
    """On a fresh PostgreSQL database the migrations make what the models describe, with
    the folded names in code point order (people search reads them as index ranges)."""
    env = app_environment(tmp_path)
    assert env["DATABASE_URL"].startswith("postgresql")
    migrate_database(env)
    engine = sqlalchemy.create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            collations = dict(
                connection.execute(
                    sqlalchemy.text(
                        "SELECT column_name, collation_name FROM information_schema.columns"
                        " WHERE table_name = 'users' AND column_name LIKE '%key'"
                    )
                ).all()
            )
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    finally:
        engine.dispose()
    assert collations == {"username_key": "C", "display_name_key": "C"}
    assert differences == []
