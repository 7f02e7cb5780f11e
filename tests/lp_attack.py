"""The linear-programming attacker the suppression tests share (scipy's HiGHS).

The attacker's unknowns are how many responses each combination of
dimension values holds (a vector the test knows as `truth`). Every figure
a table shows is an equation over them (a 0/1 mask of the combinations it
adds up, and the value shown), every hidden count a target; nothing is
negative. A target of 1..k-1 responses whose least and most possible
values agree is given away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from scipy.optimize import linprog

from app.analytics.results import HIDDEN


class Attack:
    """What the attacker has read: `equations` (mask, value shown, where) and `targets` (mask, where)."""

    def __init__(self):
        self.equations: list[tuple[np.ndarray, float, object]] = []
        self.targets: list[tuple[np.ndarray, object]] = []

    def read(self, table, filters: tuple, mask: Callable[..., np.ndarray], values: Iterable) -> None:
        """One result table by its breakdown under `filters`: its total unless hidden, each shown row an
        equation, each hidden row a target, and each of `values` (the breakdown's values the campaign
        has) that the table does not list an equation with 0 - a group not listed has no answers.
        `mask(filters, dimension=None, key=None)` is the test's mask of the combinations selected."""
        dimension = table.breakdown.dimension
        if table.total.responses is not HIDDEN:
            self.equations.append((mask(filters), table.total.responses, (filters, "total")))
        listed = set()
        for row in table.rows:
            listed.add(row.key)
            where = (filters, table.breakdown, row.key)
            if row.responses is HIDDEN:
                self.targets.append((mask(filters, dimension, row.key), where))
            else:
                self.equations.append((mask(filters, dimension, row.key), row.responses, where))
        for value in set(values) - listed:
            self.equations.append((mask(filters, dimension, value), 0, (filters, table.breakdown, value)))

    def leaks(self, truth: np.ndarray, k: int) -> list[tuple[object, float, float, float]]:
        """(where, true count, least, most) of each distinct target of 1..k-1 responses the equations pin.

        Checks first that the equations hold for `truth` (the attacker's model is right)."""
        a_eq, b_eq = self._system()
        assert np.allclose(a_eq @ truth, b_eq)
        leaks, seen = [], set()
        for m, where in self.targets:
            signature = tuple(m)
            if signature in seen or not m.any():
                continue
            seen.add(signature)
            true = float(m @ truth)
            if true == 0 or true >= k:
                continue  # only counts of 1..k-1 are secrets
            low = linprog(m, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs").fun
            high = -linprog(-m, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs").fun
            if high - low < 0.5:
                leaks.append((where, true, low, high))
        print(f"{len(self.equations)} shown, {len(seen)} hidden distinct, leaks: {len(leaks)}")
        return leaks

    def needed(self, where) -> list[tuple[object, float]]:
        """The shown figures (where, value) the pin of target `where` needs: every other equation dropped."""
        target = next(m for m, place in self.targets if place == where)
        a_eq, b_eq = self._system()
        kept = list(range(len(self.equations)))
        for index in list(kept):
            trial = [i for i in kept if i != index]
            lo = linprog(target, A_eq=a_eq[trial], b_eq=b_eq[trial], bounds=(0, None), method="highs")
            hi = linprog(-target, A_eq=a_eq[trial], b_eq=b_eq[trial], bounds=(0, None), method="highs")
            if lo.status == 0 and hi.status == 0 and -hi.fun - lo.fun < 0.5:
                kept = trial
        return [(self.equations[i][2], self.equations[i][1]) for i in kept]

    def _system(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([m for m, _value, _where in self.equations]),
                np.array([value for _m, value, _where in self.equations], dtype=float))
