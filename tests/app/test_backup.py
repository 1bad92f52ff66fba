"""Backup archives: what `natter-admin backup create | verify | restore` writes and takes back.

One scenario on two real apps (migrated SQLite databases, voice files on disk): an archive
of the first restores into the second with every account, message and voice file; then
the archives an operator could hand in by mistake are refused with nothing changed.
"""

import gzip
import hashlib
import io
import json
import tarfile

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from app import MIGRATIONS_DIR, create_app
from app.commands.backup import backup_cli
from app.extensions import db
from app.models import ChatMessage, User
from app.services.operations import backup
from tests.conftest import CURRENT, ApiClient, make_settings

# SQLite's online snapshot and pg_dump's: the same scenario on each engine.
pytestmark = pytest.mark.both_databases
HEAD_REVISION = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()

VOICE = {
    "0123456789abcdef0123456789abcdef.m4a": b"m4a bytes" * 1000,
    "0123456789abcdef0123456789abcdef-raw.webm": b"raw",
}


def migrated_app(folder):
    database = CURRENT["databases"].url(folder, "natter.sqlite3", with_tables=False)
    app = create_app(
        make_settings(folder, database_url=database, upload_dir=str(folder / "uploads"))
    )
    app.config.update(TESTING=True)
    with app.app_context():
        upgrade()
    return app


def run(app, *args, stdin=b""):
    result = app.test_cli_runner().invoke(backup_cli, list(args), input=stdin)
    return result.exit_code, result.stdout_bytes, result.stderr


def config_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (("./secret_key", b"the old secret\n"), ("./natter.env", b"A=1\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def rewritten(archive: bytes, change) -> bytes:
    """The archive with change(name, data) -> data | None (None drops the member)."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as source,
        tarfile.open(fileobj=out, mode="w:gz") as target,
    ):
        for member in source:
            data = change(member.name, source.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
    return out.getvalue()


def state(app, folder) -> tuple:
    with app.app_context():
        users = sorted(u.username for u in db.session.execute(db.select(User)).scalars())
        texts = sorted(m.content for m in db.session.execute(db.select(ChatMessage)).scalars())
    chat = folder / "uploads" / "chat"
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in chat.glob("[!.]*")}
    return users, texts, files


def test_an_archive_restores_everything_and_bad_archives_change_nothing(tmp_path):
    old = migrated_app(tmp_path / "old")
    alice, bob = ApiClient(old.test_client()), ApiClient(old.test_client())
    assert alice.register("alice").status_code == 201 and bob.register("bob").status_code == 201
    conversation = alice.conversation_with("bob")
    for text in ("hello", "你好 🎙"):
        assert alice.send(conversation, text).status_code == 201
    for name, data in VOICE.items():
        (tmp_path / "old/uploads/chat" / name).write_bytes(data)
    (tmp_path / "old/uploads/chat/.scratch.incoming").write_bytes(b"not a voice file")

    code, archive, err = run(old, "create", "--config-tar", "-", stdin=config_tar())
    assert code == 0, err
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
        secret = tar.extractfile("config/secret_key").read()
    assert names[-1] == "manifest.json" and secret == b"the old secret\n"
    database_member = backup.engine_for(old.config["SETTINGS"].database_url)[1].member
    assert sorted(names) == sorted(
        [database_member, "manifest.json", "config/secret_key", "config/natter.env"]
        + [f"files/chat/{name}" for name in VOICE]
    )
    assert manifest["database"]["schema_revision"] == HEAD_REVISION
    assert (
        manifest["members"]["files/chat/" + next(iter(VOICE))]["sha256"]
        == hashlib.sha256(next(iter(VOICE.values()))).hexdigest()
    )
    code, out, _ = run(old, "verify", "-", stdin=archive)
    assert code == 0 and json.loads(out)["files"] == 2

    new = migrated_app(tmp_path / "new")
    assert ApiClient(new.test_client()).register("carol").status_code == 201
    before = state(new, tmp_path / "new")
    manifest_bytes = json.dumps(manifest).encode()
    refused = {
        "truncated": archive[: len(archive) // 2],
        "not a backup": gzip.compress(b"just some text"),
        "no manifest": rewritten(archive, lambda n, d: None if n == "manifest.json" else d),
        "altered voice file": rewritten(
            archive, lambda n, d: d[:-1] + b"!" if n.endswith(".m4a") else d
        ),
        "foreign manifest": rewritten(
            archive,
            lambda n, d: (
                manifest_bytes.replace(b"natter-backup", b"other") if n == "manifest.json" else d
            ),
        ),
    }
    for case, bad in refused.items():
        code, _, err = run(new, "restore", "-", stdin=bad)
        assert code == 1 and "refused, nothing changed" in err, case
        assert state(new, tmp_path / "new") == before, case

    code, out, err = run(new, "restore", "-", stdin=archive)
    assert code == 0, err
    with new.app_context():
        db.engine.dispose()  # the app restarts after a restore: no connection to the old file
    assert state(new, tmp_path / "new") == state(old, tmp_path / "old")
    assert json.loads(out)["schema_revision"] == HEAD_REVISION
    assert ApiClient(new.test_client()).login("alice").status_code == 200
    assert not list((tmp_path / "new/uploads").glob(".natter-restore-*"))
