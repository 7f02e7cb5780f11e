"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.campaigns.models import INVITATION_FILLFACTOR
from app.db import Database
from app.migrate import downgrade, upgrade
from app.models import metadata


def _fresh_database(migrated: str, tmp_path) -> tuple[str, callable]:
    if migrated.startswith("sqlite"):
        return "sqlite:///" + str(tmp_path / "migrations.sqlite3"), lambda: None
    engine = create_engine(migrated)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS migration_test CASCADE"))
        connection.execute(text("CREATE SCHEMA migration_test"))

    def drop():
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA migration_test CASCADE"))
        engine.dispose()

    separator = "&" if "?" in migrated else "?"
    return migrated + separator + "options=-csearch_path%3Dmigration_test", drop


def test_head_matches_the_models(migrated):
    engine = create_engine(migrated)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_migrations_go_down_and_up_again(migrated, tmp_path):
    url, cleanup = _fresh_database(migrated, tmp_path)
    database = Database(url)
    try:
        upgrade(database)
        assert set(metadata.tables) <= set(inspect(database.engine).get_table_names())
        downgrade(database, "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        upgrade(database)
        assert set(metadata.tables) <= set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
        cleanup()


def test_invitation_pages_leave_room_for_in_place_claims_on_postgresql(migrated):
    # Every claim rewrites a cell of invitations (respond/services.py); without
    # free room on their pages each claim also rewrites every index entry.
    if not migrated.startswith("postgresql"):
        pytest.skip("fillfactor is a PostgreSQL storage setting")
    engine = create_engine(migrated)
    with engine.connect() as connection:
        options = connection.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'invitation'"))
    engine.dispose()
    assert f"fillfactor={INVITATION_FILLFACTOR}" in (options or [])
