"""The third breaker (2026-12-01): a programme given by some providers only made a cell of programme x gender
equal to a sum of cells of provider x gender, through zeros of provider x programme that the linked plan's
lines (each two-way table's rows and columns) did not join. linked.component_leaks now finds such relations
(a block of provider x programme, crossed with every third dimension) and hides a cell of the shown side.
Exact subtraction of shown figures, no linear programming, no non-negativity beyond the zeros the tables show.

Fixture (responses; P1 gives only SO, P2 and P3 only JPG - every table of SO or JPG by provider shows the
others at 0, and who gives which programme is public anyway). Everyone answers a = b = y given below.
              woman  man | total
    P1 (SO)     10    10 |  20     a = b = 4, y = yes
    P2 (JPG)    10     3 |  13     women a = b = 3; the 3 men a = b = 1, y = no
    P3 (JPG)    10    18 |  28     a = b = 5, y = yes
provider x gender hides (P2, man) 3 (primary) and complements; programme x gender holds no small cell and
hides nothing: JPG's men are shown as 21.
    programme=JPG&by=background:gender  men 21, their b = 1 three times, 5 eighteen times
    provider=P3&by=background:gender    men 18, b = 5 eighteen times
    JPG - P3 = P2's men: 3 respondents, each answered b = 1 and y = no.
Now JPG's men or P3's men is hidden too.
"""

from __future__ import annotations

from .results_fixtures import add, build_results_world
from .test_results_attacks import api, group, question, token


def _counts(figures, key):
    return {item["answer"]: item["count"] for item in question(figures, key)["distribution"]}


def test_men_of_a_provider_are_the_programmes_men_less_the_other_providers(app, client):
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    add(app, world, "P1", {"a": 4, "b": 4, "y": 1, "gender": "woman"}, times=10, programme="SO")
    add(app, world, "P1", {"a": 4, "b": 4, "y": 1, "gender": "man"}, times=10, programme="SO")
    add(app, world, "P2", {"a": 3, "b": 3, "y": 1, "gender": "woman"}, times=10, programme="JPG")
    add(app, world, "P2", {"a": 1, "b": 1, "y": 0, "gender": "man"}, times=3, programme="JPG")
    add(app, world, "P3", {"a": 5, "b": 5, "y": 1, "gender": "woman"}, times=10, programme="JPG")
    add(app, world, "P3", {"a": 5, "b": 5, "y": 1, "gender": "man"}, times=18, programme="JPG")
    headers, campaign = token(app), world.campaigns["2027"]
    p1, p2, p3, jpg = (world.providers["P1"], world.providers["P2"], world.providers["P3"],
                       world.programmes["JPG"])

    # Who gives JPG: the providers' JPG counts (P1 shows 0).
    jpg_by_provider = api(client, headers, campaign, f"programme={jpg}&by=provider").get_json()
    assert group(jpg_by_provider, p1)["responses"]["total"] in (0, None)
    p2_men = group(api(client, headers, campaign, f"provider={p2}&by=background:gender").get_json(), "man")
    assert p2_men["responses"]["suppressed"]  # the secret: P2's 3 men

    jpg_men = group(api(client, headers, campaign, f"programme={jpg}&by=background:gender").get_json(), "man")
    p3_men = group(api(client, headers, campaign, f"provider={p3}&by=background:gender").get_json(), "man")
    assert jpg_men["responses"]["suppressed"] or p3_men["responses"]["suppressed"]
    if jpg_men["responses"]["suppressed"] or p3_men["responses"]["suppressed"]:
        return  # held: the subtraction needs both
    men = jpg_men["responses"]["total"] - p3_men["responses"]["total"]
    b = {v: _counts(jpg_men, "b")[v] - _counts(p3_men, "b")[v] for v in range(1, 6)}
    y = {v: _counts(jpg_men, "y")[v] - _counts(p3_men, "y")[v] for v in (1, 0)}
    assert (men, b, y) != (3, {1: 3, 2: 0, 3: 0, 4: 0, 5: 0}, {1: 0, 0: 3}), \
        f"P2's {men} men recovered as JPG's men less P3's: b {b}, y {y}"
