"""Writes requirements/py<X.Y>.lock: the app's runtime wheels, pinned, for each target Python.

    python ansible/lock_dependencies.py CONSTRAINTS_FILE
    python ansible/lock_dependencies.py --certbot [CONSTRAINTS_FILE]

The second form writes requirements/certbot-py<X.Y>.lock instead: CERTBOT and its
dependencies, for the certbot role's own virtualenv (IP-address certificates need a
certbot newer than the one Debian ships).

One lock per Python that a supported release ships (TARGETS). pip resolves each with
--python-version/--platform/--only-binary, so no other interpreter is needed here; but
pip evaluates environment markers with the Python that runs it, so this walks the
resolved dependency graph again with the target's own marker environment: anything the
target needs that pip left out is added and resolved again, anything it does not need is
dropped (e.g. redis needs async-timeout below Python 3.11.3 only).

Each pin carries the sha256 of the wheel pip chose for the target (from pip's report, so
nothing is downloaded twice): the controller downloads and the hosts install with hashes
required, and a wheel that differs from the one locked is refused.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# The Python each supported release ships: Debian 12 → 3.11.2, Ubuntu 24.04 → 3.12.3,
# Debian 13 → 3.13.5, Ubuntu 26.04 → 3.14 (announced; its point release not checked here).
TARGETS = {"3.11": "3.11.2", "3.12": "3.12.3", "3.13": "3.13.5", "3.14": "3.14.0"}
RELEASES = {
    "3.11": "Debian 12",
    "3.12": "Ubuntu 24.04",
    "3.13": "Debian 13",
    "3.14": "Ubuntu 26.04",
}
# The certbot of the certbot role's virtualenv (address mode on hosts whose packaged
# certbot is older than 5.3, the first with --ip-address).
CERTBOT = "certbot==5.8.0"
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64"]
HEADER = """\
# Exact versions of the app's runtime dependencies for CPython {minor} ({release}).
# roles/chat_app installs them into each release's venv on hosts whose python3 is {minor}.
# Regenerate every lock with ansible/lock-dependencies.sh after changing pyproject.toml.
# Installed with --require-hashes: a wheel whose sha256 differs from its line is refused.
# python-version: {full}
"""
CERTBOT_HEADER = """\
# Exact versions of {certbot} and its dependencies for CPython {minor} ({release}).
# roles/certbot installs them into its own virtualenv (/opt/natter-certbot) on hosts whose
# python3 is {minor} and whose packaged certbot is older than 5.3 (address mode only).
# Regenerate with: .venv/bin/python ansible/lock_dependencies.py --certbot [CONSTRAINTS_FILE]
# Installed with --require-hashes: a wheel whose sha256 differs from its line is refused.
# python-version: {full}
"""


def resolve(
    full: str, constraints: Path | None, extra: list[str], workdir: Path, root: str
) -> dict:
    report = workdir / f"report-{full}.json"
    constrain = ["-c", str(constraints)] if constraints else []
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--dry-run", "--ignore-installed", "--report", str(report), "--only-binary=:all:",
         *[f"--platform={p}" for p in PLATFORMS], "--python-version", full,
         "--implementation", "cp", *constrain, root, *extra],
        check=True,
    )  # fmt: skip
    items = json.loads(report.read_text())["install"]
    return {canonicalize_name(item["metadata"]["name"]): item for item in items}


def needed(resolved: dict, full: str, top: str) -> tuple[dict, list[str]]:
    """(the packages the target needs below `top`, requirements pip did not resolve)."""
    environment = default_environment() | {
        "python_version": full.rsplit(".", 1)[0],
        "python_full_version": full,
        "implementation_version": full,
    }
    keep, missing, todo = {}, [], [(top, frozenset())]
    while todo:
        name, extras = todo.pop()
        metadata = resolved[name]["metadata"]
        for line in metadata.get("requires_dist", []):
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate(environment | {"extra": extra})
                for extra in {"", *extras}
            )
            dependency = canonicalize_name(requirement.name)
            if not wanted or (dependency, frozenset(requirement.extras)) in keep:
                continue
            if dependency not in resolved:
                requirement.marker = None
                missing.append(str(requirement))
                continue
            keep[(dependency, frozenset(requirement.extras))] = True
            todo.append((dependency, frozenset(requirement.extras)))
    names = {dependency for dependency, _ in keep}
    return {name: resolved[name] for name in sorted(names)}, missing


def pin(item: dict) -> str:
    """`name==version` and the sha256 of the one file pip chose for the target."""
    meta, archive = item["metadata"], item["download_info"]["archive_info"]
    digest = archive.get("hashes", {}).get("sha256") or archive["hash"].removeprefix("sha256=")
    return f"{meta['name']}=={meta['version']} \\\n    --hash=sha256:{digest}"


def lock(minor: str, full: str, constraints: Path | None, workdir: Path, certbot: bool) -> Path:
    # The app is installed from its release, not from the lock; certbot is the lock's point.
    root, top = (CERTBOT, "certbot") if certbot else (str(ROOT), "natter")
    extra: list[str] = []
    for _ in range(4):
        resolved = resolve(full, constraints, extra, workdir, root)
        packages, missing = needed(resolved, full, top)
        if not missing:
            break
        extra += missing
    else:
        raise SystemExit(f"py{minor}: still unresolved after 4 rounds: {missing}")
    if certbot:
        packages = dict(sorted((packages | {top: resolved[top]}).items()))
    pins = [pin(item) for item in packages.values()]
    name = f"certbot-py{minor}.lock" if certbot else f"py{minor}.lock"
    target = ROOT / "requirements" / name
    template = CERTBOT_HEADER if certbot else HEADER
    header = template.format(minor=minor, release=RELEASES[minor], full=full, certbot=CERTBOT)
    target.write_text(header + "\n".join(pins) + "\n")
    return target


def main() -> None:
    args = sys.argv[1:]
    certbot = args[:1] == ["--certbot"]
    args = args[1:] if certbot else args
    if not args and not certbot:
        raise SystemExit(__doc__)
    constraints = Path(args[0]).resolve() if args else None
    with tempfile.TemporaryDirectory() as workdir:
        for minor, full in TARGETS.items():
            target = lock(minor, full, constraints, Path(workdir), certbot)
            print(f"lock-dependencies: wrote {target}")


if __name__ == "__main__":
    main()
