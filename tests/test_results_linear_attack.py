"""An attacker with a linear program: from every response count the results show, is any hidden one pinned down?

Random cells of (campaign, provider, gender, month) with 0-9 responses;
every table by provider, gender, month and tertial with no filter, one
filter or two (provider, gender, tertial), for each campaign alone and for
the two pooled - every shown count is an equation over the true cell
counts. For each hidden count of 1..k-1 responses, two linear programs
(scipy's HiGHS) find the least and most it can be; equal means the figures
give it away. Written by the second breaker; seed 4 found the tertial whose
answers all fell in March (results._month_seeds). RESULTS_ATTACK_SEEDS
("4" by default; "0-19" for twenty), RESULTS_ATTACK_K, ATTACK_ALONE=1
(campaigns alone) and ATTACK_EXPLAIN=1 (print the tables a leak needs)
widen or explain it.
"""

from __future__ import annotations

import itertools
import os
import random
from datetime import date

import numpy as np
import pytest

from app.analytics.results import HIDDEN, SelectionRefused, result_table
from app.analytics.scope import Breakdown, Filter, Selection, period_of
from app.db import db_session

from .lp_attack import Attack
from .results_fixtures import add, build_results_world

pytestmark = pytest.mark.suppression_search

PROVIDERS = ("P1", "P2", "P3")
GENDERS = ("woman", "man", None)
MONTHS = {"2027": (date(2027, 3, 1), date(2027, 6, 1), date(2027, 10, 1)),
          "2028": (date(2028, 3, 1), date(2028, 6, 1), date(2028, 10, 1))}
SIZES = (0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 9)


def value_of(dimension, cell, world):
    campaign, provider, gender, month = cell
    if dimension == "provider":
        return world.providers[provider]
    if dimension == "background":
        return gender
    if dimension == "month":
        return month
    if dimension in ("tertial", "year"):
        return period_of(month, dimension)
    raise AssertionError(dimension)


def _seeds() -> list[int]:
    first, _, last = os.environ.get("RESULTS_ATTACK_SEEDS", "4").partition("-")
    return list(range(int(first), int(last or first) + 1))


@pytest.mark.parametrize("seed", _seeds())
def test_no_hidden_count_is_pinned_by_shown_counts(app, seed):
    k = int(os.environ.get("RESULTS_ATTACK_K", "5"))
    rng = random.Random(seed)
    world = build_results_world(app, providers=PROVIDERS, campaigns=("2027", "2028"))
    cells = []
    for campaign in ("2027", "2028"):
        for provider in PROVIDERS:
            for gender in GENDERS:
                for month in MONTHS[campaign]:
                    n = rng.choice(SIZES)
                    cells.append(((campaign, provider, gender, month), n))
                    if n:
                        answers = {"a": rng.randint(1, 5), "b": 3}
                        if gender:
                            answers["gender"] = gender
                        add(app, world, provider, answers, times=n, campaign=campaign, month=month)
    keys = [cell for cell, _n in cells]
    truth = np.array([n for _cell, n in cells], dtype=float)
    campaign_ids = {name: world.campaigns[name] for name in ("2027", "2028")}
    breakdowns = [Breakdown("provider"), Breakdown("background", "gender"), Breakdown("month"), Breakdown("tertial")]
    filter_values = [(Breakdown("provider"), world.providers[p]) for p in PROVIDERS] + \
        [(Breakdown("background", "gender"), g) for g in ("woman", "man")] + \
        [(Breakdown("tertial"), (year, t)) for year in (2027, 2028) for t in (1, 2, 3)]
    filter_sets = [()] + [(f,) for f in filter_values] + [
        (f, g) for f, g in itertools.combinations(filter_values, 2) if f[0] != g[0]]
    selections = [("2027",), ("2028",), ("2027", "2028")]
    if os.environ.get("ATTACK_ALONE"):
        selections = selections[:2]
    attack = Attack()  # no zeros: this attacker reads only the figures shown

    def mask(campaigns, filters, dimension=None, key=None):
        row = []
        for cell in keys:
            ok = cell[0] in campaigns and all(value_of(b.dimension, cell, world) == v for b, v in filters)
            if ok and dimension is not None:
                ok = value_of(dimension, cell, world) == key
            row.append(1.0 if ok else 0.0)
        return np.array(row)

    with app.app_context():
        for names in selections:
            for filters in filter_sets:
                for breakdown in breakdowns:
                    if any(b == breakdown for b, _v in filters):
                        continue
                    selection = Selection(tuple(campaign_ids[n] for n in names),
                                          tuple(Filter(b, v) for b, v in filters))
                    try:
                        table = result_table(db_session, selection, breakdown, k, questions=())
                    except SelectionRefused:
                        continue
                    used = [n for n in names if campaign_ids[n] in table.selection.campaign_ids]
                    if table.total.responses is not HIDDEN:
                        attack.equations.append((mask(used, filters), table.total.responses,
                                                 (names, filters, "total")))
                    for row in table.rows:
                        m = mask(used, filters, breakdown.dimension, row.key)
                        if row.responses is HIDDEN:
                            attack.targets.append((m, (names, filters, breakdown, row.key)))
                        else:
                            attack.equations.append((m, row.responses, (names, filters, breakdown, row.key)))
    leaks = attack.leaks(truth, k)
    print(f"seed {seed}")
    for leak in leaks[:10]:
        print("  ", leak)
    if leaks and os.environ.get("ATTACK_EXPLAIN"):
        print("cells:", [(cell, n) for cell, n in cells if n])
        for where, value in attack.needed(leaks[0][0]):
            print("  uses", where, "=", value)
    assert not leaks, leaks[:3]
