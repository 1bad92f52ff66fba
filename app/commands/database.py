"""`flask --app wsgi db copy-from-sqlite PATH` (on a host, `natter-admin db ...`): moving an
existing SQLite install into PostgreSQL. It joins Flask-Migrate's `db` group."""

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_migrate.cli import db as db_group

from app.extensions import db
from app.services.errors import ServiceError
from app.services.operations import database_copy


def register() -> None:
    db_group.add_command(copy_from_sqlite)


@click.command("copy-from-sqlite")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def copy_from_sqlite(path: Path) -> None:
    """Copy every row of the SQLite file PATH into this (empty, migrated) database."""
    try:
        report = database_copy.copy_from_sqlite(path, db.engine)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    for table, count in report.rows.items():
        click.echo(f"{table}\t{count}")
    click.echo(f"copied {sum(report.rows.values())} row(s) from {path}")
