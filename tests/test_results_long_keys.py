"""The third breaker (2026-12-01): a survey with two background questions whose keys are long (each within
the 40 characters KEY_PATTERN allows) could not have its responses stored on PostgreSQL once migration 0011
kept the pair "background:<key1>|background:<key2>" in answer_count.dimension and response_tally.dimension,
then VARCHAR(70): 11 + 24 + 1 + 11 + 24 = 71 characters. Now VARCHAR(110) (the longest: 103). Runs on both
databases (CI's PostgreSQL pass is the one that failed)."""

from __future__ import annotations

import copy
from datetime import date

from app.analytics.results import result_table
from app.analytics.scope import Breakdown, Filter, Selection
from app.campaigns.services import create_campaign
from app.db import db_session
from app.organisation.models import Programme, Provider
from app.surveys.services import store_version

from .results_fixtures import TEXTS, ResultsWorld, add, survey_document

FIRST, SECOND = "country_of_birth_region_of_respondents_1", "highest_level_of_education_completed_yet"  # 40 each


def test_two_background_questions_with_long_keys_can_be_stored_and_read(app):
    document = copy.deepcopy(survey_document())
    questions = document["sections"][0]["questions"]
    for key in (FIRST, SECOND):
        questions.append({"key": key, "type": "choice", "background": True, "text": TEXTS,
                          "options": [{"key": option, "text": TEXTS} for option in ("x", "z")]})
    with app.app_context():
        version, _ = store_version(db_session, document)
        providers = [Provider(name="P1", active=True), Provider(name="P2", active=True)]
        programmes = [Programme(code="JPG", name="Jobbpeng grund", active=True)]
        db_session.add_all(providers + programmes)
        db_session.flush()
        campaign = create_campaign(db_session, name="2027", survey_version=version, starts_on=date(2027, 1, 1),
                                   ends_on=date(2027, 12, 31), providers=providers, programmes=programmes,
                                   languages=["sv"])
        db_session.commit()
        world = ResultsWorld({p.name: p.id for p in providers}, {"JPG": programmes[0].id}, {"2027": campaign.id})
    # The fixture stores what the mixer stores (add_to_summaries, in the same transaction).
    add(app, world, "P1", {"a": 4, "b": 4, FIRST: "x", SECOND: "z"}, times=6)
    add(app, world, "P2", {"a": 2, "b": 3, FIRST: "z", SECOND: "x"}, times=6)
    with app.app_context():
        table = result_table(db_session, Selection((campaign.id,)), Breakdown("background", FIRST), 5)
    assert {row.key: row.responses for row in table.rows} == {"x": 6, "z": 6}
    with app.app_context():
        crossed = result_table(db_session, Selection((campaign.id,), (Filter(Breakdown("background", SECOND), "z"),)),
                               Breakdown("background", FIRST), 5)
    assert {row.key: row.responses for row in crossed.rows if row.responses} == {"x": 6}
