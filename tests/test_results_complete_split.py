"""The complete/partial split beside a required question's hidden count (the third breaker of 2026-12-01).

"Complete" means every required question answered, "don't know" included.
With one required question, a group's complete responses are its answers to
that question: by provider, P2's 3 answers to the required a were hidden
(with P1's 9 as the complement), but P2's 3 complete responses were shown,
and the total had no "don't know" - the 3 came back. Now no group is split
into complete and partial; the unfiltered total is (a filter's total is a
group of its parent), and is hidden too where a required question has
1..k-1 answers in all, or when the survey has two or more required
questions (results._total_split).

World (the test survey: a required, b and y optional; k = 5): P1 12
responses, 9 answering a; P2 10 responses, 3 answering a; P3 8, all answering a.
"""

from __future__ import annotations

import csv
import io

from app.accounts.models import Role
from app.analytics.results import HIDDEN, result_table
from app.analytics.scope import Breakdown, Filter, Selection
from app.db import db_session

from .conftest import login
from . import results_fixtures
from .results_fixtures import add, build_results_world
from .test_api import RESULTS, assert_conforms, bearer, make_token

K = 5


def _world(app):
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    add(app, world, "P1", {"a": 4, "y": 1}, times=9)
    add(app, world, "P1", {"y": 1}, times=3, status="partial")
    add(app, world, "P2", {"a": 2, "y": 0}, times=3)
    add(app, world, "P2", {"y": 0}, times=7, status="partial")
    add(app, world, "P3", {"a": 5, "y": 1}, times=8)
    return world


def _table(app, world, filters=()):
    with app.app_context():
        return result_table(db_session, Selection((world.campaigns["2027"],), filters), Breakdown("provider"), K)


def _row(table, world, name):
    return next(row for row in table.rows if row.key == world.providers[name])


def test_no_group_is_split_so_a_hidden_required_count_does_not_come_back(app):
    world = _world(app)
    table = _table(app, world)
    p2 = _row(table, world, "P2")
    assert p2.responses == 10  # shown: 10 >= k
    assert p2.questions["a"] is HIDDEN  # 3 answers to a
    assert (p2.complete, p2.partial) == (None, None)  # before: 3 and 7, the 3 being a's count
    for name in ("P1", "P3"):
        assert (_row(table, world, name).complete, _row(table, world, name).partial) == (None, None)
    # The campaign's split: 9 + 3 + 8 = 20 complete, 3 + 7 = 10 partial.
    assert (table.total.complete, table.total.partial, table.total.responses) == (20, 10, 30)


def test_a_filtered_total_is_a_group_and_is_not_split(app):
    world = _world(app)
    filtered = _table(app, world, (Filter(Breakdown("provider"), world.providers["P2"]),))
    assert filtered.total.responses == 10
    assert (filtered.total.complete, filtered.total.partial) == (None, None)


def test_the_total_split_hides_where_a_required_question_has_too_few_answers(app):
    """3 answers to the required a in the whole campaign: its 3 complete responses would be them."""
    world = build_results_world(app, providers=("P1", "P2"))
    add(app, world, "P1", {"a": 4, "y": 1}, times=3)
    add(app, world, "P1", {"y": 1}, times=5, status="partial")
    add(app, world, "P2", {"y": 0}, times=6, status="partial")
    table = _table(app, world)
    assert table.total.questions["a"] is HIDDEN
    assert (table.total.complete, table.total.partial) == (HIDDEN, HIDDEN)
    assert table.total.responses == 14


def test_the_page_and_the_api_show_no_groups_split(app, make_user, client):
    world = _world(app)
    campaign = world.campaigns["2027"]
    analyst = app.test_client()
    make_user(Role.ANALYST, "analyst")
    assert login(analyst, "analyst").status_code == 303
    text = analyst.get(f"/staff/results/{campaign}/tables/rates.csv").get_data(as_text=True)
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";") if row}
    # Handed out; answered; rate; complete; partial (no links here: 0 handed out, the rate not known).
    assert rows["P2"] == ["0", "", "", "", ""]
    assert rows["Alla svar"] == ["0", "0", "", "20", "10"]

    body = assert_conforms(client.get(RESULTS.format(campaign_id=campaign), headers=bearer(make_token(app))),
                           RESULTS)
    p2_json = next(group for group in body["groups"] if group["label"] == "P2")
    assert p2_json["responses"] == {"suppressed": False, "total": 10, "complete": None, "partial": None}
    assert body["total"]["responses"] == {"suppressed": False, "total": 30, "complete": 20, "partial": 10}


def test_with_two_required_questions_the_total_is_not_split_either(app, monkeypatch):
    """The fourth breaker of 2026-12-01: a and y both required. P1 7 answered a and b, never y (so 0
    complete: its y's 0 is shown); P2 3 answered a, b and y, 7 only y (a: 3, hidden; y: 10); P3 8 answered
    everything (a = y = 8, shown). The total's 11 complete less P1's 0 less P3's 8 was P2's 3 - its hidden
    count of a, since all 10 of P2 answered y. The split is hidden in the total now."""
    original = results_fixtures.survey_document

    def two_required(key="results-test", method="mean"):
        document = original(key, method)
        for question in document["sections"][0]["questions"]:
            if question["key"] == "y":
                question["required"] = True
        return document

    monkeypatch.setattr(results_fixtures, "survey_document", two_required)
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    add(app, world, "P1", {"a": 4, "b": 4}, times=7, status="partial")
    add(app, world, "P2", {"a": 2, "b": 2, "y": 0}, times=3, status="complete")
    add(app, world, "P2", {"y": 0}, times=7, status="partial")
    add(app, world, "P3", {"a": 5, "b": 5, "y": 1}, times=8, status="complete")
    table = _table(app, world)
    assert _row(table, world, "P2").questions["a"] is HIDDEN
    assert _row(table, world, "P3").questions["y"].n == 8 and _row(table, world, "P1").questions["y"].n == 0
    assert (table.total.complete, table.total.partial) == (HIDDEN, HIDDEN)
    assert table.total.responses == 25
