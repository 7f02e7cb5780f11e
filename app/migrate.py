"""`flask db upgrade|downgrade|current`: Alembic against the app's database."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from flask import Flask
from flask.cli import AppGroup

from .db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


def alembic_config(connection=None) -> AlembicConfig:
    """Alembic's configuration for migrations/, running on `connection` (a SQLAlchemy Connection) when given."""
    config = AlembicConfig(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Migrate `database` up to `revision` ("head": the newest) in one transaction. Alembic's errors propagate."""
    with database.engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(database: Database, revision: str) -> None:
    """Migrate `database` down to `revision` ("base": an empty schema) in one transaction."""
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(database: Database) -> str | None:
    """The revision the database is at ("0009"), None when it has none (empty, or at base)."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    from .db import get_database

    upgrade(get_database(), revision)
    click.echo(f"database at {current_revision(get_database())}")


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Take the schema back to REVISION ("base" empties it)."""
    from .db import get_database

    downgrade(get_database(), revision)
    click.echo(f"database at {current_revision(get_database()) or 'base'}")


def init_app(app: Flask) -> None:
    """Register the `flask db upgrade|downgrade` commands."""
    app.cli.add_command(db_cli)
