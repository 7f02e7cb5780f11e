"""The third breaker of 2026-12-01: the tables before and after one mixing hid different complements, and
together gave back a group's hidden answers - a group the mixing did not touch. Closed by keeping, after a
mixing, the hidden cells of the plan shown before that still protect a small count (linked.sticky_cells).

docs/analytics.md ("Before and after a mixing", "Per-question increments") argues that a group's figures
before and after a mixing differ by a batch of k or more responses in one cell, so differencing gives at most
that batch's answers. But the suppression pattern changed with the batch: the complement is "the smallest
shown", and the batch made the old complement bigger than another group, so another was hidden instead.
Each table was suppressed correctly alone; together they were two patterns over nearly the same counts.

World (question y optional, k = 5): P1 12 responses, 9 answering y; P2 10 responses, 3 answering y;
P3 12 responses, 10 answering y. Table by provider, column y: P2 (3) hidden, complement P1 (9, the
smallest). A batch of 5 responses (k) is stored in P1's cell, all answering y: now P1 has 14 answers to y,
and P3 (10) is the smallest: a plan made afresh hides P3 and shows P1.

Attacker: the batch's cell is P1 (P1's responses go 12 -> 17, every responses figure is shown); the batch's
answers to y are total-after less total-before (shown). So P1's y before = P1 after less the batch, and
P2's y before = total before - P3 before - P1 before: P2's 3 answers to y, and their distribution (yes/no)
the same way. Now P1 stays hidden while P2's count is small, and the two patterns are one.

The plans are kept as the mixing step keeps them (a mixer round after each batch): the new plan keeps what
the one shown before hid.

Run: .venv/bin/pytest -q tests/test_results_mixing_patterns.py
"""

from __future__ import annotations

from app.analytics.results import HIDDEN, result_table
from app.analytics.scope import Breakdown, Selection
from app.db import db_session

from .conftest import mixer_of
from .results_fixtures import add, build_results_world

K = 5


def _table(app, world):
    with app.app_context():
        return result_table(db_session, Selection((world.campaigns["2027"],)), Breakdown("provider"), K)


def _row(table, world, name):
    return next(row for row in table.rows if row.key == world.providers[name])


def _dist(figures):
    return dict(figures.distribution)


def _world(app):
    world = build_results_world(app, providers=("P1", "P2", "P3"))
    add(app, world, "P1", {"a": 4, "b": 4, "y": 1}, times=9)
    add(app, world, "P1", {"a": 4, "b": 4}, times=3)
    add(app, world, "P2", {"a": 3, "b": 3, "y": 0}, times=2)   # P2's secret: 2 no and 1 yes
    add(app, world, "P2", {"a": 3, "b": 3, "y": 1}, times=1)
    add(app, world, "P2", {"a": 3, "b": 3}, times=7)
    add(app, world, "P3", {"a": 5, "b": 5, "y": 1}, times=6)
    add(app, world, "P3", {"a": 5, "b": 5, "y": 0}, times=4)
    add(app, world, "P3", {"a": 5, "b": 5}, times=2)
    return world


def _y_hidden(table, world) -> list[str]:
    return [name for name in ("P1", "P2", "P3") if _row(table, world, name).questions["y"] is HIDDEN]


def test_a_mixing_keeps_the_complement_of_a_count_still_small_so_both_patterns_are_one(app):
    world = _world(app)
    mixer = mixer_of(app)
    assert mixer.round().plans_stored == 1  # as after every mixing: the plan the pages read
    before = _table(app, world)
    add(app, world, "P1", {"a": 4, "b": 4, "y": 1}, times=K)   # one mixing: a batch of k in P1's cell
    assert mixer.round().plans_stored == 1
    after = _table(app, world)

    # Before: P2 (3) with its complement P1 (9, the smaller of 9 and 10). After: the same two, though P3 (10)
    # is now the smaller complement - P1 is kept while P2's count it protected is still small.
    assert _y_hidden(before, world) == ["P1", "P2"]
    assert _y_hidden(after, world) == ["P1", "P2"]

    # The attacker: the batch is where the responses grew (all shown); its y answers are the totals' difference.
    grown = [name for name in ("P1", "P2", "P3")
             if _row(after, world, name).responses != _row(before, world, name).responses]
    assert grown == ["P1"]
    total_before, total_after = _dist(before.total.questions["y"]), _dist(after.total.questions["y"])
    batch = {answer: total_after[answer] - total_before[answer] for answer in total_before}
    # All the two tables give about P1 and P2 is their sum, before (total less P3) and after; the sums differ
    # by the batch exactly, so together they say nothing the batch does not (per answer: yes, no).
    p3_before, p3_after = _dist(_row(before, world, "P3").questions["y"]), _dist(_row(after, world, "P3").questions["y"])
    sum_before = {answer: total_before[answer] - p3_before[answer] for answer in batch}
    sum_after = {answer: total_after[answer] - p3_after[answer] for answer in batch}
    assert sum_before == {1: 10, 0: 2}  # P1's 9 yes, P2's 1 yes and 2 no
    assert {answer: sum_after[answer] - sum_before[answer] for answer in batch} == batch == {1: 5, 0: 0}


def test_the_kept_complement_is_shown_again_once_the_small_count_has_grown(app):
    """A later batch gives P2 five more answers to y (8 >= k): nothing small is left to protect, so P1 and P2
    are shown again. What that gives back is that batch's own answers (docs/analytics.md)."""
    world = _world(app)
    mixer = mixer_of(app)
    mixer.round()
    add(app, world, "P1", {"a": 4, "b": 4, "y": 1}, times=K)
    mixer.round()
    assert _y_hidden(_table(app, world), world) == ["P1", "P2"]
    add(app, world, "P2", {"a": 3, "b": 3, "y": 1}, times=K)
    assert mixer.round().plans_stored == 1
    assert _y_hidden(_table(app, world), world) == []
