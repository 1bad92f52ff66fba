"""The wheel locks pin every file by hash: a wheel that differs from the locked one is refused.

A one-pin lock cut from the real one goes through pack-release's download (on the
controller) and the install the chat_app role runs on a host (no index, hashes required).
"""

import importlib.util
import re
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT

LOCKS = sorted((ROOT / "requirements").glob("py*.lock"))
PIN = re.compile(r"^[A-Za-z0-9._-]+==[^\s\\]+\s+--hash=sha256:[0-9a-f]{64}$")
# Small, pure Python, in every lock.
PROBE = "blinker"


def requirements(lock) -> list[str]:
    """The lock's requirements, each with its continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", lock.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_pack_release():
    spec = importlib.util.spec_from_file_location(
        "pack_release", ROOT / "roles/chat_app/files/pack-release.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def host_install(wheels, lock, target) -> subprocess.CompletedProcess:
    """What roles/chat_app/tasks/release.yml runs on the host."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--require-hashes",
         "--find-links", str(wheels), "-r", str(lock), "--target", str(target)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.name)
def test_every_pin_carries_the_hash_of_its_wheel(lock):
    pins = requirements(lock)
    assert pins and [pin for pin in pins if not PIN.match(pin)] == []


def test_a_wheel_that_differs_from_its_lock_is_refused(tmp_path):
    lock = ROOT / f"requirements/py{sys.version_info.major}.{sys.version_info.minor}.lock"
    if not lock.is_file():
        pytest.skip(f"no lock for this Python ({lock.name})")
    header = [line for line in lock.read_text().splitlines() if line.startswith("#")]
    probe = next(pin for pin in requirements(lock) if pin.lower().startswith(PROBE + "=="))
    one_pin = tmp_path / lock.name
    one_pin.write_text("\n".join([*header, probe]) + "\n")
    wheels = tmp_path / "wheels"
    load_pack_release().download_wheels(one_pin, wheels)
    (wheel,) = wheels.glob("*.whl")

    installed = host_install(wheels, one_pin, tmp_path / "good")
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "good" / PROBE).is_dir()

    with zipfile.ZipFile(wheel, "a") as replaced:  # a file slipped into the same wheel
        replaced.writestr(f"{PROBE}/extra.py", "print('not what was locked')\n")
    refused = host_install(wheels, one_pin, tmp_path / "bad")
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr
    assert not (tmp_path / "bad" / PROBE).exists()
