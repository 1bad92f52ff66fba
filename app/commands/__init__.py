"""The `flask` commands (on a host, `natter-admin`): accounts, backups, storage, database."""

from flask import Flask

from app.commands import admin, backup, database, storage


def register(app: Flask) -> None:
    admin.register(app)
    database.register()
    storage.init_app(app)
    backup.init_app(app)
