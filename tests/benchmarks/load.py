"""wrk (Debian's package) at a fixed concurrency, its report parsed."""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.report import BenchmarkError

THREADS = 2
CONNECTIONS = 16
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float

    def summary(self) -> str:
        rate = f"{self.requests_per_second:,.0f} req/s"
        return f"{rate}, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"


def _latency(report: str, label: str) -> float:
    found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE)
    if not found:
        raise BenchmarkError(f"wrk printed no {label} latency:\n{report}")
    return float(found.group(1)) * UNITS_MS[found.group(2)]


# A wrk script that makes every request's URL new (`?first=<thread>-<n>`): nothing keyed
# on the URL can be reused, so each request is a first one.
UNIQUE_URLS_SCRIPT = Path(__file__).with_name("unique_urls.lua")


def wrk(
    url: str, seconds: float, headers: dict[str, str] | None = None, script: Path | None = None
) -> LoadResult:
    """`wrk` on one URL; fails when any answer was not 2xx/3xx or any socket failed."""
    command = ["wrk", "--latency", "-t", str(THREADS), "-c", str(CONNECTIONS)]
    command += ["-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    report = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    if "Non-2xx or 3xx responses" in report or "Socket errors" in report:
        raise BenchmarkError(f"wrk saw failed requests on {url}:\n{report}")
    rate = re.search(r"Requests/sec:\s*([\d.]+)", report)
    if not rate or float(rate.group(1)) == 0:
        raise BenchmarkError(f"wrk completed no request on {url}:\n{report}")
    return LoadResult(float(rate.group(1)), _latency(report, "50%"), _latency(report, "99%"))


def median_run(results: list[LoadResult]) -> LoadResult:
    """The run with the median throughput (rounds are odd, so it is one real run)."""
    return sorted(results, key=lambda result: result.requests_per_second)[len(results) // 2]
