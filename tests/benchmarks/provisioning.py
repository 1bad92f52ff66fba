"""The provisioning row: `site.yml` on a fresh container, then the second run.

Provisioning takes minutes, so the benchmark command does not redo it: the full-stack
test (tests/stack, part of `make test`) times both runs of the same container and
writes them to build/provisioning-times.json; this row reports that file.
"""

import datetime
import json

from tests.benchmarks.report import Row
from tests.conftest import ROOT

TIMINGS = ROOT / "build" / "provisioning-times.json"
NAME = "provisioning: site.yml, fresh container (Pebble, all roles)"


def rows() -> list[Row]:
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    if "fresh" not in timings or "second run" not in timings:
        return [Row(NAME, "not measured: run `make test` (the full-stack test) first", "—", None)]
    measured = datetime.datetime.fromtimestamp(TIMINGS.stat().st_mtime, datetime.UTC)
    return [
        Row(
            f"{NAME}, measured {measured:%Y-%m-%d %H:%M} UTC by the full-stack test",
            f"fresh run {timings['fresh']:.0f} s",
            f"second run (changed=0) {timings['second run']:.0f} s",
            timings["fresh"] / timings["second run"],
        )
    ]
