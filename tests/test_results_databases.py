"""The same answers give the same figures on SQLite and PostgreSQL, and from either path of the SQL.

The comparison of the databases runs in the PostgreSQL pass, where both databases are at hand: the test
database is PostgreSQL, and a second app on a fresh SQLite file gets the
very same responses. Every breakdown, some filters, hidden cells and
comments are compared. The figures are not recomputed here: what matters
is that the two databases' SQL (integer division, averages of integers,
NULL groups, date grouping) agrees.
"""

from __future__ import annotations

import copy
import math
import random
from datetime import date

import pytest
from sqlalchemy import text

from app import create_app
from app.analytics.aggregates import (answered_counts, comments, joined_answer_counts, joined_response_tallies,
                                     kept_answer_counts, kept_response_tallies)
from app.analytics.results import HIDDEN, SelectionRefused, result_table
from app.analytics.scope import Breakdown, Filter, Selection
from app.campaigns.services import create_campaign
from app.config import Config
from app.db import Database, db_session
from app.migrate import upgrade
from app.organisation.models import Programme, Provider
from app.surveys.services import store_version

from .results_fixtures import ResultsWorld, add, build_results_world, response_row, store, survey_document

BREAKDOWNS = [Breakdown(name) for name in ("provider", "programme", "language", "channel", "month", "tertial",
                                           "year")] + [Breakdown("background", "gender")]


def fill(app, seed: int = 7):
    """About 170 responses with every kind of answer, spread over providers, programmes, languages, channels and months."""
    world = build_results_world(app, providers=("Nordljus AB", "Bro Coachning", "Ek AB"))
    draw = random.Random(seed)
    rows = []
    for _ in range(170):
        answers = {}
        for key in ("a", "b"):
            roll = draw.random()
            if roll < 0.8:
                answers[key] = draw.randint(1, 5)
            elif roll < 0.9:
                answers[key] = "dk"
        if draw.random() < 0.7:
            answers["y"] = draw.randint(0, 1)
        if draw.random() < 0.8:
            answers["gender"] = draw.choice(("woman", "man", "other"))
        if draw.random() < 0.2:
            answers["comment"] = draw.choice(("Bra stöd", "ÅTERKOMMER", "شكرا", "Snabb kontakt", "åtgärd"))
        rows.append(dict(
            provider=draw.choice(("Nordljus AB", "Nordljus AB", "Bro Coachning", "Ek AB", None)), answers=answers,
            programme=draw.choice(("JPG", "SO")), language=draw.choice(("sv", "ar", "ti")),
            channel=draw.choice(("sms", "qr", "paper")),
            month=draw.choice((date(2027, 2, 1), date(2027, 5, 1), date(2027, 6, 1), date(2027, 10, 1), None))))
    with app.app_context():
        store([response_row(world, **row) for row in rows])
        db_session.commit()
    return world


def snapshot(app, world):
    """Every table and comment list as plain, comparable values."""
    campaigns = tuple(world.campaigns.values())
    selections = [
        Selection(campaigns),
        Selection(campaigns, (Filter(Breakdown("background", "gender"), "woman"),)),
        Selection(campaigns, (Filter(Breakdown("tertial"), (2027, 2)),)),
        Selection(campaigns, (Filter(Breakdown("provider"), world.providers["Nordljus AB"]),
                              Filter(Breakdown("channel"), "sms"))),
    ]
    seen = {}
    with app.app_context():
        for number, selection in enumerate(selections):
            for breakdown in BREAKDOWNS:
                try:
                    table = result_table(db_session, selection, breakdown, 5, compare=True)
                except SelectionRefused as refused:
                    seen[(number, breakdown)] = ("refused", refused.reason)
                    continue
                seen[(number, breakdown)] = [_plain(row) for row in (*table.rows, table.total)]
            seen[(number, "comments")] = comments(db_session, selection, ["comment"], search="å")
    return seen


def _plain(row):
    """A row's figures as nested tuples (HIDDEN stays HIDDEN)."""
    def value(item):
        if item is HIDDEN or item is None or isinstance(item, (int, float, str)):
            return item
        if hasattr(item, "__dataclass_fields__"):
            return tuple((name, value(getattr(item, name))) for name in item.__dataclass_fields__)
        if isinstance(item, dict):
            return tuple(sorted((k, value(v)) for k, v in item.items()))
        if isinstance(item, tuple):
            return tuple(value(v) for v in item)
        return item
    return value(row)


def same(left, right) -> bool:
    """Equal, floats within 1e-9 relative (the two databases sum in different orders)."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(left, (tuple, list)) and isinstance(right, (tuple, list)):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    return left == right


def test_the_kept_answer_counts_equal_a_count_of_the_answers_for_every_table_they_hold(app):
    # Tables of one or two dimensions (breakdown and filters) read the counts the mixing step
    # keeps (aggregates.kept_answer_counts); others join the answers (joined_answer_counts). Over
    # the same 170 responses - merged groups, "don't know", text, skipped background answers -
    # both give the same for every table the counts hold, and the counts do hold these.
    world = fill(app)
    campaigns = tuple(world.campaigns.values())
    nordljus, bro = world.providers["Nordljus AB"], world.providers["Bro Coachning"]
    gender, provider, month = Breakdown("background", "gender"), Breakdown("provider"), Breakdown("month")
    held = [(Selection(campaigns), breakdown) for breakdown in BREAKDOWNS] + [
        (Selection(campaigns, (Filter(provider, nordljus),)), breakdown) for breakdown in BREAKDOWNS] + [
        (Selection(campaigns, (Filter(provider, None),)), Breakdown("language")),
        (Selection(campaigns, (Filter(gender, "woman"),)), provider),
        (Selection(campaigns, (Filter(Breakdown("tertial"), (2027, 2)),)), provider),
        (Selection(campaigns, (Filter(Breakdown("tertial"), (2027, 2)),)), month),
        (Selection(campaigns, (Filter(Breakdown("year"), 2027),)), Breakdown("tertial")),
        (Selection(campaigns, (Filter(provider, bro), Filter(Breakdown("channel"), "sms"))), provider),
        (Selection(campaigns), (provider, gender)),
        (Selection(campaigns), (Breakdown("language"), provider)),
        (Selection(campaigns), (month, Breakdown("tertial"))),
        (Selection(campaigns, (Filter(Breakdown("programme"), world.programmes["SO"]),)),
         (provider, Breakdown("programme"))),
        # Two dimensions without the provider (migration 0011).
        (Selection(campaigns, (Filter(gender, "woman"),)), Breakdown("language")),
        (Selection(campaigns), (Breakdown("language"), Breakdown("channel"))),
        (Selection(campaigns, (Filter(Breakdown("language"), "ar"),)), Breakdown("tertial")),
        (Selection(campaigns), (month, gender)),
    ]
    questions = ["a", "b", "y", "gender", "comment"]
    with app.app_context():
        for selection, breakdown in held:
            kept = kept_answer_counts(db_session, selection, breakdown, questions)
            joined = joined_answer_counts(db_session, selection, breakdown, questions)
            assert kept is not None, (selection, breakdown)
            assert kept == joined, (selection, breakdown)
            assert answered_counts(db_session, selection, breakdown, questions) == _answered_only(joined)
            # The responses' statuses and index scores likewise (the scores' sums to 1e-9: summed in another order).
            kept_tallies = kept_response_tallies(db_session, selection, breakdown)
            joined_tallies = joined_response_tallies(db_session, selection, breakdown)
            assert sorted(kept_tallies, key=repr) == sorted(joined_tallies, key=repr), (selection, breakdown)
            assert all(same(_plain(kept_tallies[key]), _plain(joined_tallies[key])) for key in joined_tallies)
        everything = kept_answer_counts(db_session, Selection(campaigns), provider, questions)
        assert sum(n for group in everything.values() for answers in group.values() for n in answers.values()) > 500
        # Three dimensions, or a filter on the merged background group: not held, read from the answers.
        for selection, breakdown in [
            (Selection(campaigns, (Filter(gender, "woman"),)), (Breakdown("language"), month)),
            (Selection(campaigns, (Filter(gender, None),)), provider),
            (Selection(campaigns, (Filter(provider, bro), Filter(Breakdown("channel"), "sms"))), Breakdown("language")),
            (Selection(campaigns, (Filter(Breakdown("channel"), "qr"),)), (provider, Breakdown("programme"))),
        ]:
            assert kept_answer_counts(db_session, selection, breakdown, questions) is None, (selection, breakdown)
            assert kept_response_tallies(db_session, selection, breakdown) is None, (selection, breakdown)


def test_two_campaigns_on_versions_that_mark_different_background_questions_count_every_answer(app):
    # The breaker's case: version 2 of the survey no longer marks gender as a background question, so
    # the mixing step keeps no "background:gender" counts for its campaign; a table of both campaigns
    # by gender must still count both campaigns' answers (read from the answers, then).
    with app.app_context():
        first, _ = store_version(db_session, survey_document())
        document = copy.deepcopy(survey_document())
        document["version"] = 2
        next(q for q in document["sections"][0]["questions"] if q["key"] == "gender")["background"] = False
        second, _ = store_version(db_session, document)
        providers = [Provider(name="Nordljus AB", active=True), Provider(name="Bro Coachning", active=True)]
        programmes = [Programme(code="JPG", name="Jobbpeng grund", active=True)]
        db_session.add_all(providers + programmes)
        db_session.flush()
        made = {name: create_campaign(db_session, name=name, survey_version=version, starts_on=date(year, 1, 1),
                                      ends_on=date(year, 12, 31), providers=providers, programmes=programmes,
                                      languages=["sv"]).id
                for name, version, year in (("2027", first, 2027), ("2028", second, 2028))}
        db_session.commit()
        world = ResultsWorld({p.name: p.id for p in providers}, {p.code: p.id for p in programmes}, made)
    for campaign in ("2027", "2028"):
        add(app, world, "Nordljus AB", {"a": 5, "b": 4, "gender": "woman"}, times=6, campaign=campaign)
        add(app, world, "Bro Coachning", {"a": 2, "b": 1, "gender": "man"}, times=6, campaign=campaign)
    with app.app_context():
        table = result_table(db_session, Selection((made["2027"], made["2028"])), Breakdown("background", "gender"), 5)
    women = next(row for row in table.rows if row.key == "woman")
    assert (women.responses, women.questions["a"].n, women.questions["a"].summary.mean) == (12, 12, 5.0)


@pytest.mark.parametrize("collation", ["sv-SE-x-icu", "und-x-icu"])
def test_a_provider_filter_reads_its_counts_whatever_the_databases_collation(app, config, collation):
    # The second breaker's case: a municipality's PostgreSQL may sort text by a Swedish or ICU
    # collation, where '}' sorts before '|' - a range '1|' <= group_value < '1}' was empty there and
    # every provider-filtered question showed n = 0. The column is given such a collation here.
    if not config.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: SQLite compares text by bytes")
    engine = app.extensions["kundrost.db"].engine
    with engine.begin() as connection:
        if not connection.scalar(text("SELECT count(*) FROM pg_collation WHERE collname = :c"), {"c": collation}):
            pytest.skip(f"no collation {collation} in this PostgreSQL")
        connection.execute(text(
            f'ALTER TABLE answer_count ALTER COLUMN group_value TYPE VARCHAR(100) COLLATE "{collation}"'))
    try:
        world = build_results_world(app, providers=[f"P{number}" for number in range(1, 13)])
        with app.app_context():
            store([response_row(world, "P1", {"a": 5, "b": 4, "gender": "woman"}, language="sv") for _ in range(6)]
                  + [response_row(world, "P12", {"a": 1, "b": 2, "gender": "man"}, language="ar") for _ in range(6)])
            db_session.commit()
            selection = Selection(tuple(world.campaigns.values()), (Filter(Breakdown("provider"), world.providers["P1"]),))
            table = result_table(db_session, selection, Breakdown("language"), 5)
            kept = kept_answer_counts(db_session, selection, Breakdown("language"), ["a", "b"])
        sv = next(row for row in table.rows if row.key == "sv")
        assert (sv.responses, sv.questions["a"].n) == (6, 6)
        assert kept == {"sv": {"a": {5: 6}, "b": {4: 6}}}  # P1's answers, none of P12's
    finally:
        with engine.begin() as connection:
            connection.execute(text(
                'ALTER TABLE answer_count ALTER COLUMN group_value TYPE VARCHAR(100) COLLATE "default"'))


def _answered_only(distributions: dict) -> dict:
    """Group -> question -> answers with a value or an option, from distributions; questions with none left out."""
    counted = {}
    for key, group in distributions.items():
        for question, answers in group.items():
            n = sum(count for answer, count in answers.items() if answer not in ("dont_know", "text"))
            if n:
                counted.setdefault(key, {})[question] = n
    return counted


def test_sqlite_and_postgresql_give_the_same_figures(app, config, tmp_path):
    if not config.database_url.startswith("postgresql"):
        pytest.skip("runs in the PostgreSQL pass, where both databases are at hand")
    sqlite_url = "sqlite:///" + str(tmp_path / "second.sqlite3")
    database = Database(sqlite_url)
    upgrade(database)
    database.dispose()
    second = create_app(Config(**{**config.__dict__, "database_url": sqlite_url}),
                        instance_path=str(tmp_path / "second-instance"))
    second.config.update(TESTING=True)
    on_postgresql = snapshot(app, fill(app))
    on_sqlite = snapshot(second, fill(second))
    second.extensions["kundrost.db"].dispose()
    assert on_postgresql.keys() == on_sqlite.keys()
    for key in on_postgresql:
        assert same(on_postgresql[key], on_sqlite[key]), key
    # The data set is rich enough to mean something: some cells hidden, some shown, a comment found with "å".
    flat = repr(on_postgresql)
    assert "HIDDEN" in flat and "'ÅTERKOMMER'" in flat and "'åtgärd'" in flat
