"""The linked suppression of a campaign's tables (app/analytics/linked.py), on counts worked out by hand.

Each case is traced step by step in its comments: the lines in the order
`published_lines` makes them (one-way totals, then each pair's rows and
columns), primary cells first, then each line's fix by the rule in
`linked.solve`.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

from app.analytics import linked
from app.analytics.scope import Breakdown, canonical_pair

K = 5
PROVIDER, PROGRAMME, GENDER = Breakdown("provider"), Breakdown("programme"), Breakdown("background", "gender")


def solved(counts: dict, dimensions: list, pairs: list) -> set:
    ordered = {cell: counts[cell] for cell in sorted(counts, key=linked.cell_order)}
    hidden = linked.solve(ordered, linked.published_lines(ordered, dimensions, pairs), K)
    return {(kind, key) for kind, _part, key in hidden}


def test_a_programme_only_one_provider_gives_hides_with_it():
    # The third breaker: P1 9 (all SO, the only SO provider), P2 3 and P3 10 (JPG).
    # Primary: P2 (3) and (JPG, P2) (3). Provider line: P2 alone -> P1 (9, opens its column: 1) before P3
    # (10, opens 1). JPG's row (total 13 shown): (JPG, P2) alone and 3 < 5 -> (JPG, P3) would open P3's column,
    # of which it is the only cell (2); the total JPG opens the programme line (1): JPG. P1's column: total
    # hidden, its one cell (SO, P1) shown, so it is P1 -> hidden. Programme line: JPG alone -> SO.
    # P3 stays shown (10): P1 + P2 = 12 and SO + JPG = 22 leave P2 anywhere in 0..12.
    pair = canonical_pair(PROVIDER, PROGRAMME)  # (programme, provider)
    counts = {("m", PROVIDER, "P1"): 9, ("m", PROVIDER, "P2"): 3, ("m", PROVIDER, "P3"): 10,
              ("m", PROGRAMME, "SO"): 9, ("m", PROGRAMME, "JPG"): 13,
              ("x", pair, ("SO", "P1")): 9, ("x", pair, ("JPG", "P2")): 3, ("x", pair, ("JPG", "P3")): 10}
    assert solved(counts, [PROVIDER, PROGRAMME], [pair]) == {
        ("m", "P1"), ("m", "P2"), ("m", "SO"), ("m", "JPG"), ("x", ("JPG", "P2")), ("x", ("SO", "P1"))}


def test_a_complement_that_is_the_only_cell_of_its_line_does_not_count():
    # JPG: 10 men, 1 woman; SO: 12 women, no man. Primary: (woman, JPG) = 1. The women's row (total 13):
    # (woman, SO) would open SO's column, where it is alone (2); the total "woman" opens the gender line (1):
    # woman. JPG's column (total 11): (man, JPG) is alone in the men's row (2), the total JPG opens the
    # programme line (1): JPG. Then the programme line hides SO, the gender line man; the men's row (its
    # total hidden, its one cell shown) hides (man, JPG), SO's column (woman, SO). Everything is hidden:
    # women 13 - SO 12 (no man in SO) was the one woman of JPG.
    pair = canonical_pair(PROGRAMME, GENDER)  # (gender, programme)
    counts = {("m", PROGRAMME, "JPG"): 11, ("m", PROGRAMME, "SO"): 12, ("m", GENDER, "man"): 10,
              ("m", GENDER, "woman"): 13, ("x", pair, ("man", "JPG")): 10, ("x", pair, ("woman", "JPG")): 1,
              ("x", pair, ("woman", "SO")): 12}
    assert solved(counts, [PROGRAMME, GENDER], [pair]) == {(kind, key) for kind, _part, key in counts}


def test_nothing_small_nothing_hidden_and_a_hidden_row_hides_a_cell_of_each_line_it_totals():
    # Two providers x two programmes, every cell 5..7: nothing is hidden. Then P1 as a seed (as a table
    # would hide it): its cells in the crossing are all shown, so they would add up to it - one must go.
    pair = canonical_pair(PROVIDER, PROGRAMME)
    counts = {("m", PROVIDER, "P1"): 11, ("m", PROVIDER, "P2"): 13, ("m", PROGRAMME, "JPG"): 12,
              ("m", PROGRAMME, "SO"): 12, ("x", pair, ("JPG", "P1")): 5, ("x", pair, ("SO", "P1")): 6,
              ("x", pair, ("JPG", "P2")): 7, ("x", pair, ("SO", "P2")): 6}
    ordered = {cell: counts[cell] for cell in sorted(counts, key=linked.cell_order)}
    lines = linked.published_lines(ordered, [PROVIDER, PROGRAMME], [pair])
    assert linked.solve(ordered, lines, K) == frozenset()
    hidden = {(kind, key) for kind, _part, key in linked.solve(ordered, lines, K, seeds={("m", PROVIDER, "P1")})}
    # P1 alone on the provider line -> P2 too. P1's cells: (JPG, P1) 5 and (SO, P1) 6 each open a programme
    # line with nothing hidden (1 each): the smaller, 5. P2's: (SO, P2) 6 opens SO's line, (JPG, P2) 7 opens
    # none (JPG's line has (JPG, P1) now): (JPG, P2). JPG's line then hides 5 + 7 = 12 together: done.
    assert hidden == {("m", "P1"), ("m", "P2"), ("x", ("JPG", "P1")), ("x", ("JPG", "P2"))}


def test_the_same_cells_whatever_order_the_groups_come_in():
    # The database returns groups in any order, and Python orders sets of text differently in every process:
    # the plan sorts, so two gunicorn workers - and SQLite and PostgreSQL - hide the same cells.
    pair = canonical_pair(PROVIDER, PROGRAMME)
    counts = {("m", PROVIDER, f"P{n}"): 6 for n in range(1, 7)} | {("m", PROVIDER, "P7"): 2}
    counts |= {("m", PROGRAMME, "JPG"): 20, ("m", PROGRAMME, "SO"): 18}
    cells = {("JPG", "P1"): 6, ("JPG", "P2"): 6, ("JPG", "P3"): 6, ("JPG", "P7"): 2, ("SO", "P4"): 6,
             ("SO", "P5"): 6, ("SO", "P6"): 6}
    counts |= {("x", pair, key): n for key, n in cells.items()}
    first = solved(counts, [PROVIDER, PROGRAMME], [pair])
    items = list(counts.items())
    random.Random(7).shuffle(items)
    assert solved(dict(items), [PROVIDER, PROGRAMME], [pair]) == first
    script = ("from tests.test_linked import _ties, _ties_audited; "
              "print(sorted(map(repr, _ties())), sorted(map(repr, _ties_audited())))")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outputs) == 1, outputs


def _ties() -> set:
    """A plan full of ties between text keys (the subprocess half of the test above)."""
    pair = canonical_pair(PROVIDER, PROGRAMME)
    counts = {("m", PROVIDER, name): 6 for name in ("Ek", "Al", "Bok", "Lind")} | {("m", PROVIDER, "Asp"): 1}
    counts |= {("m", PROGRAMME, "JPG"): 13, ("m", PROGRAMME, "SO"): 12}
    counts |= {("x", pair, ("JPG", "Ek")): 6, ("x", pair, ("JPG", "Al")): 6, ("x", pair, ("JPG", "Asp")): 1,
               ("x", pair, ("SO", "Bok")): 6, ("x", pair, ("SO", "Lind")): 6}
    return solved(counts, [PROVIDER, PROGRAMME], [pair])


def _ties_audited() -> frozenset:
    """The third breaker's rectangle (tests/test_results_rectangles.py) with P1 at 30, as many as SMS: the
    audit's two ways to close it tie, and the plan must take the same one in every process."""
    provider, channel = PROVIDER, Breakdown("channel")
    pair = canonical_pair(provider, channel)
    cells = {("sms", "P1"): 10, ("qr", "P1"): 10, ("paper", "P1"): 10, ("sms", "P2"): 10, ("qr", "P2"): 2,
             ("sms", "P3"): 10, ("paper", "P3"): 2}
    counts = {("x", pair, key): n for key, n in cells.items()}
    for axis, dimension in ((1, provider), (0, channel)):
        for (key, n) in cells.items():
            margin = ("m", dimension, key[axis])
            counts[margin] = counts.get(margin, 0) + n
    ordered = {cell: counts[cell] for cell in sorted(counts, key=linked.cell_order)}
    return linked._Column(ordered, linked.published_lines(ordered, [provider, channel], [pair]), (pair,)).solve(K)


def test_partly_scored_cells_hide_the_nki_and_the_nki_hides_them_in_its_questions():
    # P1 10 (all SO), P2 10 (all JPG), P3 16 (8 SO, 8 JPG); everyone answers b, P3's JPG eight do not answer
    # a; partly scored: P1's five and two of P3's SO eight. Index questions (a, b).
    # "partly_scored": P3 (2) and (SO, P3) (2) primary; the provider line {P1 5, P3 2} hides P1; SO's column
    # {(SO, P1) 5, (SO, P3) 2} takes (SO, P1), which opens nothing (P1's row has its total hidden) where SO
    # would open the programme line. Hidden: P1, P3, (SO, P1), (SO, P3).
    # "index" (the responses' counts, nothing small) takes those four; every line then holds two hidden
    # cells of 10 or more, or a hidden total with a shown cell beside: nothing more.
    # Each question starts from the NKI's hidden cells, but for a cell that is the only member of a line
    # with a total there (hiding it would hide that total for nothing): a's rows P1 and P3 and b's row P1
    # have one cell each, so a starts from P1 and P3, b from P1, P3 and (SO, P3). Each then hides the lone
    # cell anyway, its row's total being hidden: both end with the four. The responses hide nothing.
    pair = canonical_pair(PROVIDER, PROGRAMME)  # (programme, provider)
    dimensions = [PROVIDER, PROGRAMME]

    def column(margins: dict, cells: dict) -> linked._Column:
        counts = {("m", PROVIDER if key.startswith("P") else PROGRAMME, key): n for key, n in margins.items()}
        counts.update({("x", pair, key): n for key, n in cells.items()})
        ordered = {cell: counts[cell] for cell in sorted(counts, key=linked.cell_order) if counts[cell] > 0}
        return linked._Column(ordered, linked.published_lines(ordered, dimensions, [pair]))

    everyone = column({"P1": 10, "P2": 10, "P3": 16, "SO": 18, "JPG": 18},
                      {("SO", "P1"): 10, ("JPG", "P2"): 10, ("SO", "P3"): 8, ("JPG", "P3"): 8})
    columns = {
        "responses": everyone, "index": everyone, "b": everyone,
        "partly_scored": column({"P1": 5, "P3": 2, "SO": 7}, {("SO", "P1"): 5, ("SO", "P3"): 2}),
        "a": column({"P1": 10, "P2": 10, "P3": 8, "SO": 18, "JPG": 10},
                    {("SO", "P1"): 10, ("JPG", "P2"): 10, ("SO", "P3"): 8}),
    }
    hidden = {name: {(kind, key) for kind, _part, key in cells}
              for name, cells in linked._hidden_per_column(columns, K, ("a", "b")).items()}
    four = {("m", "P1"), ("m", "P3"), ("x", ("SO", "P1")), ("x", ("SO", "P3"))}
    assert hidden == {"responses": set(), "partly_scored": four, "index": four, "a": four, "b": four}


def test_nested_leaks_finds_a_three_way_count_between_two_tables_by_hand():
    # Programme x gender: "no answer" (None) has answers in SO only (JPG x None is empty). So for provider Tre,
    # (Tre, SO) of provider x programme = Tre's SO women and men + (Tre, SO, None), and (Tre, None) of provider x
    # gender = (Tre, SO, None): 9 - 6 = 3 answers of Tre's SO women and men, a three-way count no table shows.
    # Both cells are returned. And since every None here is Tre's (provider x gender has no other None), the same
    # 3 come out as (Tre, SO) less (SO, None) of programme x gender (6): that cell too. Fyra's SO (16) less
    # Fyra's None (no cell: 0) is 16, and (woman, SO) less (woman, Tre) (no cell) is 11: nothing below k.
    by_programme = canonical_pair(PROVIDER, PROGRAMME)
    by_gender = canonical_pair(PROVIDER, GENDER)
    programme_gender = canonical_pair(PROGRAMME, GENDER)

    tre_so = ("x", by_programme, ("SO", "Tre") if by_programme[0] == PROGRAMME else ("Tre", "SO"))
    tre_none = ("x", by_gender, (None, "Tre") if by_gender[0] == GENDER else ("Tre", None))
    counts = {
        tre_so: 9, tre_none: 6,
        ("x", by_programme, ("SO", "Fyra") if by_programme[0] == PROGRAMME else ("Fyra", "SO")): 16,
        ("x", programme_gender, (None, "SO") if programme_gender[0] == GENDER else ("SO", None)): 6,
        ("x", programme_gender, ("woman", "SO") if programme_gender[0] == GENDER else ("SO", "woman")): 11,
        ("x", programme_gender, ("woman", "JPG") if programme_gender[0] == GENDER else ("JPG", "woman")): 18,
    }
    pairs = [by_programme, by_gender, programme_gender]
    so_none = ("x", programme_gender, (None, "SO") if programme_gender[0] == GENDER else ("SO", None))
    assert linked.nested_leaks(counts, frozenset(), 5, pairs) == {tre_so, tre_none, so_none}
    # With 5 or more the rest is a count of k: nothing to find.
    assert linked.nested_leaks({**counts, tre_so: 11}, frozenset(), 5, pairs) == set()
    # A hidden cell is not subtracted: with (Tre, None) hidden, only the way through (SO, None) is left.
    assert linked.nested_leaks(counts, frozenset({tre_none}), 5, pairs) == {tre_so, so_none}
    assert linked.nested_leaks(counts, frozenset({tre_none, so_none}), 5, pairs) == set()


def test_a_mixing_keeps_what_protected_a_count_still_small_and_nothing_else():
    """linked.sticky_cells on lines written by hand: A (3, still small) was hidden with B (its line's
    complement); B was a hidden total, so C was hidden in B's row; E and F were hidden together in a line of
    their own with nothing small left (7 and 8). Kept: A, B and C - the chain that protects A. D shares
    B's row but was shown, so it stays out; E and F are shown again."""
    a, b, c, d, e, f = (("m", PROVIDER, name) for name in "ABCDEF")
    counts = {a: 3, b: 9, c: 6, d: 3, e: 7, f: 8}
    lines = [linked.SumLine((a, b)), linked.SumLine((c, d), total=b), linked.SumLine((e, f))]
    column = linked._Column(counts, lines)
    assert linked.sticky_cells(column, frozenset({a, b, c, e, f}), K) == {a, b, c}
    # Once A has grown past k - 1, nothing small is left: nothing is kept.
    grown = linked._Column({**counts, a: 5}, lines)
    assert linked.sticky_cells(grown, frozenset({a, b, c, e, f}), K) == frozenset()
    # A cell hidden before that has no answers in the new counts' cells is not kept (no such cell now).
    assert linked.sticky_cells(column, frozenset({a, ("m", PROVIDER, "gone")}), K) == {a}
