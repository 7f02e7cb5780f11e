"""The first results page: counts, response rate and NKI per the survey's index."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from statistics import mean

import pytest
from sqlalchemy import select, update

from app.accounts.models import Role
from app.analytics.queries import campaign_results, campaign_total
from app.campaigns.models import Campaign, Invitation
from app.db import db_session
from app.respond.models import Answer, Response
from app.clock import month_of

from .conftest import build_world, login, stockholm_today
from .helpers import translated


def add_response(app, world, provider: int, answers: dict[str, int | str], status: str = "complete"):
    with app.app_context():
        campaign = db_session.get(Campaign, world.campaign_id)
        db_session.add(Response(
            id=uuid.uuid4().hex, survey_version_id=campaign.survey_version_id,
            campaign_id=campaign.id, provider_id=world.provider_ids[provider],
            programme_id=world.programme_ids[0], language="sv", channel="sms",
            status=status, month=month_of(stockholm_today()),
            answers=[
                Answer(question_key=key, dont_know=True) if value == "dk" else Answer(question_key=key, value=value)
                for key, value in answers.items()
            ],
        ))
        db_session.commit()


def results(app, world):
    with app.app_context():
        campaign = db_session.get(Campaign, world.campaign_id)
        rows = campaign_results(db_session, campaign)
        return rows, campaign_total(db_session, campaign, rows), campaign.survey_version.definition


@pytest.mark.parametrize("survey_key", ["nacka-arbetsmarknad", "nki-scb", "skr-brukarundersokning"])
def test_index_follows_the_surveys_definition(app, survey_key):
    world = build_world(app, survey_key=survey_key)
    rng = random.Random(3)
    expected_scores = {0: [], 1: []}
    with app.app_context():
        definition = db_session.get(Campaign, world.campaign_id).survey_version.definition
    index = definition.index
    scale = definition.index_scale()
    for provider in (0, 1):
        for _ in range(7):
            answers = {key: rng.randint(1, scale.points) for key in index.questions}
            answers[index.questions[0]] = "dk"  # left out of the personal score
            add_response(app, world, provider, answers)
            values = [v for v in answers.values() if v != "dk"]
            if index.method == "mean":
                score = mean(values)
            elif index.method == "scb100":
                score = (mean(values) - 1) / (scale.points - 1) * 100
            else:
                score = 100 * sum(v >= scale.positive_from for v in values) / len(values)
            expected_scores[provider].append(score)
    rows, total, _ = results(app, world)
    for provider, row in enumerate(rows_by_provider(rows, world)):
        assert row.index_n == 7
        assert row.index_value == pytest.approx(mean(expected_scores[provider]))
    assert total.index_value == pytest.approx(mean(expected_scores[0] + expected_scores[1]))


def rows_by_provider(rows, world):
    by_id = {row.provider_id: row for row in rows}
    return [by_id[pid] for pid in world.provider_ids]


def test_scb100_maps_the_scale_ends_to_0_and_100(app):
    world = build_world(app, survey_key="nki-scb")
    with app.app_context():
        keys = db_session.get(Campaign, world.campaign_id).survey_version.definition.index.questions
    for _ in range(5):
        add_response(app, world, 0, {key: 10 for key in keys})
        add_response(app, world, 1, {key: 1 for key in keys})
    rows = rows_by_provider(results(app, world)[0], world)
    assert rows[0].index_value == pytest.approx(100)
    assert rows[1].index_value == pytest.approx(0)


def test_counts_and_response_rate(app, world):
    with app.app_context():
        for number in range(10):
            db_session.add(Invitation(
                campaign_id=world.campaign_id, provider_id=world.provider_ids[0],
                programme_id=world.programme_ids[0], language="sv", channel="sms",
                token_hash=uuid.uuid4().hex * 2, responded=number < 4, created_on=stockholm_today(),
            ))
        db_session.commit()
    for status in ("complete", "complete", "partial"):
        add_response(app, world, 0, {}, status=status)
    row = rows_by_provider(results(app, world)[0], world)[0]
    assert (row.complete, row.partial, row.responses) == (2, 1, 3)
    assert (row.invitations, row.invitations_answered) == (10, 4)
    assert row.response_rate == pytest.approx(0.4)


def test_results_page_hides_figures_from_fewer_than_five_answers(app, client, world, make_user):
    with app.app_context():
        keys = db_session.get(Campaign, world.campaign_id).survey_version.definition.index.questions
    for _ in range(6):
        add_response(app, world, 0, {key: 5 for key in keys})
    for _ in range(4):
        add_response(app, world, 1, {key: 1 for key in keys})
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get("/staff/results/?lang=sv")
    page = client.get(f"/staff/results/{world.campaign_id}").get_data(as_text=True)
    nordljus = page.split("Nordljus AB", 1)[1].split("</tr>", 1)[0]
    bro = page.split("Bro Coachning", 1)[1].split("</tr>", 1)[0]
    assert "5,0" in nordljus  # Swedish decimal comma
    assert translated("Too few answers", "sv") in bro
    assert "1,0" not in bro


def test_results_page_in_several_languages(app, client, world, make_user):
    with app.app_context():
        definition = db_session.get(Campaign, world.campaign_id).survey_version.definition
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    for language in ("ar", "ti", "uk"):
        client.get(f"/staff/results/?lang={language}")
        page = client.get(f"/staff/results/{world.campaign_id}").get_data(as_text=True)
        assert translated("Response rate, single-use links", language) in page
        # The survey is named by its title in the reader's language, not by its file key.
        assert f"{definition.title[language]} (v3)" in page  # the Nacka survey is at version 3


def test_merged_providers_are_one_row_and_count_in_the_total(app, client, world, make_user):
    with app.app_context():
        keys = db_session.get(Campaign, world.campaign_id).survey_version.definition.index.questions
    for _ in range(5):
        add_response(app, world, 0, {key: 4 for key in keys})
    for _ in range(5):  # five responses whose provider was merged for anonymity
        add_response(app, world, 0, {key: 2 for key in keys})
    with app.app_context():
        db_session.execute(update(Response).where(Response.id.in_(
            select(Answer.response_id).where(Answer.value == 2))).values(provider_id=None))
        db_session.commit()
    rows, total, _ = results(app, world)
    [merged] = [row for row in rows if row.merged]
    assert (merged.responses, merged.index_n, merged.index_value) == (5, 5, pytest.approx(2.0))
    assert (total.responses, total.index_value) == (10, pytest.approx(3.0))
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    client.get("/staff/results/?lang=sv")
    page = client.get(f"/staff/results/{world.campaign_id}").get_data(as_text=True)
    assert translated("Provider not shown (small groups merged to keep answers anonymous)", "sv") in page


def test_the_response_rate_survives_finalisation(app, world):
    from .conftest import mixer_of
    from .helpers import definition_of, full_answers, open_survey, submit

    definition = definition_of(app, world)
    tokens = world.invite(app, "sv", count=8)
    for token in tokens[:6]:
        client = app.test_client()
        _, csrf = open_survey(client, token)
        assert submit(client, csrf, full_answers(definition)).status_code == 303
    before = rows_by_provider(results(app, world)[0], world)[0]
    assert (before.invitations, before.invitations_answered, before.responses) == (8, 6, 0)  # all waiting
    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = stockholm_today() - timedelta(days=1)
        db_session.commit()
    mixer_of(app).finalise(world.campaign_id, stockholm_today())
    after = rows_by_provider(results(app, world)[0], world)[0]
    assert (after.invitations, after.invitations_answered, after.responses) == (8, 6, 6)
    assert after.response_rate == pytest.approx(0.75)
