"""Moving an existing SQLite install into the configured database (PostgreSQL), row for row.

The target must already have the schema (`flask db upgrade`) at the same migration as the
SQLite file, and no rows: the copy never merges. Tables are copied parents first, in one
transaction, then every id sequence continues after the highest copied id.
"""

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.extensions import db
from app.services.errors import N_, InvalidInput

BATCH_ROWS = 1000


@dataclass
class CopyReport:
    rows: dict[str, int]  # table -> rows copied


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _check(source: sa.Connection, target: sa.Connection) -> None:
    source_revision, target_revision = _revision(source), _revision(target)
    if source_revision != target_revision:
        raise InvalidInput(
            N_("the SQLite file is at migration %(source)s, this database at %(target)s: "
               "run the same release's `db upgrade` on both first"),
            code="schema_mismatch", source=source_revision, target=target_revision,
        )  # fmt: skip
    for table in db.metadata.sorted_tables:
        if target.execute(sa.select(sa.func.count()).select_from(table)).scalar():
            raise InvalidInput(
                N_("the target database already has rows in %(table)s; copy only into an "
                   "empty one"),
                code="target_not_empty", table=table.name,
            )  # fmt: skip


def _restart_sequences(target: sa.Connection) -> None:
    """PostgreSQL hands out ids from sequences, which copied rows did not advance."""
    if target.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = target.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
        ).scalar()
        highest = target.execute(sa.select(sa.func.max(column))).scalar()
        # The next id is highest + 1, or 1 for an empty table (is_called false).
        target.execute(sa.select(sa.func.setval(sequence, highest or 1, highest is not None)))


def copy_from_sqlite(sqlite_path: Path, target_engine: Engine) -> CopyReport:
    if not sqlite_path.is_file():
        raise InvalidInput(
            N_("no SQLite file at %(path)s"), code="not_found", path=str(sqlite_path)
        )
    source_engine = sa.create_engine(f"sqlite:///file:{sqlite_path}?mode=ro&uri=true")
    rows: dict[str, int] = {}
    try:
        with source_engine.connect() as source, target_engine.begin() as target:
            _check(source, target)
            for table in db.metadata.sorted_tables:
                result = source.execute(sa.select(table)).mappings()
                rows[table.name] = 0
                while batch := [dict(row) for row in result.fetchmany(BATCH_ROWS)]:
                    target.execute(sa.insert(table), batch)
                    rows[table.name] += len(batch)
            _restart_sequences(target)
    finally:
        source_engine.dispose()
    return CopyReport(rows=rows)
