"""Shared fixtures: a fresh app per test, API helpers, real servers on loopback."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import weakref
from pathlib import Path

import pytest
import redis
import sqlalchemy

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.postgres import PostgresServer
from tests.storage import rgw as rgw_server
from tests.voice import audio

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int | str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Waits until `process` listens on 127.0.0.1:port, or on the unix socket at `port`."""
    family, address = (
        (socket.AF_INET, ("127.0.0.1", port)) if isinstance(port, int) else (socket.AF_UNIX, port)
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket(family) as probe:
            probe.settimeout(0.2)
            try:
                probe.connect(address)
                return
            except OSError:
                time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {address} after {timeout}s")


def stop_process(process: subprocess.Popen, stop_signal: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# The suites whose tests run on PostgreSQL (the deployed default); the others, and tests
# marked `sqlite`, keep SQLite files in their folder. `both_databases` runs a test on each.
POSTGRES_SUITES = ("app", "voice")
# The template every "tables already made" database is copied from.
TEMPLATE_DATABASE = "natter_template"


class Databases:
    """The databases of the running test, named like the SQLite files they stand for.

    On SQLite, `FOLDER/test.sqlite3` (tables made by the test) and `FOLDER/shared.sqlite3`
    (made by migrations in a subprocess). On PostgreSQL, one database for each
    (folder, name): one with the tables, empty and its sequences restarted (copied from the
    template the first time, then emptied and reused by later tests: CREATE DATABASE costs
    0.4-0.6 s here, emptying 8 tables a few milliseconds), or a new empty one to migrate.
    """

    def __init__(self, server: PostgresServer | None = None, spare: list | None = None):
        self.server = server
        self.spare = spare
        self.made: dict[tuple[str, str], tuple[str, bool]] = {}

    def url(self, folder: Path, name: str, with_tables: bool) -> str:
        if self.server is None:
            return f"sqlite:///{folder / name}"
        key = (str(folder), name)
        if key not in self.made:
            if not with_tables:
                database = self.server.create_database("template0")
            elif self.spare:
                database = self.spare.pop()
            else:
                database = self.server.create_database(TEMPLATE_DATABASE)
            self.made[key] = (database, with_tables)
        return self.server.url(self.made[key][0])

    def release(self) -> None:
        for database, with_tables in self.made.values():
            if with_tables:
                self.server.empty_tables(database)
                self.spare.append(database)
            else:
                self.server.drop_database(database)


CURRENT = {"databases": Databases()}
# Every engine that connected during the running test: disposed after it, so no pooled
# connection outlives its test (psycopg warns about one collected while open).
ENGINES: "weakref.WeakSet[sqlalchemy.engine.Engine]" = weakref.WeakSet()


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "engine_connect")
def _remember_engine(connection) -> None:
    ENGINES.add(connection.engine)


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {
        "app_env": "production",
        "secret_key": "test-secret",
        "database_url": CURRENT["databases"].url(tmp_path, "test.sqlite3", with_tables=True),
        "upload_dir": str(tmp_path / "uploads"),
        "ratelimit_storage_uri": "memory://",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the session, with the template holding the tables."""
    server = PostgresServer(free_port()).start()
    server.execute(f'CREATE DATABASE "{TEMPLATE_DATABASE}" TEMPLATE template0')
    app = create_app(
        Settings(app_env="production", secret_key="x", database_url=server.url(TEMPLATE_DATABASE))
    )
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield server
    server.stop()


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("database_backend", ["postgresql", "sqlite"], indirect=True)


@pytest.fixture
def database_backend(request):
    """postgresql or sqlite: by parametrisation, the `sqlite` marker, or the test's suite."""
    if hasattr(request, "param"):
        return request.param
    if request.node.get_closest_marker("sqlite"):
        return "sqlite"
    suite = request.node.path.relative_to(ROOT / "tests").parts[0]
    return "postgresql" if suite in POSTGRES_SUITES else "sqlite"


@pytest.fixture(autouse=True)
def databases(request, database_backend):
    """The running test's databases (see Databases); PostgreSQL ones are dropped after it."""
    server = (
        request.getfixturevalue("postgres_server") if database_backend == "postgresql" else None
    )
    spare = server.spare if server is not None else None
    CURRENT["databases"] = Databases(server, spare)
    yield CURRENT["databases"]
    for engine in list(ENGINES):
        engine.dispose()
    ENGINES.clear()
    if server is not None:
        CURRENT["databases"].release()
    CURRENT["databases"] = Databases()


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config.update(TESTING=True)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class ApiClient:
    """Drives the JSON API as a browser would: CSRF token first, then calls."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def csrf(self) -> str:
        if self.token is None:
            self.token = self.client.get("/api/auth/csrf").get_json()["csrf_token"]
        return self.token

    def post(self, path, json=None, **kwargs):
        headers = {"X-CSRFToken": self.csrf(), **kwargs.pop("headers", {})}
        response = self.client.post(path, json=json, headers=headers, **kwargs)
        # Logging in rotates the CSRF token; the answer carries the new one.
        if response.is_json and isinstance(response.get_json(), dict):
            self.token = response.get_json().get("csrf_token", self.token)
        return response

    def get(self, path, **kwargs):
        """The response with its body read and its file (send_file) closed."""
        response = self.client.get(path, **kwargs)
        response.get_data()
        response.close()
        return response

    def register(self, username, password="correct horse battery"):
        return self.post("/api/auth/register", {"username": username, "password": password})

    def login(self, username, password="correct horse battery"):
        return self.post("/api/auth/login", {"username": username, "password": password})

    def conversation_with(self, *usernames) -> int:
        response = self.post("/api/chat/conversations", {"participants": list(usernames)})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def send(self, conversation_id, content):
        return self.post(
            "/api/chat/messages", {"conversation_id": conversation_id, "content": content}
        )

    def messages(self, conversation_id, **params):
        query = "&".join(
            f"{k}={v}" for k, v in {"conversation_id": conversation_id, **params}.items()
        )
        return self.get(f"/api/chat/messages?{query}")


@pytest.fixture
def api_for(app):
    """api_for("alice") -> an ApiClient with its own cookie jar, registered as alice."""

    def make(username=None) -> ApiClient:
        api = ApiClient(app.test_client())
        if username:
            assert api.register(username).status_code == 201
        return api

    return make


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A real redis-server on a free loopback port, without persistence: (process, URL)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run ansible/bootstrap.sh")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, process)
    url = f"redis://127.0.0.1:{port}/0"
    redis.Redis.from_url(url).ping()
    return process, url


def app_environment(folder: Path, **settings: str) -> dict:
    """The environment of an app process whose database and uploads live in `folder`."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": CURRENT["databases"].url(folder, "shared.sqlite3", with_tables=False),
        "UPLOAD_DIR": str(folder / "uploads"),
        **settings,
    }


def migrate_database(env: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip


def start_app(env: dict, log, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """Migrates the database, then serves the app under Gunicorn (gevent): (process, URL)."""
    migrate_database(env)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", "gevent",
         "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    wait_for_port(port, process)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz", process)
    return process, url


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Waits until `url` answers at all: Gunicorn's master listens before a worker is booted.

    `url` is http://127.0.0.1:PORT/path, or unix:/path/to.sock:/path for a unix socket.
    """
    wait_for_answer(lambda: http_get_status(url), url, process, timeout)


def wait_for_answer(ask, what, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Calls `ask` until it returns instead of failing to connect (OSError), while `process`
    runs; `what` names the server in the error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before answering")
        try:
            ask()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not answer within {timeout}s")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str):
        super().__init__("localhost", timeout=5)
        self.socket_path = socket_path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def http_get_status(url: str) -> int:
    """The status of GET `url`, straight to the server (never through a proxy)."""
    if url.startswith("unix:"):
        socket_path, _, path = url.removeprefix("unix:").partition(":")
        conn = UnixHTTPConnection(socket_path)
    else:
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        path = parts.path or "/"
    return status_of_get(conn, path)


def status_of_get(conn: http.client.HTTPConnection, path: str) -> int:
    """GET `path` on an open or openable connection; closes it."""
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture
def redis_server(tmp_path_factory):
    """A real redis-server on a free loopback port; yields its URL."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop_process(process)


@pytest.fixture
def gunicorn_factory(tmp_path):
    """Starts the real app under Gunicorn (gevent workers) on free loopback ports."""
    started, logs = [], []

    def start(env_overrides: dict, workers: int = 1) -> str:
        log = open(tmp_path / f"gunicorn-{len(logs)}.log", "wb")  # noqa: SIM115 - closed below
        logs.append(log)
        process, url = start_app(app_environment(tmp_path, **env_overrides), log, workers)
        started.append(process)
        return url

    yield start
    for process in started:
        # Gunicorn's quick shutdown: a graceful one waits for the test's open event streams.
        stop_process(process, signal.SIGINT)
    for log in logs:
        log.close()


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def speech_wav(speech_dir):
    return audio.speak(audio.SENTENCE, speech_dir / "speech.wav")


@pytest.fixture(scope="session")
def speech_files(speech_dir, speech_wav):
    """The same sentence in every accepted upload format."""
    return {
        fmt: audio.encode(speech_wav, speech_dir / f"speech-{fmt}.{fmt}", fmt)
        for fmt in audio.FORMATS
    }


@pytest.fixture(scope="session")
def rgw():
    """A real S3 server (Ceph RGW, dbstore) on loopback, shared by the session's tests."""
    gateway = rgw_server.start_gateway()
    yield gateway
    gateway.remove()


@pytest.fixture
def own_rgw():
    """An RGW of this test's own, which it may pause (fault tests)."""
    gateway = rgw_server.start_gateway()
    yield gateway
    gateway.remove()
