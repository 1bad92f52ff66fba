"""What TLS on the hops between hosts costs: the same web stack twice, side by side, one with
the hops plain (the baseline) and one with Nginx -> Gunicorn and app -> Redis over TLS
verified against a private CA (web_stack's internal_tls, as site.yml sets hosts apart).

Rows: the empty poll under wrk (rounds interleaved between the two stacks) and upload ->
playable of the same clip (trips alternating). The database hop is not in these rows: the
loopback stacks keep the database local, as a single host does.
"""

import time
from pathlib import Path

from tests.benchmarks.bench_polling import check
from tests.benchmarks.bench_upload_playable import TIME_LIMIT_SECONDS, one_trip
from tests.benchmarks.load import CONNECTIONS, median_run, wrk
from tests.benchmarks.report import Row, median, percentile
from tests.benchmarks.web_stack import WebStack, cookie_header, web_stack

LABEL = "TLS on the hops (Nginx→Gunicorn, app→Redis)"


def empty_poll(stack: WebStack) -> tuple[str, dict]:
    """(URL of an empty poll, its session header) for a new account of `stack`."""
    user = stack.user("tls-poller")
    conversation = user.post("/api/chat/conversations", participants=[]).json()["id"]
    latest = user.post("/api/chat/messages", conversation_id=conversation, content="hi").json()
    url = (
        f"{stack.base_url}/api/chat/messages?conversation_id={conversation}&after_id={latest['id']}"
    )
    check(user, url, 0)
    return url, {"Cookie": cookie_header(user)}


def run(folder: Path, clip: Path, clip_seconds: int, budget) -> list[Row]:
    with web_stack(folder / "plain") as plain, web_stack(folder / "tls", internal_tls=True) as tls:
        polls = {name: empty_poll(stack) for name, stack in (("plain", plain), ("tls", tls))}
        loads = {"plain": [], "tls": []}
        for _ in range(budget.load_rounds):
            for name, (url, session) in polls.items():
                loads[name].append(wrk(url, budget.load_seconds, session))
        uploaders = {
            name: (user := stack.user("tls-uploader"),
                   user.post("/api/chat/conversations", participants=[]).json()["id"])
            for name, stack in (("plain", plain), ("tls", tls))
        }  # fmt: skip
        trips = {"plain": [], "tls": []}
        deadline = time.monotonic() + 2 * TIME_LIMIT_SECONDS
        for _ in range(budget.uploads):
            for name, (user, conversation) in uploaders.items():
                trips[name].append(one_trip(user, conversation, clip, deadline))
    plain_load, tls_load = median_run(loads["plain"]), median_run(loads["tls"])
    plain_p50, tls_p50 = median(trips["plain"]), median(trips["tls"])
    return [
        Row(
            f"empty poll with {LABEL}, wrk -c{CONNECTIONS}",
            tls_load.summary(),
            f"same stack, plain hops: {plain_load.summary()}",
            plain_load.requests_per_second / tls_load.requests_per_second,
        ),
        Row(
            f"upload → playable with {LABEL}, {clip_seconds} s WebM/Opus ×{budget.uploads}",
            f"p50 {tls_p50 * 1000:.0f} ms, p95 {percentile(trips['tls'], 0.95) * 1000:.0f} ms",
            f"plain hops: p50 {plain_p50 * 1000:.0f} ms",
            tls_p50 / plain_p50,
        ),
    ]
