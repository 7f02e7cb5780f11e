"""Providers and programmes: who delivers what a municipality buys."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..db import db_session
from ..text import typed_name
from . import services
from .models import CODE_MAX, NAME_MAX

organisation_cli = AppGroup("organisation", help="Providers and programmes.")


@organisation_cli.command("add-provider")
@click.argument("name")
def add_provider(name: str) -> None:
    """Add a provider (Sw. anordnare)."""
    name = _checked(name, "name", NAME_MAX)
    if services.add_provider(db_session, name) is None:
        raise click.ClickException(f"provider {name!r} exists already")
    db_session.commit()
    click.echo(f"added provider {name!r}")


@organisation_cli.command("add-programme")
@click.argument("code")
@click.argument("name")
def add_programme(code: str, name: str) -> None:
    """Add a programme (Sw. insats), e.g. SO "Samhällsorientering"."""
    code = _checked(code, "code", CODE_MAX)
    name = _checked(name, "name", NAME_MAX)
    if services.add_programme(db_session, code, name) is None:
        raise click.ClickException(f"programme {code!r} exists already")
    db_session.commit()
    click.echo(f"added programme {code!r}")


def _checked(value: str, what: str, longest: int) -> str:
    value = typed_name(value)
    if not value:
        raise click.ClickException(f"the {what} is empty")
    if len(value) > longest:
        raise click.ClickException(f"the {what} is longer than {longest} characters")
    return value
