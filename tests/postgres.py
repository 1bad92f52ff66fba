"""A real PostgreSQL server for the tests: Debian's binaries, a throwaway cluster on loopback.

One server per test session (initdb into a temporary folder, a random port, its unix socket
in that folder). Each test gets fresh databases: `CREATE DATABASE ... TEMPLATE` copies a
template that already holds the tables, which is much faster than creating them again.
The cluster trades durability for speed (fsync off): it lives only as long as the session.
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

# The server refuses to run as root; as root the tests run it as Debian's `postgres` account.
SERVER_ACCOUNT = "postgres"
SUPERUSER = "postgres"
# Settings of a cluster that is thrown away after the session: nothing is written twice.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "listen_addresses": "127.0.0.1",
}


def binary(name: str) -> str:
    """Debian keeps the server's programs in /usr/lib/postgresql/VERSION/bin: the newest."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"{name} is not installed: run ansible/bootstrap.sh test")
    return on_path


def url(
    socket_dir: str, port: int, database: str, user: str = SUPERUSER, password: str = ""
) -> str:
    """The SQLAlchemy URL of `database` through the server's unix socket."""
    credentials = f"{user}:{password}" if password else user
    return f"postgresql+psycopg://{credentials}@/{database}?host={socket_dir}&port={port}"


class PostgresServer:
    """initdb + postgres in a temporary folder; stop() removes everything."""

    def __init__(self, port: int):
        self.port = port
        self.folder = tempfile.mkdtemp(prefix="natter-postgres-")
        self.account = pwd.getpwnam(SERVER_ACCOUNT) if os.geteuid() == 0 else None
        if self.account is not None:
            os.chown(self.folder, self.account.pw_uid, self.account.pw_gid)
        self.data = os.path.join(self.folder, "data")
        self.process = None
        self.admin = None
        self.counter = 0
        # Databases with the tables, emptied after a test, for the next ones (see conftest).
        self.spare: list[str] = []

    def run_as_server(self, args: list[str], **kwargs) -> subprocess.Popen:
        if self.account is not None:
            kwargs.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        return subprocess.Popen(args, cwd=self.folder, **kwargs)

    def start(self) -> "PostgresServer":
        initdb = self.run_as_server(
            [binary("initdb"), "--pgdata", self.data, "--username", SUPERUSER,
             "--auth", "trust", "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync",
             # A language collation, as on most hosts: code point order is not the default.
             "--locale-provider", "icu", "--icu-locale", "en-US"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, errors = initdb.communicate(timeout=120)
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {errors.decode(errors='replace')}")
        options = [f"--{key}={value}" for key, value in SERVER_SETTINGS.items()]
        self.log = open(os.path.join(self.folder, "server.log"), "wb")  # noqa: SIM115 - stop()
        self.process = self.run_as_server(
            [binary("postgres"), "-D", self.data, "-p", str(self.port),
             "-k", self.folder, *options],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            self.admin = self.connect_when_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def connect_when_ready(self, timeout: float = 60.0) -> psycopg.Connection:
        """The superuser's connection, as soon as the server accepts one."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.read_log()}")
            try:
                return psycopg.connect(
                    host=self.folder, port=self.port, user=SUPERUSER, dbname="postgres",
                    autocommit=True, connect_timeout=5,
                )  # fmt: skip
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def read_log(self) -> str:
        return Path(self.folder, "server.log").read_text(errors="replace")

    def url(self, database: str, **credentials) -> str:
        return url(self.folder, self.port, database, **credentials)

    def execute(self, statement: str, *params) -> list:
        with self.admin.cursor() as cursor:
            cursor.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, template: str = "template0") -> str:
        """A new, uniquely named database copied from `template`: its SQLAlchemy URL."""
        self.counter += 1
        name = f"test_{self.counter}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def disconnect(self, name: str) -> None:
        """Ends every session still open on `name` (a test's leftover pool, a killed process)."""
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            name,
        )

    def empty_tables(self, name: str) -> None:
        """Every table of `name` emptied and its id sequences restarted: as good as new."""
        self.disconnect(name)
        with psycopg.connect(
            host=self.folder, port=self.port, user=SUPERUSER, dbname=name, autocommit=True
        ) as connection:
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
            if tables:
                connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: disconnects clients
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None:
            self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
