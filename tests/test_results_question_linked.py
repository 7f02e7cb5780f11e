"""A question's own column in the linked plan (app/analytics/linked.py). The second breaker's case
(2026-12-01), when the plan held the responses and the NKI only: a question's complement in one table
was shown as another table's group.

Expected values are worked out by hand from the fixture, never taken from the results layer.
"""

from __future__ import annotations

from .results_fixtures import add, build_results_world
from .test_results_attacks import api, group, question, token

P1, P2, P3 = "Ett AB", "Två AB", "Tre AB"


def test_question_complement_is_shown_as_the_programme_only_it_gives(app, client):
    """Question y (yes/no, not an index question) by provider, with every group's responses and NKI >= k,
    so the linked plan hides nothing.
    P1 gives SO only (only P1 gives SO): 9 responses, 8 answer y = yes (1 skips it).
    P2 (JPG): 9 responses, 2 answer y = no (7 skip it).  P3 (JPG): 10 responses, all y = yes.

    by=provider, column y: P2 (n 2) is hidden (primary) and P1 (n 8, smallest shown) as its complement;
    the total shows y n 20, share yes 18/20 = 0.9.
    by=programme: JPG y n 12 (10 yes), SO y n 8 (8 yes): both >= k, shown.
    programme=SO&by=provider shows P2 and P3 with 0 responses in SO: SO is P1.
    total - P3 - SO: n 20 - 10 - 8 = 2 answers, yes 18 - 10 - 8 = 0: P2's two respondents both said no.

    The linked plan of column y: P2 (2) primary; its complement P1 (8, smaller than P3's 10; each opens as
    many lines); P1's row of provider x programme then hides its one cell (P1, SO), SO's column has no other
    cell so SO's margin goes, and the programme table's other row JPG with it. So: SO's y hidden by=programme.
    (P3's y goes too - the complement of P2 within JPG, chosen before JPG's margin was; more than the least
    that would do, never less.)
    """
    world = build_results_world(app, providers=(P1, P2, P3))
    add(app, world, P1, {"a": 4, "b": 4, "y": 1}, times=8, programme="SO")
    add(app, world, P1, {"a": 4, "b": 4}, times=1, programme="SO")
    add(app, world, P2, {"a": 3, "b": 3, "y": 0}, times=2, programme="JPG")
    add(app, world, P2, {"a": 3, "b": 3}, times=7, programme="JPG")
    add(app, world, P3, {"a": 5, "b": 5, "y": 1}, times=10, programme="JPG")
    headers, campaign = token(app), world.campaigns["2027"]
    by_provider = api(client, headers, campaign).get_json()
    y2 = question(group(by_provider, world.providers[P2]), "y")
    assert y2["suppressed"], y2
    total_y = question(by_provider["total"], "y")
    p3_y = question(group(by_provider, world.providers[P3]), "y")
    by_programme = api(client, headers, campaign, "by=programme").get_json()
    so_y = question(group(by_programme, world.programmes["SO"]), "y")
    inside_so = api(client, headers, campaign, f"programme={world.programmes['SO']}&by=provider").get_json()
    assert group(inside_so, world.providers[P2])["responses"]["total"] in (0, None)
    assert group(inside_so, world.providers[P3])["responses"]["total"] in (0, None)
    assert so_y["suppressed"] and question(group(by_programme, world.programmes["JPG"]), "y")["suppressed"]
    assert question(group(by_provider, world.providers[P1]), "y")["suppressed"]
    assert not total_y["suppressed"]
    assert group(by_programme, world.programmes["SO"])["responses"]["total"] == 9  # other columns are shown
    if so_y["suppressed"]:
        return
    n2 = total_y["n"] - p3_y["n"] - so_y["n"]
    yes2 = round(total_y["n"] * total_y["mean"] - p3_y["n"] * p3_y["mean"] - so_y["n"] * so_y["mean"], 6)
    assert (n2, yes2) != (2, 0), f"P2's {n2} hidden y answers recovered through SO = P1: {yes2} yes"
