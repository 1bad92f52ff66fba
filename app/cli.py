"""`flask --app wsgi storage ...`: maintenance of the voice files' storage."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from app.services import voice

storage_cli = AppGroup("storage", help="Voice file storage (local disk or S3).")


@storage_cli.command("sweep")
@click.option("--older-than-minutes", default=60, show_default=True, type=click.IntRange(0))
def sweep(older_than_minutes: int) -> None:
    """Remove stored voice files that no message points at (failed or cut-off uploads)."""
    settings = current_app.config["SETTINGS"]
    removed = voice.sweep_orphans(settings, timedelta(minutes=older_than_minutes))
    click.echo(f"removed {len(removed)} orphaned voice file(s)")


def init_app(app) -> None:
    app.cli.add_command(storage_cli)
