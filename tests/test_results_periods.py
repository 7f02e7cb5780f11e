"""Months, tertials and years: a coarser period shows nothing its months' tables hide.

The second breaker's case, cut down from the linear attacker's seed 4
(tests/test_results_linear_attack.py): in campaign 2027 the first tertial's
answers all fall in March. "Tertial 1 by provider" showed its total and P3,
"P2 by month" showed P2's March, and the total minus both was P1's one March
answer - the two tables were suppressed apart and hid different complements.
"""

from __future__ import annotations

from datetime import date

from app.analytics.results import HIDDEN, result_table
from app.analytics.scope import Breakdown, Filter, Selection
from app.db import db_session

from .results_fixtures import add, build_results_world

K = 5
MARCH, JUNE, OCTOBER = date(2027, 3, 1), date(2027, 6, 1), date(2027, 10, 1)
PROVIDER, TERTIAL, MONTH = Breakdown("provider"), Breakdown("tertial"), Breakdown("month")


def march_world(app):
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    cells = [("P1", "woman", MARCH, 1, 1), ("P1", "woman", OCTOBER, 4, 3), ("P1", None, JUNE, 4, 3),
             ("P1", None, OCTOBER, 2, 3),
             ("P2", "woman", MARCH, 1, 3), ("P2", "woman", JUNE, 6, 3), ("P2", "woman", OCTOBER, 2, 3),
             ("P2", "man", JUNE, 2, 3), ("P2", None, MARCH, 9, 3), ("P2", None, JUNE, 2, 3),
             ("P3", "woman", MARCH, 2, 3), ("P3", "woman", JUNE, 9, 3), ("P3", "man", MARCH, 7, 3),
             ("P3", "man", JUNE, 9, 3), ("P3", "man", OCTOBER, 6, 3), ("P3", None, JUNE, 1, 3),
             ("P3", None, OCTOBER, 2, 3)]
    for provider, gender, month, times, a in cells:
        add(app, world, provider, {"a": a, "b": 3, **({"gender": gender} if gender else {})}, times=times, month=month)
    return world


def table(app, world, filters, by):
    with app.app_context():
        return result_table(db_session, Selection((world.campaigns["2027"],), filters), by, K)


def row(result, key):
    return next(item for item in result.rows if item.key == key)


def test_a_tertial_of_one_month_shows_no_provider_its_months_table_hides(app):
    world = march_world(app)
    p = world.providers
    first_tertial = (Filter(TERTIAL, (2027, 1)),)
    # March by provider (P1 1, P2 10, P3 9): P1 is hidden, and with it P2 - not P3, the smallest: the linked
    # suppression (app/analytics/linked.py) puts a complement where the other line through it already hides
    # a cell, and P2's months hide its October (2), while all of P3's (9, 19, 8) are shown.
    by_provider_in_march = table(app, world, (Filter(MONTH, MARCH),), PROVIDER)
    assert [row(by_provider_in_march, p[name]).responses for name in ("P1", "P2", "P3")] == [HIDDEN, HIDDEN, 9]
    # The first tertial is March alone: its table hides the same providers, whatever its own choice would be.
    by_provider_in_tertial = table(app, world, first_tertial, PROVIDER)
    assert [row(by_provider_in_tertial, p[name]).responses for name in ("P1", "P2", "P3")] == [HIDDEN, HIDDEN, 9]
    # The attack: the tertial's total less P2's March (by P2 by month) and P3 - P2's March is hidden there too.
    p2_by_month = table(app, world, (Filter(PROVIDER, p["P2"]),), MONTH)
    assert row(p2_by_month, MARCH).responses is HIDDEN
    assert by_provider_in_tertial.total.responses - 9 == 1 + 10  # P1 and P2 together, never apart


def test_a_tertial_is_hidden_wherever_one_of_its_months_is(app):
    # For every provider, and for the campaign as a whole: a tertial holding a month the table by month
    # hides is hidden in the table by tertial (so each shown tertial is a sum of months shown).
    world = march_world(app)
    tertial_of = {MARCH: (2027, 1), JUNE: (2027, 2), OCTOBER: (2027, 3)}
    checked = 0
    for filters in [(), *((Filter(PROVIDER, world.providers[name]),) for name in ("P1", "P2", "P3"))]:
        by_month = table(app, world, filters, MONTH)
        by_tertial = table(app, world, filters, TERTIAL)
        for month_row in by_month.rows:
            if month_row.responses is HIDDEN:
                assert row(by_tertial, tertial_of[month_row.key]).responses is HIDDEN, (filters, month_row.key)
                checked += 1
    # P1's March (1) and June (4) are hidden for sure: the rule was tried.
    assert checked >= 2
