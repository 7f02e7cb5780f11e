"""The rules of mixing keep every anonymity set at k or more (app/mixing/cells.py).

The mixer's transaction deletes every waiting answer it read before it
inserts anything, in random order: an adversary who reads the database's
log learns which waiting answers went into a mixing, never which became
which response. So a response's anonymity set is the union of the sources
behind every waiting answer deleted in its transaction - and the answers
that stay waiting, re-encrypted, carry that union on. These tests replay
random arrival and mixing schedules with the real rules (release_size,
plan_finalisation) and that model of a transaction, and check the sets.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from app.mixing.cells import COARSENING_ORDER, coarsened, plan_finalisation, release_size
from app.mixing.sealing import Cell

K = 5


def cell(provider=1, programme=1, language="ar", channel="sms", month=date(2026, 11, 1), gender="woman") -> Cell:
    return Cell(provider, programme, language, channel, month, (("gender", gender),))


def test_release_size_writes_all_but_k_from_2k_on():
    assert [release_size(n, 5) for n in (0, 4, 9, 10, 11, 17)] == [0, 0, 0, 5, 6, 12]
    assert release_size(40, 10) == 30


def test_coarsening_gives_up_detail_in_the_documented_order():
    fine = cell()
    assert coarsened(fine, 0) == fine
    assert coarsened(fine, 1) == Cell(1, 1, "ar", "sms", date(2026, 11, 1), ())
    assert coarsened(fine, 3) == Cell(1, 1, None, "sms", None, ())
    assert coarsened(fine, len(COARSENING_ORDER)) == Cell(None, None, None, None, None, ())


def test_finalisation_keeps_big_cells_and_merges_small_ones_level_by_level():
    members = (
        [("a", cell(language="ar"))] * 6
        + [("t", cell(language="ti"))] * 2
        + [("s", cell(language="so"))] * 3
        + [("p", cell(provider=2, language="ar"))] * 1
    )
    batches, withheld = plan_finalisation(members, lambda m: m[1], K)
    assert withheld == []
    summary = sorted(((stored, sorted(name for name, _ in group)) for stored, group in batches), key=repr)
    assert summary == sorted([
        # Six Arabic answers keep every detail.
        (cell(language="ar"), ["a"] * 6),
        # Two Tigrinya and three Somali answers reach k once background and
        # language are merged. The one answer for provider 2 is still short
        # of k at the last level: it shares a cell with either batch only
        # once providers are merged, and joins the smaller one there.
        (Cell(None, None, None, "sms", None, ()), ["p", "s", "s", "s", "t", "t"]),
    ], key=repr)


def test_a_straggler_joins_the_batch_it_shares_the_finest_cell_with():
    members = [("a", cell(language="ar"))] * 6 + [("t", cell(language="ti"))] * 2
    batches, withheld = plan_finalisation(members, lambda m: m[1], K)
    assert withheld == []
    [(stored, group)] = batches
    # Two Tigrinya answers never reach k; with the six Arabic ones they share
    # provider, programme, channel and month - only language is merged.
    assert stored == Cell(1, 1, None, "sms", date(2026, 11, 1), ())
    assert sorted(name for name, _ in group) == ["a"] * 6 + ["t"] * 2


def test_a_campaign_with_fewer_than_k_answers_withholds_them():
    batches, withheld = plan_finalisation([("x", cell())] * 4, lambda m: m[1], K)
    assert batches == [] and len(withheld) == 4


@dataclass
class Row:
    """A waiting answer in the model: its fine cell and the sources it may carry."""

    cell: Cell
    sources: frozenset


cells_strategy = st.builds(
    cell,
    provider=st.sampled_from([1, 2, 3]),
    programme=st.sampled_from([1, 2]),
    language=st.sampled_from(["ar", "sv", "ti"]),
    month=st.sampled_from([date(2026, 10, 1), date(2026, 11, 1)]),
    gender=st.sampled_from(["woman", "man", None]),
)
# A schedule: each step an arriving answer (in a cell) or a mixing round.
steps_strategy = st.lists(st.one_of(cells_strategy, st.just("mix")), max_size=400)


@settings(max_examples=150, deadline=None)
@given(steps=steps_strategy, seed=st.integers(0, 2**32 - 1))
def test_every_stored_response_has_an_anonymity_set_of_at_least_k(steps, seed):
    rng = random.Random(seed)
    waiting: list[Row] = []
    stored: list[tuple[Cell, frozenset]] = []  # (stored cell, anonymity set) per response
    arrivals = 0
    for step in steps:
        if step != "mix":
            waiting.append(Row(step, frozenset({arrivals})))
            arrivals += 1
            continue
        by_cell: dict[Cell, list[Row]] = {}
        for row in waiting:
            by_cell.setdefault(row.cell, []).append(row)
        for fine, rows in by_cell.items():
            count = release_size(len(rows), K)
            if not count:
                continue
            assert K <= count <= len(rows) - K  # writes at least k, leaves at least k
            union = frozenset().union(*(row.sources for row in rows))
            released = rng.sample(rows, count)
            stored += [(fine, union) for _ in released]
            stay = [row for row in rows if row not in released]
            waiting = [row for row in waiting if row.cell != fine] + [Row(fine, union) for _ in stay]
    # Finalisation: everything that waits, in batches of at least k.
    batches, withheld = plan_finalisation(waiting, lambda row: row.cell, K)
    for stored_cell, rows in batches:
        assert len(rows) >= K
        union = frozenset().union(*(row.sources for row in rows))
        stored += [(stored_cell, union) for _ in rows]
    assert len(stored) + len(withheld) == arrivals  # nothing lost, nothing twice
    if withheld:
        assert not batches and len(withheld) < K
    source_cell = {}
    for step in steps:
        if step != "mix":
            source_cell[len(source_cell)] = step
    for stored_cell, sources in stored:
        assert len(sources) >= K
        # Every source in the set could have written this response: its own
        # cell, coarsened as far as the stored one, is the stored cell. So
        # what a provider knows of its customers rules none of them out.
        for source in sources:
            assert any(coarsened(source_cell[source], level) == stored_cell
                       for level in range(len(COARSENING_ORDER) + 1))
