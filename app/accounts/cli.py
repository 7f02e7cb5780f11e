from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import db_session
from ..organisation.models import Provider
from ..text import match_key
from .models import Role, User
from .services import AccountError, create_user, find_user, set_password

users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--provider", "provider_name", help="For --role provider: the provider's name.")
@click.password_option(help="Asked for when not given (at least 12 characters).")
def create_command(username: str, role: str, provider_name: str | None, password: str) -> None:
    """Create a staff account."""
    provider = None
    if provider_name:
        provider = db_session.scalar(select(Provider).where(Provider.name_key == match_key(provider_name)))
        if provider is None:
            raise click.ClickException(f"no provider named {provider_name!r}")
    try:
        create_user(db_session, username, password, Role(role), provider)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db_session.commit()
    click.echo(f"created {role} account {username!r}")


@users_cli.command("list")
def list_command() -> None:
    """Show staff accounts."""
    for user in db_session.scalars(select(User).order_by(User.username)):
        state = "" if user.active else "  (inactive)"
        click.echo(f"{user.username:<24} {user.role.value}{state}")


@users_cli.command("set-password")
@click.argument("username")
@click.password_option(help="Asked for when not given (at least 12 characters).")
def set_password_command(username: str, password: str) -> None:
    """Give an account a new password (for someone who forgot theirs); signs it out everywhere."""
    user = _user_or_fail(username)
    try:
        set_password(user, password)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db_session.commit()
    click.echo(f"new password set for {user.username!r}; its sessions are signed out")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_command(username: str) -> None:
    """Close an account: it can no longer sign in, and its sessions end at once."""
    _set_active(username, False)


@users_cli.command("activate")
@click.argument("username")
def activate_command(username: str) -> None:
    """Open a deactivated account again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    user = _user_or_fail(username)
    user.active = active
    db_session.commit()
    click.echo(f"{'activated' if active else 'deactivated'} {user.username!r}")


def _user_or_fail(username: str) -> User:
    user = find_user(db_session, username)
    if user is None:
        raise click.ClickException(f"no account named {username!r}")
    return user
