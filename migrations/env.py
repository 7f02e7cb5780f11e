"""Alembic environment: the schema is the models' metadata, the database the app's."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from app.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    from app import create_app
    from app.db import get_database

    app = create_app()
    with app.app_context():
        with get_database().engine.begin() as connection:
            run_migrations(connection)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_online()
