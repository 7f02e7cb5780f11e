"""The third breaker's linear attacker, widened: programme as a fourth dimension, many empty cells, and the
zeros the tables show (a group a table does not list has no answers; providers and programmes of the
campaign are listed with 0) as equations too. Every one-filter table of one campaign by provider,
programme, gender, month, tertial and year. A hidden count of 1..k-1 whose least and most possible values
agree (scipy HiGHS) is given away.

Before the linked suppression (app/analytics/linked.py) seeds 104 and 107 leaked - seed 104: (JPG, woman)
= 1 from SO = 16 (no man in SO) and 17 women; seed 107: P3 x October = 4 as P3 10 - tertial 1 (only P3
answered then) 6 - and seeds 100-130 hold after it. BREAKER_SEEDS ("104-107" by default), BREAKER_SIZES,
BREAKER_EXPLAIN=1 (the shown figures a leak needs)."""

from __future__ import annotations

import os
import random
from datetime import date

import numpy as np
import pytest

from app.analytics.results import SelectionRefused, result_table
from app.analytics.scope import Breakdown, Filter, Selection, period_of
from app.db import db_session

from .lp_attack import Attack
from .results_fixtures import add, build_results_world

pytestmark = pytest.mark.suppression_search

PROVIDERS = ("P1", "P2", "P3")
PROGRAMMES = ("JPG", "SO")
GENDERS = ("woman", "man")
MONTHS = (date(2027, 3, 1), date(2027, 6, 1), date(2027, 10, 1))
SIZES = tuple(int(s) for s in os.environ.get("BREAKER_SIZES", "0,0,0,0,0,0,0,0,0,0,1,2,3,4,6,9,12").split(","))


def _seeds() -> list[int]:
    first, _, last = os.environ.get("BREAKER_SEEDS", "104-107").partition("-")
    return list(range(int(first), int(last or first) + 1))


@pytest.mark.parametrize("seed", _seeds())
def test_no_hidden_count_is_pinned_with_programmes_and_zeros(app, seed):
    k = 5
    rng = random.Random(seed)
    world = build_results_world(app, providers=PROVIDERS)
    cells = []
    for provider in PROVIDERS:
        for programme in PROGRAMMES:
            for gender in GENDERS:
                for month in MONTHS:
                    n = rng.choice(SIZES)
                    cells.append(((provider, programme, gender, month), n))
                    if n:
                        add(app, world, provider, {"a": rng.randint(1, 5), "b": 3, "gender": gender}, times=n,
                            programme=programme, month=month)
    keys = [cell for cell, _n in cells]
    truth = np.array([n for _cell, n in cells], dtype=float)

    def value_of(dimension, cell):
        provider, programme, gender, month = cell
        if dimension == "provider":
            return world.providers[provider]
        if dimension == "programme":
            return world.programmes[programme]
        if dimension == "background":
            return gender
        if dimension == "month":
            return month
        return period_of(month, dimension)

    breakdowns = [Breakdown("provider"), Breakdown("programme"), Breakdown("background", "gender"),
                  Breakdown("month"), Breakdown("tertial"), Breakdown("year")]
    filters = [()]
    for breakdown in breakdowns:
        values = sorted({value_of(breakdown.dimension, cell) for cell in keys}, key=str)
        filters += [((breakdown, value),) for value in values]
    attack = Attack()

    def mask(filters_, dimension=None, key=None):
        return np.array([1.0 if all(value_of(b.dimension, cell) == v for b, v in filters_)
                         and (dimension is None or value_of(dimension, cell) == key) else 0.0 for cell in keys])

    campaign = world.campaigns["2027"]
    with app.app_context():
        for filters_ in filters:
            for breakdown in breakdowns:
                selection = Selection((campaign,), tuple(Filter(b, v) for b, v in filters_))
                try:
                    table = result_table(db_session, selection, breakdown, k, questions=())
                except SelectionRefused:
                    continue
                attack.read(table, filters_, mask, {value_of(breakdown.dimension, cell) for cell in keys})
    leaks = attack.leaks(truth, k)
    if leaks and os.environ.get("BREAKER_EXPLAIN"):
        print("cells:", [(cell, n) for cell, n in cells if n])
        for where, value in attack.needed(leaks[0][0]):
            print("  uses", where, "=", value)
    assert not leaks, leaks[:3]
