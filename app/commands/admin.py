"""The admin commands (`flask --app wsgi users …`, `… invites …`); on a host, `natter-admin …`.

Passwords come from standard input, never from the command line (where `ps` and the shell
history would show them): one line when piped, a hidden prompt asked twice at a terminal.
"""

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services.accounts import accounts, invites, registration
from app.services.errors import ServiceError
from app.services.operations import administration
from app.version import VERSION


def register(app: Flask) -> None:
    app.cli.add_command(version)
    app.cli.add_command(users)
    app.cli.add_command(invites_group)
    app.cli.add_command(registration_group)


def _password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def _failed(error: ServiceError) -> click.ClickException:
    return click.ClickException(str(error))


@click.command()
def version():
    """The app's version (natter-admin --version)."""
    click.echo(f"natter {VERSION}")


@click.group(cls=AppGroup)
def users():
    """Accounts: create, list, disable, enable, reset-password."""


@users.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.option("--if-missing", is_flag=True, help="Succeed without change if it exists.")
def users_create(name: str, admin: bool, if_missing: bool):
    """Create an account; its password is read from standard input."""
    existing = accounts.find_by_username(name)
    if existing is not None and if_missing:
        if admin and administration.make_admin(existing):
            click.echo(f"user {existing.username} exists; made an admin")
        else:
            click.echo(f"user {existing.username} exists; unchanged")
        return
    try:
        user = accounts.create(name, _password(), is_admin=admin)
    except ServiceError as error:
        raise _failed(error) from None
    click.echo(f"created {'admin' if admin else 'user'} {user.username} (id {user.id})")


@users.command("list")
def users_list():
    """Every account: id, name, admin, disabled."""
    page = 1
    while True:
        batch, total = administration.page_of_users(page, administration.MAX_PAGE_SIZE)
        for user in batch:
            flags = ["admin"] if user.is_admin else []
            flags += ["disabled"] if user.disabled_at is not None else []
            click.echo(f"{user.id}\t{user.username}\t{','.join(flags) or '-'}")
        if page * administration.MAX_PAGE_SIZE >= total:
            return
        page += 1


@users.command("disable")
@click.argument("name")
def users_disable(name: str):
    """Disable an account; its sessions end at once, its messages stay."""
    try:
        user = administration.find(name)
    except ServiceError as error:
        raise _failed(error) from None
    administration.disable(user)
    click.echo(f"disabled {user.username}")


@users.command("enable")
@click.argument("name")
def users_enable(name: str):
    """Let a disabled account log in again."""
    try:
        user = administration.enable(administration.find(name))
    except ServiceError as error:
        raise _failed(error) from None
    click.echo(f"enabled {user.username}")


@users.command("reset-password")
@click.argument("name")
def users_reset_password(name: str):
    """Set a new password (from standard input); every session of the account ends."""
    try:
        user = administration.find(name)
        ended = administration.reset_password(user, _password())
    except ServiceError as error:
        raise _failed(error) from None
    click.echo(f"password of {user.username} reset; {ended} session(s) ended")


@click.group("invites", cls=AppGroup)
def invites_group():
    """Invite links: create, list, revoke."""


@invites_group.command("create")
@click.option("--uses", type=int, default=1, show_default=True, help="Registrations allowed.")
@click.option("--expires", default="7d", show_default=True, help="30m, 12h, 7d, 2w…")
def invites_create(uses: int, expires: str):
    """Create an invite and print its link (shown this once only)."""
    try:
        invite, token = invites.create(uses, expires)
    except ServiceError as error:
        raise _failed(error) from None
    click.echo(invites.link(token, current_app.config["SETTINGS"].public_url))
    click.echo(f"invite {invite.id}: {uses} use(s), expires {invite.expires_at:%Y-%m-%d %H:%M} UTC")


@invites_group.command("list")
def invites_list():
    """Invites, newest first: id, state, uses left, expiry."""
    for invite in invites.all_invites():
        click.echo(
            f"{invite.id}\t{invites.state(invite)}\t{invite.uses_left}/{invite.max_uses}"
            f"\t{invite.expires_at:%Y-%m-%d %H:%M} UTC"
        )


@invites_group.command("revoke")
@click.argument("invite_id", type=int)
def invites_revoke(invite_id: int):
    """Revoke an invite: its link stops working."""
    try:
        invites.revoke(invite_id)
    except ServiceError as error:
        raise _failed(error) from None
    click.echo(f"revoked invite {invite_id}")


@click.group("registration", cls=AppGroup)
def registration_group():
    """Who may register: show or set the mode (open, invite, closed)."""


@registration_group.command("show")
def registration_show():
    """Print the mode in force."""
    click.echo(registration.mode(current_app.config["SETTINGS"].registration_mode))


@registration_group.command("set")
@click.argument("mode")
def registration_set(mode: str):
    """Set the mode for every app process (overrides REGISTRATION_MODE)."""
    try:
        click.echo(f"registration mode: {registration.set_mode(mode)}")
    except ServiceError as error:
        raise _failed(error) from None
