"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.analytics.summaries import counted, tallied
from app.db import Database
from app.migrate import downgrade, upgrade
from app.models import metadata
from app.surveys.definition import parse_definition

from .results_fixtures import survey_document


def _fresh_database(migrated: str, tmp_path, options: str = "") -> tuple[str, callable]:
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
    return migrated + separator + "options=-csearch_path%3Dmigration_test" + options, drop


def _survey_json(scale_key: str = "a", text_key: str = "comment") -> str:
    """The results tests' survey (a, b on 1-5 as the index, y, gender, comment) as stored, with two keys renamed."""
    document = survey_document()
    for question in document["sections"][0]["questions"]:
        question["key"] = {"a": scale_key, "comment": text_key}.get(question["key"], question["key"])
    document["index"]["questions"] = [scale_key, "b"]
    return json.dumps(document)


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
                "INSERT INTO survey_version (id, key, version, document, digest) VALUES (1, 's', 1, :document, 'd')"),
                {"document": _survey_json("q1", "comments")})
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


def test_the_name_key_migration_folds_names_and_keeps_every_row_and_reference(migrated, tmp_path, caplog):
    # 0005: names become NFC, keys are filled in, names that fold alike are
    # told apart by a number - and nothing that refers to a row is lost.
    url, cleanup = _fresh_database(migrated, tmp_path)
    database = Database(url)
    nfd = "A\u030angstro\u0308m Coaching"  # "Ångström Coaching" with combining ring and diaeresis
    try:
        upgrade(database, "0004")
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO provider (id, name, active) VALUES"
                                    " (1, 'Ångström Coaching', true), (2, :nfd, true),"
                                    " (3, 'ÅNGSTRÖM  COACHING', false), (4, 'Nordljus AB', true)"), {"nfd": nfd})
            connection.execute(text("INSERT INTO programme (id, code, name, active) VALUES"
                                    " (1, 'AMI 1', 'Arbetsmarknadsinsatser', true), (2, 'ami 1', 'Kopia', true),"
                                    " (3, 'SO', 'Samhällsorientering', true)"))
            connection.execute(text(
                "INSERT INTO staff_user (id, username, password_hash, role, provider_id, active) VALUES"
                " (1, 'Karin', 'h1', 'analyst', NULL, true), (2, 'karin', 'h2', 'provider', 2, true),"
                " (3, 'Straße', 'h3', 'admin', NULL, true), (4, 'STRASSE', 'h4', 'entry', NULL, false)"))
            connection.execute(text(
                "INSERT INTO survey_version (id, key, version, document, digest) VALUES (1, 's', 1, '{}', 'd')"))
            connection.execute(text("INSERT INTO campaign (id, name, survey_version_id, starts_on, ends_on)"
                                    " VALUES (1, 'Hösten', 1, '2026-09-01', '2026-12-31')"))
            connection.execute(text("INSERT INTO campaign_provider (campaign_id, provider_id) VALUES (1, 2), (1, 3)"))
            connection.execute(text("INSERT INTO campaign_programme (campaign_id, programme_id) VALUES (1, 2)"))
            connection.execute(text(
                "INSERT INTO open_link (id, campaign_id, provider_id, programme_id, language, channel, code)"
                " VALUES (1, 1, 2, 2, 'sv', 'qr', 'abcdefghij')"))
        with caplog.at_level("WARNING", logger="alembic.runtime.migration"):
            upgrade(database)
        with database.engine.connect() as connection:
            providers = connection.execute(text("SELECT id, name, name_key, active FROM provider ORDER BY id")).all()
            programmes = connection.execute(text("SELECT id, code, code_key, name FROM programme ORDER BY id")).all()
            users = connection.execute(text(
                "SELECT id, username, username_key, password_hash, role, provider_id FROM staff_user ORDER BY id")).all()
            links = connection.execute(text(
                "SELECT campaign_id, provider_id FROM campaign_provider ORDER BY provider_id")).all()
            open_link = connection.execute(text("SELECT provider_id, programme_id FROM open_link")).one()
            if connection.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        assert [tuple(p) for p in providers] == [
            (1, "Ångström Coaching", "ångström coaching", True),
            (2, "Ångström Coaching (2)", "ångström coaching (2)", True),
            (3, "ÅNGSTRÖM COACHING (3)", "ångström coaching (3)", False),
            (4, "Nordljus AB", "nordljus ab", True),
        ]
        assert providers[1].name == "\u00c5ngstr\u00f6m Coaching (2)"  # composed (NFC) now
        assert [tuple(p) for p in programmes] == [
            (1, "AMI 1", "ami 1", "Arbetsmarknadsinsatser"), (2, "ami 1 (2)", "ami 1 (2)", "Kopia"),
            (3, "SO", "so", "Samhällsorientering"),
        ]
        assert [tuple(u) for u in users] == [
            (1, "Karin", "karin", "h1", "analyst", None), (2, "karin (2)", "karin (2)", "h2", "provider", 2),
            (3, "Straße", "strasse", "h3", "admin", None), (4, "STRASSE (2)", "strasse (2)", "h4", "entry", None),
        ]
        assert [tuple(link) for link in links] == [(1, 2), (1, 3)]
        assert tuple(open_link) == (2, 2)
        renames = [r.getMessage() for r in caplog.records if "renamed" in r.getMessage()]
        assert len(renames) == 5 and "provider 2 renamed" in renames[0]
        # The key is what is unique now; the references are still checked.
        with pytest.raises(Exception, match="(?i)unique"), database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO provider (id, name, name_key, active) VALUES (9, 'NORDLJUS AB', 'nordljus ab', true)"))
        with pytest.raises(Exception, match="(?i)foreign key"), database.engine.begin() as connection:
            connection.execute(text("INSERT INTO campaign_provider (campaign_id, provider_id) VALUES (1, 99)"))
        downgrade(database, "0004")
        with database.engine.connect() as connection:
            names = connection.execute(text("SELECT name FROM provider ORDER BY id")).scalars().all()
            assert "name_key" not in {c["name"] for c in inspect(connection).get_columns("provider")}
        assert names == ["Ångström Coaching", "Ångström Coaching (2)", "ÅNGSTRÖM COACHING (3)", "Nordljus AB"]
        with pytest.raises(Exception, match="(?i)unique"), database.engine.begin() as connection:
            connection.execute(text("INSERT INTO provider (id, name, active) VALUES (9, 'Nordljus AB', true)"))
    finally:
        database.dispose()
        cleanup()


def _three_responses_at_0008(database: Database) -> None:
    """The answer-count test's data, written at 0008: r1 and r3 of provider 1 in March 2027, r2 merged."""
    upgrade(database, "0008")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO provider (id, name, name_key, active) VALUES (1, 'N', 'n', true)"))
        connection.execute(text(
            "INSERT INTO programme (id, code, code_key, name, active) VALUES (1, 'SO', 'so', 'SO', true)"))
        connection.execute(text(
            "INSERT INTO survey_version (id, key, version, document, digest) VALUES (1, 's', 1, :document, 'd')"),
            {"document": _survey_json()})
        connection.execute(text("INSERT INTO campaign (id, name, survey_version_id, starts_on, ends_on)"
                                " VALUES (1, 'Hösten', 1, '2027-01-01', '2027-12-31')"))
        connection.execute(text(
            "INSERT INTO response (id, survey_version_id, status, campaign_id, provider_id, programme_id,"
            " language, channel, month) VALUES"
            " ('r1', 1, 'complete', 1, 1, 1, 'sv', 'sms', '2027-03-01'),"
            " ('r2', 1, 'partial', 1, NULL, 1, 'ar', 'qr', NULL),"
            " ('r3', 1, 'complete', 1, 1, 1, 'sv', 'sms', '2027-03-01')"))
        connection.execute(text(
            "INSERT INTO answer (response_id, question_key, value, choice, text, dont_know) VALUES"
            " ('r1', 'a', 5, NULL, NULL, false), ('r1', 'b', 4, NULL, NULL, false),"
            " ('r1', 'gender', NULL, 'woman', NULL, false), ('r1', 'comment', NULL, NULL, 'Bra', false),"
            " ('r2', 'b', NULL, NULL, NULL, true), ('r2', 'y', 1, NULL, NULL, false),"
            " ('r3', 'a', 2, NULL, NULL, false), ('r3', 'gender', NULL, 'man', NULL, false)"))


@contextmanager
def _three_responses_at_head(migrated: str, tmp_path, options: str = ""):
    """A fresh database holding `_three_responses_at_0008`'s data, upgraded to head (0009 and later fill their
    tables from it); disposed and dropped afterwards."""
    url, cleanup = _fresh_database(migrated, tmp_path, options=options)
    database = Database(url)
    try:
        _three_responses_at_0008(database)
        upgrade(database)
        yield database
    finally:
        database.dispose()
        cleanup()


def test_the_answer_count_migration_scores_and_counts_what_is_stored(migrated, tmp_path):
    # 0009 fills response.index_score and answer_count from the stored answers, in SQL of its own:
    # the figures are the hand-counted ones, and the same as the mixing step's own counting.
    with _three_responses_at_head(migrated, tmp_path) as database:
        with database.engine.connect() as connection:
            scores = dict(connection.execute(text("SELECT id, index_score FROM response")).all())
            counts = {tuple(row) for row in connection.execute(text(
                "SELECT dimension, group_value, question_key, kind, answer, n FROM answer_count"))}
            responses = [dict(row._mapping) for row in connection.execute(text(
                "SELECT id, campaign_id, provider_id, programme_id, language, channel, month FROM response"))]
            answers = [dict(row._mapping) for row in connection.execute(text("SELECT * FROM answer"))]
        # Personal scores: the mean of the index answers given (a, b); "don't know" is no answer.
        assert scores == {"r1": 4.5, "r2": None, "r3": 2.0}
        by_provider = {row[1:] for row in counts if row[0] == "provider"}
        assert by_provider == {
            ("1", "a", "value", "5", 1), ("1", "a", "value", "2", 1), ("1", "b", "value", "4", 1),
            ("1", "gender", "choice", "woman", 1), ("1", "gender", "choice", "man", 1),
            ("1", "comment", "text", "", 1), ("", "b", "dont_know", "", 1), ("", "y", "value", "1", 1),
        }
        assert {row[1:] for row in counts if row[0] == "background:gender"} == {
            ("woman", "a", "value", "5", 1), ("woman", "b", "value", "4", 1), ("woman", "gender", "choice", "woman", 1),
            ("woman", "comment", "text", "", 1), ("man", "a", "value", "2", 1), ("man", "gender", "choice", "man", 1),
            ("", "b", "dont_know", "", 1), ("", "y", "value", "1", 1),
        }
        assert {(row[1], row[4], row[5]) for row in counts if row[0] == "month" and row[2] == "a"} == {
            ("2027-03-01", "5", 1), ("2027-03-01", "2", 1)}
        # The provider paired with each other dimension: r2's provider was merged ("") and it has no gender.
        assert {row[1:] for row in counts if row[0] == "provider|background:gender"} == {
            ("1|woman", "a", "value", "5", 1), ("1|woman", "b", "value", "4", 1),
            ("1|woman", "gender", "choice", "woman", 1), ("1|woman", "comment", "text", "", 1),
            ("1|man", "a", "value", "2", 1), ("1|man", "gender", "choice", "man", 1),
            ("|", "b", "dont_know", "", 1), ("|", "y", "value", "1", 1),
        }
        # 0011: every other pair too, the response's own dimensions first: r1 (a = 5) is a woman and r3
        # (a = 2) a man, both in March.
        assert {row[1:] for row in counts if row[0] == "month|background:gender" and row[2] == "a"} == {
            ("2027-03-01|woman", "a", "value", "5", 1), ("2027-03-01|man", "a", "value", "2", 1)}
        assert {row[0] for row in counts} == {
            "provider", "programme", "language", "channel", "month", "background:gender", "provider|programme",
            "provider|language", "provider|channel", "provider|month", "provider|background:gender",
            "programme|language", "programme|channel", "programme|month", "programme|background:gender",
            "language|channel", "language|month", "language|background:gender", "channel|month",
            "channel|background:gender", "month|background:gender"}
        assert sum(row[5] for row in counts) == 8 * 21  # every answer once per dimension and per pair
        # The mixing step counts the same rows alike (summaries.counted, in Python).
        for response in responses:
            response["month"] = None if response["month"] is None else date.fromisoformat(str(response["month"]))
        kept = counted(responses, answers, parse_definition(json.loads(_survey_json())))
        assert {key[1:] + (n,) for key, n in kept.items()} == counts


def test_the_response_tally_migration_tallies_what_is_stored(migrated, tmp_path):
    # 0010 fills response_tally from the stored responses (and 0009's scores), in SQL of its own: the
    # hand-counted figures, and the same as the mixing step's own tallies.
    with _three_responses_at_head(migrated, tmp_path) as database:
        with database.engine.connect() as connection:
            tallies = {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(text(
                "SELECT dimension, group_value, complete, partial, scored, score_sum, score_squares, partly_scored"
                " FROM response_tally"))}
            responses = [dict(row._mapping) for row in connection.execute(text(
                "SELECT id, campaign_id, provider_id, programme_id, language, channel, month, status, index_score,"
                " partly_scored FROM response"))]
            answers = [dict(row._mapping) for row in connection.execute(text("SELECT * FROM answer"))]
        # r1 complete, score (5 + 4) / 2 = 4.5; r3 complete, score 2 from a alone of a and b: partly scored
        # (0012); r2 partial, no score, provider merged.
        # Provider 1: 2 complete, scores 4.5 + 2 = 6.5, squares 20.25 + 4 = 24.25, 1 partly scored.
        assert {row["id"]: bool(row["partly_scored"]) for row in responses} == {"r1": False, "r2": False, "r3": True}
        assert tallies[("provider", "1")] == (2, 0, 2, 6.5, 24.25, 1)
        assert tallies[("provider", "")] == tallies[("month", "")] == tallies[("background:gender", "")] == (
            0, 1, 0, 0.0, 0.0, 0)
        assert tallies[("background:gender", "woman")] == tallies[("provider|background:gender", "1|woman")] == (
            1, 0, 1, 4.5, 20.25, 0)
        assert tallies[("background:gender", "man")] == (1, 0, 1, 2.0, 4.0, 1)
        assert tallies[("month", "2027-03-01")] == (2, 0, 2, 6.5, 24.25, 1)
        assert tallies[("provider|language", "|ar")] == (0, 1, 0, 0.0, 0.0, 0)
        # 0011's pairs without the provider: r2 (SO, ar, qr, no month, no gender) beside r1 and r3 (SO, sv, sms,
        # March; a woman and a man).
        assert tallies[("language|background:gender", "sv|woman")] == (1, 0, 1, 4.5, 20.25, 0)
        assert tallies[("programme|channel", "1|qr")] == tallies[("month|background:gender", "|")] == (
            0, 1, 0, 0.0, 0.0, 0)
        assert tallies[("channel|month", "sms|2027-03-01")] == (2, 0, 2, 6.5, 24.25, 1)
        # 21 dimensions: 2 providers, 1 programme, 2 languages, 2 channels, 2 months, 3 genders; the provider's
        # pairs 2 + 2 + 2 + 2 + 3; the others' (programme, language, channel, month, gender in that order)
        # 2 + 2 + 2 + 3, 2 + 2 + 3, 2 + 3, 3.
        assert len(tallies) == 12 + 11 + 24
        # The mixing step tallies the same rows alike (summaries.tallied, in Python).
        for response in responses:
            response["month"] = None if response["month"] is None else date.fromisoformat(str(response["month"]))
        kept = tallied(responses, answers, parse_definition(json.loads(_survey_json())))
        assert {key[1:]: tuple(tally) for key, tally in kept.items()} == tallies


def test_the_answer_count_migration_writes_months_as_iso_dates_whatever_the_servers_datestyle(migrated, tmp_path):
    # The breaker's case: CAST(date AS VARCHAR) follows PostgreSQL's DateStyle ("01/03/2027" under
    # SQL, DMY), and the results read the month back with date.fromisoformat.
    if migrated.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite keeps dates as ISO text")
    with _three_responses_at_head(migrated, tmp_path, options='%20-cdatestyle%3DSQL%2CDMY') as database:
        with database.engine.connect() as connection:
            assert connection.scalar(text("SHOW datestyle")) == "SQL, DMY"
            months = set(connection.scalars(text(
                "SELECT DISTINCT group_value FROM answer_count WHERE dimension IN ('month', 'provider|month', 'channel|month')")))
            tallied_months = set(connection.scalars(text(
                "SELECT DISTINCT group_value FROM response_tally WHERE dimension IN ('month', 'provider|month', 'channel|month')")))
        assert months == tallied_months == {"2027-03-01", "", "1|2027-03-01", "|", "sms|2027-03-01", "qr|"}
