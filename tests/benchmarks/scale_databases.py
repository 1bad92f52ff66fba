"""The data-scale benchmark's two engines: bulk loading and query plans, SQLite and PostgreSQL.

Each loads rows the fastest way its engine offers (SQLite's executemany in one transaction,
PostgreSQL's COPY) and reads the plan of a statement the app ran, to find a growing table
read from end to end.
"""

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import psycopg

from tests.postgres import SUPERUSER, PostgresServer

# Tables whose ids the seeding writes itself; PostgreSQL's sequences must move past them.
SEEDED_IDS = ("users", "conversations", "chat_messages", "message_changes")


class SqliteDatabase:
    engine = "SQLite"

    def __init__(self, folder: Path):
        self.path = folder / "test.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def load(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        marks = ", ".join("?" * len(columns))
        with sqlite3.connect(self.path) as connection:
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 - the benchmark's own names
                rows,
            )
        connection.close()

    def next_ids(self) -> tuple[int, int, int]:
        """The next free ids of users, conversations and chat_messages."""
        with sqlite3.connect(self.path) as connection:
            found = connection.execute(NEXT_IDS).fetchone()
        connection.close()
        return found

    def full_scans(self, statements, growing: set[str]) -> list[str]:
        found = []
        with sqlite3.connect(self.path) as connection:
            for statement, parameters in statements:
                plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                for *_, detail in plan.fetchall():
                    words = detail.split()
                    if words[:1] == ["SCAN"] and words[1] in growing:
                        found.append(f"{detail}  <-  {' '.join(statement.split())[:160]}")
        connection.close()
        return found


class PostgresDatabase:
    engine = "PostgreSQL"

    def __init__(self, server: PostgresServer):
        self.server = server
        self.name = server.create_database()
        self.url = server.url(self.name)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.server.folder, port=self.server.port, user=SUPERUSER, dbname=self.name
        )

    def load(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        with self.connect() as connection:
            with connection.cursor().copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            for seeded in SEEDED_IDS:
                move_on = f"SELECT setval(pg_get_serial_sequence('{seeded}', 'id'), coalesce(max(id), 0) + 1, false) FROM {seeded}"  # noqa: E501, S608 - constants
                connection.execute(move_on)
        with self.connect() as connection:
            connection.autocommit = True
            connection.execute(f"ANALYZE {table}")  # plans as on a database in use

    def next_ids(self) -> tuple[int, int, int]:
        with self.connect() as connection:
            return connection.execute(NEXT_IDS).fetchone()

    def full_scans(self, statements, growing: set[str]) -> list[str]:
        found = []
        with self.connect() as connection:
            # A small table is cheaper to read whole, so the planner would; forbidding that
            # shows whether an index can serve the statement (it has none if it still scans).
            connection.execute("SET enable_seqscan = off")
            for statement, parameters in statements:
                explained = connection.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
                for node in plan_nodes(explained.fetchone()[0][0]["Plan"]):
                    if node["Node Type"] == "Seq Scan" and node["Relation Name"] in growing:
                        where = " ".join(statement.split())[:160]
                        found.append(f"Seq Scan on {node['Relation Name']}  <-  {where}")
        return found


NEXT_IDS = (
    "SELECT (SELECT coalesce(max(id), 0) + 1 FROM users),"
    " (SELECT coalesce(max(id), 0) + 1 FROM conversations),"
    " (SELECT coalesce(max(id), 0) + 1 FROM chat_messages)"
)


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
