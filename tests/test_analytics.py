"""NKI per the survey's index, counts and response rate, read through the results layer (result_table)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.accounts.models import Role
from app.analytics.results import HIDDEN, result_table
from app.analytics.scope import Breakdown, Selection
from app.analytics.summaries import recount
from app.campaigns.models import Campaign, Invitation
from app.db import db_session
from app.respond.models import Answer, Response
from app.clock import month_of

from app.i18n import LANGUAGES
from app.organisation.models import Programme, Provider

from .conftest import World, build_world, login, stockholm_today
from .helpers import translated
from .results_fixtures import store


def add_response(app, world, provider: int, answers: dict[str, int | str], status: str = "complete"):
    with app.app_context():
        campaign = db_session.get(Campaign, world.campaign_id)
        store([Response(
            id=uuid.uuid4().hex, survey_version_id=campaign.survey_version_id,
            campaign_id=campaign.id, provider_id=world.provider_ids[provider],
            programme_id=world.programme_ids[0], language="sv", channel="sms",
            status=status, month=month_of(stockholm_today()),
            answers=[
                Answer(question_key=key, dont_know=True) if value == "dk" else Answer(question_key=key, value=value)
                for key, value in answers.items()
            ],
        )])
        db_session.commit()


K = 5


def results(app, world):
    """The campaign broken down by provider, as result_table gives it (k = 5): (rows by key, total, definition)."""
    with app.app_context():
        table = result_table(db_session, Selection((world.campaign_id,)), Breakdown("provider"), K)
        return {row.key: row for row in table.rows}, table.total, table.definition


def index_world(app, method: str, points: int, positive_from: int = 4, weights: dict | None = None) -> World:
    """A campaign on a survey of three index questions a, b, c made for these
    tests, so that the figures below do not move when a built-in survey does."""
    from app.campaigns.services import create_campaign
    from app.surveys.services import store_version

    texts = {code: f"text {code}" for code in LANGUAGES}
    document = {
        "key": "index-" + method.replace("_", "-"), "version": 1, "languages": list(LANGUAGES), "title": texts,
        "scales": {"s": {"points": points, "positive_from": positive_from,
                         "labels": {str(p): {c: f"{p} {c}" for c in LANGUAGES} for p in range(1, points + 1)}}},
        "sections": [{"key": "main", "questions": [
            {"key": key, "type": "scale", "scale": "s", "text": texts} for key in ("a", "b", "c")]}],
        "index": {"method": method, "questions": ["a", "b", "c"], **({"weights": weights} if weights else {})},
    }
    with app.app_context():
        version, _ = store_version(db_session, document)
        providers = [Provider(name="Nordljus AB", active=True), Provider(name="Bro Coachning", active=True)]
        programme = Programme(code="JPG", name="Jobbpeng grund", active=True)
        db_session.add_all([*providers, programme])
        db_session.flush()
        campaign = create_campaign(
            db_session, name="Index", survey_version=version, starts_on=date.today() - timedelta(days=10),
            ends_on=date.today() + timedelta(days=10), providers=providers, programmes=[programme], languages=["sv"])
        db_session.commit()
        return World(campaign.id, [p.id for p in providers], [programme.id], document["key"])


# Each case: the answers of Nordljus AB's and Bro Coachning's responses, and
# the figures worked out by hand (docs/surveys.md, "Index methods"): a
# personal score per response over its answered index questions, then the
# mean of those scores. "dk" is "don't know": left out of the score.
INDEX_CASES = {
    # mean: (5+4)/2 = 4.5, (2+2+3)/3 = 7/3, 1  ->  Nordljus (4.5 + 7/3 + 1)/3 = 47/18;
    # Bro 4; all four responses (4.5 + 7/3 + 1 + 4)/4 = 71/24.
    "mean": dict(
        points=5,
        nordljus=[{"a": 5, "b": 4, "c": "dk"}, {"a": 2, "b": 2, "c": 3}, {"a": 1}],
        bro=[{"a": 4, "b": 4, "c": 4}, {"a": "dk", "b": "dk", "c": "dk"}],
        expected=((3, 47 / 18), (1, 4.0), (4, 71 / 24)),
    ),
    # share of answers >= 4: 2/2 = 100, 0/3 = 0, 1/2 = 50  ->  Nordljus 50;
    # Bro 2/3 = 66.67 (1 is not positive); all (100 + 0 + 50 + 200/3)/4 = 650/12.
    "share_positive": dict(
        points=5,
        nordljus=[{"a": 5, "b": 4, "c": "dk"}, {"a": 2, "b": 2, "c": 3}, {"a": 4, "b": 3}],
        bro=[{"a": 4, "b": 5, "c": 1}],
        expected=((3, 50.0), (1, 200 / 3), (4, 650 / 12)),
    ),
    # (mean - 1) / 9 x 100 on 1-10: 10s give 100, 1s give 0, (10+1)/2 = 5.5 gives 50
    # -> Nordljus 50; Bro (7+4+10)/3 = 7 gives 66.67; all (100 + 0 + 50 + 200/3)/4 = 650/12.
    "scb100": dict(
        points=10,
        nordljus=[{"a": 10, "b": 10, "c": 10}, {"a": 1, "b": 1, "c": 1}, {"a": 10, "b": 1, "c": "dk"}],
        bro=[{"a": 7, "b": 4, "c": 10}],
        expected=((3, 50.0), (1, 200 / 3), (4, 650 / 12)),
    ),
    # Weights a .5, b .3, c .2, over the answered questions only:
    # 10,1,1 -> 5 + .3 + .2 = 5.5 -> 50;  10,1,dk -> (5 + .3)/.8 = 6.625 -> 62.5;
    # Bro 7,4,10 -> 3.5 + 1.2 + 2 = 6.7 -> 63.33. Nordljus (50 + 62.5)/2 = 56.25;
    # all (50 + 62.5 + 190/3)/3 = 58.61.
    "scb100 weighted": dict(
        points=10, weights={"a": 0.5, "b": 0.3, "c": 0.2},
        nordljus=[{"a": 10, "b": 1, "c": 1}, {"a": 10, "b": 1, "c": "dk"}],
        bro=[{"a": 7, "b": 4, "c": 10}],
        expected=((2, 56.25), (1, 190 / 3), (3, (50 + 62.5 + 190 / 3) / 3)),
    ),
}


@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_index_figures_worked_out_by_hand(app, case):
    spec = INDEX_CASES[case]
    world = index_world(app, case.split()[0], spec["points"], weights=spec.get("weights"))
    # Each response five times over, so that every group holds at least k = 5: the means do not move, n is x 5.
    for provider, answers in ((0, spec["nordljus"]), (1, spec["bro"])):
        for response in answers * 5:
            add_response(app, world, provider, response)
    rows, total, _ = results(app, world)
    nordljus, bro = rows_by_provider(rows, world)
    (nordljus_n, nordljus_index), (bro_n, bro_index), (total_n, total_index) = spec["expected"]
    assert (nordljus.nki.n, nordljus.nki.mean) == (5 * nordljus_n, pytest.approx(nordljus_index))
    assert (bro.nki.n, bro.nki.mean) == (5 * bro_n, pytest.approx(bro_index))
    assert (total.nki.n, total.nki.mean) == (5 * total_n, pytest.approx(total_index))


def rows_by_provider(rows, world):
    return [rows[pid] for pid in world.provider_ids]


def test_scb100_maps_the_scale_ends_to_0_and_100(app):
    world = build_world(app, survey_key="nki-scb")
    with app.app_context():
        keys = db_session.get(Campaign, world.campaign_id).survey_version.definition.index.questions
    for _ in range(5):
        add_response(app, world, 0, {key: 10 for key in keys})
        add_response(app, world, 1, {key: 1 for key in keys})
    rows = rows_by_provider(results(app, world)[0], world)
    assert rows[0].nki.mean == pytest.approx(100)
    assert rows[1].nki.mean == pytest.approx(0)


def test_counts_and_response_rate(app, world):
    with app.app_context():
        for number in range(20):
            db_session.add(Invitation(
                campaign_id=world.campaign_id, provider_id=world.provider_ids[0],
                programme_id=world.programme_ids[0], language="sv", channel="sms",
                token_hash=uuid.uuid4().hex * 2, responded=number < 8, created_on=stockholm_today(),
            ))
        db_session.commit()
    for status in ("complete", "complete", "partial") * 3:
        add_response(app, world, 0, {}, status=status)
    rows, total, _definition = results(app, world)
    row = rows_by_provider(rows, world)[0]
    # No group is split into complete and partial, and with the built-in survey's several required questions
    # not the total either (results._total_split).
    assert (row.complete, row.partial, row.responses) == (None, None, 9)
    assert (total.complete, total.partial, total.responses) == (HIDDEN, HIDDEN, 9)
    assert (row.handed_out, row.answered) == (20, 8)
    assert row.response_rate == pytest.approx(0.4)  # 8 / 20


def provider_cells(page: str, name: str) -> str:
    """The table row of one provider (or the total) on the results page."""
    marker = f">{name}</a></th>" if f">{name}</a></th>" in page else f">{name}</th>"
    return page.split(marker, 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize(("k", "shown"), [(5, True), (6, False)])
def test_results_page_shows_a_figure_from_exactly_k_answers_and_hides_it_below(app, client, world, make_user,
                                                                              k, shown):
    # Nordljus: exactly five answers of 5; Bro Coachning: five answers of 1. At k = 6 both are below k.
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(min_cell_size=k)
    with app.app_context():
        keys = db_session.get(Campaign, world.campaign_id).survey_version.definition.index.questions
    for _ in range(5):
        add_response(app, world, 0, {key: 5 for key in keys})
        add_response(app, world, 1, {key: 1 for key in keys})
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{world.campaign_id}").get_data(as_text=True)
    too_few = translated("Not shown", "sv")
    nordljus, bro = provider_cells(page, "Nordljus AB"), provider_cells(page, "Bro Coachning")
    assert ("5,0" in nordljus, too_few in nordljus) == (shown, not shown)  # Swedish decimal comma
    assert ("1,0" in bro, too_few in bro) == (shown, not shown)
    # Ten answers in all: (5 x 5 + 5 x 1) / 10 = 3.0, shown at k = 5 and 6 alike.
    total = provider_cells(page, translated("All answers", "sv"))
    assert "3,0" in total and too_few not in total


def test_results_page_in_several_languages(app, client, world, make_user):
    with app.app_context():
        definition = db_session.get(Campaign, world.campaign_id).survey_version.definition
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    for language in ("ar", "ti", "uk"):
        client.get(f"/staff/results/?lang={language}")
        page = client.get(f"/staff/results/{world.campaign_id}").get_data(as_text=True)
        assert translated("Results", language) in page
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
        # Edited behind the mixing step's back: its summary tables are rebuilt, as `flask analytics recount` does.
        recount(db_session.connection(), world.campaign_id,
                db_session.get(Campaign, world.campaign_id).survey_version.definition)
        db_session.commit()
    rows, total, _ = results(app, world)
    merged = rows[None]
    assert (merged.responses, merged.nki.n, merged.nki.mean) == (5, 5, pytest.approx(2.0))
    assert (total.responses, total.nki.mean) == (10, pytest.approx(3.0))  # (5 x 4 + 5 x 2) / 10
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{world.campaign_id}").get_data(as_text=True)
    assert translated("Small groups merged to keep answers anonymous", "sv") in page


def test_the_response_rate_survives_finalisation(app, world):
    from .conftest import mixer_of
    from .helpers import definition_of, full_answers, open_survey, submit

    definition = definition_of(app, world)
    tokens = world.invite(app, "sv", count=8)
    for token in tokens[:6]:
        client = app.test_client()
        _, csrf = open_survey(client, token)
        assert submit(client, csrf, full_answers(definition)).status_code == 303
    # All six answers wait to be mixed: no response yet, so result_table refuses the campaign (fewer than k).
    with app.app_context():
        db_session.get(Campaign, world.campaign_id).ends_on = stockholm_today() - timedelta(days=1)
        db_session.commit()
    mixer_of(app).finalise(world.campaign_id, stockholm_today())
    after = rows_by_provider(results(app, world)[0], world)[0]
    assert (after.handed_out, after.answered, after.responses) == (8, 6, 6)
    assert after.response_rate == pytest.approx(0.75)  # 6 / 8, from the finalised campaign's cell counts
