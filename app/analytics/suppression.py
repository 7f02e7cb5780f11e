"""Which figures are hidden: primary and secondary cell suppression.

Every table Kundröst shows (page, chart, export, API) partitions a set of
answers into cells - providers, programmes, months... - and usually shows
the set's total too. A figure derived from fewer than k answers would let
someone who knows a few customers learn how they answered, so it is hidden
(**primary suppression**, k = MIN_CELL_SIZE, never below 5). Hiding one
cell is not enough when the total is shown: total minus the shown cells is
the hidden one. So **secondary suppression** hides more cells until, in
every published sum ("line": the whole table, a tertial's months, a
year's tertials), the hidden cells are either none or at least two that
together hold at least k answers: then the most anyone can derive is the
union's figure, itself made from k or more answers.

This is the rule statistical offices call the (n, k)-threshold rule with
complementary suppression (Hundepool et al., *Statistical Disclosure
Control*, Wiley 2012, ch. 4.3 "Sensitivity rules" and 4.4 "Secondary cell
suppression"); the complement cells are chosen greedily, smallest first,
which keeps the most information shown. What it does not cover (differencing
across overlapping filters; figures before and after a finalisation) is in
docs/analytics.md, "What suppression cannot rule out".

Pure functions over counts: they never see a figure, only how many answers
each cell holds, so the decision cannot depend on (and leak) the values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from .scope import period_of


@dataclass(frozen=True)
class Line:
    """Cells whose sum is published somewhere (a table's total, a tertial of months).

    `members` are cell keys of the table being suppressed. A line whose own
    total holds fewer than k answers is itself hidden, so it constrains
    nothing (its members' sum is not published).
    """

    members: frozenset


def hidden_cells(counts: Mapping[Hashable, int], k: int, lines: Iterable[Line] = (),
                 already_hidden: Iterable[Hashable] = ()) -> frozenset:
    """The keys of `counts` whose figures must not be shown.

    `counts` maps each cell to the number of answers behind its figures (a
    count >= 0). `lines` are the published sums over cells; the table's
    own total (every cell) is always one. `already_hidden` are cells hidden
    for another reason (e.g. a whole group hidden before its per-question
    figures are considered); they count as hidden in every line.

    Primary: a cell with 1..k-1 answers. A cell with 0 answers has no
    figure to hide (it is shown as "no answers"). Secondary, until nothing
    changes: in each line whose total is at least k, if exactly one member
    is hidden or the hidden members hold fewer than k answers together,
    the smallest shown member with answers (ties by key order of
    `counts`) is hidden too. Each pass only hides, so this ends.

    Raises ValueError for k < 1 or a negative count.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts must not be negative")
    order = {key: position for position, key in enumerate(counts)}
    hidden = {key for key in already_hidden if key in counts}
    hidden |= {key for key, n in counts.items() if 0 < n < k}
    # Finest lines first: a complement chosen inside a tertial also serves its year and the table.
    all_lines = [*lines, Line(frozenset(counts))]
    changed = True
    while changed:
        changed = False
        for line in all_lines:
            members = [key for key in line.members if key in counts]
            if sum(counts[key] for key in members) < k:
                continue
            if _line_leaks(members, hidden, counts, k):
                complement = _smallest_shown(members, hidden, counts, order)
                if complement is not None:
                    hidden.add(complement)
                    changed = True
    return frozenset(hidden)


def _line_leaks(members: list, hidden: set, counts: Mapping, k: int) -> bool:
    """Whether the line's total minus its shown members would give away a hidden figure."""
    hidden_members = [key for key in members if key in hidden and counts[key] > 0]
    if not hidden_members:
        return False
    return len(hidden_members) == 1 or sum(counts[key] for key in hidden_members) < k


def _smallest_shown(members: list, hidden: set, counts: Mapping, order: Mapping):
    """The shown member with the fewest (but some) answers, or None when every member with answers is hidden."""
    candidates = [key for key in members if key not in hidden and counts[key] > 0]
    if not candidates:
        return None
    return min(candidates, key=lambda key: (counts[key], order[key]))


def period_lines(months: Iterable) -> list[Line]:
    """Lines for a table by month: each tertial's and each year's months are published sums elsewhere.

    `months` are datetime.date values (the first of a month) or None
    (merged over the campaign). A tertial is January-April, May-August or
    September-December (Sw. tertial, as the municipal reports use).
    """
    by_tertial: dict[tuple[int, int], set] = {}
    by_year: dict[int, set] = {}
    for month in months:
        if month is None:
            continue
        by_tertial.setdefault(period_of(month, "tertial"), set()).add(month)
        by_year.setdefault(month.year, set()).add(month)
    return [Line(frozenset(keys)) for keys in [*by_tertial.values(), *by_year.values()]]

