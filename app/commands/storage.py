"""`flask --app wsgi storage ...`: maintenance of the voice files' storage."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.voice import voice, voice_migration

storage_cli = AppGroup("storage", help="Voice file storage (local disk or S3).")


@storage_cli.command("sweep")
@click.option("--older-than-minutes", default=60, show_default=True, type=click.IntRange(0))
def sweep(older_than_minutes: int) -> None:
    """Remove stored voice files that no message points at (failed or cut-off uploads)."""
    settings = current_app.config["SETTINGS"]
    removed = voice.sweep_orphans(settings, timedelta(minutes=older_than_minutes))
    click.echo(f"removed {len(removed)} orphaned voice file(s)")


@storage_cli.command("migrate")
@click.option("--to", "target", type=click.Choice(["s3"]), required=True)
def migrate(target: str) -> None:
    """Copy local voice files to S3, verify each, switch each message; resumable."""
    settings = current_app.config["SETTINGS"]
    if not settings.s3_bucket:
        raise click.UsageError("set S3_ENDPOINT_URL, S3_BUCKET and the S3 keys first")
    report = voice_migration.migrate_to_s3(settings)
    click.echo(
        f"switched {report.switched} message(s) to {target}: copied {report.copied} file(s), "
        f"{report.already_there} already verified, {len(report.missing)} missing locally"
    )
    if report.missing:
        raise click.ClickException("missing local files: " + ", ".join(report.missing))


@storage_cli.command("prune-local")
def prune_local() -> None:
    """Remove local voice files of messages on S3, each only after its object verifies."""
    report = voice_migration.prune_local(current_app.config["SETTINGS"])
    click.echo(f"removed {report.pruned} local voice file(s)")


def init_app(app) -> None:
    app.cli.add_command(storage_cli)
