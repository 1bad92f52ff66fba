"""The last lines of `make test`: each lane's outcome and every failing test.

The lanes' logs interleave and run long; whoever reads only the end (a CI page
showing the tail) still sees which lane failed, and which tests, with the first line of
each failure.
"""

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

LANES = ("unit", "multihost", "stack", "molecule", "tools")


def pytest_lane(report: Path) -> list[str]:
    root = ElementTree.parse(report).getroot()  # noqa: S314 - pytest wrote it in this run
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    count = {
        key: sum(int(s.get(key, 0)) for s in suites)
        for key in ("tests", "failures", "errors", "skipped")
    }
    seconds = sum(float(s.get("time", 0)) for s in suites)
    lines = [
        f"{report.stem}: {count['tests']} tests, {count['failures']} failed,"
        f" {count['errors']} errors, {count['skipped']} skipped, in {seconds:.0f} s"
    ]
    for case in root.iter("testcase"):
        for problem in case:
            if problem.tag in ("failure", "error"):
                first = (problem.get("message") or problem.text or "").strip().splitlines()[:1]
                where = f"{case.get('classname')}::{case.get('name')}"
                lines.append(f"  {problem.tag.upper()} {where}: {(first or [''])[0][:300]}")
    return lines


def main(folder: Path) -> None:
    print("== make test: summary")
    for lane in LANES:
        report = folder / (f"{lane}.txt" if lane == "molecule" else f"{lane}.xml")
        if not report.exists():
            print(f"{lane}: no results (the lane did not finish)")
        elif lane == "molecule":
            print(*(f"{lane}: {line}" for line in report.read_text().splitlines()), sep="\n")
        else:
            print(*pytest_lane(report), sep="\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
