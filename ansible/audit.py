"""Checks every wheel lock (requirements/py*.lock) against published advisories.

    python ansible/audit.py [--service pypi|osv] [--strict]

pip-audit reads each lock as it is (hashes required, nothing installed, no resolver) and
asks the advisory source about every pin. One table: each vulnerable pin with its advisory
and the versions that fix it. Exit 1 when any pin is vulnerable. A pin the source could not
answer for is "not audited", never "no known vulnerabilities": with none audited (the
source unreachable, as on a machine without the internet) the report says so and exits 0,
or 3 with --strict (for a controller that must audit).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = 3


@dataclass
class LockReport:
    lock: str
    audited: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # (package, version, advisory id, fixed in)
    vulnerable: list[tuple[str, str, str, str]] = field(default_factory=list)
    failure: str = ""


def read_report(lock: str, report: dict) -> LockReport:
    """What pip-audit's JSON report says about one lock."""
    result = LockReport(lock)
    for dependency in report.get("dependencies", []):
        name = dependency["name"]
        if "skip_reason" in dependency:
            result.skipped.append(name)
            continue
        result.audited.append(name)
        for advisory in dependency.get("vulns", []):
            fixed = ", ".join(advisory.get("fix_versions", [])) or "no fix yet"
            result.vulnerable.append((name, dependency["version"], advisory["id"], fixed))
    return result


def audit(lock: Path, service: str) -> LockReport:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--require-hashes",
             "--disable-pip", "--no-deps", "--vulnerability-service", service,
             "--format", "json", "--output", str(output), "--progress-spinner", "off"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if not output.exists() or not output.read_text().strip():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return LockReport(lock.name, failure=f"{service} did not answer: {last[:100]}")
        return read_report(lock.name, json.loads(output.read_text()))


def summary(reports: list[LockReport], service: str) -> tuple[str, int]:
    """(the table an operator reads, the exit status)."""
    lines = ["| lock | audited | not audited | vulnerable |", "|---|---|---|---|"]
    for report in reports:
        vulnerable = len({name for name, *_ in report.vulnerable})
        lines.append(
            f"| {report.lock} | {len(report.audited)} | {len(report.skipped)} "
            f"{report.failure and '(' + report.failure + ')'} | {vulnerable} |".replace("  ", " ")
        )
    findings = [(report.lock, *finding) for report in reports for finding in report.vulnerable]
    for lock, name, version, advisory, fixed in findings:
        lines.append(f"VULNERABLE {lock}: {name}=={version} {advisory} (fixed in {fixed})")
    if findings:
        lines.append(
            "Fix: raise the pin in pyproject.toml, ansible/lock-dependencies.sh, redeploy."
        )
        return "\n".join(lines), 1
    partly = [f"{report.lock}: {', '.join(report.skipped)}" for report in reports if report.skipped]
    if not any(report.audited for report in reports):
        lines.append(
            f"NOT AUDITED: the advisory source ({service}) answered for no pin. Run `make audit`"
            " on a machine that reaches it (docs/operators/security.md)."
        )
        return "\n".join(lines), UNREACHABLE
    lines += [f"not audited (the source does not know them): {entry}" for entry in partly]
    lines.append("No known vulnerabilities in the audited pins.")
    return "\n".join(lines), 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="pypi", choices=["pypi", "osv"])
    parser.add_argument("--strict", action="store_true", help="exit 3 when nothing was audited")
    arguments = parser.parse_args()
    locks = sorted((ROOT / "requirements").glob("py*.lock"))
    text, status = summary([audit(lock, arguments.service) for lock in locks], arguments.service)
    print(text)
    if status == UNREACHABLE and not arguments.strict:
        status = 0
    sys.exit(status)


if __name__ == "__main__":
    main()
