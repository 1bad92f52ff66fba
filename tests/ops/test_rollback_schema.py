"""ansible/rollback.yml refuses, changing nothing, when the previous release does not know
the database's schema revision; after the advised downgrade the same check lets it pass.

Two real releases side by side (the app's code, the project's venv, real Alembic on a real
SQLite file); the newer one carries an extra "expand" migration. The playbook runs against
this machine with a local connection: refused at its check, then in check mode, so it
never switches or restarts anything here.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

EXPAND_MIGRATION = '''"""Adds a nullable column: an expand step."""
import sqlalchemy as sa
from alembic import op

revision = "9002"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("rollback_test_note", sa.String(40), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("rollback_test_note")
'''


def make_release(root: Path, name: str) -> Path:
    release = root / "releases" / name
    release.mkdir(parents=True)
    shutil.copytree(ROOT / "app", release / "app", ignore=shutil.ignore_patterns("__pycache__"))
    (release / "wsgi.py").symlink_to(ROOT / "wsgi.py")
    (release / ".venv").symlink_to(VENV_BIN.parent)
    return release


def flask_db(release: Path, env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(release / ".venv/bin/flask"), "--app", "wsgi", "db", *args],
        cwd=release, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


def rollback(root: Path, *options: str) -> subprocess.CompletedProcess:
    inventory = root / "inventory.json"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"app": {"hosts": {"localhost": host}}}))
    extra = {"chat_app_root": str(root), "chat_app_config_dir": str(root / "etc"),
             "chat_app_user": os.environ.get("USER", "root")}  # fmt: skip
    return subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-e", json.dumps(extra),
         *options, "ansible/rollback.yml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )  # fmt: skip


def test_rollback_refuses_a_schema_newer_than_the_previous_release(tmp_path):
    old, new = make_release(tmp_path, "old"), make_release(tmp_path, "new")
    os.utime(old, (1_000_000_000, 1_000_000_000))  # deployed long before "new"
    (tmp_path / "current").symlink_to(new)
    database = tmp_path / "natter.sqlite3"
    settings = {
        "APP_ENV": "production",
        # A value a shell would mangle: the playbook must not parse natter.env with one.
        "SECRET_KEY": "s3cret$HOME=x",
        "DATABASE_URL": f"sqlite:///{database}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/natter.env").write_text(
        "# written by the chat_app role\n" + "".join(f"{k}={v}\n" for k, v in settings.items())
    )
    env = {**os.environ, **settings}
    head = flask_db(old, env, "heads").split()[0]
    migration = new / "app/migrations/versions/9002_rollback_test_expand.py"
    migration.write_text(EXPAND_MIGRATION.format(head=head))
    flask_db(new, env, "upgrade")
    assert flask_db(new, env, "current").split()[0] == "9002"

    refused = rollback(tmp_path)
    assert refused.returncode != 0
    assert "Not rolled back; nothing was changed" in refused.stdout
    assert "schema revision 9002" in refused.stdout and f"db downgrade {head}" in refused.stdout
    assert (tmp_path / "current").readlink() == new
    assert flask_db(new, env, "current").split()[0] == "9002"

    # The advice works: after a downgrade with the live release the check lets the
    # rollback through. Dry run (--check), so nothing of this machine is restarted.
    flask_db(new, env, "downgrade", head)
    allowed = rollback(tmp_path, "--check")
    assert "Not rolled back" not in allowed.stdout
    switch = allowed.stdout.split("TASK [chat_app : Switch the live release back]")[1]
    assert (
        re.split(r"TASK \[|RUNNING HANDLER \[", switch)[0]
        .strip()
        .splitlines()[-1]
        .startswith("changed:")
    ), switch
    # The restart is the role's own handler, notified by the switch (skipped in check mode).
    assert "RUNNING HANDLER [chat_app : Restart the app]" in switch
