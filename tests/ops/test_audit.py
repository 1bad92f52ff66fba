"""make audit's verdict on what pip-audit reports: a vulnerable pin fails it with the fix; a
pin the advisory source could not answer for is never counted as safe."""

import importlib.util
import subprocess
import sys

from tests.conftest import ROOT

# ansible/ is not a package (and `ansible` is Ansible's own): load the script by its path.
_spec = importlib.util.spec_from_file_location("natter_audit", ROOT / "ansible" / "audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)
UNREACHABLE, LockReport, read_report, summary = (
    audit.UNREACHABLE,
    audit.LockReport,
    audit.read_report,
    audit.summary,
)

VULNERABLE = {
    "dependencies": [
        {"name": "flask", "version": "3.1.2", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.4",
            "vulns": [{"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"], "aliases": []}],
        },
        {"name": "natter-private", "skip_reason": "Dependency not found on PyPI"},
    ]
}


def test_a_vulnerable_pin_fails_the_audit_and_names_its_fix():
    text, status = summary([read_report("py3.13.lock", VULNERABLE)], "pypi")
    assert status == 1
    assert "VULNERABLE py3.13.lock: jinja2==3.1.4 GHSA-q2x7-8rv6-6q7h (fixed in 3.1.5)" in text
    assert "| py3.13.lock | 2 | 1 | 1 |" in text


def test_pins_the_source_did_not_answer_for_are_not_audited_not_safe():
    skipped = {"dependencies": [{"name": "flask", "skip_reason": "not found"}]}
    text, status = summary([read_report("py3.11.lock", skipped)], "pypi")
    assert status == UNREACHABLE and "NOT AUDITED" in text
    assert "No known vulnerabilities" not in text
    unreachable = LockReport("py3.11.lock", failure="osv did not answer: ConnectionError")
    assert summary([unreachable], "osv")[1] == UNREACHABLE
    partly = {"dependencies": [*skipped["dependencies"], {"name": "rq", "version": "3.0.0"}]}
    text, status = summary([read_report("py3.11.lock", partly)], "pypi")
    assert status == 0
    assert "not audited (the source does not know them): py3.11.lock: flask" in text


def test_make_audit_runs_on_the_real_locks_and_says_what_it_could_check():
    done = subprocess.run(
        [sys.executable, "ansible/audit.py"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode in (0, 1), done.stderr
    locks = sorted(path.name for path in (ROOT / "requirements").glob("py*.lock"))
    for lock in locks:
        assert f"| {lock} |" in done.stdout
    verdicts = ("NOT AUDITED", "No known vulnerabilities in the audited pins", "VULNERABLE")
    assert any(verdict in done.stdout for verdict in verdicts), done.stdout
