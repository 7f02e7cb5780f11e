"""The linked plan kept for every process (StoredPlan, linked.plan_to_store): made by the mixing step after a
round, read by a results page while the counts it was made from are current, made again when they are not.

The plans compared are real ones, made by the code from a small world with merged groups, a background
question and months (what the plan hides there is traced in tests/test_linked.py and the results tests);
these tests check that what is read back is the plan made, and that a page does not make one it can read.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from app.analytics import linked
from app.analytics.models import StoredPlan
from app.analytics.results import figure_questions
from app.campaigns.models import Campaign
from app.db import db_session

from .conftest import mixer_of
from .results_fixtures import add, build_results_world

K = 5
MAR, APR = date(2027, 3, 1), date(2027, 4, 1)


def _world(app):
    """P1 with 9 and P2 with 3 in JPG (the 3 hidden, and a complement), P3 with 7 in SO, and 2 merged-provider
    answers: hidden cells in several columns, a merged (None) group, two months and the gender question."""
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    add(app, world, "P1", {"a": 4, "b": 3, "gender": "woman"}, times=9, programme="JPG", month=MAR)
    add(app, world, "P2", {"a": 2, "gender": "man"}, times=3, programme="JPG", month=APR, language="ar")
    add(app, world, "P3", {"a": 5, "b": 5, "gender": "woman"}, times=7, programme="SO", month=APR)
    add(app, world, None, {"a": 3, "b": 1}, times=2, programme="SO", month=None)
    return world


def _definition(campaign_id: int):
    return db_session.get(Campaign, campaign_id).survey_version.definition


def _keep(app, campaign_id: int, definition, questions) -> None:
    """Keep the campaign's current plan as the mixing step does (linked.plan_to_store, then store_plan)."""
    row = linked.plan_to_store(db_session, campaign_id, definition, K, questions)
    assert row is not None
    with app.extensions["kundrost.db"].engine.begin() as connection:
        linked.store_plan(connection, row)


def _made_here(monkeypatch) -> list[int]:
    """Counts the plans this process makes itself (linked._made), made as before."""
    made: list[int] = []
    original = linked._made

    def counting(*args, **kwargs):
        made.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(linked, "_made", counting)
    return made


def test_a_plan_reads_back_as_the_plan_made(app):
    world = _world(app)
    campaign_id = world.campaigns["2027"]
    linked.forget_plans()
    with app.app_context():
        definition = _definition(campaign_id)
        made = linked._answers_plan(db_session, campaign_id, definition, K, figure_questions(definition))[2]
        assert any(keys for tables in made.cells.values() for keys in tables.values())  # something hidden
        assert any(None in keys for tables in made.margins.values() for keys in tables.values())  # merged
        assert linked.decoded_plan(linked.encoded_plan(made)) == made


def test_a_fresh_worker_reads_the_plan_kept_and_makes_none(app, monkeypatch):
    world = _world(app)
    campaign_id = world.campaigns["2027"]
    linked.forget_plans()
    with app.app_context():
        definition = _definition(campaign_id)
        questions = figure_questions(definition)
        _keep(app, campaign_id, definition, questions)
        expected = linked.plan(db_session, campaign_id, definition, K, questions)
        # Kept and current: nothing more to store.
        assert linked.plan_to_store(db_session, campaign_id, definition, K, questions) is None
    linked.forget_plans()  # a new worker process
    made = _made_here(monkeypatch)
    with app.app_context():
        assert linked.plan(db_session, campaign_id, definition, K, questions) == expected
    assert made == []


def test_a_plan_kept_from_other_counts_is_not_read(app, monkeypatch):
    """Two more P2 answers after the plan was kept: its one-way counts differ, so the page makes its own plan
    - the one the mixing step then keeps for these counts (both start from the plan kept before, whose cells
    that still protect a small count they keep: linked.sticky_cells)."""
    world = _world(app)
    campaign_id = world.campaigns["2027"]
    linked.forget_plans()
    with app.app_context():
        definition = _definition(campaign_id)
        questions = figure_questions(definition)
        _keep(app, campaign_id, definition, questions)
    add(app, world, "P2", {"a": 2, "gender": "man"}, times=2, programme="JPG", month=APR, language="ar")
    linked.forget_plans()
    made = _made_here(monkeypatch)
    with app.app_context():
        after = linked.plan(db_session, campaign_id, definition, K, questions)
        assert made == [1]
    linked.forget_plans()  # the mixing step, in a process of its own
    with app.app_context():
        row = linked.plan_to_store(db_session, campaign_id, definition, K, questions)
    assert made == [1, 1]
    assert linked.decoded_plan(row["payload"]) == linked.LinkedPlan(
        {column: tables for column, tables in after.margins.items() if column != "links"},
        {column: tables for column, tables in after.cells.items() if column != "links"})


@pytest.mark.parametrize("payload", ["", "{", "[]", '{"margins": {}}', '{"margins": {"a": {"provider": [1]}}}'])
def test_a_kept_plan_that_does_not_read_is_made_again(app, monkeypatch, payload):
    world = _world(app)
    campaign_id = world.campaigns["2027"]
    linked.forget_plans()
    with app.app_context():
        definition = _definition(campaign_id)
        questions = figure_questions(definition)
        expected = linked.plan(db_session, campaign_id, definition, K, questions)
        _keep(app, campaign_id, definition, questions)
        with app.extensions["kundrost.db"].engine.begin() as connection:
            connection.execute(update(StoredPlan).values(payload=payload))
    linked.forget_plans()
    made = _made_here(monkeypatch)
    with app.app_context():
        assert linked.plan(db_session, campaign_id, definition, K, questions) == expected
    assert made == [1]


def test_the_mixing_step_keeps_each_campaigns_plan_once_per_change(app):
    """A round keeps the plan of the campaign with responses (and of none it kept already); the next round,
    with nothing new, keeps none."""
    world = _world(app)
    campaign_id = world.campaigns["2027"]
    linked.forget_plans()
    mixer = mixer_of(app)
    report = mixer.round()
    assert report.plans_stored == 1
    assert "results plans kept: 1" in report.summary()
    with app.app_context():
        definition = _definition(campaign_id)
        questions = figure_questions(definition)
        kept = db_session.scalars(select(StoredPlan)).all()
        assert [row.campaign_id for row in kept] == [campaign_id]
        assert linked.plan_to_store(db_session, campaign_id, definition, K, questions) is None
    assert mixer.round().plans_stored == 0
