from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import db_session
from .models import Programme, Provider

organisation_cli = AppGroup("organisation", help="Providers and programmes.")


@organisation_cli.command("add-provider")
@click.argument("name")
def add_provider(name: str) -> None:
    """Add a provider (Sw. anordnare)."""
    if db_session.scalar(select(Provider).where(Provider.name == name)):
        raise click.ClickException(f"provider {name!r} exists already")
    db_session.add(Provider(name=name, active=True))
    db_session.commit()
    click.echo(f"added provider {name!r}")


@organisation_cli.command("add-programme")
@click.argument("code")
@click.argument("name")
def add_programme(code: str, name: str) -> None:
    """Add a programme (Sw. insats), e.g. SO "Samhällsorientering"."""
    if db_session.scalar(select(Programme).where(Programme.code == code)):
        raise click.ClickException(f"programme {code!r} exists already")
    db_session.add(Programme(code=code, name=name, active=True))
    db_session.commit()
    click.echo(f"added programme {code!r}")
