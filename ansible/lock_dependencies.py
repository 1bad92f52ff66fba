"""Writes requirements/py<X.Y>.lock: the app's runtime wheels, pinned, for each target Python.

    python ansible/lock_dependencies.py CONSTRAINTS_FILE

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
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64"]
HEADER = """\
# Exact versions of the app's runtime dependencies for CPython {minor} ({release}).
# roles/chat_app installs them into each release's venv on hosts whose python3 is {minor}.
# Regenerate every lock with ansible/lock-dependencies.sh after changing pyproject.toml.
# Installed with --require-hashes: a wheel whose sha256 differs from its line is refused.
# python-version: {full}
"""


def resolve(full: str, constraints: Path, extra: list[str], workdir: Path) -> dict:
    report = workdir / f"report-{full}.json"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--dry-run", "--ignore-installed", "--report", str(report), "--only-binary=:all:",
         *[f"--platform={p}" for p in PLATFORMS], "--python-version", full,
         "--implementation", "cp", "-c", str(constraints), str(ROOT), *extra],
        check=True,
    )  # fmt: skip
    items = json.loads(report.read_text())["install"]
    return {canonicalize_name(item["metadata"]["name"]): item for item in items}


def needed(resolved: dict, full: str) -> tuple[dict, list[str]]:
    """(the packages the target needs, requirements pip did not resolve)."""
    environment = default_environment() | {
        "python_version": full.rsplit(".", 1)[0],
        "python_full_version": full,
        "implementation_version": full,
    }
    keep, missing, todo = {}, [], [("natter", frozenset())]
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


def lock(minor: str, full: str, constraints: Path, workdir: Path) -> Path:
    extra: list[str] = []
    for _ in range(4):
        packages, missing = needed(resolve(full, constraints, extra, workdir), full)
        if not missing:
            break
        extra += missing
    else:
        raise SystemExit(f"py{minor}: still unresolved after 4 rounds: {missing}")
    pins = [pin(item) for item in packages.values()]
    target = ROOT / "requirements" / f"py{minor}.lock"
    header = HEADER.format(minor=minor, release=RELEASES[minor], full=full)
    target.write_text(header + "\n".join(pins) + "\n")
    return target


def main() -> None:
    constraints = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as workdir:
        for minor, full in TARGETS.items():
            print(f"lock-dependencies: wrote {lock(minor, full, constraints, Path(workdir))}")


if __name__ == "__main__":
    main()
