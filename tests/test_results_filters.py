"""One filter at a time (issue 9, "Suppression"): the second breaker's inclusion-exclusion over two filters.

With two filters a table's cells are three-way (Bro x tertial 1 x women).
The four tables "by provider", "by provider in tertial 2027-1", "by
provider among women" and "by provider among women in tertial 2027-1"
showed Bro with 16, 10, 10 and 5 responses, each table safe on its own:
16 - 10 - 10 + 5 = 1 respondent outside both filters, and the same sums
of scores gave that respondent's answer. The kind is "a figure of three
or more constraints at once" (two filters and a breakdown, or a provider
account's own provider and one filter): every route that takes filters
refuses it, and the results layer refuses it before any SQL.

Expected values are counted by hand from the fixture below.
"""

from __future__ import annotations

from datetime import date
from itertools import permutations

import pytest
from sqlalchemy import event

from app.accounts.models import Role
from app.analytics.results import SelectionRefused, result_table
from app.analytics.scope import DIMENSIONS, Breakdown, Filter, Selection
from app.api.tokens import create_token
from app.db import db_session

from .conftest import login
from .helpers import translated
from .results_fixtures import add, build_results_world

BRO, NORDLJUS = "Bro Coachning", "Nordljus AB"
MARCH, JUNE = date(2027, 3, 1), date(2027, 6, 1)  # tertial 2027-1 and tertial 2027-2

#: The refusal every route gives (the msgid; looked up in Swedish, the test client's staff language).
REFUSED = "A table can be filtered on one thing at a time. Choose one filter, and break the table down by the " \
          "other instead: with two filters, comparing tables could give single answers away."
#: Its wording for a provider account's exports and a provider token, whose own provider is the one filter.
REFUSED_OWN = "Your account's results are always those of your own provider, and that is already their one " \
              "filter: a download or an API answer cannot be filtered further. Break the table down instead, " \
              "or use the filter on your provider page."


def breaker_world(app):
    """Bro: 5 women in March (a=5), 5 men in March (a=4), 5 women in June (a=3) and ONE man in June (a=1):
    16 in all, 10 in tertial 2027-1, 10 women, 5 women in tertial 2027-1. Nordljus: 8 in each of the
    same four groups (a=3), so that no one-filter table hides Bro for Nordljus' sake."""
    world = build_results_world(app, providers=(NORDLJUS, BRO))
    add(app, world, BRO, {"a": 5, "gender": "woman"}, times=5, month=MARCH)
    add(app, world, BRO, {"a": 4, "gender": "man"}, times=5, month=MARCH)
    add(app, world, BRO, {"a": 3, "gender": "woman"}, times=5, month=JUNE)
    add(app, world, BRO, {"a": 1, "gender": "man"}, times=1, month=JUNE)
    for month in (MARCH, JUNE):
        for gender in ("woman", "man"):
            add(app, world, NORDLJUS, {"a": 3, "gender": gender}, times=8, month=month)
    return world


def analyst_token(app, provider_id=None) -> dict:
    with app.app_context():
        issued = create_token(db_session, "filters", date(2027, 1, 15), provider_id)
        db_session.commit()
        return {"Authorization": f"Bearer {issued.token}"}


def bro_responses(client, headers, campaign: int, bro: int, query: str):
    answer = client.get(f"/api/v1/campaigns/{campaign}/results?by=provider{query}", headers=headers)
    return answer.status_code, answer.get_json()


def test_the_breakers_four_tables_stop_at_the_fourth(app, client):
    """The first three tables are shown (Bro 16, 10, 10: one filter each is safe); the fourth, two
    filters, is refused - so 16 - 10 - 10 + x cannot be formed."""
    world = breaker_world(app)
    headers, campaign, bro = analyst_token(app), world.campaigns["2027"], world.providers[BRO]
    shown = {}
    for query in ("", "&tertial=2027-1", "&background:gender=woman"):
        status, body = bro_responses(client, headers, campaign, bro, query)
        assert status == 200, query
        shown[query] = next(g for g in body["groups"] if g["key"] == str(bro))["responses"]["total"]
    assert shown == {"": 16, "&tertial=2027-1": 10, "&background:gender=woman": 10}
    status, body = bro_responses(client, headers, campaign, bro, "&tertial=2027-1&background:gender=woman")
    assert status == 422
    assert body["error"] == "filters"


@pytest.mark.parametrize("query", [
    # The same three-way cell (Bro x tertial 2027-1 x women), with each constraint as the breakdown in turn,
    # and as a selection's total.
    "by=provider&tertial=2027-1&background:gender=woman",
    "by=background:gender&provider={bro}&tertial=2027-1",
    "by=tertial&provider={bro}&background:gender=woman",
    "by=month&provider={bro}&background:gender=woman",
    "by=channel&provider={bro}&tertial=2027-1&background:gender=woman",
    # Redundant-looking pairs are pairs too: a tertial within its year, a month within its tertial.
    "by=provider&year=2027&tertial=2027-1",
    "by=provider&tertial=2027-1&month=2027-03",
])
@pytest.mark.parametrize("route", ["page", "question", "comments", "csv", "xlsx", "workbook", "results", "summary"])
def test_every_route_refuses_two_filters(app, client, make_user, route, query):
    world = breaker_world(app)
    campaign, bro = world.campaigns["2027"], world.providers[BRO]
    query = query.format(bro=bro)
    if route in ("results", "summary"):
        answer = client.get(f"/api/v1/campaigns/{campaign}/{route}?{query}", headers=analyst_token(app))
        assert answer.status_code == 422
        assert answer.get_json()["error"] == "filters"
        assert "groups" not in answer.get_json()
        return
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    address = {
        "page": f"/staff/results/{campaign}?{query}",
        "question": f"/staff/results/{campaign}/questions/a?{query}",
        "comments": f"/staff/results/{campaign}/comments?{query}",
        "csv": f"/staff/results/{campaign}/tables/summary.csv?{query}",
        "xlsx": f"/staff/results/{campaign}/tables/summary.xlsx?{query}",
        "workbook": f"/staff/results/{campaign}/tables.xlsx?{query}",
    }[route]
    answer = client.get(address, headers={"Accept-Language": "sv"})
    page = answer.get_data(as_text=True)
    assert answer.status_code in (200, 409), (route, answer.status_code)
    assert translated(REFUSED, "sv") in page.replace("&#39;", "'")
    assert "application/vnd.openxmlformats" not in answer.content_type and "text/csv" not in answer.content_type


def test_the_provider_page_takes_one_filter_and_refuses_two(app, client, make_user):
    """The provider page is the campaign by provider: one filter (tertial) is a two-way table and shown,
    with Bro's 10 responses of tertial 2027-1; a second filter is refused, others' average included."""
    world = breaker_world(app)
    campaign, bro = world.campaigns["2027"], world.providers[BRO]
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    one = client.get(f"/staff/results/{campaign}/providers/{bro}?tertial=2027-1", headers={"Accept-Language": "sv"})
    assert one.status_code == 200
    assert translated(REFUSED, "sv") not in one.get_data(as_text=True).replace("&#39;", "'")
    two = client.get(f"/staff/results/{campaign}/providers/{bro}?tertial=2027-1&background:gender=woman",
                     headers={"Accept-Language": "sv"})
    text = two.get_data(as_text=True).replace("&#39;", "'")
    assert translated(REFUSED, "sv") in text
    assert translated("Average of the other providers", "sv") not in text


def test_a_provider_accounts_own_provider_is_its_one_filter(app, client, make_user):
    """Bro's account: its page takes one filter (the page is by provider, Bro's row); its exports and a
    Bro-limited token are Bro x the filter x the breakdown - three-way - and refused; without a filter
    they are shown."""
    world = breaker_world(app)
    campaign, bro = world.campaigns["2027"], world.providers[BRO]
    make_user(Role.PROVIDER, "bro", provider_id=bro)
    login(client, "bro")
    page = client.get(f"/staff/results/{campaign}/providers/{bro}?tertial=2027-1", headers={"Accept-Language": "sv"})
    assert page.status_code == 200
    assert translated(REFUSED, "sv") not in page.get_data(as_text=True).replace("&#39;", "'")
    plain = client.get(f"/staff/results/{campaign}/tables/summary.csv?by=programme")
    assert plain.status_code == 200 and "text/csv" in plain.content_type
    filtered = client.get(f"/staff/results/{campaign}/tables/summary.csv?by=programme&tertial=2027-1",
                          headers={"Accept-Language": "sv"})
    assert filtered.status_code == 409
    assert translated(REFUSED_OWN, "sv") in filtered.get_data(as_text=True).replace("&#39;", "'")
    headers = analyst_token(app, provider_id=bro)
    assert client.get(f"/api/v1/campaigns/{campaign}/results?by=programme", headers=headers).status_code == 200
    limited = client.get(f"/api/v1/campaigns/{campaign}/results?by=programme&tertial=2027-1", headers=headers)
    assert limited.status_code == 422
    assert limited.get_json()["error"] == "filters"
    assert limited.get_json()["message"] == translated(REFUSED_OWN, "sv")  # Swedish: the default language
    # Its page says what its filter leaves aside: the trend (each campaign whole) and the downloads.
    text = page.get_data(as_text=True).replace("&#39;", "'")
    assert 'id="trend-unfiltered"' in text and 'id="downloads-unfiltered"' in text
    plain_page = client.get(f"/staff/results/{campaign}/providers/{bro}").get_data(as_text=True)
    assert 'id="trend-unfiltered"' not in plain_page and 'id="downloads-unfiltered"' not in plain_page


def _values(world) -> dict[Breakdown, tuple[object, int]]:
    """A value of each dimension, and the responses of the fixture's 48 (Bro 16, Nordljus 32) it selects."""
    return {Breakdown("provider"): (world.providers[BRO], 16), Breakdown("programme"): (world.programmes["JPG"], 48),
            Breakdown("language"): ("sv", 48), Breakdown("channel"): ("sms", 48), Breakdown("month"): (MARCH, 26),
            Breakdown("tertial"): ((2027, 1), 26), Breakdown("year"): (2027, 48),
            Breakdown("background", "gender"): ("woman", 26)}


def test_the_results_layer_refuses_every_pair_of_filters_before_any_sql(app):
    """Every breakdown x every ordered pair of filter dimensions (and a pool): SelectionRefused("filters"),
    with not one statement sent to the database. One filter of each dimension is answered."""
    world = breaker_world(app)
    values = _values(world)
    dimensions = [Breakdown(d) for d in DIMENSIONS if d != "background"] + [Breakdown("background", "gender")]
    with app.app_context():
        engine = db_session.get_bind()
        statements = []

        def count(*_args):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            for breakdown in dimensions:
                for first, second in permutations(dimensions, 2):
                    selection = Selection((world.campaigns["2027"],),
                                          (Filter(first, values[first][0]), Filter(second, values[second][0])))
                    with pytest.raises(SelectionRefused) as refused:
                        result_table(db_session, selection, breakdown, 5)
                    assert refused.value.reason == "filters"
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert statements == []
        for first in dimensions:
            value, responses = values[first]
            table = result_table(db_session, Selection((world.campaigns["2027"],), (Filter(first, value),)),
                                 Breakdown("channel"), 5, questions=())
            assert table.total.responses == responses, first


@pytest.mark.parametrize("route", ["page", "provider", "csv", "results"])
def test_a_filter_given_twice_is_a_400_not_its_first_value(app, client, make_user, route):
    """programme=JPG&programme=SO once gave the JPG table (the first value) as if SO were not asked for
    (the new user's finding): now 400 with the reason. The same value twice is one filter."""
    world = breaker_world(app)
    campaign, jpg, so, bro = world.campaigns["2027"], world.programmes["JPG"], world.programmes["SO"], world.providers[BRO]
    twice, same = f"programme={jpg}&programme={so}", f"programme={jpg}&programme={jpg}"
    if route == "results":
        headers = analyst_token(app)
        answer = client.get(f"/api/v1/campaigns/{campaign}/results?{twice}", headers=headers)
        assert answer.status_code == 400 and answer.get_json()["error"] == "parameter"
        assert client.get(f"/api/v1/campaigns/{campaign}/results?{same}", headers=headers).status_code == 200
        return
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    base = {"page": f"/staff/results/{campaign}?", "provider": f"/staff/results/{campaign}/providers/{bro}?",
            "csv": f"/staff/results/{campaign}/tables/summary.csv?"}[route]
    answer = client.get(base + twice, headers={"Accept-Language": "sv"})
    assert answer.status_code == 400
    reason = translated("Give %(name)s one value: a table takes one value of a filter at a time.", "sv")
    assert reason.replace("%(name)s", "programme") in answer.get_data(as_text=True)
    assert client.get(base + same).status_code == 200


@pytest.mark.parametrize("query", ["provider=99999", "programme=99999", "provider=0"])
def test_a_provider_or_programme_outside_the_campaign_is_a_400(app, client, make_user, query):
    """provider=99 answered an empty table as if the provider had no answers; a programme id named as a
    provider likewise. Now 400: the value is not one this campaign has (the new user's finding)."""
    world = breaker_world(app)
    campaign = world.campaigns["2027"]
    query = query.format(so=world.programmes["SO"])
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    assert client.get(f"/staff/results/{campaign}?{query}").status_code == 400
    answer = client.get(f"/api/v1/campaigns/{campaign}/summary?{query}", headers=analyst_token(app))
    assert answer.status_code == 400 and answer.get_json()["error"] == "parameter"


def test_comments_of_an_unmixed_campaign_ask_for_no_wider_filter(app, client, make_user):
    """A campaign whose answers all still wait: the comments page said 'Widen the filter' with no filter set
    (the new user's finding); it says the campaign has too few answers so far."""
    world = build_results_world(app, providers=(NORDLJUS, BRO))
    make_user(Role.ANALYST, "karin")
    login(client, "karin")
    page = client.get(f"/staff/results/{world.campaigns['2027']}/comments", headers={"Accept-Language": "sv"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    so_far = translated("This campaign has fewer than %(k)d answers so far: no figures can be shown yet.", "sv")
    assert so_far.replace("%(k)d", "5") in text
    assert translated("Too few answers are in this selection (fewer than %(k)d) to show any figures. Widen the filter.",
                      "sv").replace("%(k)d", "5") not in text
