"""A three-way cell from two two-way tables and a zero (the breaker of 2026-12-01, second session).

Provider x programme and provider x gender share the provider's margin. Where a provider's "no answer"
group lies wholly in one programme (programme x gender shows no "no answer" in the other), the provider
x gender cell (P, no answer) is the three-way cell (P, SO, no answer), and (P, SO) minus it is P's women
and men in SO together: a three-way figure no table shows, here of 3 answers to y. The answers file
exported the "no answer" rows, and the breaker's search found the 3 through it; the tables alone gave
them. The linked plan's audit `linked.nested_leaks` now hides one of the two cells (tests/test_linked.py
traces it by hand).
"""

from __future__ import annotations

from .results_fixtures import add, build_results_world
from .test_results_attacks import api, group, token

P2, P3, P4 = "Två AB", "Tre AB", "Fyra AB"


def no_answer_row(body):
    return next(row for row in body["groups"] if row["key"] in (None, "None", "null"))


def y_count(row):
    return next(q for q in row["questions"] if q["key"] == "y")


def test_no_three_way_count_is_one_two_way_cell_minus_another(app, client):
    world = build_results_world(app, providers=(P2, P3, P4))
    # Tre: SO 3 women and 4 men (y answered by 1 and 2 of them), SO 9 without a gender (y by 6); JPG 9 women
    # and 9 men (y by all). Två and Fyra fill the other cells so no one-way or two-way group is below k.
    for gender, times, with_y in (("woman", 3, 1), ("man", 4, 2), (None, 9, 6)):
        answers = {"a": 4, "b": 4, **({"gender": gender} if gender else {})}
        add(app, world, P3, {**answers, "y": 1}, times=with_y, programme="SO")
        add(app, world, P3, answers, times=times - with_y, programme="SO")
    for gender in ("woman", "man"):
        add(app, world, P3, {"a": 3, "b": 3, "gender": gender, "y": 0}, times=9, programme="JPG")
        add(app, world, P4, {"a": 3, "b": 3, "gender": gender, "y": 1}, times=8, programme="JPG")
        add(app, world, P4, {"a": 3, "b": 3, "gender": gender, "y": 0}, times=8, programme="SO")
    add(app, world, P2, {"a": 2, "b": 2, "y": 1}, times=6, programme="SO")
    campaign, headers = world.campaigns["2027"], token(app)
    # No one without a gender in JPG: the provider x gender row (Tre, no answer) is all in SO.
    jpg_by_gender = api(client, headers, campaign, f"programme={world.programmes['JPG']}&by=background:gender")
    assert all(row["key"] not in (None, "None", "null") or not row["responses"].get("total")
               for row in jpg_by_gender.get_json()["groups"])
    tre_so = y_count(group(api(client, headers, campaign, f"provider={world.providers[P3]}&by=programme").get_json(),
                           world.programmes["SO"]))
    tre_none = y_count(no_answer_row(api(client, headers, campaign,
                                         f"provider={world.providers[P3]}&by=background:gender").get_json()))
    if tre_so.get("suppressed") or tre_none.get("suppressed"):
        return
    assert not 0 < tre_so["n"] - tre_none["n"] < 5, (tre_so["n"], tre_none["n"])
