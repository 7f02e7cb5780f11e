"""Several campaigns pooled: each figure from what every campaign's own table shows, never more.

The attack these tests close: a provider's 3 answers hidden in one
campaign and its 10 shown in another; pooling the answers first would show
13, and 13 minus the 10 on the other campaign's page gives the 3 back.
Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date

import pytest
from openpyxl import load_workbook

from app.analytics.results import HIDDEN, SelectionRefused, result_table
from app.analytics.scope import Breakdown, Filter, Selection
from sqlalchemy import select

from app.accounts.models import Role
from app.api.tokens import create_token
from app.campaigns.models import Campaign, Invitation
from app.campaigns.services import create_campaign
from app.db import db_session
from app.organisation.models import Programme, Provider
from app.surveys.services import store_version

from .conftest import login
from .helpers import translated
from .results_fixtures import add, build_results_world, survey_document
from .test_api import assert_conforms
from .test_exports import pdf_text

K = 5


def sv(msgid: str) -> str:
    return translated(msgid, "sv")

BY_PROVIDER = Breakdown("provider")
PROVIDERS = ("Bro", "Nordljus", "Ek")


@pytest.fixture
def two_campaigns(app):
    """Campaign 2027: Bro 3 x (1, 1), Nordljus 10 x (5, 5), Ek 12 x (4, 4); 2028: Bro 10 x (3, 3),
    Nordljus 10 x (5, 5), Ek 10 x (2, 2). In 2027 Bro (3) is hidden, and Nordljus (10, the smallest
    shown) with it; 2028 hides nothing."""
    world = build_results_world(app, providers=PROVIDERS, campaigns=("2027", "2028"))
    for name, times, score in (("Bro", 3, 1), ("Nordljus", 10, 5), ("Ek", 12, 4)):
        add(app, world, name, {"a": score, "b": score}, times=times, campaign="2027")
    for name, times, score in (("Bro", 10, 3), ("Nordljus", 10, 5), ("Ek", 10, 2)):
        add(app, world, name, {"a": score, "b": score}, times=times, campaign="2028", month=date(2028, 3, 1))
    return world


def table_of(app, world, campaigns=("2027", "2028"), filters=(), breakdown=BY_PROVIDER, compare=False):
    with app.app_context():
        return result_table(db_session, Selection(tuple(world.campaigns[name] for name in campaigns), filters),
                            breakdown, K, compare=compare)


def row(table, world, name):
    return next(item for item in table.rows if item.key == world.providers[name])


def test_a_group_hidden_in_one_campaign_stays_hidden_in_the_pool(app, two_campaigns):
    world = two_campaigns
    own = table_of(app, world, ("2027",))
    assert row(own, world, "Bro").responses is HIDDEN and row(own, world, "Nordljus").responses is HIDDEN
    pooled = table_of(app, world)
    # Bro has 3 + 10 = 13 >= k answers in the pool, and 13 - 10 (2028's page) = 3: hidden all the same.
    for name in ("Bro", "Nordljus"):
        figures = row(pooled, world, name)
        assert (figures.responses, figures.nki) == (HIDDEN, HIDDEN)
        assert all(question is HIDDEN for question in figures.questions.values())
    assert pooled.hidden_groups == 2 and pooled.left_out == ()
    # Ek is shown in both: 12 x 4 and 10 x 2 -> n 22, NKI (48 + 20) / 22 = 3.0909...
    ek = row(pooled, world, "Ek")
    assert (ek.responses, ek.complete, ek.nki.n, ek.nki.mean) == (22, None, 22, pytest.approx(68 / 22))
    assert dict(ek.questions["a"].distribution) == {1: 0, 2: 10, 3: 0, 4: 12, 5: 0}
    assert ek.questions["a"].share_positive == pytest.approx(12 / 22)
    # The pool's total: 25 + 30 responses, NKI (3 x 1 + 10 x 5 + 12 x 4 + 10 x 3 + 10 x 5 + 10 x 2) / 55 = 201 / 55.
    assert (pooled.total.responses, pooled.total.nki.n) == (55, 55)
    assert pooled.total.nki.mean == pytest.approx(201 / 55)
    # The attacker's subtraction leaves Bro and Nordljus of 2027 together: 55 - 30 - (22 - 10) = 13 answers.
    attacked = pooled.total.responses - table_of(app, world, ("2028",)).total.responses - (ek.responses - 10)
    assert attacked == 13


def test_the_pools_spread_and_interval_come_from_the_added_answers(app, two_campaigns):
    world = two_campaigns
    ek = row(table_of(app, world), world, "Ek")
    # Ek's 22 personal scores: twelve 4s and ten 2s. Mean 68/22; sum of squares 12 x 16 + 10 x 4 = 232;
    # variance (232 - 68^2/22) / 21 = (232 - 210.1818) / 21 = 1.03896; sd 1.01929; t(0.975, 21) = 2.07961;
    # half width 2.07961 x 1.01929 / sqrt(22) = 0.45195.
    assert ek.nki.sd == pytest.approx(1.01929, abs=1e-5)
    assert (ek.nki.low, ek.nki.high) == (pytest.approx(3.09091 - 0.45195, abs=1e-4),
                                         pytest.approx(3.09091 + 0.45195, abs=1e-4))


def test_a_question_hidden_in_one_campaign_is_hidden_in_the_pool(app):
    # 2027: both providers 8 responses, y answered by 3 at Bro (hidden) and so hidden at Nordljus too
    # (the total's y, 11, minus Nordljus' 8 would be Bro's 3). 2028: y answered by 8 at each. Pooled, y
    # would have 11 and 16 answers: hidden at both all the same; a stays shown.
    world = build_results_world(app, providers=("Bro", "Nordljus"), campaigns=("2027", "2028"))
    add(app, world, "Bro", {"a": 4, "b": 4, "y": 1}, times=3, campaign="2027")
    add(app, world, "Bro", {"a": 4, "b": 4}, times=5, campaign="2027")
    add(app, world, "Nordljus", {"a": 2, "b": 2, "y": 0}, times=8, campaign="2027")
    for name in ("Bro", "Nordljus"):
        add(app, world, name, {"a": 3, "b": 3, "y": 1}, times=8, campaign="2028")
    pooled = table_of(app, world)
    for name in ("Bro", "Nordljus"):
        assert row(pooled, world, name).questions["y"] is HIDDEN
    # Bro's a: 8 x 4 and 8 x 3 -> n 16, mean 3.5.
    bro_a = row(pooled, world, "Bro").questions["a"]
    assert (bro_a.n, bro_a.summary.mean) == (16, 3.5)


def test_a_campaign_whose_table_refuses_the_selection_is_left_out(app, two_campaigns):
    world = two_campaigns
    # Arabic: 3 answers in 2027 (refused there: too few), 6 in 2028.
    add(app, world, "Ek", {"a": 1, "b": 1}, times=3, campaign="2027", language="ar")
    add(app, world, "Ek", {"a": 5, "b": 3}, times=6, campaign="2028", language="ar", month=date(2028, 3, 1))
    arabic = (Filter(Breakdown("language"), "ar"),)
    with pytest.raises(SelectionRefused):
        table_of(app, world, ("2027",), arabic)
    pooled = table_of(app, world, filters=arabic)
    assert pooled.left_out == (world.campaigns["2027"],)
    assert pooled.selection.campaign_ids == (world.campaigns["2028"],)
    # Only 2028's six: NKI (5 + 3) / 2 = 4 each.
    assert (pooled.total.responses, pooled.total.nki.mean) == (6, pytest.approx(4.0))


def test_a_pool_that_every_campaign_refuses_is_refused(app):
    world = build_results_world(app, campaigns=("2027", "2028"))
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=3, campaign="2027")
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=4, campaign="2028")
    with pytest.raises(SelectionRefused) as refused:
        table_of(app, world)  # 7 >= k pooled, but 3 and 4 in the campaigns themselves
    assert refused.value.reason == "too_few"


def test_pooled_response_rates_add_what_each_campaign_shows(app, two_campaigns):
    world = two_campaigns
    with app.app_context():
        # 2027: Ek 20 handed out, 12 answered; Bro 4 handed out, 3 answered (hidden: 3 < k), and Nordljus
        # 10 of 10 (hidden with Bro's row). 2028: Ek 10 handed out, 10 answered; Bro 16 handed out, 10 answered.
        for campaign, name, issued, answered in (("2027", "Ek", 20, 12), ("2027", "Bro", 4, 3),
                                                 ("2027", "Nordljus", 10, 10),
                                                 ("2028", "Ek", 10, 10), ("2028", "Bro", 16, 10)):
            for number in range(issued):
                db_session.add(Invitation(
                    campaign_id=world.campaigns[campaign], provider_id=world.providers[name],
                    programme_id=world.programmes["JPG"], language="sv", channel="sms",
                    token_hash=uuid.uuid4().hex * 2, responded=number < answered, created_on=date(2027, 3, 1)))
        db_session.commit()
    pooled = table_of(app, world)
    ek, bro = row(pooled, world, "Ek"), row(pooled, world, "Bro")
    # Ek: (12 + 10) / (20 + 10) = 22 / 30.
    assert (ek.handed_out, ek.answered, ek.response_rate) == (30, 22, pytest.approx(22 / 30))
    # Bro: handed out is not an answer (20 shown), what was answered hides with 2027's 3.
    assert (bro.handed_out, bro.answered, bro.response_rate) == (20, HIDDEN, HIDDEN)
    # The total: (12 + 3 + 10 + 10 + 10) / (20 + 4 + 10 + 10 + 16) = 45 / 60, each campaign's total shown.
    total = pooled.total
    assert (total.handed_out, total.answered, total.response_rate) == (60, 45, pytest.approx(0.75))


def test_the_pool_compares_providers_on_the_pooled_figures(app, two_campaigns):
    world = two_campaigns
    pooled = table_of(app, world, compare=True)
    # Only Ek is shown: nothing to compare it with (the hidden are not compared).
    assert row(pooled, world, "Ek").comparison is None
    # Without the small Bro of 2027 every provider is shown in both, and compared in the pool.
    add(app, world, "Bro", {"a": 1, "b": 1}, times=7, campaign="2027")
    pooled = table_of(app, world, compare=True)
    nordljus = row(pooled, world, "Nordljus")
    # Nordljus: 20 scores of 5 (sd 0) against the 52 others pooled - Bro 10 x 1 and 10 x 3, Ek 12 x 4 and
    # 10 x 2, mean 108 / 52 = 2.08: three points apart with 72 answers, significant and higher.
    assert nordljus.nki.n == 20 and nordljus.comparison.significant and nordljus.comparison.direction == 1


def test_campaigns_of_different_surveys_are_not_pooled(app):
    first = build_results_world(app, campaigns=("2027",))
    with app.app_context():
        other, _ = store_version(db_session, survey_document(key="another-survey"))
        campaign = create_campaign(db_session, name="other", survey_version=other, starts_on=date(2027, 1, 1),
                                   ends_on=date(2027, 12, 31), providers=list(db_session.scalars(select(Provider))),
                                   programmes=list(db_session.scalars(select(Programme))), languages=["sv"])
        db_session.commit()
        with pytest.raises(ValueError):
            result_table(db_session, Selection((first.campaigns["2027"], campaign.id)), BY_PROVIDER, K)


# --- the pool from the pages, exports and API ---------------------------------------------------------


def signed_in(app, make_user, role=Role.ANALYST, provider_id=None):
    client = app.test_client()
    make_user(role, f"user-{role.value}", provider_id=provider_id)
    assert login(client, f"user-{role.value}").status_code == 303
    return client


def summary_row(text: str, name: str) -> str:
    table = text.split('id="summary"', 1)[1].split("</table>", 1)[0]
    return re.search(rf"<tr><th scope=\"row\">(?:<a [^>]*>)?{name}<.*?</tr>", table, re.S).group(0)


def test_the_overview_offers_the_pool_and_shows_it(app, make_user, two_campaigns):
    world = two_campaigns
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    client = signed_in(app, make_user)
    alone = client.get(f"/staff/results/{first}").get_data(as_text=True)
    # The other campaign of the survey is offered as a checkbox; nothing is pooled yet.
    assert f'<input type="checkbox" name="campaigns" value="{second}">' in alone and 'id="pool-notes"' not in alone
    page = client.get(f"/staff/results/{first}?campaigns={second}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'value="{second}" checked' in text
    notes = text.split('id="pool-notes"', 1)[1].split("</div>", 1)[0]
    assert "2027; 2028" in notes
    # Ek pooled: 22 responses, NKI 68 / 22 = 3.09 -> "3,1"; Bro (13 pooled, 3 of them hidden in 2027) not shown.
    ek = summary_row(text, "Ek")
    assert ">22<" in ek and ">3,1<" in ek
    bro = summary_row(text, "Bro")
    assert ">13<" not in bro and sv("Not shown") in bro
    # The links onwards keep the pool: the provider page and the downloads.
    assert f"campaigns={second}" in text.split('id="downloads-heading"', 1)[1]
    provider = client.get(f"/staff/results/{first}/providers/{world.providers['Ek']}?campaigns={second}")
    assert provider.status_code == 200 and 'id="pool-notes"' in provider.get_data(as_text=True)
    # The checkboxes send the parameter once per campaign: the same pool.
    repeated = client.get(f"/staff/results/{first}?campaigns={second}&campaigns={first}")
    assert summary_row(repeated.get_data(as_text=True), "Ek") == ek


def test_a_pool_that_cannot_be_made_says_why(app, make_user, two_campaigns):
    world = two_campaigns
    first = world.campaigns["2027"]
    with app.app_context():
        other, _ = store_version(db_session, survey_document(key="another-survey"))
        stranger = create_campaign(db_session, name="Annan enkät", survey_version=other, starts_on=date(2027, 1, 1),
                                   ends_on=date(2027, 12, 31), providers=list(db_session.scalars(select(Provider))),
                                   programmes=list(db_session.scalars(select(Programme))), languages=["sv"]).id
        db_session.commit()
    client = signed_in(app, make_user)
    another = client.get(f"/staff/results/{first}?campaigns={stranger}")
    assert another.status_code == 400
    assert sv("%(name)s uses another survey or index and cannot be pooled with this campaign.") % {
        "name": "Annan enkät"} in another.get_data(as_text=True)
    assert client.get(f"/staff/results/{first}?campaigns=99999").status_code == 404
    for malformed in ("x", "1;2", "-3", "2" * 12):
        assert client.get(f"/staff/results/{first}?campaigns={malformed}").status_code == 400
    many = ",".join(str(number) for number in range(100, 113))
    assert client.get(f"/staff/results/{first}?campaigns={many}").status_code == 400
    for path in ("tables/summary.csv", "tables.xlsx"):
        assert client.get(f"/staff/results/{first}/{path}?campaigns={stranger}").status_code == 400


def test_a_provider_account_pools_only_campaigns_with_its_provider(app, make_user, two_campaigns):
    world = two_campaigns
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    own = world.providers["Ek"]
    with app.app_context():
        elsewhere = create_campaign(
            db_session, name="2029", survey_version=db_session.get(Campaign, first).survey_version,
            starts_on=date(2029, 1, 1), ends_on=date(2029, 12, 31),
            providers=[db_session.get(Provider, world.providers["Bro"])],
            programmes=list(db_session.scalars(select(Programme))), languages=["sv"]).id
        db_session.commit()
    client = signed_in(app, make_user, Role.PROVIDER, provider_id=own)
    page = client.get(f"/staff/results/{first}/providers/{own}")
    text = page.get_data(as_text=True)
    assert f'value="{second}"' in text and f'value="{elsewhere}"' not in text
    pooled = client.get(f"/staff/results/{first}/providers/{own}?campaigns={second}")
    assert pooled.status_code == 200
    # Its workbook link keeps the pool, and the workbook is the pool's (Ek's 22 answers, no other provider).
    assert f"/staff/results/{first}/tables.xlsx?campaigns={second}" in pooled.get_data(as_text=True)
    workbook = client.get(f"/staff/results/{first}/tables.xlsx?campaigns={second}")
    cells = [value for sheet in load_workbook(io.BytesIO(workbook.data), read_only=True).worksheets
             for row in sheet.iter_rows(values_only=True) for value in row if value is not None]
    assert 22 in cells and not any(str(cell) in ("Bro", "Nordljus") for cell in cells)
    assert client.get(f"/staff/results/{first}/providers/{own}?campaigns={elsewhere}").status_code == 404
    assert client.get(f"/staff/results/{first}/tables.xlsx?campaigns={elsewhere}").status_code == 404


def test_a_pooled_export_says_what_it_pools_and_holds_the_pooled_figures(app, make_user, two_campaigns):
    world = two_campaigns
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    client = signed_in(app, make_user)
    response = client.get(f"/staff/results/{first}/tables/summary.csv?campaigns={second}")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8")
    assert "2027; 2028" in text
    ek = next(line for line in text.split("\r\n") if line.startswith('"Ek"'))
    assert ";22;" in ek and "3,1" in ek


def test_the_api_pools_and_names_the_campaigns(app, client, two_campaigns):
    world = two_campaigns
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    with app.app_context():
        token = create_token(db_session, "Power BI", date(2027, 1, 15), None).token
        db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(f"/api/v1/campaigns/{first}/results?campaigns={second}", headers=headers)
    body = assert_conforms(response, "/api/v1/campaigns/{campaign_id}/results")
    assert (body["pooled_campaigns"], body["left_out_campaigns"]) == ([first, second], [])
    ek = next(row for row in body["groups"] if row["key"] == str(world.providers["Ek"]))
    assert (ek["responses"]["total"], ek["nki"]["mean"]) == (22, pytest.approx(68 / 22))
    bro = next(row for row in body["groups"] if row["key"] == str(world.providers["Bro"]))
    assert bro["nki"]["suppressed"] is True and bro["nki"]["mean"] is None
    alone = assert_conforms(client.get(f"/api/v1/campaigns/{first}/summary", headers=headers),
                            "/api/v1/campaigns/{campaign_id}/summary")
    assert (alone["pooled_campaigns"], alone["left_out_campaigns"]) == ([first], [])
    assert client.get(f"/api/v1/campaigns/{first}/results?campaigns=abc", headers=headers).status_code == 400


def test_the_pooled_pages_pdf_report_is_the_pools(app, make_user, two_campaigns):
    # The new user's case: every link of a pooled overview kept the pool but the PDF report's, and the
    # report was the one campaign's without saying so.
    world = two_campaigns
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    client = signed_in(app, make_user)
    text = client.get(f"/staff/results/{first}?campaigns={second}").get_data(as_text=True)
    downloads = text.split('id="downloads-heading"', 1)[1]
    assert f"/staff/results/{first}/report.pdf?campaigns={second}" in downloads
    assert f"({sv('this campaign only')})" in downloads  # the anonymised answers stay one campaign's
    alone = pdf_text(client.get(f"/staff/results/{first}/report.pdf"))
    pooled = pdf_text(client.get(f"/staff/results/{first}/report.pdf?campaigns={second}"))
    assert "2027; 2028" not in alone and "2027; 2028" in pooled
    # The title page's answers: 25 in 2027 alone, 25 + 30 = 55 pooled.
    assert re.search(r"Svar:\s+25\b", alone) and re.search(r"Svar:\s+55\b", pooled)
    assert client.get(f"/staff/results/{first}/report.pdf?campaigns=x").status_code == 400


def test_a_pooled_page_offers_the_pools_periods_and_keeps_the_pool_in_its_language_links(app, make_user,
                                                                                        two_campaigns):
    world = two_campaigns
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    client = signed_in(app, make_user)
    alone = client.get(f"/staff/results/{first}").get_data(as_text=True)
    pooled = client.get(f"/staff/results/{first}?campaigns={second}&by=month").get_data(as_text=True)
    # 2028's months are filter choices once 2028 is pooled (the new user's case: only 2027's were).
    assert '<option value="2028-03">' not in alone and '<option value="2028-03">' in pooled
    # Choosing a language keeps the pool and the breakdown (it used to drop the whole query string).
    assert f'href="?campaigns={second}&amp;by=month&amp;lang=ar"' in pooled


def test_a_background_questions_unanswered_row_says_so(app, make_user):
    # The new user's case: the row of responses without a gender answer read "small groups merged",
    # although most had simply not answered the question.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4, "gender": "woman"}, times=6)
    add(app, world, "Bro Coachning", {"a": 3, "b": 3}, times=6)
    client = signed_in(app, make_user)
    text = client.get(f"/staff/results/{world.campaigns['2027']}?by=background:gender").get_data(as_text=True)
    assert sv("No answer, or merged to keep answers anonymous") in text
    assert sv("Small groups merged to keep answers anonymous") not in text


# --- the breaker's cases -----------------------------------------------------------------------------


def detail_rows(text: str, key: str) -> list[str]:
    table = text.split(f'id="detail-{key}"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", "|", row) for row in re.findall(r"<tr>.*?</tr>", table, re.S)]


def others_row(text: str, key: str):
    return next((row for row in detail_rows(text, key) if sv("All other providers") in row), None)


def test_a_provider_account_never_gets_one_other_providers_answers_from_a_pool(app, make_user):
    # 2027: Nordljus 6 and Bro 7 (all a = 1), Ek none; 2028: all three, 6 each. 2027's page shows no
    # "all other providers" (Bro alone); the pool's was 19 answers, and 19 minus 2028's 12 was Bro's seven 1s.
    world = build_results_world(app, providers=("Nordljus", "Bro", "Ek"), campaigns=("2027", "2028"))
    add(app, world, "Nordljus", {"a": 4, "b": 4}, times=6, campaign="2027")
    add(app, world, "Bro", {"a": 1, "b": 1}, times=7, campaign="2027")
    for name, score in (("Nordljus", 4), ("Bro", 3), ("Ek", 5)):
        add(app, world, name, {"a": score, "b": score}, times=6, campaign="2028", month=date(2028, 3, 1))
    own = world.providers["Nordljus"]
    first, second = world.campaigns["2027"], world.campaigns["2028"]
    client = signed_in(app, make_user, Role.PROVIDER, provider_id=own)
    alone_2027 = client.get(f"/staff/results/{first}/providers/{own}").get_data(as_text=True)
    alone_2028 = client.get(f"/staff/results/{second}/providers/{own}").get_data(as_text=True)
    pooled = client.get(f"/staff/results/{first}/providers/{own}?campaigns={second}").get_data(as_text=True)
    assert others_row(alone_2027, "a") is None
    assert others_row(alone_2028, "a") is not None  # Bro and Ek: shown
    assert others_row(pooled, "a") is None
    # Nor the others' average NKI (Bro's 1.0 and Ek's 5.0 pooled would be told apart by 2028's page alone).
    assert re.search(r'id="nki-average">\d', alone_2028) and not re.search(r'id="nki-average">\d', pooled)


def test_a_provider_account_never_gets_one_other_providers_answers_by_filtering(app, make_user):
    # One campaign: tertial 1 Nordljus 6 and Bro 7 (a = 1); tertial 2 all three, 6 each. The page minus
    # its copy filtered on tertial 2 was Bro's tertial 1: what the filter leaves out is one provider.
    world = build_results_world(app, providers=("Nordljus", "Bro", "Ek"))
    add(app, world, "Nordljus", {"a": 4, "b": 4}, times=6, month=date(2027, 3, 1))
    add(app, world, "Bro", {"a": 1, "b": 1}, times=7, month=date(2027, 3, 1))
    for name, score in (("Nordljus", 4), ("Bro", 3), ("Ek", 5)):
        add(app, world, name, {"a": score, "b": score}, times=6, month=date(2027, 6, 1))
    own = world.providers["Nordljus"]
    client = signed_in(app, make_user, Role.PROVIDER, provider_id=own)
    base = f"/staff/results/{world.campaigns['2027']}/providers/{own}"
    whole = client.get(base).get_data(as_text=True)
    second = client.get(f"{base}?tertial=2027-2").get_data(as_text=True)
    first = client.get(f"{base}?tertial=2027-1").get_data(as_text=True)
    assert others_row(whole, "a") is not None  # Bro and Ek, the whole campaign: shown
    assert others_row(first, "a") is None      # Bro alone
    assert others_row(second, "a") is None     # shown, it would give Bro's tertial 1 as whole minus it


def test_a_pool_by_language_knows_no_links_handed_out(app):
    # A link's language is not the one answered in: by language, no denominator is known ("not known",
    # None) - in one campaign and in a pool alike (the pool said 0 were handed out).
    world = build_results_world(app, campaigns=("2027", "2028"))
    for campaign in ("2027", "2028"):
        for name in ("Nordljus AB", "Bro Coachning"):
            add(app, world, name, {"a": 4, "b": 4}, times=6, campaign=campaign)
    pooled = table_of(app, world, breakdown=Breakdown("language"))
    assert [(row.handed_out, row.answered, row.response_rate) for row in pooled.rows] == [(None, None, None)]


def test_a_pool_breaks_down_only_by_questions_every_version_marks_background(app, make_user):
    # Version 3 of the survey asks gender as an ordinary question: its campaign alone refuses a breakdown by
    # it, and so does a pool with a campaign whose version marks it (the breaker's case answered 200).
    world = build_results_world(app, campaigns=("2027",))
    with app.app_context():
        plain = survey_document()
        plain["version"] = 3
        for question in plain["sections"][0]["questions"]:
            question.pop("background", None)
        version, _ = store_version(db_session, plain)
        old = db_session.get(Campaign, world.campaigns["2027"])
        other = create_campaign(db_session, name="2030", survey_version=version, starts_on=date(2030, 1, 1),
                                ends_on=date(2030, 12, 31), providers=list(old.providers),
                                programmes=list(old.programmes), languages=["sv"]).id
        db_session.commit()
    client = signed_in(app, make_user)
    message = sv("This survey has no background question %(key)s.") % {"key": "gender"}
    for path in (f"/staff/results/{other}?by=background:gender",
                 f"/staff/results/{world.campaigns['2027']}?by=background:gender&campaigns={other}",
                 f"/staff/results/{world.campaigns['2027']}?background:gender=woman&campaigns={other}"):
        answer = client.get(path)
        assert answer.status_code == 400 and message in answer.get_data(as_text=True), path
