"""Packs a checkout as a release, on the controller (any Linux or macOS, Python only).

A reproducible tarball of the tracked files (its hash is the release id) and the wheels of
requirements.lock for Debian 12 (x86_64, CPython 3.11.2), so the host installs with no
access to a package index. Prints JSON for Ansible. Usage: pack-release.py <checkout>
"""

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

WHEEL_PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64"]


def tracked_files(source: Path) -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source, check=True, capture_output=True,
    ).stdout  # fmt: skip
    return sorted({name for name in listing.decode().split("\0") if name})


def pack_tarball(source: Path, target: Path) -> str:
    """Writes target (.tar.gz) with fixed times and owners; returns the tar's sha256."""
    plain = target.with_suffix("")
    with tarfile.open(plain, "w", format=tarfile.GNU_FORMAT) as tar:
        for name in tracked_files(source):
            info = tar.gettarinfo(source / name, arcname=name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if info.isreg():
                with open(source / name, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    digest = hashlib.sha256(plain.read_bytes()).hexdigest()
    with (
        open(plain, "rb") as raw,
        open(target, "wb") as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as packed,
    ):
        shutil.copyfileobj(raw, packed)
    plain.unlink()
    return digest


def download_wheels(source: Path, wheels: Path, lock_hash: str) -> None:
    marker = wheels / f".lock-{lock_hash}"
    if marker.exists():
        return
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", *platforms, "--python-version", "3.11.2",
         "--implementation", "cp", "-r", str(source / "requirements.lock"), "-d", str(wheels)],
        check=True, stdout=sys.stderr,
    )  # fmt: skip
    marker.touch()


def main() -> None:
    source = Path(sys.argv[1]).resolve()
    out = source / "build" / "release"
    out.mkdir(parents=True, exist_ok=True)
    tarball = out / "app.tar.gz"
    release_id = pack_tarball(source, tarball)[:12]
    lock = (source / "requirements.lock").read_bytes() + Path(__file__).read_bytes()
    lock_hash = hashlib.sha256(lock).hexdigest()[:12]
    download_wheels(source, out / "wheels", lock_hash)
    print(json.dumps({"id": release_id, "tarball": str(tarball),
                      "wheels": str(out / "wheels"), "lock": lock_hash}))  # fmt: skip


if __name__ == "__main__":
    main()
