"""The feasibility audit on odd campaigns (the third breaker's worlds, 2026-12-01): one response, a background
question skipped by some or by all, only merged groups, one provider, merged and skipped mixed.

In each, the audit's programs must describe the data - a combination's key and a plan cell's key agreeing on
what a skipped answer or a merged group is - or `feasibility._Program` raises AuditError (and were that check
gone, HiGHS would find no solution and every count would pass as free). Every table by every dimension is
made, with its plan: none raises.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.analytics import feasibility, linked
from app.analytics.results import SelectionRefused, figure_questions, result_table
from app.analytics.scope import Breakdown, Selection
from app.campaigns.models import Campaign
from app.db import db_session

from .results_fixtures import add, build_results_world

K = 5
BREAKDOWNS = [Breakdown(name) for name in ("provider", "programme", "language", "channel", "month", "tertial",
                                           "year")] + [Breakdown("background", "gender")]
MERGED = {"programme": None, "language": None, "channel": None, "month": None}

WORLDS = {  # (provider, answers, how many, scope)
    "one response": [("P1", {"a": 3, "b": 3, "gender": "woman"}, 1, {})],
    "gender skipped by some": [
        ("P1", {"a": 3, "b": 3, "gender": "woman"}, 7, {}), ("P1", {"a": 4, "b": 3}, 3, {}),
        ("P2", {"a": 2, "b": 3}, 2, {"programme": "SO"}), ("P2", {"a": 5, "b": 4, "gender": "man"}, 9, {}),
        ("P3", {"a": 1, "b": 3, "gender": "man"}, 4, {"channel": "qr"}), ("P3", {"a": 2, "b": 2}, 8, {})],
    "gender never answered": [
        ("P1", {"a": 3, "b": 3}, 7, {}), ("P2", {"a": 2, "b": 3}, 3, {"programme": "SO"}),
        ("P3", {"a": 4, "b": 3}, 12, {"channel": "qr"})],
    "only merged groups": [(None, {"a": 3, "b": 3}, 6, MERGED), (None, {"b": 3, "gender": "woman"}, 3, MERGED)],
    "one provider": [
        ("P1", {"a": 3, "b": 3, "gender": "woman"}, 9, {}), ("P1", {"a": 1, "y": 1, "gender": "man"}, 2, {"programme": "SO"}),
        ("P1", {"b": 2, "gender": "other"}, 3, {"month": date(2027, 6, 1)})],
    "merged and skipped mixed": [
        ("P1", {"a": 3, "b": 3, "gender": "woman"}, 8, {"language": None}), ("P1", {"a": 5, "b": 3}, 2, {"month": None}),
        (None, {"a": 2, "b": 3, "gender": "man"}, 5, {}), ("P2", {"a": 1, "b": "dk", "gender": "man"}, 3, {"channel": None}),
        ("P2", {"a": "dk", "b": 5, "y": 0}, 6, {}), ("P3", {"a": 4, "gender": "other"}, 2, {"programme": "SO"})],
}


@pytest.mark.parametrize("name", list(WORLDS))
def test_the_audit_describes_odd_campaigns_and_every_table_is_made(app, monkeypatch, name):
    programs = []  # each program made: its check of the true counts ran
    original = feasibility._Program.__init__

    def counted(self, *args):
        original(self, *args)
        programs.append(len(self.truth))

    monkeypatch.setattr(feasibility._Program, "__init__", counted)
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    for provider, answers, times, scope in WORLDS[name]:
        add(app, world, provider, answers, times=times, **scope)
    linked.forget_plans()
    with app.app_context():
        campaign = db_session.get(Campaign, world.campaigns["2027"])
        definition = campaign.survey_version.definition
        linked.plan(db_session, campaign.id, definition, K, figure_questions(definition))
        for breakdown in BREAKDOWNS:
            try:
                result_table(db_session, Selection((campaign.id,)), breakdown, K)
            except SelectionRefused:
                pass  # one response: every table is refused, as it should be
    assert programs  # the audit ran (each world has a hidden count of 1..k-1)
