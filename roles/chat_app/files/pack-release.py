"""Packs a checkout as a release, on the controller (any Linux or macOS, Python only).

A reproducible tarball of what a host runs (RELEASE_PATHS, tracked or new but not ignored;
its hash is the release id) and, for each target Python given (3.11 for Debian 12, 3.13
for Debian 13), the x86_64 CPython wheels of requirements/py<X.Y>.lock (one tar per
Python), so the host installs with no access to a package index. Every wheel must match
the sha256 its lock names, here and again on the host.
Prints JSON for Ansible. Usage: pack-release.py <checkout> X.Y [X.Y ...]
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

WHEEL_PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64"]
# What a host runs. The rest of the checkout (docs, tests, roles) stays out, so that a
# screenshot rewritten by a test run does not make a new release.
RELEASE_PATHS = ["app", "wsgi.py", "requirements", "pyproject.toml", "babel.cfg"]


def tracked_files(source: Path) -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
         *RELEASE_PATHS],
        cwd=source, check=True, capture_output=True,
    ).stdout  # fmt: skip
    return sorted({name for name in listing.decode().split("\0") if name})


def pack_tarball(source: Path, target: Path) -> str:
    """Writes target (.tar.gz) with fixed times and owners; returns the tar's sha256.

    Written beside it under a name of this process, then renamed over it: another run
    packing the same checkout at the same time (a second play batch, another playbook)
    never truncates the file a copy to a host is still reading."""
    plain = target.with_name(f".{target.name}.{os.getpid()}.tar")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
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
        open(partial, "wb") as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as packed,
    ):
        shutil.copyfileobj(raw, packed)
    plain.unlink()
    partial.replace(target)
    return digest


def download_wheels(lock: Path, wheels: Path) -> None:
    """The wheels of `lock` for the Python version its header names, once per lock content."""
    text = lock.read_text()
    lock_hash = hashlib.sha256(text.encode() + Path(__file__).read_bytes()).hexdigest()[:12]
    marker = wheels / f".lock-{lock_hash}"
    if marker.exists():
        return
    # The lock names the exact Python version its markers were resolved for.
    version = re.search(r"^# python-version: (\S+)$", text, re.MULTILINE).group(1)
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", *platforms, "--python-version", version,
         "--implementation", "cp", "--no-deps", "--require-hashes", "-r", str(lock),
         "-d", str(wheels)],
        check=True, stdout=sys.stderr,
    )  # fmt: skip
    marker.touch()


def pack_wheels(wheels: Path) -> Path:
    """One plain tar of the wheel folder (wheels are compressed already), so a host gets them
    in one transfer instead of one per file; unpacked into the release's .wheels/ folder.
    Remade only when the wheels were."""
    archive = wheels.with_name(wheels.name + ".tar")
    newest = max(path.stat().st_mtime for path in wheels.iterdir())
    if archive.exists() and archive.stat().st_mtime >= newest:
        return archive
    partial = archive.with_name(f".{archive.name}.{os.getpid()}.partial")
    with tarfile.open(partial, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(wheels.iterdir()):
            info = tar.gettarinfo(path, arcname=f".wheels/{path.name}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
    partial.replace(archive)
    return archive


def main() -> None:
    source, pythons = Path(sys.argv[1]).resolve(), sys.argv[2:]
    out = source / "build" / "release"
    out.mkdir(parents=True, exist_ok=True)
    tarball = out / "app.tar.gz"
    release_id = pack_tarball(source, tarball)[:12]
    packed = {}
    for python in pythons:
        lock = Path("requirements") / f"py{python}.lock"
        if not (source / lock).is_file():
            sys.exit(f"pack-release: no {lock}: make one with ansible/lock-dependencies.sh")
        wheels = out / f"wheels-py{python}"
        download_wheels(source / lock, wheels)
        packed[python] = {"wheels": str(pack_wheels(wheels)), "lock": str(lock)}
    print(json.dumps({"id": release_id, "tarball": str(tarball), "pythons": packed}))


if __name__ == "__main__":
    main()
