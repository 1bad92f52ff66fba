"""A real S3 server for tests: Ceph's RADOS Gateway (dbstore) in a Debian 13 container.

The image (localhost/natter-s3-rgw) is built once by ansible/test-image/build-rgw.sh.
Each gateway runs in its own container named natter-s3-rgw-<pid>-<n>, with its port
published on 127.0.0.1 only, and a user whose keys the test chose; every container
is removed (by name) when its test session ends.
"""

import itertools
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/natter-s3-rgw"
BUILD = ROOT / "ansible" / "test-image" / "build-rgw.sh"
CONTAINERS_CONF = ROOT / "ansible" / "podman" / "containers.conf"
RGW_ARGS = "--no-mon-config -n client.rgw --rgw-backend-store=dbstore"
# A gateway answers within ~4 s here, or after a few hung radosgw-admin tries (8 s each).
START_SECONDS = 120
_numbers = itertools.count()


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass
class Gateway:
    """One running RGW: its container, loopback endpoint and the test user's keys."""

    container: str
    endpoint: str
    access_key: str
    secret_key: str

    def client(self, timeout: float = 10.0):
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=config,
        )

    def new_bucket(self) -> str:
        name = f"natter-test-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings(self, bucket: str) -> dict:
        """Settings overrides (Settings field names) for an app using `bucket` here."""
        return {
            "storage_backend": "s3",
            "s3_endpoint_url": self.endpoint,
            "s3_bucket": bucket,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
        }

    def environment(self, bucket: str) -> dict:
        return {key.upper(): str(value) for key, value in self.settings(bucket).items()}

    def pause(self) -> None:
        """S3 stops answering (connections hang), as a stalled or cut-off server would."""
        podman("pause", self.container)

    def resume(self) -> None:
        podman("unpause", self.container)

    def remove(self) -> None:
        podman("rm", "--force", "--time", "1", self.container, check=False)


def start_gateway(attempts: int = 2) -> Gateway:
    """Builds the image if missing, starts a gateway, waits until it answers S3.

    A start has (rarely, under load) produced a gateway that never answered, with
    nothing in its log; a second container then came up in seconds. So: two tries.
    """
    subprocess.run([str(BUILD)], check=True, capture_output=True, timeout=900)
    for attempt in range(attempts):
        try:
            return start_container()
        except TimeoutError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def start_container() -> Gateway:
    name = f"natter-s3-rgw-{os.getpid()}-{next(_numbers)}"
    access, secret = secrets.token_hex(10).upper(), secrets.token_hex(20)
    admin = f"timeout 8 radosgw-admin {RGW_ARGS}"
    # radosgw-admin now and then hangs (no CPU, no output; ~1 start in 5 here) where it
    # normally takes a second; another run then works. Bounded tries of 8 s each; a
    # user left by a killed try counts.
    create_user = (
        "for try in 1 2 3 4 5 6 7 8 9 10; do "
        f"{admin} user create --uid=natter --display-name=natter "
        f"--access-key={access} --secret-key={secret} >/dev/null 2>&1 && break; "
        f"{admin} user info --uid=natter >/dev/null 2>&1 && break; "
        "done"
    )
    serve = f"exec radosgw -f {RGW_ARGS} --rgw-data=/var/lib/rgw"
    podman("run", "--detach", "--name", name, "--publish", "127.0.0.1::7480",
           IMAGE, "sh", "-c", f"{create_user}; {serve}")  # fmt: skip
    gateway = None
    try:
        port = podman("port", name, "7480/tcp").rsplit(":", 1)[1]
        gateway = Gateway(name, f"http://127.0.0.1:{port}", access, secret)
        wait_until_answering(gateway)
        return gateway
    except BaseException:
        podman("rm", "--force", "--time", "1", name, check=False)
        raise


def wait_until_answering(gateway: Gateway) -> None:
    deadline = time.monotonic() + START_SECONDS
    last = None
    while time.monotonic() < deadline:
        try:
            gateway.client(timeout=2).list_buckets()
            return
        except Exception as error:  # noqa: BLE001 - not up yet: refused, reset, no user yet
            last = error
            time.sleep(0.2)
    logs = podman("logs", "--tail", "20", gateway.container, check=False)
    logs += podman("top", gateway.container, check=False)
    raise TimeoutError(
        f"RGW {gateway.container} did not answer in {START_SECONDS} s ({last!r}):\n{logs}"
    )
