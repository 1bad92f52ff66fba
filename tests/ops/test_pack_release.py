"""The release a host gets is the app alone: the rest of the checkout does not change it."""

import json
import subprocess
import sys
import tarfile

from tests.conftest import ROOT

PACK = ROOT / "roles/chat_app/files/pack-release.py"


def pack(checkout) -> dict:
    # No Python named: the tarball alone, no wheels to fetch.
    done = subprocess.run(
        [sys.executable, str(PACK), str(checkout)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_docs_and_tests_do_not_change_the_release_but_the_app_does(tmp_path):
    checkout = tmp_path / "checkout"
    for name, text in {
        "app/__init__.py": "print('v1')\n",
        "wsgi.py": "from app import app\n",
        "requirements/py3.11.lock": "flask==3.1.0\n",
        "docs/screenshots/chat.png": "first picture",
        "tests/test_x.py": "def test(): pass\n",
        ".gitignore": "build/\n",
    }.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "add", "."], check=True)

    first = pack(checkout)
    with tarfile.open(first["tarball"]) as tar:
        assert sorted(tar.getnames()) == ["app/__init__.py", "requirements/py3.11.lock", "wsgi.py"]

    (checkout / "docs/screenshots/chat.png").write_text("a test run drew it again")
    (checkout / "tests/test_new.py").write_text("def test(): pass\n")
    assert pack(checkout)["id"] == first["id"]

    (checkout / "app/marker.txt").write_text("new, not yet committed\n")
    changed = pack(checkout)
    assert changed["id"] != first["id"]
    with tarfile.open(changed["tarball"]) as tar:
        assert "app/marker.txt" in tar.getnames()
