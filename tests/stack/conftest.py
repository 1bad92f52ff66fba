"""The full stack: a fresh systemd container provisioned by site.yml, certificate from Pebble.

NATTER_DISTRO picks the host's release (debian13, the default, or debian12);
NATTER_REDIS_FLAVOR picks the server of the redis role (redis, the default, or valkey);
NATTER_STORAGE_BACKEND=s3 puts the same host in the storage group too: site.yml's
object_storage role runs Ceph's RADOS Gateway on its loopback, and the app and Nginx keep
voice files in its bucket (Debian 13 only: Debian 12's Ceph has no usable dbstore).
"""

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Another name lets two checkouts run this suite side by side.
CONTAINER = os.environ.get("NATTER_STACK_CONTAINER", "natter-stack-test")
# The host's own network (made and removed by the test): other hosts reach it there by its
# address (tests/stack/test_reached_by_address.py).
NETWORK = f"{CONTAINER}-net"
DISTRO = os.environ.get("NATTER_DISTRO", "debian13")
IMAGE = f"localhost/natter-{DISTRO}"
REDIS_FLAVOR = os.environ.get("NATTER_REDIS_FLAVOR", "redis")
STORAGE = os.environ.get("NATTER_STORAGE_BACKEND", "local")
DOMAIN = "chat.test"
REDIS_PASSWORD = "stack-test-password"
DATABASE_PASSWORD = "stack-test-database/password"  # a "/" the URL must escape
# The first admin, made by the chat_app role from these inventory values.
ADMIN_USERNAME = "stackadmin"
ADMIN_PASSWORD = "stack admin passphrase"
ENV = {
    **os.environ,
    "CONTAINERS_CONF": str(ROOT / "ansible/podman/containers.conf"),
    "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
    "ANSIBLE_FORCE_COLOR": "false",
}
# The environment's facts, as an inventory gives them: the roles' defaults and the wiring
# layer (group_vars/all/wiring.yml) turn them into the roles' settings.
EXTRA_VARS = {
    "natter_domain": DOMAIN,
    "natter_admin_email": f"admin@{DOMAIN}",
    "natter_redis_password": REDIS_PASSWORD,
    "natter_admin_username": ADMIN_USERNAME,
    "natter_admin_password": ADMIN_PASSWORD,
    "natter_database_password": DATABASE_PASSWORD,
    "redis_server_flavor": REDIS_FLAVOR,
    "certbot_mode": "acme",
    "certbot_acme_server": "https://127.0.0.1:14000/dir",
    "certbot_ca_bundle": "/etc/pebble/cert.pem",
    # One archive kept on the host, so one more backup shows the pruning.
    "chat_app_backup_keep": 1,
}
S3_ENDPOINT = "http://127.0.0.1:7480"
S3_BUCKET = "natter-voice"
S3_ACCESS_KEY = "STACKTESTACCESSKEY01"
S3_SECRET_KEY = "stack-test-secret-key-0123456789abcdef"


def s3_settings(endpoint: str) -> dict:
    """What an inventory sets for voice files in the storage group's bucket at `endpoint`
    (inventory/production.example/group_vars/all.yml, commented)."""
    return {
        "object_storage_bucket": S3_BUCKET,
        "object_storage_access_key": S3_ACCESS_KEY,
        "object_storage_secret_key": S3_SECRET_KEY,
        "chat_app_storage_backend": "s3",
        "chat_app_uploads_accel_prefix": "/internal/s3/",
        "chat_app_s3_endpoint_url": endpoint,
        "chat_app_s3_bucket": S3_BUCKET,
        "chat_app_s3_access_key_id": S3_ACCESS_KEY,
        "chat_app_s3_secret_access_key": S3_SECRET_KEY,
        "nginx_uploads_backend": "s3",
        "nginx_uploads_s3_endpoint": endpoint,
    }


if STORAGE == "s3":
    EXTRA_VARS |= {"object_storage_listen_address": "127.0.0.1", **s3_settings(S3_ENDPOINT)}
GROUPS = ("db", "redis", "app", "worker", "web") + (("storage",) if STORAGE == "s3" else ())
# The S3 variant's host starts from the RGW test image (natter-debian13 with Debian's
# radosgw already installed): on a busy machine Ceph's ~100 MB of packages alone took
# longer than a playbook run may. The role's own install from scratch is its Molecule
# scenario's job; here the role configures, starts and fills the gateway.
if STORAGE == "s3":
    IMAGE = "localhost/natter-s3-rgw"


def podman(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args], env=ENV, check=check, capture_output=True, text=True, **kwargs
    )


def in_container(command: str, check=True) -> str:
    return podman("exec", CONTAINER, "bash", "-c", command, check=check).stdout


def write_inventory(path: Path, groups: dict) -> None:
    """An inventory of these groups ({group: {"hosts": {container: {}}}}), reached by Podman."""
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "natter_podman",
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "children": groups,
        }
    }
    path.write_text(json.dumps(inventory))


def run_playbook(inventory: Path, extra_vars: dict, path: str, *extra: str) -> str:
    """The playbook's output; on failure, an AssertionError naming each failed task."""
    result = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), "-e", json.dumps(extra_vars), *extra, path],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        output, _, recap = result.stdout.partition("PLAY RECAP")
        blocks = re.split(r"\n(?=TASK \[)", output)
        failed = "\n".join(block for block in blocks if "fatal:" in block or "FAILED!" in block)
        shown = (failed or output)[-8000:] + "\nPLAY RECAP" + recap
        raise AssertionError(f"{path} failed:\n{shown}\n{result.stderr[-2000:]}")
    return result.stdout


def wait_for_systemd(container: str) -> None:
    """Until systemd in `container` has booted (running, or degraded: some unit failed)."""
    deadline, state = time.monotonic() + 120, ""
    while time.monotonic() < deadline:
        state = podman("exec", container, "systemctl", "is-system-running", check=False)
        if state.stdout.strip() in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{container}: systemd did not finish booting ({state.stdout.strip()})")


def statuses_during(probe: list[str], action):
    """(every HTTP status `probe` printed, `action()`'s result): `probe` is a curl that
    prints %{http_code}, run again and again while `action` runs (at most 5000 times or
    10 minutes)."""
    results, stop = [], threading.Event()

    def hammer():
        deadline = time.monotonic() + 600
        while not stop.is_set() and time.monotonic() < deadline and len(results) < 5000:
            results.append(subprocess.run(probe, capture_output=True, text=True).stdout)
            time.sleep(0.05)

    loader = threading.Thread(target=hammer)
    loader.start()
    try:
        outcome = action()
    finally:
        stop.set()
        loader.join()
    return results, outcome


class Stack:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.inventory = workdir / "inventory.yml"
        self.timings: dict[str, float] = {}

    def start(self) -> None:
        subprocess.run([str(ROOT / "ansible/test-image/build.sh"), DISTRO], env=ENV, check=True)
        if STORAGE == "s3":
            subprocess.run([str(ROOT / "ansible/test-image/build-rgw.sh")], env=ENV, check=True)
        self.stop()
        podman("network", "create", NETWORK)
        podman(
            "run",
            "-d",
            "--name",
            CONTAINER,
            "--hostname",
            CONTAINER,
            "--network",
            NETWORK,
            # The base role's nftables firewall, in the container's own network namespace.
            "--cap-add",
            "NET_ADMIN",
            "-p",
            "127.0.0.1::80",
            "-p",
            "127.0.0.1::443",
            IMAGE,
            "/sbin/init",
        )
        self.http_port = int(podman("port", CONTAINER, "80").stdout.strip().rsplit(":", 1)[1])
        self.https_port = int(podman("port", CONTAINER, "443").stdout.strip().rsplit(":", 1)[1])
        wait_for_systemd(CONTAINER)
        self.address = in_container("hostname -I").split()[0]
        in_container("apt-get update -q >/dev/null")
        write_inventory(self.inventory, {group: {"hosts": {CONTAINER: {}}} for group in GROUPS})
        self.playbook("ansible/molecule/pebble.yml")

    def playbook(self, path: str, *extra: str) -> str:
        return run_playbook(self.inventory, EXTRA_VARS, path, *extra)

    def provision(self, label: str, *extra: str) -> str:
        started = time.monotonic()
        output = self.playbook("site.yml", *extra)
        self.timings[label] = round(time.monotonic() - started, 1)
        return output

    def pebble_root(self) -> Path:
        path = self.workdir / "pebble-root.pem"
        path.write_text(in_container("curl -sk https://127.0.0.1:15000/roots/0"))
        return path

    def curl(self, *args: str) -> subprocess.CompletedProcess:
        """curl on this machine, reaching the container's published ports by name."""
        return subprocess.run(
            [
                "curl",
                "-sS",
                "--max-time",
                "20",
                "--cacert",
                str(self.pebble_root_path),
                "--connect-to",
                f"{DOMAIN}:443:127.0.0.1:{self.https_port}",
                "--connect-to",
                f"{DOMAIN}:80:127.0.0.1:{self.http_port}",
                *args,
            ],
            capture_output=True,
            text=True,
            check=True,
        )

    def stop(self) -> None:
        podman("rm", "-f", CONTAINER, check=False)
        podman("network", "rm", "-f", NETWORK, check=False)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"))
    try:
        stack.start()
        stack.provision("fresh")
        stack.pebble_root_path = stack.pebble_root()
        yield stack
    finally:
        # make bench reports the default stack's file; a variant writes its own.
        variant = [DISTRO, REDIS_FLAVOR, STORAGE]
        variant = "".join(
            f"-{part}" for part in variant if part not in ("debian13", "redis", "local")
        )
        timings = ROOT / "build" / f"provisioning-times{variant}.json"
        timings.parent.mkdir(exist_ok=True)
        timings.write_text(json.dumps(stack.timings, indent=2))
        stack.stop()
