"""The linked plan's last audit: each small hidden count's feasibility interval, by linear programming.

The line rule and the rectangle, block and nested audits (linked.py) each
close one way of combining the shown counts. An attacker who knows only
that no count is negative can do more: with every shown one-way and
two-way count as an equation over the unknown counts of the full
combinations (provider x programme x language x channel x month x each
background answer), the least and the most a hidden count can be are two
linear programs, and on sparse tables they can agree - a hidden 3 is then
given away (the second breaker, tests/test_results_linear_attack_wide.py).
This is the audit statistical offices run on a suppression pattern: the
"feasibility interval" of each suppressed cell (Hundepool et al.,
*Statistical Disclosure Control*, Wiley 2012, ch. 4.4; tau-argus's
audit).

`pinned` finds, for one column of the plan, a hidden count of 1..k-1
whose feasibility interval holds no other whole number (it cannot move by
one answer either way), and the shown counts its proof uses (the
programs' dual values); the plan hides the smallest of them and solves
again, until no such count is left.

The unknowns (`unknowns`): the combinations that hold answers, and - as
many as `UNKNOWNS_KEPT` allows - every other combination no shown empty
count rules out (each of its two-way cells has answers). The attacker's
unknowns are all of the latter; leaving some out can only narrow the
interval (a count free among fewer unknowns is free among more), so the
audit never misses a pinned count, it may hide more than the attacker
strictly needs where a campaign's combinations are too many to list.

Over counts only, like suppression.py: what is hidden never depends on a
figure, only on how many answers each cell holds.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import csr_matrix

from .scope import value_order

#: At most this many combinations without answers join the unknowns (`unknowns`): the programs grow with
#: them, and at 100,000 responses every two-way cell has answers, so every combination would qualify.
UNKNOWNS_KEPT = 20_000

#: A count moved by at least this (one answer, less the programs' floating point) can take another value:
#: a move of less leaves one whole number in its interval (2.5-3.4 holds only 3), which gives it away.
_MOVED = 1 - 1e-6

#: A dual value smaller than this does not take part in a proof.
_USED = 1e-7


class AuditError(RuntimeError):
    """The audit's program does not describe the counts (a combination's key disagrees with the plan's cells)
    or HiGHS found no optimum: a fault of the code, never of the data, raised rather than treating every count
    as free."""


@dataclass
class Cube:
    """One column's counts of the full combinations of the linked dimensions, and its program once made.

    `dimensions` are the plan's dimensions in the order of each key of
    `counts` (a tuple of one value per dimension, as the one-way tables
    key them); `counts` maps each combination with answers to how many
    (> 0).
    """

    dimensions: tuple
    counts: Mapping[tuple, int]
    #: Targets found free so far, each with the hidden cells it was found free under: hiding more only
    #: widens an interval, so a target free under H is free under any superset of H.
    free: dict = field(default_factory=dict)
    program: _Program | None = None

    def position(self, part) -> int:
        """The place of dimension `part` in each key."""
        return self.dimensions.index(part)


def pinned(cube: Cube, counts: Mapping[tuple, int], hidden: frozenset, k: int) -> set:
    """The shown cells that pin a hidden count of 1..k-1 to one value; empty: none is pinned.

    `counts` are the plan's cells (linked.py: ("m", dimension, value) for a
    one-way row, ("x", pair, (a, b)) for a two-way cell) with their counts
    (> 0), the same at every call for one `cube`; `hidden` those hidden.
    Every shown cell, and the campaign's total, is an equation over the
    unknowns (`unknowns`); every hidden cell of 1..k-1 answers a target.
    The first target (in `counts` order) that can move by no whole answer
    either way gives the shown cells the proof of its value uses
    (`_Program.pin_proof`). Raises AuditError (a fault of the code).
    """
    targets = [cell for cell in counts if cell in hidden and counts[cell] < k and not _known_free(cube, cell, hidden)]
    if not targets:
        return set()
    if cube.program is None:
        cube.program = _Program(cube, counts)
    program = cube.program
    program.show(hidden)
    for cell in program.free_together(targets):
        cube.free[cell] = hidden
    for cell in targets:
        if _known_free(cube, cell, hidden):
            continue
        used = program.pin_proof(cell)
        if used is None:
            cube.free[cell] = hidden
        elif used:
            return used
        # Pinned by the total alone: the count is the whole campaign's (fewer than k responses in all),
        # which no hiding can protect; the campaign's own tables show nothing of it (total < k).
    return set()


def unknowns(cube: Cube, counts: Mapping[tuple, int]) -> list[tuple]:
    """The combinations the audit solves for: those with answers, then those of the two-way cells' join.

    A combination is possible for the attacker where each of its two-way
    cells (each pair of its values) has answers: a shown empty cell rules
    it out. They are listed in order while they are at most UNKNOWNS_KEPT
    beyond those with answers; past that, only those with answers (module
    docstring: fewer unknowns never miss a pinned count).
    """
    answered = sorted(cube.counts, key=value_order)
    extra = _possible(cube, counts, limit=UNKNOWNS_KEPT + len(answered))
    if extra is None:
        return answered
    seen = set(answered)
    return answered + [key for key in extra if key not in seen]


def _possible(cube: Cube, counts: Mapping[tuple, int], limit: int) -> list[tuple] | None:
    """Every combination whose one-way and two-way cells all have answers (backtracking over the dimensions,
    each value kept only where it meets every value chosen before); None past `limit` of them."""
    width = len(cube.dimensions)
    values: list[list] = [[] for _ in range(width)]
    together: dict[tuple[int, int], dict] = {}
    for kind, part, key in counts:
        if kind == "m":
            values[cube.position(part)].append(key)
        else:
            first, second = cube.position(part[0]), cube.position(part[1])
            if first > second:
                first, second, key = second, first, (key[1], key[0])
            together.setdefault((first, second), {}).setdefault(key[0], set()).add(key[1])
    values = [sorted(found, key=value_order) for found in values]
    found: list[tuple] = []

    def extend(prefix: tuple) -> bool:
        """Add every possible completion of `prefix`; False once past `limit`."""
        depth = len(prefix)
        if depth == width:
            found.append(prefix)
            return len(found) <= limit
        for value in values[depth]:
            if all(value in together.get((earlier, depth), {}).get(prefix[earlier], ()) for earlier in range(depth)):
                if not extend(prefix + (value,)):
                    return False
        return True

    return found if extend(()) else None


class _Program:
    """One column's linear program (HiGHS, through highspy): an equation per plan cell and the total.

    Made once per column and kept: each audit frees the rows of the cells
    hidden since (`show`) and each target changes only the objective, so
    the simplex starts from the last basis - a few milliseconds a program
    instead of a tenth of a second from scratch at 100,000 responses.
    """

    def __init__(self, cube: Cube, counts: Mapping[tuple, int]):
        variables = unknowns(cube, counts)
        masks = _Masks(cube, variables)
        self.cells = list(counts)
        self.rows = {cell: masks.of(cell) for cell in self.cells}
        self.values = np.array([counts[cell] for cell in self.cells] + [sum(cube.counts.values())], dtype=float)
        self.truth = np.array([cube.counts.get(key, 0) for key in variables], dtype=float)
        # The base class: the wrapper's constructor prints HiGHS's banner before any option can be set.
        # The primal simplex: hiding a cell only frees its row and a target only changes the objective, so the
        # last basis stays feasible (the dual simplex took 40 times as many iterations: docs/performance.md).
        self.highs = highspy._Highs()
        for option, value in (("output_flag", False), ("presolve", "off"), ("threads", 1), ("simplex_strategy", 4)):
            self.highs.setOptionValue(option, value)
        matrix = _matrix([self.rows[cell] for cell in self.cells] + [np.arange(len(variables))], len(variables))
        # The true counts must satisfy every equation: were a cell's key and the combinations' keys to
        # disagree, the program would have no solution and every count would pass as free.
        if not np.array_equal(matrix @ self.truth, self.values):
            raise AuditError("the feasibility audit's equations do not hold for the true counts")
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(variables), len(self.values)
        lp.col_cost_ = np.zeros(len(variables))
        lp.col_lower_ = np.zeros(len(variables))
        lp.col_upper_ = np.full(len(variables), highspy.kHighsInf)
        lp.row_lower_ = lp.row_upper_ = self.values
        matrix = matrix.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(variables), len(self.values)
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
        self.highs.passModel(lp)
        self.columns = np.arange(len(variables), dtype=np.int32)

    def show(self, hidden: frozenset) -> None:
        """Make each hidden cell's equation free (no bound) and every shown one hold its count."""
        free = np.array([cell in hidden for cell in self.cells] + [False])
        lower = np.where(free, -highspy.kHighsInf, self.values)
        upper = np.where(free, highspy.kHighsInf, self.values)
        self.highs.changeRowsBounds(len(self.values), np.arange(len(self.values), dtype=np.int32), lower, upper)

    def free_together(self, targets: Sequence[tuple]) -> list[tuple]:
        """The targets one program moves: the most, then the least, all of them can hold together, repeated
        while some move - most targets are free, and one program clears many."""
        free: list[tuple] = []
        remaining = list(targets)
        for sense in (-1.0, 1.0, -1.0, 1.0):
            if not remaining:
                break
            objective = np.zeros(len(self.truth))
            for cell in remaining:
                objective[self.rows[cell]] += sense
            solution = self._least(objective)
            moved = {cell for cell in remaining if self._moved(cell, solution[0])}
            free += [cell for cell in remaining if cell in moved]
            remaining = [cell for cell in remaining if cell not in moved]
        return free

    def pin_proof(self, cell: tuple) -> set | None:
        """None if target `cell` can take two values; else the shown cells the proof of its one value uses:
        those whose equations have a dual value in its least or its most (the total's is not a cell)."""
        objective = np.zeros(len(self.truth))
        objective[self.rows[cell]] = 1.0
        used: set = set()
        for sense in (-1.0, 1.0):
            solution = self._least(sense * objective)
            if self._moved(cell, solution[0]):
                return None
            duals = solution[1][:len(self.cells)]
            used |= {self.cells[row] for row in np.flatnonzero(np.abs(duals) > _USED)}
        return used

    def _moved(self, cell: tuple, x: np.ndarray) -> bool:
        """Whether solution `x` gives target `cell` another value than the truth."""
        row = self.rows[cell]
        return abs(x[row].sum() - self.truth[row].sum()) >= _MOVED

    def _least(self, objective: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unknowns, row duals) where `objective` is least over the non-negative unknowns the equations
        allow. Raises AuditError if HiGHS finds no optimum (it always should: the truth is feasible and the
        total bounds every unknown)."""
        self.highs.changeColsCost(len(self.columns), self.columns, objective)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise AuditError(f"HiGHS found no optimum ({self.highs.modelStatusToString(self.highs.getModelStatus())})")
        solution = self.highs.getSolution()
        return np.asarray(solution.col_value), np.asarray(solution.row_dual)


class _Masks:
    """The unknowns each plan cell adds up (indices into the unknowns), from one pass over them."""

    def __init__(self, cube: Cube, variables: Sequence[tuple]):
        self.cube = cube
        self.single: dict[tuple[int, Hashable], list[int]] = {}
        self.double: dict[tuple[int, int, Hashable, Hashable], list[int]] = {}
        width = len(cube.dimensions)
        for index, key in enumerate(variables):
            for first in range(width):
                self.single.setdefault((first, key[first]), []).append(index)
                for second in range(first + 1, width):
                    self.double.setdefault((first, second, key[first], key[second]), []).append(index)

    def of(self, cell: tuple) -> np.ndarray:
        """The unknowns plan cell `cell` adds up."""
        kind, part, key = cell
        if kind == "m":
            return np.array(self.single.get((self.cube.position(part), key), ()), dtype=np.int64)
        first, second = self.cube.position(part[0]), self.cube.position(part[1])
        if first > second:
            first, second, key = second, first, (key[1], key[0])
        return np.array(self.double.get((first, second, key[0], key[1]), ()), dtype=np.int64)


def _matrix(rows: Sequence[np.ndarray], width: int) -> csr_matrix:
    """The 0/1 matrix whose row i has ones at `rows[i]`."""
    pointers = np.zeros(len(rows) + 1, dtype=np.int64)
    pointers[1:] = np.cumsum([len(row) for row in rows])
    columns = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return csr_matrix((np.ones(len(columns)), columns, pointers), shape=(len(rows), width))


def _known_free(cube: Cube, cell: tuple, hidden: frozenset) -> bool:
    """Whether `cell` was found free under hidden cells all still hidden (so it is free now)."""
    under = cube.free.get(cell)
    return under is not None and under <= hidden
