"""Cost of an empty poll against a trivial route, in-process, same app, same run.

    python -m tests.benchmarks.bench_poll_cost [--requests N]

An empty poll (`GET /api/chat/messages?conversation_id=C&after_id=<latest>`) is a
session lookup, a participant check and one indexed query. The baseline is
`GET /api/auth/csrf` on the same app and session: the same request, session and JSON
machinery without any query. The ratio is what the poll adds.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from app import create_app
from app.extensions import db
from tests.conftest import ApiClient, make_settings

ROUNDS = 5


def per_request_ms(call, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    count = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(make_settings(Path(folder)))
        with app.app_context():
            db.create_all()
        alice = ApiClient(app.test_client())
        alice.register("alice")
        conversation_id = alice.conversation_with()
        for index in range(50):
            latest = alice.send(conversation_id, f"message {index}").get_json()["id"]
        poll = f"/api/chat/messages?conversation_id={conversation_id}&after_id={latest}"
        body = alice.client.get(poll).data
        polls, baselines = [], []
        for _ in range(ROUNDS):  # interleaved rounds, medians
            polls.append(per_request_ms(lambda: alice.client.get(poll), count))
            baselines.append(per_request_ms(lambda: alice.client.get("/api/auth/csrf"), count))
    poll_ms, baseline_ms = statistics.median(polls), statistics.median(baselines)
    print(f"empty poll answer: {body!r} ({len(body)} bytes)")
    print(f"{'':28}{'ms/request':>12}{'requests/s':>12}")
    print(f"{'empty poll':28}{poll_ms:>12.3f}{1000 / poll_ms:>12.0f}")
    print(f"{'baseline (/api/auth/csrf)':28}{baseline_ms:>12.3f}{1000 / baseline_ms:>12.0f}")
    print(f"ratio poll / baseline: {poll_ms / baseline_ms:.2f}")


if __name__ == "__main__":
    main()
