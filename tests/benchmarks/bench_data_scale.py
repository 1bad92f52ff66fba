"""Cost as data grows: the same requests on a database holding only the measuring person's
own chats and on one that also holds a whole community (the full run: 1,000,000 messages,
10,000 people, 50,000 conversations). Ratio = time on the big database / on the small one.

Both apps run in this process under the production settings, through Flask's test client,
so the figure is the app and its queries, not the network. Every SQL statement a measured
request runs is checked with the database's query plan: a full scan of a table that grows
with the community fails the benchmark (and so `make test`'s smoke run), whatever it costs.
"""

import functools
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event

from app import create_app
from app.extensions import db
from app.services.accounts import passwords
from tests.benchmarks.report import BenchmarkError, Row, median
from tests.benchmarks.scale_databases import PostgresDatabase, SqliteDatabase
from tests.conftest import ApiClient, free_port, make_settings
from tests.postgres import PostgresServer

PASSWORD = "correct horse battery"
PEERS = 10
PROBE_MESSAGES_PER_CONVERSATION = 60
# Tables whose size follows the community's: scanning one of them is the defect we look for.
GROWING = {
    "users",
    "conversations",
    "conversation_participants",
    "chat_messages",
    "message_changes",
    "user_sessions",
}
# One message in this many has been edited, recalled or transcoded (the change log).
CHANGED_EVERY = 10
UNLIMITED = "1000000 per minute"


@dataclass(frozen=True)
class Scale:
    people: int
    conversations: int
    messages: int

    def label(self) -> str:
        return f"{self.messages:,} messages, {self.people:,} people, {self.conversations:,} chats"


FULL = Scale(10_000, 50_000, 1_000_000)
SMOKE = Scale(200, 500, 5_000)


def make_app(folder: Path, database):
    folder.mkdir(parents=True)
    app = create_app(
        make_settings(
            folder,
            database_url=database.url,
            ratelimit_login=UNLIMITED,
            ratelimit_register=UNLIMITED,
            ratelimit_post=UNLIMITED,
            ratelimit_search=UNLIMITED,
            ratelimit_conversation=UNLIMITED,
        )
    )
    with app.app_context():
        upgrade()
    return app


@functools.cache
def password_hash() -> str:
    """One hash for every seeded person: hashing is slow on purpose."""
    return passwords.hash_password(PASSWORD)


def seed_community(database, scale: Scale) -> None:
    """Bulk insert: people in pairs of conversations, messages interleaved in time."""
    conversations = range(1, scale.conversations + 1)
    database.load(
        "users",
        ("id", "username", "username_key", "display_name", "display_name_key",
         "password_hash", "created_at", "is_admin"),
        (
            (i, f"member{i:05}", f"member{i:05}", f"Member {i}", f"member {i}",
             password_hash(), "2026-01-01", False)
            for i in range(1, scale.people + 1)
        ),
    )  # fmt: skip
    database.load(
        "conversations",
        ("id", "created_by_id", "created_at"),
        ((c, pair(c, scale)[0], "2026-01-01") for c in conversations),
    )
    database.load(
        "conversation_participants",
        ("conversation_id", "user_id"),
        ((c, person) for c in conversations for person in pair(c, scale)),
    )
    database.load(
        "chat_messages",
        ("id", "conversation_id", "sender_id", "type", "content", "created_at"),
        (
            (m, c, pair(c, scale)[m % 2], "text", f"message {m} of the community", "2026-01-02")
            for m in range(1, scale.messages + 1)
            for c in [m % scale.conversations + 1]
        ),
    )
    database.load(
        "message_changes",
        ("message_id", "conversation_id", "changed_at"),
        (
            (m, m % scale.conversations + 1, "2026-01-03")
            for m in range(CHANGED_EVERY, scale.messages + 1, CHANGED_EVERY)
        ),
    )


def pair(conversation: int, scale: Scale) -> tuple[int, int]:
    """The two people of a seeded conversation: distinct, and spread over everyone."""
    first = conversation % scale.people
    second = (conversation + conversation // scale.people + 1) % scale.people
    return first + 1, second + 1


def seed_probe_chats(database, probe_id: int, name: str) -> tuple[int, int]:
    """The probe's PEERS conversations, appended by bulk insert: (a conversation, its last id)."""
    first_user, first_chat, first_message = database.next_ids()
    peers = [(first_user + peer, first_chat + peer) for peer in range(PEERS)]
    database.load(
        "users",
        ("id", "username", "username_key", "password_hash", "created_at", "is_admin"),
        (
            (peer_id, f"{name}-peer{n}", f"{name}-peer{n}", password_hash(), "2026-01-01", False)
            for n, (peer_id, _) in enumerate(peers)
        ),
    )
    database.load(
        "conversations",
        ("id", "created_by_id", "created_at"),
        ((chat_id, probe_id, "2026-01-01") for _, chat_id in peers),
    )
    database.load(
        "conversation_participants",
        ("conversation_id", "user_id"),
        ((chat_id, person) for peer_id, chat_id in peers for person in (probe_id, peer_id)),
    )
    rows = [
        (first_message + n, first_chat + n % PEERS, probe_id, "text", f"note {n}", "2026-01-03")
        for n in range(PEERS * PROBE_MESSAGES_PER_CONVERSATION)
    ]
    database.load(
        "chat_messages",
        ("id", "conversation_id", "sender_id", "type", "content", "created_at"),
        rows,
    )
    return rows[-1][1], rows[-1][0]


class Probe:
    """The measuring person: PEERS conversations of their own, then the requests to time."""

    def __init__(self, app, database, name: str):
        self.api = ApiClient(app.test_client())
        register = self.api.post("/api/auth/register", {"username": name, "password": PASSWORD})
        if register.status_code != 201:
            raise BenchmarkError(f"registering {name}: {register.get_json()}")
        self.conversation, latest = seed_probe_chats(database, register.get_json()["id"], name)
        messages = f"/api/chat/messages?conversation_id={self.conversation}"
        self.requests = {
            # As a polling page asks: new messages, and changes since the page loaded.
            "empty poll": lambda: self.api.get(f"{messages}&after_id={latest}&changes_after=0"),
            "history page (50)": lambda: self.api.get(f"{messages}&limit=50"),
            "conversation list": lambda: self.api.get("/api/chat/conversations"),
            "people search": lambda: self.api.get(f"/api/users/search?q={name}-p"),
            "login": lambda: ApiClient(app.test_client()).login(name, PASSWORD),
        }
        self.expected = {
            "empty poll": lambda body: body["messages"] == body["changes"] == [],
            "history page (50)": lambda body: len(body["messages"]) == 50,
            "conversation list": lambda body: len(body["conversations"]) == PEERS,
            "people search": lambda body: len(body["users"]) == PEERS,
            "login": lambda body: body.get("username") == name,
        }

    def check(self, name: str) -> None:
        answer = self.requests[name]()
        if answer.status_code != 200 or not self.expected[name](answer.get_json()):
            raise BenchmarkError(f"{name}: {answer.status_code} {answer.get_json()}")

    def time(self, name: str, repeat: int) -> float:
        """Seconds per request."""
        request = self.requests[name]
        start = time.perf_counter()
        for _ in range(repeat):
            request()
        return (time.perf_counter() - start) / repeat


@contextmanager
def statements_of(app):
    """Every SQL statement (with its parameters) run inside the block."""
    seen = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def check_plans(app, database, probe: Probe) -> None:
    for name in probe.requests:
        with statements_of(app) as statements:
            probe.check(name)
        scans = database.full_scans(statements, GROWING)
        if scans:
            raise BenchmarkError(f"{name} scans a whole table:\n" + "\n".join(scans))


def run(folder: Path, scale: Scale, repeat: int, rounds: int) -> list[Row]:
    """The rows for SQLite, then the same for PostgreSQL (a throwaway server on loopback)."""
    rows = measure(folder / "sqlite", scale, repeat, rounds, SqliteDatabase)
    server = PostgresServer(free_port()).start()
    try:
        rows += measure(
            folder / "postgresql", scale, repeat, rounds, lambda _: PostgresDatabase(server)
        )
    finally:
        server.stop()
    return rows


def measure(folder: Path, scale: Scale, repeat: int, rounds: int, database_in) -> list[Row]:
    small_database, big_database = database_in(folder / "small"), database_in(folder / "big")
    small_app = make_app(folder / "small", small_database)
    big_app = make_app(folder / "big", big_database)
    started = time.perf_counter()
    seed_community(big_database, scale)
    seeding = time.perf_counter() - started
    small = Probe(small_app, small_database, "probe")
    big = Probe(big_app, big_database, "probe")
    check_plans(big_app, big_database, big)
    timings = {name: {"small": [], "big": []} for name in big.requests}
    for _ in range(rounds):
        for name in big.requests:
            timings[name]["small"].append(small.time(name, repeat))
            timings[name]["big"].append(big.time(name, repeat))
    for app in (small_app, big_app):
        with app.app_context():
            db.engine.dispose()
    rows = []
    for name, measured in timings.items():
        on_small, on_big = median(measured["small"]), median(measured["big"])
        rows.append(
            Row(
                f"{name} at scale, {big_database.engine} ({scale.label()};"
                f" seeded in {seeding:.0f} s), in-process",
                f"{on_big * 1000:.2f} ms",
                f"the probe's own chats only: {on_small * 1000:.2f} ms",
                on_big / on_small,
            )
        )
    return rows
