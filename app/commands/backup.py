"""`flask --app wsgi backup ...` (on a host: `natter-admin backup ...`): archives of the data.

Archives travel through standard input and output, so the app's user never opens a file
of root's: the host's `natter-backup` (root) pipes the settings folder in and writes the
archive where only root reads it; the restore playbook pipes an archive in.
"""

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.operations import backup

backup_cli = AppGroup("backup", help="Backup archives: database snapshot, voice files, settings.")


@backup_cli.command("create")
@click.option(
    "--config-tar",
    type=click.File("rb"),
    help="A tar stream of the settings folder to include ('-' for standard input).",
)
def create(config_tar) -> None:
    """Write an archive to standard output while the app runs (a consistent snapshot)."""
    if sys.stdout.isatty():
        raise click.UsageError("the archive goes to standard output: redirect it to a file")
    try:
        manifest = backup.create(current_app.config["SETTINGS"], sys.stdout.buffer, config_tar)
    except backup.BackupRefused as error:
        raise click.ClickException(str(error)) from None
    sys.stdout.buffer.flush()
    click.echo(f"backup written: schema {manifest['database']['schema_revision']}", err=True)


@backup_cli.command("verify")
@click.argument("archive", type=click.File("rb"))
def verify(archive) -> None:
    """Check an archive ('-': standard input) against its manifest; print what it holds."""
    try:
        contents = backup.read(archive)
    except backup.BackupRefused as error:
        raise click.ClickException(f"refused: {error}") from None
    click.echo(json.dumps(contents.summary(), sort_keys=True))


@backup_cli.command("restore")
@click.argument("archive", type=click.File("rb"))
def restore(archive) -> None:
    """Put an archive's database and voice files in place (stop the app and workers first)."""
    try:
        contents = backup.restore(current_app.config["SETTINGS"], archive)
    except backup.BackupRefused as error:
        raise click.ClickException(f"refused, nothing changed: {error}") from None
    click.echo(json.dumps(contents.summary(), sort_keys=True))


def init_app(app) -> None:
    app.cli.add_command(backup_cli)
