"""Breaker, second round: a hidden two-way cell pinned by two-way tables and non-negativity (found by
tests/test_results_linear_attack_wide.py, seed 25 with BREAKER2_CELLS=7 BREAKER2_NONE=0, reduced by hand).
Held since the linked plan closes the relations between two-way tables that empty cells make
(linked.component_leaks, 2026-12-01): the derivation's step 2 (P2 = its QR = its SO = its women) is one.

docs/analytics.md ("What suppression cannot rule out") says margins of different two-way tables bound the
cells they never show "a range, never a figure". Here the range is one point: every line of the linked plan
has two hidden cells holding k or more, yet the hidden count of 3 (men answering by QR) comes out exactly.
"""

from __future__ import annotations

from datetime import date


from app.analytics import linked
from app.analytics.results import HIDDEN, SelectionRefused, result_table
from app.analytics.scope import Breakdown, Filter, Selection
from app.db import db_session

from .results_fixtures import add, build_results_world

PROVIDERS = ("P1", "P2", "P3", "P4")
MAR, APR, JUN, OCT = date(2027, 3, 1), date(2027, 4, 1), date(2027, 6, 1), date(2027, 10, 1)
CELLS = [  # provider, programme, gender, language, channel, month, responses
    ("P1", "JPG", "woman", "sv", "qr", OCT, 3),
    ("P1", "SO", "man", "ar", "sms", APR, 6),
    ("P2", "SO", "woman", "ar", "qr", MAR, 20),
    ("P3", "JPG", "man", "ar", "sms", MAR, 6),
    ("P4", "JPG", "woman", "ar", "qr", MAR, 20),
    ("P4", "JPG", "woman", "ar", "sms", APR, 9),
    ("P4", "SO", "man", "sv", "qr", JUN, 3),
]


def test_men_by_qr_are_pinned_by_two_way_tables_and_nonnegativity(app):
    """Published (each a row or total of a one-filter table), with k = 5:
    by gender: woman 52, no "other" row, total 67;  channel=qr: total 46, P2 20, SO 23;
    channel=sms: total 21, P3 6, SO 6;  month=2027-04: qr 0 (no row), P2 0, P3 0;  tertial 2027-1 by month:
    April 15;  programme=SO: P2 20, P3 0;  gender=woman: P2 20, P3 0, SO 20.
    1. April 15, none by QR: 15 April SMS; SMS 21 - 15 = 6 not in April, and P3's 6 SMS are not in April
       (April P3 0): the SMS outside April are exactly P3's.  So SO's 6 SMS (SO has no P3) are all April.
    2. P2 has no April and no P3 answer, so no SMS (1.): P2 = its 20 QR = its 20 SO = its 20 women.
       Women in SO are 20 = P2's, so SO's other answers are not women: SO = 23 QR + 6 SMS = 29, 9 of them
       not women (6 SMS, 23 - 20 = 3 QR).
    3. Not women: 67 - 52 = 15 >= P3 (no women) + SO's 9 not P2 -> P3 <= 6 = P3's SMS, so P3 has no QR, and
       the 15 not women are P3's 6 SMS, SO's 6 SMS and SO's 3 QR.  No "other": men by QR = 3.
    channel=qr&by=gender hides men (3, primary); the figure comes out all the same.
    """
    world = build_results_world(app, providers=PROVIDERS)
    for provider, programme, gender, language, channel, month, n in CELLS:
        add(app, world, provider, {"a": 3, "b": 3, "gender": gender}, times=n, programme=programme,
            language=language, channel=channel, month=month)
    campaign = world.campaigns["2027"]
    linked.forget_plans()
    P = world.providers
    SO = world.programmes["SO"]
    gender, provider, programme = Breakdown("background", "gender"), Breakdown("provider"), Breakdown("programme")
    channel, month = Breakdown("channel"), Breakdown("month")

    with app.app_context():
        def table(by, *filter_):
            filters = (Filter(*filter_),) if filter_ else ()
            return result_table(db_session, Selection((campaign,), filters), by, 5, questions=())

        def shown(tab, key):
            """A row's shown responses; 0 for a group the table does not list; None when hidden."""
            row = next((r for r in tab.rows if r.key == key), None)
            if row is None:
                return 0
            return None if row.responses is HIDDEN else row.responses

        try:
            by_gender = table(gender)
            qr_by_gender = table(gender, channel, "qr")
            men_qr = next(r for r in qr_by_gender.rows if r.key == "man")
            figures = dict(
                total=by_gender.total.responses, woman=shown(by_gender, "woman"), other=shown(by_gender, "other"),
                qr=table(provider, channel, "qr").total.responses,
                sms=table(provider, channel, "sms").total.responses,
                qr_p2=shown(table(provider, channel, "qr"), P["P2"]), qr_so=shown(table(programme, channel, "qr"), SO),
                sms_p3=shown(table(provider, channel, "sms"), P["P3"]),
                sms_so=shown(table(programme, channel, "sms"), SO),
                apr_qr=shown(table(channel, month, APR), "qr"), apr_p2=shown(table(provider, month, APR), P["P2"]),
                apr_p3=shown(table(provider, month, APR), P["P3"]),
                apr=shown(table(month, Breakdown("tertial"), (2027, 1)), APR),
                so_p2=shown(table(provider, programme, SO), P["P2"]), so_p3=shown(table(provider, programme, SO), P["P3"]),
                woman_p2=shown(table(provider, gender, "woman"), P["P2"]),
                woman_p3=shown(table(provider, gender, "woman"), P["P3"]),
                woman_so=shown(table(programme, gender, "woman"), SO),
            )
        except SelectionRefused:
            return
    print(figures, "men by QR:", men_qr.responses)
    assert men_qr.responses is HIDDEN
    if any(value is None or value is HIDDEN for value in figures.values()):
        return  # something the derivation needs is hidden: held
    f = figures
    # The steps of the docstring, with the published figures only.
    assert f["apr_qr"] == 0 and f["apr_p2"] == 0 and f["apr_p3"] == 0 and f["so_p3"] == 0 and f["woman_p3"] == 0
    assert f["sms"] - f["apr"] == f["sms_p3"]                      # 1. SMS outside April are P3's
    assert f["so_p2"] == f["qr_p2"] == f["woman_p2"] == f["woman_so"]  # 2. P2 = its QR = its SO = its women
    not_women = f["total"] - f["woman"] - f["other"]
    so_not_women = f["qr_so"] + f["sms_so"] - f["so_p2"]
    assert not_women == f["sms_p3"] + so_not_women                 # 3. every non-woman accounted for
    men_by_qr = f["qr_so"] - f["so_p2"]
    assert men_by_qr != 3, f"men answering by QR recovered: {men_by_qr} (hidden in channel=qr by gender)"
