"""Backup and restore figures: a provisioned stack host seeded with 1,000 messages (100 of
them voice messages with their three files), then ansible/backup.yml and ansible/restore.yml
timed (a figure for the README, not part of `make test`).

    python -m tests.benchmarks.backup_restore INVENTORY [MESSAGES VOICE]

INVENTORY is the inventory of a host site.yml has provisioned (the full-stack test's
inventory shape; the test's own container, kept, or `make up`'s). The seed adds to what is
there. The restore goes onto the same, running host: after site.yml, a fresh host does the
same work.
"""

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.stack.conftest import ENV

SEED_ON_HOST = "/tmp/natter-backup-seed.py"
RUN_AS_APP = (
    "while IFS= read -r line || [ -n \"$line\" ]; do case \"$line\" in ''|'#'*) ;;"
    ' *=*) export "$line" ;; esac; done < /etc/natter/natter.env;'
    " cd /srv/natter/current &&"
    " runuser -u natter -- env PYTHONPATH=. .venv/bin/python {script} {args}"
)

TIMED_BACKUP = (
    "python3 -c 'import subprocess, time; t = time.monotonic();"
    ' subprocess.run(["natter-backup"], check=True, capture_output=True);'
    " print(round(time.monotonic() - t, 1))'"
)


def playbook(inventory: str, path: str, *extra: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        ["ansible-playbook", "-i", inventory, *extra, path],
        cwd=ROOT, env=ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"{path} failed:\n{result.stdout[-4000:]}")
    return time.monotonic() - started, result.stdout


def main(inventory: str, messages: int = 1000, voice: int = 100) -> dict:
    hosts = json.loads(Path(inventory).read_text())["all"]["children"]["app"]["hosts"]
    host = next(iter(hosts))
    podman = ["podman", "exec", host, "bash", "-c"]
    subprocess.run(
        ["podman", "cp", str(ROOT / "tests/benchmarks/backup_seed.py"), f"{host}:{SEED_ON_HOST}"],
        env=ENV, check=True,
    )  # fmt: skip
    started = time.monotonic()
    seed = RUN_AS_APP.format(script=SEED_ON_HOST, args=f"{messages} {voice}")
    subprocess.run([*podman, seed], env=ENV, check=True)
    seeded = time.monotonic() - started
    with tempfile.TemporaryDirectory() as folder:
        backup_s, output = playbook(inventory, "ansible/backup.yml", "-e", f"backup_dir={folder}")
        archive = Path(re.search(r"backup_archive=(\S+\.tar\.gz)", output).group(1))
        on_host = subprocess.run([*podman, TIMED_BACKUP], env=ENV, check=True,
                                 capture_output=True, text=True).stdout  # fmt: skip
        restore_s, _ = playbook(inventory, "ansible/restore.yml", "-e", f"archive={archive}")
        figures = {
            "messages": messages,
            "voice messages": voice,
            "seed seconds": round(seeded, 1),
            "archive bytes": archive.stat().st_size,
            "backup.yml seconds": round(backup_s, 1),
            "natter-backup on the host seconds": float(on_host),
            "restore.yml seconds": round(restore_s, 1),
        }
    print(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
