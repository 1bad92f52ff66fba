"""The benchmark command, run with tiny counts: every benchmark works and reports a ratio.

Figures from a smoke run mean nothing; this only proves `make bench` is not broken.
"""

import subprocess
import sys

from tests.conftest import ROOT

MEASURED = [
    "transcode",
    "voice m4a, en:",
    "voice m4a, cmn:",
    "voice mp3, en:",
    "voice mp3, cmn:",
    "upload → playable,",
    "upload → playable with S3",
    "via S3, cold",
    "via S3, cached",
    "full file, first request",
    "full file, repeated",
    "Range: bytes=0-1, first request",
    "Range: bytes=0-1, repeated",
    "empty poll, via Nginx",
    "50-message fetch",
    "live delivery, 5 idle streams",
    "empty poll with TLS on the hops",
    "upload → playable with TLS on the hops",
    *(
        f"{request} at scale, {engine}"
        for request in (
            "empty poll",
            "history page (50)",
            "conversation list",
            "people search",
            "login",
        )
        for engine in ("SQLite", "PostgreSQL")
    ),
]


def test_every_benchmark_runs_and_prints_its_ratio():
    result = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Machine: ") and "cores" in lines[0]
    rows = [line.split(" | ") for line in lines if line.startswith("| ") and "---" not in line]
    rows = {cells[0].removeprefix("| "): cells[-1].removesuffix(" |") for cells in rows[1:]}
    for name in MEASURED:
        matching = [ratio for row, ratio in rows.items() if name in row]
        assert len(matching) == 1, f"{name!r} missing from {list(rows)}"
        assert float(matching[0]) > 0
    assert any(row.startswith("provisioning") for row in rows)
    assert "Slowest ratio:" in result.stdout
