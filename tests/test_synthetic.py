"""`flask analytics synthesize`: the synthetic data set is what the mixer and the finaliser would have written."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select

from app.analytics.synthetic import synthesize
from app.campaigns.models import Campaign, CampaignLanguage
from app.clock import local_today
from app.mixing.models import ANSWERED, LINK, CellCount
from app.organisation.models import Programme, Provider
from app.respond.models import Answer, Response
from app.surveys.definition import StoredAnswer
from app.surveys.models import SurveyVersion


def test_a_small_set_is_what_the_finaliser_would_have_written(app):
    database = app.extensions["kundrost.db"]
    with app.app_context():
        today = local_today()
    report = synthesize(database, app.config["KUNDROST"], today, responses=500, seed=7)

    with database.sessionmaker() as session:
        # 40 providers, 10 programmes, 8 campaigns in all 10 languages, as asked.
        assert session.scalar(select(func.count()).select_from(Provider)) == 40
        assert session.scalar(select(func.count()).select_from(Programme)) == 10
        campaigns = session.scalars(select(Campaign).order_by(Campaign.starts_on)).all()
        assert len(campaigns) == 8
        assert all(c.finalised_on is not None and c.finalised_on > c.ends_on for c in campaigns)
        assert all(c.finalised_on < today for c in campaigns)
        assert Counter(c.survey_version.key for c in campaigns) == {"nacka-arbetsmarknad": 4,
                                                                     "skr-brukarundersokning": 4}
        assert session.scalar(select(func.count()).select_from(CampaignLanguage)) == 8 * 10

        # 500 responses over 8 campaigns of 54-71 each (500 x 1.0/9.2 = 54.3 for the smallest):
        # every campaign has at least k = 5, so none is withheld and all 500 are written.
        assert report.withheld == 0
        assert session.scalar(select(func.count()).select_from(Response)) == 500 == report.responses
        assert session.scalar(select(func.count()).select_from(Answer)) == report.answers

        definitions = {c.id: c.survey_version.definition for c in campaigns}
        bounds = {c.id: (c.starts_on.replace(day=1), c.ends_on) for c in campaigns}
        responses = session.execute(select(Response)).scalars().all()
        answers: dict[str, dict[str, StoredAnswer]] = {}
        for row in session.execute(select(Answer)).scalars():
            answers.setdefault(row.response_id, {})[row.question_key] = StoredAnswer(
                value=row.value, choice=row.choice, text=row.text, dont_know=bool(row.dont_know))

        cells = Counter()
        for response in responses:
            definition = definitions[response.campaign_id]
            given = answers.get(response.id, {})
            assert re.fullmatch(r"[0-9a-f]{32}", response.id)
            assert response.month is None or (response.month.day == 1
                                              and bounds[response.campaign_id][0] <= response.month
                                              <= bounds[response.campaign_id][1])
            # Every answer is one its question could have given.
            assert all(definition.question(key).fits(answer) for key, answer in given.items()), given
            # Only background and free-text answers are ever withheld, and neither is
            # required: the status still follows from the answers stored.
            assert response.status == definition.status_of(given)
            cells[(response.campaign_id, response.provider_id, response.programme_id, response.language,
                   response.channel, response.month, given.get("gender"))] += 1
        # No stored cell (background answer included) holds fewer than k = 5 responses.
        assert min(cells.values()) >= 5
        statuses = Counter(r.status for r in responses)
        assert statuses["complete"] > 0 and statuses["partial"] > 0
        assert any(a.dont_know for given in answers.values() for a in given.values())
        assert any(r.provider_id is None or r.language is None for r in responses)  # small cells merged

        # The counts: `answered` rows add up to the responses written, per campaign and status.
        for campaign in campaigns:
            complete, partial, answered, issued = session.execute(
                select(func.sum(CellCount.complete), func.sum(CellCount.partial), func.sum(CellCount.answered),
                       func.sum(CellCount.issued))
                .where(CellCount.campaign_id == campaign.id, CellCount.language_role == ANSWERED)).one()
            of_campaign = [r for r in responses if r.campaign_id == campaign.id]
            assert (complete, partial, answered, issued) == (
                sum(r.status == "complete" for r in of_campaign), sum(r.status == "partial" for r in of_campaign),
                len(of_campaign), 0)
        # `link` rows: claimed never above issued, and claimed = the responses that came through a link.
        links = session.execute(select(CellCount).where(CellCount.language_role == LINK)).scalars().all()
        assert links and all(0 < row.answered <= row.issued for row in links)
        assert all(row.provider_id is not None and row.channel in ("sms", "paper") for row in links)
        assert sum(row.answered for row in links) == report.link_responses
        assert 0 < report.link_responses < 500
        assert session.scalar(select(func.count()).select_from(SurveyVersion)) >= 2


def test_the_command_says_it_bypasses_the_submit_path(app, runner):
    result = runner.invoke(args=["analytics", "synthesize", "--responses", "60", "--campaigns", "2",
                                 "--providers", "4", "--programmes", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "DIRECTLY, not through the submit path" in result.output
    # 60 responses over 2 campaigns (one per survey, both the first year: weights 1.0 and 1.0),
    # 30 each, both >= k: all 60 written.
    assert "Wrote 60 responses" in result.output
    with app.extensions["kundrost.db"].sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 60
        assert session.scalar(select(func.count()).select_from(Campaign).where(Campaign.finalised_on.is_not(None))) == 2


def test_the_command_works_on_a_fresh_database_file(config, tmp_path):
    # A new user points DATABASE_URL at a file that does not exist yet: the schema is made first.
    from app import create_app

    fresh = create_app(config.with_overrides(database_url="sqlite:///" + str(tmp_path / "big.sqlite3")),
                       instance_path=str(tmp_path / "fresh-instance"))
    result = fresh.test_cli_runner().invoke(args=["analytics", "synthesize", "--responses", "50", "--seed", "1"])
    fresh.extensions["kundrost.db"].dispose()
    assert result.exit_code == 0, result.output
    assert "Wrote 50 responses" in result.output
