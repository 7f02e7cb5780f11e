"""The third breaker (2026-12-01): inclusion-exclusion over ONE two-way table (provider x channel) - no filter
pairs, no linear programming, no non-negativity - gave the figures of 4 respondents.

The line rule (every row and column of the crossing holds none or >= 2 hidden cells with >= k together) says
nothing about a rectangle: total - row P1 - column sms + cell (P1, sms) is the sum of every cell outside row P1
and column sms, and all four figures are shown. Here that block is (P2, qr) 2 + (P3, paper) 2 = 4 respondents.

Fixture (responses; every respondent answers a = b = the value given, and y = yes):
            sms   qr  paper | total
    P1       10    6     6  |  22      (a = b = 4)
    P2       10    2     -  |  12      (sms: 3, qr: 1)
    P3       10    -     2  |  12      (sms: 5, paper: 1)
    total    30    8     8  |  46
by=provider shows P1 22, P2 12, P3 12, total 46; channel=sms&by=provider shows P1 10 (P2 and P3 hidden);
by=channel shows sms 30. 46 - 22 - 30 + 10 = 4, and b's distribution gives their answers: all four said 1.
linked.rectangle_leaks finds the rectangle in the plan and hides a margin it needs (SMS's), and the plan is
solved again: at least one of the four figures is hidden now.
"""

from __future__ import annotations

from app.analytics import linked
from app.analytics.scope import Breakdown, canonical_pair

from .results_fixtures import add, build_results_world
from .test_results_attacks import api, group, question, token


def _distribution(figures, key):
    return {item["answer"]: item["count"] for item in question(figures, key)["distribution"]}


def test_a_rectangle_of_one_crossing_gives_no_respondent_back(app, client):
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    for provider, channel, times, value in (("P1", "sms", 10, 4), ("P1", "qr", 6, 4), ("P1", "paper", 6, 4),
                                            ("P2", "sms", 10, 3), ("P2", "qr", 2, 1),
                                            ("P3", "sms", 10, 5), ("P3", "paper", 2, 1)):
        add(app, world, provider, {"a": value, "b": value, "y": 1}, times=times, channel=channel)
    headers, campaign = token(app), world.campaigns["2027"]
    p1 = world.providers["P1"]
    by_provider = api(client, headers, campaign, "by=provider").get_json()
    by_channel = api(client, headers, campaign, "by=channel").get_json()
    sms_by_provider = api(client, headers, campaign, "channel=sms&by=provider").get_json()
    total, row_p1 = by_provider["total"], group(by_provider, p1)
    column_sms, cell = group(by_channel, "sms"), group(sms_by_provider, p1)
    shown = [total, row_p1, column_sms, cell]
    if any(part["responses"]["suppressed"] or question(part, "b")["suppressed"] for part in shown):
        return  # held: the attack needs all four

    block = (total["responses"]["total"] - row_p1["responses"]["total"] - column_sms["responses"]["total"]
             + cell["responses"]["total"])
    answers = {value: _distribution(total, "b")[value] - _distribution(row_p1, "b")[value]
               - _distribution(column_sms, "b")[value] + _distribution(cell, "b")[value] for value in range(1, 6)}
    # P2's 2 qr and P3's 2 paper respondents: 4 people, every one of them answered b = 1.
    assert (block, answers) != (4, {1: 4, 2: 0, 3: 0, 4: 0, 5: 0}), \
        f"{block} respondents outside P1 and sms recovered, with their answers to b: {answers}"


def test_rectangle_leaks_finds_the_breakers_rectangle_by_hand():
    # The plan's line rule alone, on the responses (traced from the fixture above): P2 and P3 hidden as
    # margins (rows), QR and paper too (columns); cells (SMS, P2), (SMS, P3), (QR, P1), (QR, P2), (paper, P1),
    # (paper, P3). Rows with hidden margins are known together: 46 - 22 = 24. SMS's hidden cells are all in
    # those rows, so SMS (30, shown) is closed: 24 - (30 - 10) = 4 = (QR, P2) + (paper, P3) - a leak, through
    # SMS's margin. The other way round, QR and paper together are 46 - 30 = 16, P1's hidden cells are all in
    # them, and 16 - (22 - 10) = 4: the same four, through P1's margin.
    provider, channel = Breakdown("provider"), Breakdown("channel")
    pair = canonical_pair(provider, channel)  # (channel, provider)
    counts = {("m", provider, "P1"): 22, ("m", provider, "P2"): 12, ("m", provider, "P3"): 12,
              ("m", channel, "sms"): 30, ("m", channel, "qr"): 8, ("m", channel, "paper"): 8,
              ("x", pair, ("sms", "P1")): 10, ("x", pair, ("qr", "P1")): 6, ("x", pair, ("paper", "P1")): 6,
              ("x", pair, ("sms", "P2")): 10, ("x", pair, ("qr", "P2")): 2,
              ("x", pair, ("sms", "P3")): 10, ("x", pair, ("paper", "P3")): 2}
    hidden = frozenset({("m", provider, "P2"), ("m", provider, "P3"), ("m", channel, "qr"), ("m", channel, "paper"),
                        ("x", pair, ("sms", "P2")), ("x", pair, ("sms", "P3")), ("x", pair, ("qr", "P1")),
                        ("x", pair, ("qr", "P2")), ("x", pair, ("paper", "P1")), ("x", pair, ("paper", "P3"))})
    assert linked.rectangle_leaks(counts, hidden, 5) == {("m", channel, "sms"), ("m", provider, "P1")}
    # The plan hides the smaller, P1 (22): then every row's margin is hidden (R is all of them, 16 outside
    # SMS) and no provider's margin is shown to close a channel's rectangle.
    assert linked.rectangle_leaks(counts, hidden | {("m", provider, "P1")}, 5) == set()
