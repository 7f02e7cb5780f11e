"""Attacks on the results that worked once (issue 9's breaker): each was a leak or a 500 before its fix.

Every test states the attack in its docstring; expected values are worked
out by hand from the fixture, never taken from the results layer.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.accounts.models import Role
from app.api.tokens import create_token
from app.db import db_session

from .conftest import login
from .results_fixtures import add, build_results_world

P1, P2, P3 = "Ett AB", "Två AB", "Tre AB"


def token(app, provider_id=None) -> dict:
    with app.app_context():
        issued = create_token(db_session, "breaker", date(2027, 1, 15), provider_id)
        db_session.commit()
        return {"Authorization": f"Bearer {issued.token}"}


def api(client, headers, campaign_id, query="", what="results"):
    answer = client.get(f"/api/v1/campaigns/{campaign_id}/{what}{'?' + query if query else ''}", headers=headers)
    return answer


def group(body, key):
    return next(g for g in body["groups"] if g["key"] == str(key))


def question(figures, key):
    return next(q for q in figures["questions"] if q["key"] == key)


# --- 1. suppression ------------------------------------------------------------------------------

def three_providers(app):
    """P1 3 responses (hidden, primary), P2 10, P3 8 (hidden as P1's complement in the total line)."""
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 1, "b": 1}, times=3)
    add(app, world, P2, {"a": 5, "b": 5}, times=5)
    add(app, world, P2, {"a": 4, "b": 4}, times=5)
    add(app, world, P3, {"a": 3, "b": 3}, times=8)
    return world


def test_secondary_suppressed_provider_is_given_back_by_a_filter_on_it(app, client):
    """by=provider hides P1 (3) and, as its complement, P3 (8); ?provider=P3 is accepted (8 >= k, 13 left
    out) and its total is P3's figures; total - P2 - P3 is then P1: 3 responses, NKI exactly 1.0."""
    world = three_providers(app)
    headers = token(app)
    campaign = world.campaigns["2027"]
    table = api(client, headers, campaign).get_json()
    assert group(table, world.providers[P1])["responses"]["suppressed"]
    assert group(table, world.providers[P3])["responses"]["suppressed"]
    p2 = group(table, world.providers[P2])
    filtered = api(client, headers, campaign, f"provider={world.providers[P3]}")
    if filtered.status_code == 200:
        p3 = filtered.get_json()["total"]
        total = table["total"]
        n1 = total["responses"]["total"] - p2["responses"]["total"] - p3["responses"]["total"]
        sum1 = (total["nki"]["mean"] * total["nki"]["n"] - p2["nki"]["mean"] * p2["nki"]["n"]
                - p3["nki"]["mean"] * p3["nki"]["n"])
        recovered = (n1, round(sum1 / n1, 6))
        assert recovered != (3, 1.0), "P1's hidden NKI recovered from the total, P2 and the P3-filtered table"


def test_secondary_suppressed_month_is_given_back_by_a_month_filter(app, client):
    """by=month hides March (3) and its complement April (6) within tertial 2027-1; ?month=2027-04 shows
    April alone (6 >= k, 10 left out): tertial/total minus February minus April is March."""
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 1}, times=3, month=date(2027, 3, 1))
    add(app, world, "Nordljus AB", {"a": 4}, times=6, month=date(2027, 4, 1))
    add(app, world, "Nordljus AB", {"a": 5}, times=7, month=date(2027, 2, 1))
    headers = token(app)
    campaign = world.campaigns["2027"]
    table = api(client, headers, campaign, "by=month").get_json()
    march = group(table, "2027-03")
    assert march["nki"]["suppressed"]
    april = api(client, headers, campaign, "month=2027-04")
    if april.status_code == 200:
        total, feb, apr = table["total"]["nki"], group(table, "2027-02")["nki"], april.get_json()["total"]["nki"]
        assert not feb["suppressed"]
        n = total["n"] - feb["n"] - apr["n"]
        mean = (total["mean"] * total["n"] - feb["mean"] * feb["n"] - apr["mean"] * apr["n"]) / n
        assert (n, round(mean, 6)) != (3, 1.0), "March's hidden NKI recovered"


def test_question_hidden_as_complement_is_given_back_by_the_nki_beside_it(app, client):
    """Each column is suppressed on its own: question b hides P1 (3 answers) and, as complement, P3 (8),
    while P3's NKI (everyone answered a and b) and its question a stay shown. NKI = (a + b) / 2 per
    respondent, so b(P3) = 2 NKI - a, and P1's b = total - P2 - P3: 3 answers, mean 2.0."""
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 4, "b": 2}, times=3)
    add(app, world, P1, {"a": 4}, times=7)
    add(app, world, P2, {"a": 5, "b": 5}, times=10)
    add(app, world, P3, {"a": 3, "b": 4}, times=8)
    body = api(client, token(app), world.campaigns["2027"]).get_json()
    p1, p2, p3 = (group(body, world.providers[name]) for name in (P1, P2, P3))
    assert question(p1, "b")["suppressed"]
    if question(p3, "b")["suppressed"] and not p3["nki"]["suppressed"] and not question(p3, "a")["suppressed"]:
        b3_mean = 2 * p3["nki"]["mean"] - question(p3, "a")["mean"]
        total_b, b2 = question(body["total"], "b"), question(p2, "b")
        n1 = total_b["n"] - b2["n"] - p3["nki"]["n"]
        mean1 = (total_b["mean"] * total_b["n"] - b2["mean"] * b2["n"] - b3_mean * p3["nki"]["n"]) / n1
        assert (n1, round(mean1, 6)) != (3, 2.0), "P1's hidden mean of b recovered through P3's NKI"


def test_total_row_shows_a_question_answered_fewer_than_k_times(app, client):
    """Ten responses, only 3 answered the optional yes/no y: every group's y is hidden, but the total row
    shows y with n = 3 and its share of yes (figures from fewer than k answers)."""
    world = build_results_world(app, providers=(P1, P2))
    add(app, world, P1, {"a": 4, "y": 1}, times=2)
    add(app, world, P1, {"a": 4, "y": 0}, times=1)
    add(app, world, P1, {"a": 4}, times=2)
    add(app, world, P2, {"a": 3}, times=5)
    body = api(client, token(app), world.campaigns["2027"]).get_json()
    total_y = question(body["total"], "y")
    assert total_y["suppressed"] or total_y["n"] in (0, None), f"total shows y over {total_y['n']} answers"


def test_total_row_with_a_filter_shows_a_question_answered_fewer_than_k_times_html(app, client, make_user):
    """The same on the overview page filtered to one provider: the 'all answers' question line shows
    Answers 3 with a mean for y (answered by 3 of P1's 5)."""
    from app.accounts.models import Role

    from .conftest import login
    world = build_results_world(app, providers=(P1, P2))
    add(app, world, P1, {"a": 4, "y": 1}, times=3)
    add(app, world, P1, {"a": 4}, times=4)
    add(app, world, P2, {"a": 3}, times=7)
    login(client, make_user(Role.ANALYST))
    page = client.get(f"/staff/results/{world.campaigns['2027']}/questions/y?provider={world.providers[P1]}")
    assert page.status_code == 200
    csv = client.get(f"/staff/results/{world.campaigns['2027']}/tables/question_y.csv?provider={world.providers[P1]}")
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    total = next(line for line in lines if line.split(";")[0].strip('"') in ("Alla svar", "All answers"))
    assert total.split(";")[1].strip('"') in ("..", "", "0"), f"the question CSV's total row shows y over 3 answers: {total}"


# --- 3. bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["month=0000-01", "tertial=0000-1", "year=0000"])
@pytest.mark.parametrize("route", ["", "/providers/{provider}", "/questions/a", "/comments", "/tables/summary.csv",
                                   "/tables/rates.xlsx", "/tables.xlsx", "api:results", "api:summary"])
def test_year_zero_in_a_period_filter_is_a_400_not_a_500(app, make_user, route, query):
    """month=0000-01 / tertial=0000-1 / year=0000 pass access.parse_value's patterns, then date(0, ...) raises
    ValueError (not ParameterError) in access.py or aggregates._months_of: 500 on every results route."""
    from app.accounts.models import Role

    from .conftest import login
    app.config["PROPAGATE_EXCEPTIONS"] = False
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4}, times=6)
    campaign = world.campaigns["2027"]
    client = app.test_client()
    if route.startswith("api:"):
        answer = client.get(f"/api/v1/campaigns/{campaign}/{route[4:]}?{query}", headers=token(app))
    else:
        login(client, make_user(Role.ANALYST, "analyst"))
        path = route.format(provider=world.providers["Nordljus AB"])
        answer = client.get(f"/staff/results/{campaign}{path}?{query}")
    assert answer.status_code < 500, f"{route} ?{query} -> {answer.status_code}"


def test_hidden_response_rate_is_given_back_by_a_filter_on_its_complement(app, client):
    """Links column: P1 answered 3 of 20 links (hidden), P3 answered 8 of 12 (hidden as complement), P2 10 of
    10. ?provider=P3 shows P3's answered links in its total row; total answered - P2 - P3 = 3, and P1's
    handed-out count is never hidden: P1's response rate 3/20 = 15 % recovered."""
    import uuid

    from app.campaigns.models import Invitation
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 4}, times=10, channel="qr")
    add(app, world, P1, {"a": 4}, times=3)
    add(app, world, P2, {"a": 4}, times=10)
    add(app, world, P3, {"a": 4}, times=8)
    campaign = world.campaigns["2027"]
    with app.app_context():
        for name, issued, answered in ((P1, 20, 3), (P2, 10, 10), (P3, 12, 8)):
            for number in range(issued):
                db_session.add(Invitation(
                    campaign_id=campaign, provider_id=world.providers[name], programme_id=world.programmes["JPG"],
                    language="sv", channel="sms", token_hash=uuid.uuid4().hex * 2, responded=number < answered,
                    created_on=date(2027, 3, 1)))
        db_session.commit()
    headers = token(app)
    table = api(client, headers, campaign).get_json()
    p1, p2 = group(table, world.providers[P1]), group(table, world.providers[P2])
    assert p1["response_rate"]["suppressed"]
    filtered = api(client, headers, campaign, f"provider={world.providers[P3]}")
    if filtered.status_code == 200 and not p2["response_rate"]["suppressed"]:
        p3_answered = filtered.get_json()["total"]["response_rate"]["answered"]
        if p3_answered is None:  # hidden in the filtered total too: nothing to subtract
            return
        answered = table["total"]["response_rate"]["answered"] - p2["response_rate"]["answered"] - p3_answered
        assert answered / p1["response_rate"]["handed_out"] != 0.15, "P1's hidden response rate recovered"


def test_comments_of_a_provider_below_k_are_attributed_by_filtering_its_siblings(app, make_user):
    """P1 has 3 responses (its own filter is refused); the unfiltered comments page lists every comment and
    ?provider=P2, ?provider=P3 are each accepted (complements 11 and 13): the comment on neither is P1's."""
    from app.accounts.models import Role

    from .conftest import login
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 1, "comment": "Min handläggare Kim var elak"}, times=1)
    add(app, world, P1, {"a": 1}, times=2)
    add(app, world, P2, {"a": 5, "comment": "Bra"}, times=10)
    add(app, world, P3, {"a": 3, "comment": "Okej"}, times=8)
    client = app.test_client()
    login(client, make_user(Role.ANALYST, "analyst"))
    base = f"/staff/results/{world.campaigns['2027']}/comments"
    secret = "Min handläggare Kim var elak"
    everyone = client.get(base).get_data(as_text=True)
    own = client.get(f"{base}?provider={world.providers[P1]}").get_data(as_text=True)
    assert secret not in own
    siblings = [client.get(f"{base}?provider={world.providers[name]}").get_data(as_text=True) for name in (P2, P3)]
    attributed = secret in everyone and all("Okej" in page or "Bra" in page for page in siblings) \
        and not any(secret in page for page in siblings)
    assert not attributed, "a comment of P1 (3 responses) is attributed to P1 by its siblings' filters"


# --- 4. figures -----------------------------------------------------------------------------------

def test_confidence_intervals_stay_on_the_scale(app, client):
    """P1: y yes 4, no 1 (share 0.8, n 5) gets a t interval to 1.355 (shown 136 %), and its NKI (scores
    5, 5, 5, 5, 4.5, 3: 4.58) an interval to 5.42 on a 1-5 scale: intervals past what the scale can hold."""
    world = build_results_world(app, providers=(P1, P2))
    add(app, world, P1, {"a": 5, "b": 5, "y": 1}, times=4)
    add(app, world, P1, {"a": 5, "b": 4, "y": 0})
    add(app, world, P1, {"a": 3, "b": 3, "y": "dk"})
    add(app, world, P2, {"a": 2, "b": 2, "y": 0}, times=5)
    body = api(client, token(app), world.campaigns["2027"]).get_json()
    p1 = group(body, world.providers[P1])
    y = question(p1, "y")
    assert (y["mean"], y["n"]) == (0.8, 5)
    assert 0 <= y["low"] and y["high"] <= 1, f"yes share interval {y['low']:.3f}-{y['high']:.3f}"
    assert 1 <= p1["nki"]["low"] and p1["nki"]["high"] <= 5, f"NKI interval to {p1['nki']['high']:.2f} on 1-5"


@pytest.mark.parametrize("msgid", ["All answers", "Answers", "Mean over groups with a value"])
def test_results_tables_are_in_swedish_for_swedish_staff(msgid):
    """The summary and question tables (pages, CSV, XLSX, PDF) mix Swedish headings ("Anordnare") with
    English rows: translations/sv has an empty msgstr for these results strings."""
    from babel.messages.pofile import read_po

    from tests.conftest import ROOT
    with open(ROOT / "translations/sv/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    assert catalog[msgid] is not None and catalog[msgid].string, f"no Swedish for {msgid!r}"


# --- the second breaker: a crossed table seen from both sides; the answers export against the tables --------

def nki_sum(figures):
    return figures["nki"]["mean"] * figures["nki"]["n"]


def crossed_world(app, hidden=3):
    """Provider x gender: P1 woman `hidden` (NKI 1.0), P1 man 10, P2 woman 10, P2 man 10, P3 woman 10, P3 man 10."""
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 1, "b": 1, "gender": "woman"}, times=hidden)
    add(app, world, P1, {"a": 3, "b": 3, "gender": "man"}, times=10)
    add(app, world, P2, {"a": 5, "b": 5, "gender": "woman"}, times=10)
    add(app, world, P2, {"a": 4, "b": 4, "gender": "man"}, times=10)
    add(app, world, P3, {"a": 4, "b": 4, "gender": "woman"}, times=10)
    add(app, world, P3, {"a": 3, "b": 3, "gender": "man"}, times=10)
    return world


@pytest.mark.parametrize(("k", "hidden"), [(5, 3), (5, 4), (6, 5), (7, 6)])
def test_complement_hidden_in_one_table_is_shown_as_a_row_of_the_swapped_table(app, client, k, hidden):
    """?background:gender=woman&by=provider hides P1 (3 women) and, as its complement, P2 (10 women; ties go by
    key order). The same cell P2 x woman is a row of ?provider=P2&by=background:gender, whose suppression knows
    nothing of the first table (inheritance only looks at the parent *of a filter*, not at a table where the
    filter and the breakdown are swapped). woman total - P3 - P2 = P1's 3 women, NKI exactly 1.0.
    The same at n = 4 (k 5), n = 5 (k 6) and n = 6 (k 7)."""
    app.config["KUNDROST"] = app.config["KUNDROST"].with_overrides(min_cell_size=k)
    world = crossed_world(app, hidden)
    headers, campaign = token(app), world.campaigns["2027"]
    women = api(client, headers, campaign, "background:gender=woman&by=provider").get_json()
    assert group(women, world.providers[P1])["nki"]["suppressed"]
    p2_women_row = group(women, world.providers[P2])
    p3 = group(women, world.providers[P3])
    if not p2_women_row["nki"]["suppressed"]:
        p2 = p2_women_row
    else:
        swapped = api(client, headers, campaign, f"provider={world.providers[P2]}&by=background:gender")
        assert swapped.status_code == 200
        p2 = group(swapped.get_json(), "woman")
        if p2["nki"]["suppressed"] or p3["nki"]["suppressed"]:
            return
    n1 = women["total"]["nki"]["n"] - p2["nki"]["n"] - p3["nki"]["n"]
    mean1 = (nki_sum(women["total"]) - nki_sum(p2) - nki_sum(p3)) / n1
    assert (n1, round(mean1, 6)) != (hidden, 1.0), "P1's hidden NKI among women recovered through the swapped table"


def answers_rows(client, campaign, detail: str = "programme"):
    """The answers CSV as dicts (headings of the first line), notes dropped."""
    text = client.get(f"/staff/results/{campaign}/answers.csv?detail={detail}").get_data(as_text=True).lstrip("\ufeff")
    lines = [line.split(";") for line in text.splitlines()]
    head = [cell.strip('"') for cell in lines[0]]
    return [dict(zip(head, (cell.strip('"') for cell in line))) for line in lines[1:] if len(line) == len(head)]


@pytest.mark.parametrize("detail", ["programme", "full"])
def test_table_complement_is_exported_in_full_by_the_answers_export(app, client, make_user, detail):
    """by=provider hides P1 (3) and, as its complement, P2 (8: the smallest provider). The answers export
    protects cells on its own (smallest *cell* first): it leaves out P1's cell and P3's Swedish cell (5), and
    exports P2's 8 rows. Table total - P3 (shown) - P2 (the export's rows) = P1: 3 responses, NKI exactly 1.0."""
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 1, "b": 1}, times=3)
    add(app, world, P2, {"a": 5, "b": 5}, times=8)
    add(app, world, P3, {"a": 3, "b": 3}, times=5, language="sv")
    add(app, world, P3, {"a": 3, "b": 3}, times=5, language="ar")
    campaign = world.campaigns["2027"]
    table = api(client, token(app), campaign).get_json()
    assert group(table, world.providers[P1])["nki"]["suppressed"]
    p3 = group(table, world.providers[P3])
    login(client, make_user(Role.ANALYST, "analyst"))
    p2_rows = [row for row in answers_rows(client, campaign, detail) if row.get("Provider", row.get("Anordnare")) == P2]
    if group(table, world.providers[P2])["nki"]["suppressed"] and len(p2_rows) == 8 and not p3["nki"]["suppressed"]:
        p2_sum = sum((int(row["a"]) + int(row["b"])) / 2 for row in p2_rows)
        n1 = table["total"]["nki"]["n"] - p3["nki"]["n"] - len(p2_rows)
        mean1 = (nki_sum(table["total"]) - nki_sum(p3) - p2_sum) / n1
        assert (n1, round(mean1, 6)) != (3, 1.0), "P1's hidden NKI recovered from the table and the answers export"


def test_a_two_way_complement_is_not_exported_by_the_provider_and_programme_answers(app, client, make_user):
    """The answers file without finer scope (detail=programme) has provider x programme groups as its cells,
    the cells of the two-way table "programme SO, by provider". SO: P1 3 answers of 1 (hidden), P2 6 of 5,
    P3 5 of 3; JPG: ten 4s each. The table hides P1 and a complement; had the file left out only P1's cell
    (every other SO cell is shown on its own, so none could pad it), SO's NKI sum from the programme table
    minus the file's SO rows would be P1's 3 x 1.0. With the table's hidden cells left out too, what is left
    holds 8 or more: never P1's 3 answers of 1."""
    world = build_results_world(app, providers=(P1, P2, P3))
    for name, times, value in ((P1, 3, 1), (P2, 6, 5), (P3, 5, 3)):
        add(app, world, name, {"a": value, "b": value}, times=times, programme="SO")
        add(app, world, name, {"a": 4, "b": 4}, times=10)
    campaign = world.campaigns["2027"]
    by_programme = api(client, token(app), campaign, "by=programme").get_json()
    so = group(by_programme, world.programmes["SO"])
    assert not so["nki"]["suppressed"] and so["nki"]["n"] == 14
    login(client, make_user(Role.ANALYST, "analyst"))
    rows = [row for row in answers_rows(client, campaign) if row.get("Programme", row.get("Insats")) == "SO"]
    left_n = so["nki"]["n"] - len(rows)
    left_sum = nki_sum(so) - sum((int(row["a"]) + int(row["b"])) / 2 for row in rows)
    assert left_n >= 5, rows
    assert (left_n, round(left_sum / left_n, 6)) != (3, 1.0)


def test_a_cell_a_provider_page_would_hide_still_pads_what_the_answers_file_leaves_out(app, client, make_user):
    """Provider x programme x gender cells: P1 JPG 10 women and 2 men (NKI 1.0), P1 SO 10 women and 4 men,
    P2 JPG and SO 10 women and 8 men each. No one-way or two-way table hides anything here: (P1, man) is
    6, (JPG, man) 10, (P1, JPG) 12. The file leaves out the 2 men's cell (below k) and must pad it within
    (P1, JPG), whose total the provider x programme table shows: with the women's cell (only a provider page
    of P1 filtered on JPG and broken down by gender shows it alone, and that table hides it as the men's
    complement). Otherwise (P1, JPG)'s total minus the file's P1 JPG rows gave the 2 men's NKI."""
    world = build_results_world(app, providers=(P1, P2))
    for programme, men in (("JPG", 2), ("SO", 4)):
        add(app, world, P1, {"a": 4, "b": 4, "gender": "woman"}, times=10, programme=programme)
        add(app, world, P1, {"a": 1, "b": 1, "gender": "man"}, times=men, programme=programme)
        add(app, world, P2, {"a": 3, "b": 3, "gender": "woman"}, times=10, programme=programme)
        add(app, world, P2, {"a": 3, "b": 3, "gender": "man"}, times=8, programme=programme)
    campaign = world.campaigns["2027"]
    by_programme = api(client, token(app), campaign, f"provider={world.providers[P1]}&by=programme").get_json()
    jpg = group(by_programme, world.programmes["JPG"])
    assert not jpg["nki"]["suppressed"] and jpg["nki"]["n"] == 12
    login(client, make_user(Role.ANALYST, "analyst"))
    rows = [row for row in answers_rows(client, campaign)
            if (row.get("Provider", row.get("Anordnare")), row.get("Programme", row.get("Insats"))) == (P1, "JPG")]
    left_n = jpg["nki"]["n"] - len(rows)
    assert left_n == 0 or left_n >= 5, rows
    if left_n:
        left_sum = nki_sum(jpg) - sum((int(row["a"]) + int(row["b"])) / 2 for row in rows)
        assert (left_n, round(left_sum / left_n, 6)) != (2, 1.0)


@pytest.mark.parametrize("detail", ["programme", "full"])
def test_a_three_way_cell_below_k_is_not_a_programme_total_minus_the_file(app, client, make_user, detail):
    """The breaker (2026-12-01): every provider x programme x gender cell holds 6 answers of 4 and 5, but P1's
    SO women are 3 answers of 1 (NKI 1.0). No one-way or two-way group is below k, so no table hides
    anything; the file leaves out the 3 and must pad them: SO's total minus the file's SO rows was the 3
    when every cell alone in a group of three dimensions counted as shown and could not pad."""
    world = build_results_world(app, providers=(P1, P2))
    for provider in (P1, P2):
        for programme in ("SO", "JPG"):
            for gender in ("woman", "man"):
                if (provider, programme, gender) == (P1, "SO", "woman"):
                    add(app, world, provider, {"a": 1, "b": 1, "gender": gender}, times=3, programme=programme)
                else:
                    add(app, world, provider, {"a": 4, "b": 5, "gender": gender}, times=6, programme=programme)
    campaign = world.campaigns["2027"]
    so = group(api(client, token(app), campaign, "by=programme").get_json(), world.programmes["SO"])
    assert not so["nki"]["suppressed"] and so["nki"]["n"] == 21
    login(client, make_user(Role.ANALYST, "analyst"))
    rows = [row for row in answers_rows(client, campaign, detail) if row.get("Programme", row.get("Insats")) == "SO"]
    left_n = so["nki"]["n"] - len(rows)
    assert left_n == 0 or left_n >= 5, left_n
