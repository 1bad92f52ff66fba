"""Where the requests that reach Python spend their time (issue 17's evidence for its poll,
history and first-voice-request goals).

    python -m tests.benchmarks.request_profile     # writes build/profile-requests.txt

In this process, through Flask's test client, on SQLite with the production settings (as
the data-scale rows): the empty poll and the 50-message page of the polling rows, the access
check Nginx asks of a voice file's first request, and the bare Flask "hello" that is the
polling rows' baseline. Each is timed plain (ms per request, median of ROUNDS), then run
under cProfile; the report splits each request into its stages by the profile's share and
lists the costliest functions. cProfile slows Python calls more than C, so the stages are
approximate; the plain times are not.
"""

import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade

from app import create_app
from app.routes.main import ACCESS_CHECK_HEADER, VOICE_TARGET_HEADER
from tests.benchmarks import hello_app
from tests.benchmarks.bench_transcode import make_clip
from tests.benchmarks.report import BenchmarkError, median
from tests.conftest import ROOT, ApiClient, make_settings
from tests.voice.test_upload import upload

REQUESTS = 1000
ROUNDS = 3
TOP_FUNCTIONS = 25
REPORT = ROOT / "build" / "profile-requests.txt"
# (label, file the function is in, its name): each the cumulative time of one function.
# The request's parts, one after the other:
PARTS = [
    ("request context: session cookie read", "flask/ctx.py", "push"),
    ("before-request hooks", "flask/app.py", "preprocess_request"),
    ("the view", "flask/app.py", "dispatch_request"),
    ("after-request hooks, session cookie write", "flask/app.py", "finalize_request"),
    ("teardown: database session closed", "flask/ctx.py", "pop"),
]
# What runs inside those parts (the user load is in a hook or, for the access check, in
# the view):
ACROSS_PARTS = [
    ("the user load (one query)", "app/services/accounts/sessions.py", "user_for"),
    ("the rate limiter's checks", "flask_limiter/_extension.py", "_check_request_limit"),
    ("all SQL (through SQLAlchemy's ORM)", "sqlalchemy/orm/session.py", "_execute_internal"),
    ("serializing messages", "app/services/chat/messages.py", "serialize_row"),
    ("JSON encoding", "flask/json/provider.py", "response"),
]


def natter_requests(folder: Path) -> dict:
    """{name: a call making that request}: one person, one chat of 50 messages, one voice note."""
    app = create_app(
        make_settings(
            folder,
            ratelimit_post="100000 per minute",
            uploads_accel_prefix="/_protected_uploads/",
        )
    )
    with app.app_context():
        upgrade()
    api = ApiClient(app.test_client())
    api.register("profiler")
    chat = api.conversation_with()
    for index in range(50):
        api.send(chat, f"message {index}")
    voice = upload(api, chat, make_clip(folder, 5))
    if voice.status_code != 201:
        raise BenchmarkError(f"the voice upload answered {voice.status_code}")
    messages = f"/api/chat/messages?conversation_id={chat}"
    check = {ACCESS_CHECK_HEADER: "1"}
    voice_id, voice_url = voice.get_json()["id"], voice.get_json()["url_m4a"]
    requests = {
        "empty poll": lambda: api.get(f"{messages}&after_id={voice_id}"),
        "50-message page": lambda: api.get(f"{messages}&before_id={voice_id}"),
        "voice access check": lambda: api.get(voice_url, headers=check),
    }
    expected = {
        "empty poll": lambda answer: answer.get_json()["messages"] == [],
        "50-message page": lambda answer: len(answer.get_json()["messages"]) == 50,
        "voice access check": lambda answer: VOICE_TARGET_HEADER in answer.headers,
    }
    for name, request in requests.items():  # profiling an error page would prove nothing
        answer = request()
        if answer.status_code != 200 or not expected[name](answer):
            raise BenchmarkError(f"{name}: {answer.status_code} {answer.get_data(as_text=True)}")
    return requests


def all_requests(folder: Path) -> dict:
    hello = hello_app.app.test_client()
    return {**natter_requests(folder), "bare Flask hello": lambda: hello.get("/hello")}


def plain_ms(request) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            request()
        rounds.append((time.perf_counter() - started) / REQUESTS * 1000)
    return median(rounds)


def profiled(request) -> pstats.Stats:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(REQUESTS):
        request()
    profile.disable()
    return pstats.Stats(profile, stream=io.StringIO())


def cumulative(stats: pstats.Stats, path_end: str, function: str) -> float:
    return sum(
        entry[3]
        for (path, _, name), entry in stats.stats.items()
        if name == function and path.endswith(path_end)
    )


def stage_lines(measured: dict, stages: list) -> list[str]:
    lines = []
    for label, path_end, function in stages:
        cells = []
        for plain, stats in measured.values():
            share = cumulative(stats, path_end, function) / stats.total_tt
            cells.append(f"{plain * share:20.3f}" if share else f"{'–':>20s}")
        lines.append(f"{label:44s}" + "".join(cells))
    return lines


def report(measured: dict[str, tuple[float, pstats.Stats]]) -> str:
    lines = [f"ms per request, in-process, median of {ROUNDS} × {REQUESTS}", ""]
    lines.append(f"{'':44s}" + "".join(f"{name:>20s}" for name in measured))
    lines.append(f"{'whole request (plain, no profiler)':44s}" + "".join(
        f"{plain:20.3f}" for plain, _ in measured.values()
    ))  # fmt: skip
    lines += stage_lines(measured, PARTS)
    lines += ["", "across those parts:"] + stage_lines(measured, ACROSS_PARTS)
    for name, (_, stats) in measured.items():
        stats.stream = io.StringIO()
        stats.sort_stats("cumulative").print_stats(TOP_FUNCTIONS)
        lines += [
            "",
            f"== {name}: the {TOP_FUNCTIONS} costliest functions",
            stats.stream.getvalue(),
        ]
    return "\n".join(lines) + "\n"


def measure(folder: Path) -> dict[str, tuple[float, pstats.Stats]]:
    return {name: (plain_ms(call), profiled(call)) for name, call in all_requests(folder).items()}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="natter-profile-") as folder:
        text = report(measure(Path(folder)))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    print(text.split("\n== ")[0])


if __name__ == "__main__":
    main()
