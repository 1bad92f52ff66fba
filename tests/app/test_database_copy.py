"""`natter-admin db copy-from-sqlite`: an existing SQLite install moved into a real
PostgreSQL server with every row kept, ids continuing after the copied ones."""

import subprocess
import sys

import sqlalchemy

from app import create_app, models
from app.extensions import db
from tests.conftest import ROOT, ApiClient, app_environment, make_settings, migrate_database


def copy(env, path):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "copy-from-sqlite", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def rows(url: str) -> dict[str, list]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(table.select().order_by(*table.primary_key))
                ]
                for table in db.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_a_sqlite_install_moves_into_postgresql_with_every_row(tmp_path):
    old = tmp_path / "old"
    sqlite_url = f"sqlite:///{old / 'natter.sqlite3'}"
    migrate_database(app_environment(old, DATABASE_URL=sqlite_url))
    app = create_app(make_settings(old, database_url=sqlite_url))
    app.config.update(TESTING=True)
    alice, bob = ApiClient(app.test_client()), ApiClient(app.test_client())
    assert alice.register("Alice").status_code == 201
    assert bob.register("小明").status_code == 201
    conversation = alice.conversation_with("小明")
    for text in ("hello", "你好 👋"):
        assert alice.send(conversation, text).status_code == 201
    assert bob.login("Alice", "wrong password").status_code == 401  # a login throttle row
    with app.app_context():
        db.session.add(models.SiteSetting(key="registration_mode", value="open"))
        db.session.commit()
        db.engine.dispose()

    env = app_environment(tmp_path)  # an empty PostgreSQL database
    migrate_database(env)
    result = copy(env, old / "natter.sqlite3")
    assert result.returncode == 0, result.stderr
    assert "chat_messages\t2" in result.stdout and "users\t2" in result.stdout
    before, after = rows(sqlite_url), rows(env["DATABASE_URL"])
    assert after == before
    assert before["users"] and before["user_sessions"] and before["login_throttles"]

    # The app goes on on PostgreSQL: same logins, new ids after the copied ones.
    moved = create_app(make_settings(tmp_path, database_url=env["DATABASE_URL"]))
    moved.config.update(TESTING=True)
    carol = ApiClient(moved.test_client())
    assert carol.register("carol").status_code == 201
    assert carol.login("carol").status_code == 200
    again = ApiClient(moved.test_client())
    assert again.login("Alice").status_code == 200
    sent = again.send(conversation, "still here").get_json()
    assert sent["id"] == max(row[0] for row in before["chat_messages"]) + 1
    with moved.app_context():
        db.engine.dispose()

    refused = copy(env, old / "natter.sqlite3")
    assert refused.returncode != 0
    assert "the target database already has rows in" in refused.stderr
    assert rows(env["DATABASE_URL"])["users"][:2] == before["users"]
