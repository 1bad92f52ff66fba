"""Rows of the benchmark table, the machine they ran on, and small statistics."""

import datetime
import os
import platform
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

NGINX_VERSION = r"nginx/(\S+)"


class BenchmarkError(RuntimeError):
    """A benchmark saw a wrong answer, so its figures would mean nothing."""


@dataclass
class Row:
    benchmark: str
    project: str
    baseline: str
    # Project cost over baseline cost (time per request or per trip): 1.00 = no overhead.
    ratio: float | None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def tool_version(command: list[str], pattern: str) -> str:
    """The version a tool prints (to stdout or stderr), or "?"."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "?"
    found = re.search(pattern, result.stdout + result.stderr)
    return found.group(1) if found else "?"


def machine_line() -> str:
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory_kib = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
    debian = Path("/etc/debian_version")
    nginx = tool_version(["nginx", "-v"], NGINX_VERSION)
    ffmpeg = tool_version(["ffmpeg", "-version"], r"ffmpeg version (\S+)")
    wrk = tool_version(["wrk", "-v"], r"wrk (\S+)")
    return ", ".join(
        [
            f"{os.cpu_count()} cores ({cpu.group(1).strip() if cpu else platform.machine()})",
            f"{memory_kib / 1024 / 1024:.0f} GiB",
            f"Debian {debian.read_text().strip() if debian.exists() else '?'}",
            f"Linux {platform.release()}",
            f"Python {platform.python_version()}",
            f"nginx {nginx}, ffmpeg {ffmpeg}, wrk {wrk}",
            datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ]
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| benchmark | project | baseline (same run) | ratio |",
        "|---|---|---|---|",
    ]
    for row in rows:
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(f"| {row.benchmark} | {row.project} | {row.baseline} | {ratio} |")
    return "\n".join(lines)


def slowest(rows: list[Row]) -> Row | None:
    measured = [row for row in rows if row.ratio is not None]
    return max(measured, key=lambda row: row.ratio, default=None)
