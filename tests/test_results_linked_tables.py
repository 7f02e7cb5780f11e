"""Linked tables (docs/analytics.md, "Linked tables"): the third breaker's attacks of 2026-12-01.

Tables of different dimensions were suppressed apart, and a group of one
dimension can be the very same answers as a group of another (a programme
only one provider gives; a month only one provider answered in): a
complement hidden in one table was shown in the other, and the primary
cell came back by subtraction. Within one two-way table, the complement
chosen for a small cell could be the only answered cell of its other line,
so it equalled a total shown elsewhere. app/analytics/linked.py suppresses
a campaign's tables together; these tests failed before it.

And the second breaker's: the NKI (mean of personal scores) beside its
index questions' means gave the answers of the few who answered only some
of them (now counted as "partly scored" and suppressed like any count).
Expected values are worked out by hand from the fixture, never taken from
the results layer.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.analytics.results import HIDDEN, result_table
from app.analytics.scope import Breakdown, Selection
from app.campaigns.models import Invitation
from app.db import db_session

from .results_fixtures import add, build_results_world
from .test_results_attacks import api, group, nki_sum, question, token

P1, P2, P3 = "Ett AB", "Två AB", "Tre AB"



def test_provider_complement_is_shown_as_the_programme_only_it_gives(app, client):
    """P1 gives programme SO only, and only P1 gives SO; P2 and P3 give JPG.
    P1: 9 responses (a = b = 4, NKI 4.0), P2: 3 (a = b = 1, NKI 1.0), P3: 10 (a = b = 5, NKI 5.0).

    by=provider: P2 (3) is hidden (primary) and P1 (9, the smallest shown) as its complement; total 22.
    by=programme: JPG 13 and SO 9 are both >= k and shown (SO's NKI 4.0 over 9).
    programme=SO&by=provider shows P2 and P3 with 0 answers in SO, so SO is P1 (no outside knowledge).
    total - P3 - SO = 22 - 10 - 9 = 3 responses, NKI (22*mean - 50 - 36) / 3 = (3*1 + 36 + 50 - 86) / 3 = 1.0:
    P2's three respondents and their NKI.
    """
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 4, "b": 4}, times=9, programme="SO")
    add(app, world, P2, {"a": 1, "b": 1}, times=3, programme="JPG")
    add(app, world, P3, {"a": 5, "b": 5}, times=10, programme="JPG")
    headers, campaign = token(app), world.campaigns["2027"]
    by_provider = api(client, headers, campaign).get_json()
    assert group(by_provider, world.providers[P2])["responses"]["suppressed"]
    p3 = group(by_provider, world.providers[P3])
    by_programme = api(client, headers, campaign, "by=programme").get_json()
    so = group(by_programme, world.programmes["SO"])
    inside_so = api(client, headers, campaign, f"programme={world.programmes['SO']}&by=provider")
    if inside_so.status_code == 200:  # the attacker learns SO = P1 from the page itself
        body = inside_so.get_json()
        assert group(body, world.providers[P2])["responses"]["total"] in (0, None)
        assert group(body, world.providers[P3])["responses"]["total"] in (0, None)
    if p3["responses"]["suppressed"] or so["responses"]["suppressed"] or so["nki"]["suppressed"]:
        return
    n2 = by_provider["total"]["responses"]["total"] - p3["responses"]["total"] - so["responses"]["total"]
    mean2 = (nki_sum(by_provider["total"]) - nki_sum(p3) - nki_sum(so)) / n2
    assert (n2, round(mean2, 6)) != (3, 1.0), "P2's 3 hidden responses and NKI 1.0 recovered via programme SO = P1"



def test_provider_complement_is_shown_as_the_month_only_it_answered_in(app, client):
    """The same with months: P1's 9 answers all fell in May and nobody else answered in May (tertial 2027-2
    holds May only); P2 3 and P3 10 answered in March.

    by=provider hides P2 (3) and P1 (9) as its complement; by=month shows March 13 and May 9 (two months,
    one per tertial, nothing small); month=2027-05&by=provider shows P2 and P3 at 0 in May.
    total - P3 - May = 22 - 10 - 9 = 3 responses with NKI 1.0 (P2's).
    """
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 4, "b": 4}, times=9, month=date(2027, 5, 1))
    add(app, world, P2, {"a": 1, "b": 1}, times=3, month=date(2027, 3, 1))
    add(app, world, P3, {"a": 5, "b": 5}, times=10, month=date(2027, 3, 1))
    headers, campaign = token(app), world.campaigns["2027"]
    by_provider = api(client, headers, campaign).get_json()
    assert group(by_provider, world.providers[P2])["responses"]["suppressed"]
    p3 = group(by_provider, world.providers[P3])
    by_month = api(client, headers, campaign, "by=month").get_json()
    may = group(by_month, "2027-05")
    if p3["responses"]["suppressed"] or may["responses"]["suppressed"] or may["nki"]["suppressed"]:
        return
    n2 = by_provider["total"]["responses"]["total"] - p3["responses"]["total"] - may["responses"]["total"]
    mean2 = (nki_sum(by_provider["total"]) - nki_sum(p3) - nki_sum(may)) / n2
    assert (n2, round(mean2, 6)) != (3, 1.0), "P2's 3 hidden responses and NKI 1.0 recovered via May = P1"



def test_comments_of_a_provider_below_k_are_attributed_through_the_programme_only_its_sibling_gives(app, make_user):
    """Comments page (analysts): P1 (9, programme SO only, the only provider of SO), P2 (3, JPG), P3 (10, JPG).
    ?provider=P2 is refused (3 < k) and by=provider hides P1 as P2's complement, so ?provider=P1 is refused
    too. But ?programme=SO (9 in, 13 out) lists P1's comments and ?provider=P3 (10 in, 12 out) P3's: the
    comment on the unfiltered page and on neither of those is P2's (one of its 3 respondents)."""
    from app.accounts.models import Role

    from .conftest import login
    world = build_results_world(app, providers=(P1, P2, P3))
    secret = "Min handläggare Kim var elak"
    add(app, world, P1, {"a": 4, "comment": "Lagom"}, times=9, programme="SO")
    add(app, world, P2, {"a": 1, "comment": secret}, times=1, programme="JPG")
    add(app, world, P2, {"a": 1}, times=2, programme="JPG")
    add(app, world, P3, {"a": 5, "comment": "Bra"}, times=10, programme="JPG")
    client = app.test_client()
    login(client, make_user(Role.ANALYST, "analyst"))
    base = f"/staff/results/{world.campaigns['2027']}/comments"
    everyone = client.get(base).get_data(as_text=True)
    assert secret not in client.get(f"{base}?provider={world.providers[P2]}").get_data(as_text=True)
    assert secret not in client.get(f"{base}?provider={world.providers[P1]}").get_data(as_text=True)
    so = client.get(f"{base}?programme={world.programmes['SO']}").get_data(as_text=True)
    p3 = client.get(f"{base}?provider={world.providers[P3]}").get_data(as_text=True)
    attributed = secret in everyone and "Lagom" in so and "Bra" in p3 and secret not in so and secret not in p3
    assert not attributed, "P2's comment (3 respondents) attributed: on the campaign, not in SO (= P1), not P3's"



def test_crossed_complement_is_the_only_cell_of_its_row(app, client):
    """Within ONE two-way table (programme x gender). Found by tests/test_results_linear_attack_zeros.py
    (seed 104, many empty cells), reduced by hand: JPG: 10 men (a = b = 3) and 1 woman (a = b = 1, NKI 1.0);
    SO: 12 women (a = b = 5), no man.

    Suppressed per table, (JPG, woman) = 1 was hidden and its complement in the women's column was
    (SO, woman) = 12 - the only cell of row SO, so equal to SO's total: ?background:gender=woman&by=programme
    showed the women's 13 (NKI (1 + 60) / 13) and 13 - 12 = 1 woman in JPG with NKI 1.0. Even without a
    filter, women 13 - SO 12 (which has no man) is that woman: the programme or the gender totals must go.
    Linked: SO's total is hidden with (SO, woman), then JPG's (the programme table's line), then - (JPG, man)
    being alone in the men's column - both genders. So both selections are refused, and the tables by
    programme and by gender show no group.
    """
    world = build_results_world(app, providers=(P1,))
    add(app, world, P1, {"a": 3, "b": 3, "gender": "man"}, times=10, programme="JPG")
    add(app, world, P1, {"a": 1, "b": 1, "gender": "woman"}, times=1, programme="JPG")
    add(app, world, P1, {"a": 5, "b": 5, "gender": "woman"}, times=12, programme="SO")
    headers, campaign = token(app), world.campaigns["2027"]
    women = api(client, headers, campaign, "background:gender=woman&by=programme")
    so = api(client, headers, campaign, f"programme={world.programmes['SO']}&by=background:gender")
    assert (women.status_code, so.status_code) == (422, 422)
    for query in ("by=programme", "by=background:gender"):
        groups = api(client, headers, campaign, query).get_json()["groups"]
        answered = [g for g in groups if g["responses"]["total"] != 0]
        assert answered and all(g["responses"]["suppressed"] for g in answered), (query, groups)


@pytest.mark.parametrize("partly", [1, 4, 5])
def test_a_partial_respondents_answer_comes_out_of_nki_a_and_b_unless_they_are_k(app, client, partly):
    """A personal score is the mean of the index questions answered, so in any row 2 x NKI sum - sum(a) - sum(b)
    is the sum of the answers of those who answered only one of a and b, and 2 x NKI n - n(a) - n(b) how many.
    P1: 10 complete (a = b = 4, scores 4) and `partly` partial who answered only b = 1 (score 1). P2: 10
    complete (a = b = 3). Every figure is over >= k answers: with partly = 1, P1's a n 10 mean 4.0, b n 11
    mean 41/11, NKI n 11 mean 41/11 gave 2 x 41 - 40 - 41 = 1 over 2 x 11 - 10 - 11 = 1 respondent: the
    partial respondent's b is 1 (the second breaker, 2026-12-01).

    Partly scored respondents are counted per group and suppressed like any count (docs/analytics.md,
    "Partly scored"): P1 has `partly`, P2 none, the campaign `partly`. At 1 and 4 (1..k-1) P1's NKI is
    hidden, with its questions (they hide together), and so is the total's: the total's partly scored are
    P1's. (P2's NKI goes too, as P1's complement in the provider line: the linked plan takes a table's total
    as shown - more than needed here, never less.) At 5 nothing is hidden: the same sum is then over five
    people (the figures of a group of k)."""
    world = build_results_world(app, providers=(P1, P2))
    add(app, world, P1, {"a": 4, "b": 4}, times=10)
    add(app, world, P1, {"b": 1}, times=partly)
    add(app, world, P2, {"a": 3, "b": 3}, times=10)
    body = api(client, token(app), world.campaigns["2027"]).get_json()
    p1, p2, total = group(body, world.providers[P1]), group(body, world.providers[P2]), body["total"]
    assert p1["responses"]["total"] == 10 + partly and not p1["responses"]["suppressed"]
    hidden = partly < 5
    for row in (p1, total):
        assert row["nki"]["suppressed"] is hidden, row
        assert question(row, "a")["suppressed"] is hidden and question(row, "b")["suppressed"] is hidden, row
    if not hidden:
        assert (p2["nki"]["suppressed"], p2["nki"]["n"], p2["nki"]["mean"]) == (False, 10, 3.0)
        # 2 x NKI sum - sum(a) - sum(b): the five partial respondents' b together, 5 x 1 = 5.
        a, b, nki = question(p1, "a"), question(p1, "b"), p1["nki"]
        assert 2 * nki["n"] - a["n"] - b["n"] == 5
        assert round(2 * nki["mean"] * nki["n"] - a["mean"] * a["n"] - b["mean"] * b["n"], 6) == 5.0


def test_claimed_links_of_a_provider_below_k_do_not_come_back_as_the_programme_only_its_complement_gives(app):
    """The question case, in the response rate's numerator (claimed links, by provider, programme and
    channel). Links, all by SMS: P1 (SO only, the only SO provider) 20 handed out, 9 claimed; P2 (JPG) 20, 3;
    P3 (JPG) 20, 10. Per table: by provider P2 (3) hidden with P1 (9) as its complement, but by programme SO
    showed 9 = P1's: 22 - 10 - 9 = P2's 3 claims (found 2026-12-01, after the breaker's question case).
    Linked (linked._links_plan): P1's row of programme x provider has one cell, (SO, P1), hidden with it;
    SO's column has no other cell, so SO goes, and JPG with it in the programme table. The total stays."""
    world = _claims_world(app, p2_claimed=3)
    selection = Selection((world.campaigns["2027"],))
    with app.app_context():
        by_provider = result_table(db_session, selection, Breakdown("provider"), 5)
        by_programme = result_table(db_session, selection, Breakdown("programme"), 5)
    claims = {row.key: row.answered for row in by_provider.rows}
    assert claims[world.providers[P1]] is HIDDEN and claims[world.providers[P2]] is HIDDEN
    assert {row.key: row.answered for row in by_programme.rows} == {
        world.programmes["SO"]: HIDDEN, world.programmes["JPG"]: HIDDEN}
    assert by_provider.total.answered == by_programme.total.answered == 22
    assert {row.key: row.handed_out for row in by_programme.rows} == {
        world.programmes["SO"]: 20, world.programmes["JPG"]: 40}  # what was handed out is no one's answer


def test_a_complete_provider_keeps_its_nki_when_another_providers_question_needs_a_complement(app, client):
    """The new user's case (2026-12-01, the demo's Bro and Stegvis): P1 has 4 partly scored respondents
    (a only) and 1 complete, so b has 1 answer there; P4 has 2 partly scored of 8; P2 20 complete (17 JPG,
    3 SO); P3 30 complete (20 JPG, 10 SO). P1's and P4's NKIs are hidden (partly scored 4 and 2, 6 together).
    P1's one b answer needs a complement in b's column: P4, hidden in the NKI anyway, answered b 6 times -
    1 + 6 = 7 >= k. The plan once took P2 there (it already hid P2's 3 in SO), and b hidden in P2 hid P2's
    NKI and with it every index question: now each index question starts from what the NKI hides."""
    world = build_results_world(app, providers=("P1", "P2", "P3", "P4"))
    add(app, world, "P1", {"a": 4}, times=4)
    add(app, world, "P1", {"a": 4, "b": 4}, times=1)
    add(app, world, "P4", {"a": 3, "b": 3}, times=6)
    add(app, world, "P4", {"a": 3}, times=2)
    add(app, world, "P2", {"a": 2, "b": 2}, times=17)
    add(app, world, "P2", {"a": 2, "b": 2}, times=3, programme="SO")
    add(app, world, "P3", {"a": 5, "b": 5}, times=20)
    add(app, world, "P3", {"a": 5, "b": 5}, times=10, programme="SO")
    body = api(client, token(app), world.campaigns["2027"]).get_json()
    assert group(body, world.providers["P1"])["nki"]["suppressed"]
    assert group(body, world.providers["P4"])["nki"]["suppressed"]
    p2 = group(body, world.providers["P2"])
    assert (p2["responses"]["total"], p2["nki"]["suppressed"], p2["nki"]["mean"]) == (20, False, 2.0)
    assert not question(p2, "a")["suppressed"] and not question(p2, "b")["suppressed"]


def test_the_links_plan_is_made_again_when_a_link_is_claimed(app):
    """The claims of the test above, but P2's three are claimed after a first look at the tables: the plan
    kept from the first look (nothing small, nothing hidden) must not serve the second, or SO would show
    P1's 9 beside P2's hidden 3 again. Claims change at every answer, not at mixings."""
    world = _claims_world(app, p2_claimed=0)
    selection = Selection((world.campaigns["2027"],))
    with app.app_context():
        before = result_table(db_session, selection, Breakdown("programme"), 5)
        assert {row.key: row.answered for row in before.rows} == {
            world.programmes["SO"]: 9, world.programmes["JPG"]: 10}
        claimed = db_session.scalars(select(Invitation).where(
            Invitation.provider_id == world.providers[P2]).limit(3)).all()
        for invitation in claimed:
            invitation.responded = True
        db_session.commit()
        after = result_table(db_session, selection, Breakdown("programme"), 5)
    assert {row.key: row.answered for row in after.rows} == {
        world.programmes["SO"]: HIDDEN, world.programmes["JPG"]: HIDDEN}
    assert after.total.answered == 22


def _claims_world(app, p2_claimed: int):
    """P1 gives SO only (9 responses), P2 and P3 JPG (9 and 10); 20 SMS links each, of which P1 claimed 9,
    P2 `p2_claimed` and P3 10."""
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 4, "b": 4}, times=9, programme="SO")
    add(app, world, P2, {"a": 3, "b": 3}, times=9, programme="JPG")
    add(app, world, P3, {"a": 5, "b": 5}, times=10, programme="JPG")
    for provider, programme, claimed in ((P1, "SO", 9), (P2, "JPG", p2_claimed), (P3, "JPG", 10)):
        with app.app_context():
            db_session.add_all(Invitation(
                campaign_id=world.campaigns["2027"], provider_id=world.providers[provider],
                programme_id=world.programmes[programme], language="sv", channel="sms",
                token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), responded=number < claimed,
                created_on=date(2027, 1, 2)) for number in range(20))
            db_session.commit()
    return world
