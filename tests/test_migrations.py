"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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


def test_the_mixing_migration_keeps_every_response_and_answer(migrated, tmp_path):
    # 0004 rebuilds response and answer on SQLite by hand; a careless rebuild
    # loses WITHOUT ROWID or lets dropping response cascade into answer.
    url, cleanup = _fresh_database(migrated, tmp_path)
    database = Database(url)
    try:
        upgrade(database, "0003")
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO provider (id, name, active) VALUES (1, 'Nordljus AB', true)"))
            connection.execute(text("INSERT INTO programme (id, code, name, active) VALUES (1, 'SO', 'SO', true)"))
            connection.execute(text(
                "INSERT INTO survey_version (id, key, version, document, digest) VALUES (1, 's', 1, '{}', 'd')"))
            connection.execute(text(
                "INSERT INTO campaign (id, name, survey_version_id, starts_on, ends_on)"
                " VALUES (1, 'Hösten', 1, '2026-09-01', '2026-12-31')"))
            connection.execute(text(
                "INSERT INTO response (id, survey_version_id, status, week, campaign_id, provider_id,"
                " programme_id, language, channel) VALUES"
                " ('a1', 1, 'complete', '2026-09-28', 1, 1, 1, 'ar', 'sms'),"
                " ('b2', 1, 'partial', '2026-11-30', 1, 1, 1, 'ti', 'qr')"))
            connection.execute(text(
                "INSERT INTO answer (response_id, question_key, value, choice, text, dont_know) VALUES"
                " ('a1', 'q1', 4, NULL, NULL, false), ('a1', 'comments', NULL, NULL, 'Bra stöd', false),"
                " ('b2', 'q1', NULL, NULL, NULL, true)"))
        upgrade(database)
        with database.engine.connect() as connection:
            responses = connection.execute(text(
                "SELECT id, status, month, language, channel FROM response ORDER BY id")).all()
            answers = connection.execute(text(
                "SELECT response_id, question_key, value, text, dont_know FROM answer"
                " ORDER BY response_id, question_key")).all()
            if connection.dialect.name == "sqlite":
                with pytest.raises(Exception, match="rowid"):
                    connection.execute(text("SELECT rowid FROM response")).all()
        # The week of Monday 28 September 2026 keeps September; 30 November, November.
        assert [(r.id, r.status, str(r.month), r.language, r.channel) for r in responses] == [
            ("a1", "complete", "2026-09-01", "ar", "sms"),
            ("b2", "partial", "2026-11-01", "ti", "qr"),
        ]
        assert [tuple(a) for a in answers] == [
            ("a1", "comments", None, "Bra stöd", False),
            ("a1", "q1", 4, None, False),
            ("b2", "q1", None, None, True),
        ]
    finally:
        database.dispose()
        cleanup()
