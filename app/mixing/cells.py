"""The rules of mixing: how many answers of a cell one mixing writes, and how
a finalised campaign's small cells are merged until each reaches k.

Pure functions over cells and lists: no database, no keys, so that the
rules are tested on their own (tests/test_mixing_rules.py, with hypothesis
over random arrival and mixing schedules). Why they keep every anonymity
set at k or more is argued in docs/anonymity.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from ..surveys.definition import SurveyDefinition, TextQuestion
from .sealing import Cell

Member = TypeVar("Member")

#: The order in which a finalised campaign's small cells give up detail:
#: first what a report needs least, last what it exists for (the provider).
#: "background" withholds the background answers (gender, age band);
#: every other name (a `Cell` field) is set to None ("merged into other").
COARSENING_ORDER: tuple[str, ...] = ("background", "language", "month", "programme_id", "provider_id", "channel")


def release_size(waiting: int, k: int) -> int:
    """How many of a cell's `waiting` answers one mixing writes as responses.

    None below 2k waiting; otherwise all but k, so that at least k are
    written and at least k stay waiting (and are re-encrypted) until the
    campaign is finalised. Raises ValueError for k < 1 or waiting < 0.
    """
    if k < 1 or waiting < 0:
        raise ValueError("k must be positive and waiting non-negative")
    return waiting - k if waiting >= 2 * k else 0


def coarsened(cell: Cell, level: int) -> Cell:
    """`cell` with the first `level` attributes of COARSENING_ORDER merged (0: the cell itself)."""
    changes: dict[str, object] = {}
    for name in COARSENING_ORDER[:level]:
        changes[name] = () if name == "background" else None
    return dataclasses.replace(cell, **changes)


FINEST, COARSEST = 0, len(COARSENING_ORDER)


def withheld_questions(cell: Cell, definition: SurveyDefinition) -> set[str]:
    """Keys of the answers a response stored in `cell` leaves out.

    Background answers once they are merged (the cell's `background` is
    empty), and free text once the language or the background answers are
    merged: a comment's script tells its language (Ge'ez, Cyrillic, Arabic
    script) and its grammar often the writer's gender (Arabic, Ukrainian),
    which would undo the merging.
    """
    background = {q.key for q in definition.background_questions}
    withheld = set() if cell.background or not background else background
    if cell.language is None or withheld:
        withheld |= {q.key for q in definition.questions if isinstance(q, TextQuestion)}
    return withheld


def plan_finalisation(
    members: Iterable[Member], cell_of: Callable[[Member], Cell], k: int
) -> tuple[list[tuple[Cell, list[Member]]], list[Member]]:
    """Split a finalised campaign's waiting answers into batches of at least k.

    Level by level (COARSENING_ORDER), answers whose cell at that level
    holds at least k of the answers still unplaced form a batch stored in
    that cell; the rest go on to the next, coarser level. If fewer than k
    remain after the coarsest level, they join the batch they share the
    finest cell with (the smallest such batch on a tie), and the joined
    batch is stored in that shared cell; if there is no batch at all (the
    whole campaign has fewer than k), they are withheld: returned second,
    never stored.

    Returns (batches, withheld); each batch is (stored cell, members) and
    is written in a transaction of its own.
    """
    pending = list(members)
    batches: list[tuple[int, Cell, list[Member]]] = []
    for level in range(FINEST, COARSEST + 1):
        groups = _group(pending, lambda member: coarsened(cell_of(member), level))
        pending = []
        for cell, group in groups.items():
            if len(group) >= k:
                batches.append((level, cell, group))
            else:
                pending.extend(group)
        if not pending:
            break
    if pending and batches:
        def shared_level(batch) -> int:
            """The finest level at which the batch and the stragglers have one cell."""
            cells = [cell_of(member) for member in batch[2] + pending]
            return next(level for level in range(FINEST, COARSEST + 1)
                        if len({coarsened(cell, level) for cell in cells}) == 1)

        host = min(batches, key=lambda batch: (shared_level(batch), len(batch[2])))
        level = shared_level(host)
        batches.remove(host)
        merged = host[2] + pending
        batches.append((level, coarsened(cell_of(merged[0]), level), merged))
        pending = []
    return [(cell, group) for _, cell, group in batches], pending


def _group(members: Sequence[Member], key: Callable[[Member], Hashable]) -> dict:
    groups: dict = {}
    for member in members:
        groups.setdefault(key(member), []).append(member)
    return groups
