"""Polling: an empty poll and a 50-message fetch vs a bare Flask "hello".

All three go through the same Nginx server to Gunicorn started from the same
gunicorn.conf.py (the chat_app role's: gevent, 2 workers); wrk at a fixed concurrency,
rounds interleaved. The ratio is what the app adds on top of Flask itself: the session,
Flask-Login's user load, the participant check, the message query and its JSON.
"""

from tests.benchmarks.load import CONNECTIONS, median_run, wrk
from tests.benchmarks.report import BenchmarkError, Row
from tests.benchmarks.web_stack import WebStack, cookie_header

PAGE = 50


def check(user, url: str, expected_messages: int) -> None:
    answer = user.http.get(url, timeout=10)
    count = len(answer.json()["messages"]) if answer.status_code == 200 else None
    if count != expected_messages:
        raise BenchmarkError(f"{url}: {answer.status_code}, {count} messages")


def run(stack: WebStack, seconds: float, rounds: int) -> list[Row]:
    alice, _ = stack.user("poller"), stack.user("poll-peer")
    conversation_id = alice.post("/api/chat/conversations", participants=["poll-peer"]).json()["id"]
    for index in range(PAGE):
        latest = alice.post(
            "/api/chat/messages", conversation_id=conversation_id, content=f"message {index}"
        ).json()["id"]
    messages = f"{stack.base_url}/api/chat/messages?conversation_id={conversation_id}"
    urls = {"empty poll": f"{messages}&after_id={latest}", f"{PAGE}-message fetch": messages}
    check(alice, urls["empty poll"], 0)
    check(alice, urls[f"{PAGE}-message fetch"], PAGE)
    hello = f"{stack.base_url}/hello"
    if alice.http.get(hello, timeout=10).text != "hello":
        raise BenchmarkError("the bare Flask app does not answer behind Nginx")

    session = {"Cookie": cookie_header(alice)}
    results = {name: [] for name in [*urls, "hello"]}
    for _ in range(rounds):
        for name, url in urls.items():
            results[name].append(wrk(url, seconds, session))
        results["hello"].append(wrk(hello, seconds))
    baseline = median_run(results["hello"])
    rows = []
    for name in urls:
        project = median_run(results[name])
        rows.append(
            Row(
                f"{name}, via Nginx, wrk -c{CONNECTIONS}",
                project.summary(),
                f"bare Flask hello: {baseline.summary()}",
                baseline.requests_per_second / project.requests_per_second,
            )
        )
    return rows
