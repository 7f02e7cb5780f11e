"""The feasibility audit (app/analytics/feasibility.py) on worlds small enough to trace by hand.

Cells are written as the linked plan writes them: ("m", dimension, value) for a one-way row, ("x", (first,
second), (a, b)) for a two-way cell. Where the audit returns the shown cells a proof uses, the test checks
with another solver (scipy's linprog, as the breakers' attacker in tests/lp_attack.py) that those cells
alone, with the total, still give the hidden count away - the audit may find any of several proofs.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from app.analytics import feasibility

K = 5


def _cells(dimensions: tuple, truth: dict[tuple, int]) -> dict[tuple, int]:
    """Every one-way row and two-way cell with answers, counted from the combinations `truth`."""
    counts: dict[tuple, int] = {}
    for combination, n in truth.items():
        for position, dimension in enumerate(dimensions):
            cell = ("m", dimension, combination[position])
            counts[cell] = counts.get(cell, 0) + n
        for (i, first), (j, second) in itertools.combinations(enumerate(dimensions), 2):
            cell = ("x", (first, second), (combination[i], combination[j]))
            counts[cell] = counts.get(cell, 0) + n
    return {cell: n for cell, n in counts.items() if n > 0}


def _pinned_by(cells: set, target: tuple, dimensions: tuple, truth: dict, possible: list[tuple]) -> bool:
    """Whether `cells` (shown, with their true counts) and the total pin `target` among `possible`."""
    def mask(cell):
        kind, part, key = cell
        if kind == "m":
            return np.array([1.0 if c[dimensions.index(part)] == key else 0.0 for c in possible])
        i, j = dimensions.index(part[0]), dimensions.index(part[1])
        return np.array([1.0 if (c[i], c[j]) == key else 0.0 for c in possible])

    counts = _cells(dimensions, truth)
    a_eq = np.array([mask(cell) for cell in cells] + [np.ones(len(possible))])
    b_eq = np.array([counts[cell] for cell in cells] + [sum(truth.values())], dtype=float)
    low = linprog(mask(target), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs").fun
    high = -linprog(-mask(target), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs").fun
    return high - low < 0.5


def test_one_hidden_cell_in_a_row_with_a_shown_total_is_pinned_and_the_proof_gives_it_away():
    """provider x programme, k = 5:      JPG  SO | row
                                   P1    3   7 |  10
                                   P2    6   8 |  14
    Only (P1, JPG) = 3 hidden: P1's 10 less P1's SO 7 gives it (as do JPG's 9 less P2's 6)."""
    dimensions = ("provider", "programme")
    truth = {("P1", "JPG"): 3, ("P1", "SO"): 7, ("P2", "JPG"): 6, ("P2", "SO"): 8}
    counts = _cells(dimensions, truth)
    target = ("x", dimensions, ("P1", "JPG"))
    cube = feasibility.Cube(dimensions, truth)
    used = feasibility.pinned(cube, counts, frozenset({target}), K)
    assert used
    assert target not in used
    assert _pinned_by(used, target, dimensions, truth, list(truth))


def test_hidden_cells_on_a_cycle_are_free():
    """The same table with all four cells hidden and the rows and columns shown: 4 6 / 5 9 (one answer moved
    round the cycle) has the same rows (10 and 14) and columns (9 and 15), so the 3 can be 4 too."""
    dimensions = ("provider", "programme")
    truth = {("P1", "JPG"): 3, ("P1", "SO"): 7, ("P2", "JPG"): 6, ("P2", "SO"): 8}
    counts = _cells(dimensions, truth)
    hidden = frozenset(cell for cell in counts if cell[0] == "x")
    cube = feasibility.Cube(dimensions, truth)
    assert feasibility.pinned(cube, counts, hidden, K) == set()
    # Only the 3 is a secret (1..k-1); it is remembered free under these hidden cells.
    assert set(cube.free) == {("x", dimensions, ("P1", "JPG"))}


def test_a_shown_empty_cell_rules_combinations_out_and_pins_what_they_leave():
    """provider x programme x gender. P1 gives only JPG (P1 x SO is empty) and JPG has no men (JPG x man
    is empty): every P1 answer is a JPG woman's. P1's women (3) and P1's row (3, hidden with them, as the
    line rule would) are hidden, but P1 x JPG (3) is shown: the 3 are P1's women.
    Without the empty cells (P1, SO, man), (P1, SO, woman) and (P1, JPG, man) would be possible too and
    the 3 could be fewer; the unknowns are exactly the combinations all of whose cells have answers."""
    dimensions = ("provider", "programme", "gender")
    truth = {("P1", "JPG", "woman"): 3, ("P2", "JPG", "woman"): 6, ("P2", "SO", "man"): 7,
             ("P2", "SO", "woman"): 5}
    counts = _cells(dimensions, truth)
    # Possible: P1 only with JPG and woman; P2 with JPG and woman, SO and man, SO and woman; JPG never a man.
    assert set(feasibility.unknowns(feasibility.Cube(dimensions, truth), counts)) == {
        ("P1", "JPG", "woman"), ("P2", "JPG", "woman"), ("P2", "SO", "man"), ("P2", "SO", "woman")}
    target = ("x", ("provider", "gender"), ("P1", "woman"))
    hidden = frozenset({target, ("m", "provider", "P1")})
    used = feasibility.pinned(feasibility.Cube(dimensions, truth), counts, hidden, K)
    assert used and not used & hidden
    possible = list(truth)
    assert _pinned_by(used, target, dimensions, truth, possible)


def test_past_the_limit_only_the_answered_combinations_are_unknowns(monkeypatch):
    """Ten values of each of three dimensions; (p, l, p + l mod 10) answered once each: 100 combinations,
    and every two-way cell has an answer (each p meets each l, and each month as l goes round), so all
    10 x 10 x 10 = 1,000 combinations are possible. Limit 500: the unknowns are the 100 answered; limit
    2,000: all 1,000."""
    dimensions = ("provider", "language", "month")
    truth = {(p, language, (p + language) % 10): 1 for p in range(10) for language in range(10)}
    counts = _cells(dimensions, truth)
    monkeypatch.setattr(feasibility, "UNKNOWNS_KEPT", 500)
    assert len(feasibility.unknowns(feasibility.Cube(dimensions, truth), counts)) == len(truth) == 100
    monkeypatch.setattr(feasibility, "UNKNOWNS_KEPT", 2_000)
    assert len(feasibility.unknowns(feasibility.Cube(dimensions, truth), counts)) == 1_000
