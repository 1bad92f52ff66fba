"""Every benchmark, each against a baseline measured in the same run; one table.

    python -m tests.benchmarks            # the full run (a few minutes), `make bench`
    python -m tests.benchmarks --smoke    # every benchmark with tiny counts (CI)
    python -m tests.benchmarks --only s3  # the S3 rows (a real RGW) and their local-disk twins

The table goes to stdout and to build/benchmarks.md; a full run also writes it into
docs/developers/benchmarks.md, between its markers.
"""

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks import (
    bench_data_scale,
    bench_file_serving,
    bench_internal_tls,
    bench_live_delivery,
    bench_polling,
    bench_s3,
    bench_sound,
    bench_transcode,
    bench_upload_playable,
    provisioning,
)
from tests.benchmarks.report import machine_line, slowest, table
from tests.benchmarks.web_stack import web_stack
from tests.conftest import ROOT

UPLOAD_CLIP_SECONDS = 10
DOCS_PAGE = ROOT / "docs" / "developers" / "benchmarks.md"
BEGIN, END = "<!-- BEGIN LATEST BENCH", "<!-- END LATEST BENCH -->"


@dataclass(frozen=True)
class Budget:
    transcode_clip_seconds: int
    transcode_runs: int
    sound_runs: int
    uploads: int
    load_seconds: float
    load_rounds: int
    idle_streams: tuple[int, ...]
    live_messages: int
    data_scale: bench_data_scale.Scale
    scale_requests: int


FULL = Budget(60, 7, 5, 10, 3, 3, (100, 500), 30, bench_data_scale.FULL, 20)
SMOKE = Budget(10, 1, 1, 2, 1, 1, (5,), 3, bench_data_scale.SMOKE, 1)


def run(budget: Budget, folder: Path, smoke: bool, only: str | None) -> list:
    if only == "s3":  # the S3 rows beside the local-disk rows they stand in for
        clip = bench_transcode.make_clip(folder, UPLOAD_CLIP_SECONDS)
        with web_stack(folder / "stack") as stack:
            rows = bench_upload_playable.run(stack, clip, UPLOAD_CLIP_SECONDS, budget.uploads)
            rows += bench_file_serving.run(stack, clip, budget.load_seconds, budget.load_rounds)
        return rows + bench_s3.run(folder / "s3-stack", clip, UPLOAD_CLIP_SECONDS, budget)
    rows = bench_transcode.run(folder, budget.transcode_clip_seconds, budget.transcode_runs)
    rows += bench_sound.run(
        folder / "sound", budget.transcode_clip_seconds, budget.sound_runs, smoke
    )
    clip = bench_transcode.make_clip(folder, UPLOAD_CLIP_SECONDS)
    with web_stack(folder / "stack") as stack:
        rows += bench_upload_playable.run(stack, clip, UPLOAD_CLIP_SECONDS, budget.uploads)
        rows += bench_file_serving.run(stack, clip, budget.load_seconds, budget.load_rounds)
        rows += bench_polling.run(stack, budget.load_seconds, budget.load_rounds)
        rows += bench_live_delivery.run(stack, list(budget.idle_streams), budget.live_messages)
    rows += bench_internal_tls.run(folder / "tls-stacks", clip, UPLOAD_CLIP_SECONDS, budget)
    rows += bench_s3.run(folder / "s3-stack", clip, UPLOAD_CLIP_SECONDS, budget)
    rows += bench_data_scale.run(
        folder / "scale", budget.data_scale, budget.scale_requests, budget.load_rounds
    )
    return rows + provisioning.rows()


def write_latest(page: Path, report: str) -> None:
    """The report between the page's markers; the rest of the page as it was."""
    text = page.read_text()
    start, end = text.index(BEGIN), text.index(END)
    marker_line = text[start : text.index("\n", start) + 1]
    page.write_text(text[:start] + marker_line + report + "\n" + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts: checks, not figures")
    parser.add_argument("--only", choices=["s3"], help="only the S3 rows and their local twins")
    arguments = parser.parse_args()
    smoke = arguments.smoke
    folder = Path(tempfile.mkdtemp(prefix="natter-bench-"))
    try:
        rows = run(SMOKE if smoke else FULL, folder, smoke, arguments.only)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    worst = slowest(rows)
    report = "\n".join(
        [
            f"Machine: {machine_line()}" + (" (smoke run: figures mean nothing)" if smoke else ""),
            "",
            table(rows),
            "",
            "ratio = project time per request (or per trip) / baseline's; 1.00 = no overhead.",
            f"Slowest ratio: {worst.benchmark} ({worst.ratio:.2f})." if worst else "",
        ]
    )
    print(report)
    name = (
        "benchmarks"
        + ("-smoke" if smoke else "")
        + (f"-{arguments.only}" if arguments.only else "")
    )
    output = ROOT / "build" / f"{name}.md"
    output.parent.mkdir(exist_ok=True)
    output.write_text(report + "\n")
    if not smoke and not arguments.only:
        write_latest(DOCS_PAGE, report)


if __name__ == "__main__":
    main()
