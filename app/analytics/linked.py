"""Linked tables: a campaign's one-way and two-way tables suppressed together, in every column.

Every table the results layer shows is a one-way table of a campaign (by
provider, by programme, ...) or a slice of a two-way table (provider x
gender within the campaign: "women by provider" and "Bro by gender"). They
are not independent: a two-way table's rows add up to the one-way table of
its first dimension, its columns to that of its second, and an empty cell
(Bro gave no SO) makes a row equal a column. Suppressed one table at a
time, a complement hidden in one was shown in another (the third
breaker's cases, tests/test_results_linked_tables.py): by provider, P1 (9)
hid P2 (3), but SO - which only P1 gives - showed P1's 9 answers by
programme; and in programme x gender, SO's 12 women hid JPG's one woman,
but SO has no men, so SO's total showed them. The same held for a
question's own answers (tests/test_results_question_linked.py).

`plan` suppresses them together, per column - the responses, the NKI's
respondents and each question with figures (its answers with a value or
an option) - by the threshold rule with complementary suppression
(suppression.py) over every published sum at once (Hundepool et al.,
*Statistical Disclosure Control*, Wiley 2012, §4.4.3 "linked tables"):

- cells: each one-way table's rows (margins) and each two-way table's
  cells with answers; primary: 1..k-1 answers;
- lines: each one-way table's total and period sums (a tertial's and a
  year's months); each row and each column of a two-way table, whose total
  is a margin that is itself a cell (hideable), and the period sums within
  them;
- a line whose total is shown needs none or at least two hidden cells with
  answers, holding k or more together; another cell is hidden until it
  does, or its total (the margin), which is then protected in its own
  one-way table's lines - whichever opens the fewest other lines;
- a hidden margin needs a hidden cell in each row or column it totals (or
  the cells would add up to it).

Each column is planned on its own (`_hidden_per_column`), but the NKI and
its index questions hide together, as in each table (results.py,
`_hidden_by_column`).
Empty cells are shown as empty (an attacker may know who gives what): they
are never hidden and never protect. The results layer (results.py) takes
the plan's hidden margins and cells as seeds of its own per-table passes,
so what one table hides every table hides. The counts are read from the
tallies the mixing step keeps for every dimension and pair of dimensions
(summaries.py): no answer row is read.
"""
from __future__ import annotations

import functools
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from threading import Lock

from flask import current_app, g, has_request_context
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign
from ..surveys.definition import SurveyDefinition
from . import aggregates, feasibility, plan_maker, summaries
from .aggregates import StatusCounts
from .models import ResponseTally, StoredPlan
from .statistics import Moments
from .denominators import RATE_DIMENSIONS, link_counts
from .scope import SCOPE_DIMENSIONS, Breakdown, Selection, canonical_pair, value_order
from .suppression import period_lines

#: The columns every plan holds besides its questions': a group's responses, the respondents its NKI is made
#: of, those of them partly scored (docs/analytics.md, "Partly scored"), and its claimed links.
LINKED_COLUMNS = ("responses", "index", "partly_scored", "links")

#: Those of LINKED_COLUMNS counted from the responses the mixing step stored (the links: `_links_plan`).
_RESPONSE_COLUMNS = ("responses", "index", "partly_scored")

@dataclass(frozen=True)
class LinkedPlan:
    """What the linked suppression hides: per column, one-way rows and two-way cells.

    Columns: LINKED_COLUMNS and each question key planned.
    `margins[column][breakdown]` are the hidden group keys of the one-way
    table; `cells[column][pair]` the hidden (first, second) keys of the
    two-way table of a canonical pair (scope.canonical_pair).
    """

    margins: Mapping[str, Mapping[Breakdown, frozenset]]
    cells: Mapping[str, Mapping[tuple[Breakdown, Breakdown], frozenset]]

    def rows(self, column: str, breakdown: Breakdown) -> frozenset:
        """The hidden keys of the one-way table by `breakdown` in `column`; empty for a dimension or column not
        linked."""
        return self.margins.get(column, {}).get(breakdown, frozenset())

    def crossed(self, column: str, pair: tuple[Breakdown, Breakdown]) -> frozenset:
        """The hidden cells of the two-way table of canonical `pair` in `column`; empty for a pair or column not
        linked."""
        return self.cells.get(column, {}).get(pair, frozenset())


def linked_dimensions(definition: SurveyDefinition) -> list[Breakdown]:
    """The dimensions a campaign's linked tables are broken down by: scope, month, each background question
    (tertials and years are sums of months: results.py hides them wherever a month of theirs is hidden)."""
    return [Breakdown(name) for name in SCOPE_DIMENSIONS] + [
        Breakdown("background", question.key) for question in definition.background_questions]


#: Plans this process made or read, by (campaign, plan_key, counts_signature): a campaign's responses change
#: only when the mixing step stores a batch or finalisation merges small groups, and either changes its
#: one-way counts, so a plan is read from StoredPlan (or made) again once per worker after each (cold: see
#: docs/performance.md; warm: the one-way counts, a few ms).
_PLANS: OrderedDict[tuple, LinkedPlan] = OrderedDict()
_PLANS_LOCK = Lock()
PLANS_KEPT = 64


def plan(session: Session, campaign_id: int, definition: SurveyDefinition, k: int,
         questions: Sequence[str], wait: float | None = None) -> LinkedPlan:
    """The linked suppression of one campaign's tables (module docstring), in LINKED_COLUMNS and `questions`.

    `questions` are the keys of the questions with figures (every one the
    pages may show: what one page hides, all must). One SQL query over the
    kept one-way tallies; then the plan this process made from the same
    one-way counts, else the one the mixing step kept for them
    (StoredPlan, `plan_to_store`), else it is made here: two queries per
    pair of dimensions (responses, and the questions' answers), two over
    the full combinations, and the audits (seconds at 100,000 responses). The claimed links ("links")
    are planned apart (`_links_plan`): a customer claims a link when they
    answer, long before the mixing step stores the answers.

    `wait`: None makes a plan in the caller's thread (the mixer, the CLI);
    a number of seconds makes it in the process's plan thread
    (plan_maker.py) and raises plan_maker.PlanPending if it is not ready
    by then - a web request passes `request_wait()`.
    """
    made = _answers_plan(session, campaign_id, definition, k, questions, wait)[2]
    links = _links_plan(session, Selection((campaign_id,)), k)
    return LinkedPlan({**made.margins, "links": links.margins.get("links", {})},
                      {**made.cells, "links": links.cells.get("links", {})})


def plan_to_store(session: Session, campaign_id: int, definition: SurveyDefinition, k: int,
                  questions: Sequence[str]) -> dict | None:
    """The StoredPlan row (column -> value) of the campaign's current plan (`plan`, without the claimed links),
    made here if need be; None when the row kept is current already.

    The mixing step makes it after each round (app/mixing/mixer.py) and
    writes it with `store_plan`, so that no results page waits for the
    feasibility audit after a mixing or a restart.
    """
    key, signature, made = _answers_plan(session, campaign_id, definition, k, questions)
    kept = session.get(StoredPlan, (campaign_id, key))
    if kept is not None and kept.signature == signature:
        return None
    return {"campaign_id": campaign_id, "plan_key": key, "signature": signature, "payload": encoded_plan(made)}


def store_plan(connection: Connection, row: Mapping) -> None:
    """Write a `plan_to_store` row, replacing the campaign's plan of the same key (one upsert: two writers at
    once agree). The caller commits."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(StoredPlan.__table__).values(**row)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["campaign_id", "plan_key"],
        set_={"signature": statement.excluded.signature, "payload": statement.excluded.payload}))


def _answers_plan(session: Session, campaign_id: int, definition: SurveyDefinition, k: int,
                  questions: Sequence[str], wait: float | None = None) -> tuple[str, str, LinkedPlan]:
    """(plan_key, counts_signature, the plan of every column but the links): kept in this process, else read
    from StoredPlan where it was made from the current one-way counts, else made (`plan` says where)."""
    selection = Selection((campaign_id,))
    dimensions = linked_dimensions(definition)
    one_way = _one_way(session, campaign_id, dimensions)
    key, signature = plan_key(k, questions), counts_signature(one_way)
    kept_as = ("answers", campaign_id, key, signature)
    made = _kept_plan(kept_as)
    if made is None:
        made = _stored(session, campaign_id, key, signature)
        if made is not None:
            _keep(kept_as, made)
    if made is None:
        def make(in_session: Session) -> tuple[str, LinkedPlan]:
            """(counts_signature, plan) made in `in_session` (`_made_still`): here, or in the plan thread."""
            return _made_still(in_session, campaign_id, key, selection, dimensions, k, definition, tuple(questions))
        if wait is None:
            signature, made = make(session)
        else:
            made_from, made = plan_maker.made_within(kept_as, campaign_id, session.get_bind(), make, wait)
            if made_from != signature:
                # A mixing came in meanwhile: the plan is of newer counts than this request's tables.
                raise plan_maker.PlanPending(campaign_id)
    return key, signature, made


#: How often `_made_still` starts again when a mixing changes the counts while it reads them.
_ATTEMPTS = 3


def _made_still(session: Session, campaign_id: int, key: str, selection: Selection, dimensions: list[Breakdown],
                k: int, definition: SurveyDefinition, questions: tuple[str, ...]) -> tuple[str, LinkedPlan]:
    """(counts_signature, plan) of the campaign's counts as they stand, kept in this process.

    A plan's queries run one after another, seconds apart when the audit
    is long, and a plan in the background may wait behind others first: a
    mixing committed in between would give it one-way counts of before and
    combinations of after (the breaker of 2026-12-01: an AuditError, a
    500). So the one-way counts are read again at the end; if a mixing
    changed them, the plan is made again (at most _ATTEMPTS times, then
    PlanPending). An AuditError with the counts unchanged is a fault and is
    raised.
    """
    for _attempt in range(_ATTEMPTS):
        signature = counts_signature(one_way := _one_way(session, campaign_id, dimensions))
        try:
            made = _made(session, selection, dimensions, one_way, k, definition, questions,
                         _previous(session, campaign_id, key))
        except feasibility.AuditError:
            if counts_signature(_one_way(session, campaign_id, dimensions)) == signature:
                raise
            continue
        if counts_signature(_one_way(session, campaign_id, dimensions)) == signature:
            return signature, _keep(("answers", campaign_id, key, signature), made)
    raise plan_maker.PlanPending(campaign_id)


def request_wait() -> float | None:
    """The seconds this web request may still wait for plans being made: Config.plan_wait in all, counted
    from its first plan (a provider page's trend or a pool asks for one per campaign, and waits one after
    another would add up past gunicorn's timeout: the breaker of 2026-12-01). None outside a request (the
    mixer, the CLI, tests calling the results layer), where the plan is made in the caller's thread."""
    if not has_request_context():
        return None
    if "plan_deadline" not in g:
        g.plan_deadline = time.monotonic() + current_app.config["KUNDROST"].plan_wait.total_seconds()
    return max(0.0, g.plan_deadline - time.monotonic())


def plan_key(k: int, questions: Sequence[str]) -> str:
    """What a plan is for, as StoredPlan keys it: a SHA-256 (hex) of k and the question keys planned."""
    return hashlib.sha256(json.dumps([k, list(questions)]).encode()).hexdigest()


def counts_signature(one_way: Mapping[Breakdown, Mapping]) -> str:
    """The one-way counts a plan is made from (`_signature`), as a SHA-256 (hex): a mixing or a finalisation
    changes them, and with them the plan."""
    return hashlib.sha256(repr(_signature(one_way)).encode()).hexdigest()


def _stored(session: Session, campaign_id: int, key: str, signature: str) -> LinkedPlan | None:
    """The plan StoredPlan keeps for `key`, if it was made from the one-way counts `signature`; else None (also
    for a row that does not read as a plan: the plan is then made again, as if none were kept)."""
    kept = session.get(StoredPlan, (campaign_id, key))
    return _readable(kept) if kept is not None and kept.signature == signature else None


def _previous(session: Session, campaign_id: int, key: str) -> LinkedPlan | None:
    """The plan StoredPlan keeps for `key` whatever counts it was made from - the one shown before the last
    mixing, which the new plan keeps some hidden cells of (`sticky_cells`) - or None (none kept, or unreadable)."""
    kept = session.get(StoredPlan, (campaign_id, key))
    return _readable(kept) if kept is not None else None


def _readable(kept: StoredPlan) -> LinkedPlan | None:
    """A kept row's plan, or None for a payload that does not read as one (made again, as if none were kept)."""
    try:
        return decoded_plan(kept.payload)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def encoded_plan(made: LinkedPlan) -> str:
    """A plan as JSON: per column, each dimension's (summaries.dimension_of) hidden groups and each pair's
    ("provider|language") hidden cells, each group as summaries.group_text writes it. `decoded_plan` reads
    it back equal."""
    return json.dumps({
        "margins": {column: {summaries.dimension_of(dimension): sorted(map(summaries.group_text, keys))
                             for dimension, keys in tables.items()} for column, tables in made.margins.items()},
        "cells": {column: {_pair_text(pair): sorted([summaries.group_text(a), summaries.group_text(b)] for a, b in keys)
                           for pair, keys in tables.items()} for column, tables in made.cells.items()},
    }, sort_keys=True)


def decoded_plan(payload: str) -> LinkedPlan:
    """The plan `encoded_plan` wrote. Raises ValueError (json.JSONDecodeError) for text that is not its JSON."""
    document = json.loads(payload)

    def group(dimension: Breakdown, text: str):
        """A group key back from its text (summaries.group_value of the dimension's name)."""
        return summaries.group_value(summaries.dimension_of(dimension), text)

    margins = {column: {(dimension := _breakdown(name)): frozenset(group(dimension, text) for text in texts)
                        for name, texts in tables.items()} for column, tables in document["margins"].items()}
    cells = {}
    for column, tables in document["cells"].items():
        cells[column] = {}
        for name, keys in tables.items():
            pair = tuple(_breakdown(part) for part in name.split(summaries.PAIR))
            cells[column][pair] = frozenset((group(pair[0], a), group(pair[1], b)) for a, b in keys)
    return LinkedPlan(margins, cells)


def _pair_text(pair: tuple[Breakdown, Breakdown]) -> str:
    """A canonical pair as text: its two dimensions' names joined by summaries.PAIR ("provider|language")."""
    return summaries.PAIR.join(summaries.dimension_of(part) for part in pair)


def _breakdown(name: str) -> Breakdown:
    """The linked dimension a summaries.dimension_of name stands for: "background:<key>" or a scope name."""
    if name.startswith(summaries.BACKGROUND):
        return Breakdown("background", name.removeprefix(summaries.BACKGROUND))
    return Breakdown(name)


def _one_way(session: Session, campaign_id: int, dimensions: list[Breakdown]) -> dict[Breakdown, dict]:
    """Dimension -> group -> (StatusCounts, Moments) of one campaign, as aggregates.response_tallies gives
    them, in one query over the tallies the mixing step keeps (every table asks for the plan: six queries
    were most of a warm plan's time)."""
    names = {summaries.dimension_of(dimension): dimension for dimension in dimensions}
    one_way: dict[Breakdown, dict] = {dimension: {} for dimension in dimensions}
    tally = ResponseTally
    for name, text, complete, partial, partly, scored, total, squares in session.execute(
            select(tally.dimension, tally.group_value, tally.complete, tally.partial, tally.partly_scored,
                   tally.scored, tally.score_sum, tally.score_squares)
            .where(tally.campaign_id == campaign_id, tally.dimension.in_(list(names)))):
        one_way[names[name]][summaries.group_value(name, text)] = (
            StatusCounts(complete, partial, partly), Moments(scored, float(total), float(squares)))
    return one_way


def _kept(key: tuple, make) -> LinkedPlan:
    """The plan kept under `key` in this process, or `make()`'s, kept (the PLANS_KEPT most recent)."""
    made = _kept_plan(key)
    return made if made is not None else _keep(key, make())


def _kept_plan(key: tuple) -> LinkedPlan | None:
    """The plan kept under `key` in this process, or None."""
    with _PLANS_LOCK:
        if key in _PLANS:
            _PLANS.move_to_end(key)
            return _PLANS[key]
    return None


def _keep(key: tuple, made: LinkedPlan) -> LinkedPlan:
    """Keep `made` under `key` (the PLANS_KEPT most recent plans) and return it."""
    with _PLANS_LOCK:
        _PLANS[key] = made
        while len(_PLANS) > PLANS_KEPT:
            _PLANS.popitem(last=False)
    return made


def _links_plan(session: Session, selection: Selection, k: int) -> LinkedPlan:
    """The linked suppression of the claimed links (the response rate's numerator) by provider, programme and
    channel (denominators.RATE_DIMENSIONS) and their pairs: P2's 3 claims hidden beside P1's 9 must not come
    back as the programme only P1 gives (tests/test_results_linked_tables.py). Kept by the campaign's links
    handed out and claimed, which every new or claimed link changes."""
    dimensions = [Breakdown(name) for name in RATE_DIMENSIONS]
    # One query, not three: links are only ever added or claimed until finalisation moves their counts,
    # the same ones, to the cell counts - so the campaign's totals change whenever any group's do.
    totals = (link_counts(session, selection, None) or {}).get(None)
    finalised = session.get(Campaign, selection.campaign_ids[0]).finalised_on is not None
    signature = (finalised, totals.handed_out if totals else 0, totals.answered if totals else 0)

    def made() -> LinkedPlan:
        """The links' plan itself: their one-way and two-way counts, solved and audited like any column."""
        one_way = {dimension: link_counts(session, selection, dimension) or {} for dimension in dimensions}
        pairs = [canonical_pair(first, second) for first, second in combinations(dimensions, 2)]
        counts = {("m", d, group): claims.answered for d, table in one_way.items() for group, claims in table.items()}
        counts.update({("x", pair, group): claims.answered for pair in pairs
                       for group, claims in (link_counts(session, selection, pair) or {}).items()})
        counts = _ordered(counts, sorted(counts, key=cell_order))
        hidden = _Column(counts, published_lines(counts, dimensions, pairs), tuple(pairs)).solve(k)
        return LinkedPlan({"links": {d: frozenset(key for kind, part, key in hidden if kind == "m" and part == d)
                                     for d in dimensions}},
                          {"links": {p: frozenset(key for kind, part, key in hidden if kind == "x" and part == p)
                                     for p in pairs}})

    return _kept(("links", selection.campaign_ids, k, signature), made)


def forget_plans() -> None:
    """Drop every plan this process keeps (tests that rebuild a campaign's answers under the same id)."""
    with _PLANS_LOCK:
        _PLANS.clear()


def _signature(one_way: Mapping[Breakdown, Mapping]) -> tuple:
    """The one-way counts a plan is made from, as a hashable value (responses and NKI answers per group)."""
    return tuple((dimension.dimension, dimension.question_key,
                  tuple(sorted(((value_order(group), statuses.complete, statuses.partial, scores.n)
                                for group, (statuses, scores) in table.items()))))
                 for dimension, table in one_way.items())


def _made(session: Session, selection: Selection, dimensions: list[Breakdown], one_way: Mapping, k: int,
          definition: SurveyDefinition, questions: tuple[str, ...], previous: LinkedPlan | None = None) -> LinkedPlan:
    """`plan`'s work: the two-way counts, then each column's hidden cells (`_hidden_per_column`), keeping
    those of the `previous` plan that still protect a small count (`sticky_cells`)."""
    pairs = [canonical_pair(first, second) for first, second in combinations(dimensions, 2)]
    two_way = {pair: aggregates.response_tallies(session, selection, pair) for pair in pairs}
    answered_one_way = {dimension: aggregates.answered_counts(session, selection, dimension, questions)
                        for dimension in dimensions} if questions else {}
    answered_two_way = {pair: aggregates.answered_counts(session, selection, pair, questions)
                        for pair in pairs} if questions else {}

    # The full combinations of every dimension, for the feasibility audit (feasibility.py): one query each.
    combined = tuple(dimensions)
    cube_tallies = aggregates.joined_response_tallies(session, selection, combined)
    cube_answered = aggregates.answered_counts(session, selection, combined, questions) if questions else {}

    # Every cell with a response (a cell with an answer has one), in the one order of every column.
    order = sorted(_counts("responses", one_way, two_way), key=cell_order)

    def column(name: str) -> _Column:
        """One column's counts, in `order`, its published sums and its combinations' counts."""
        if name in _RESPONSE_COLUMNS:
            counts = _ordered(_counts(name, one_way, two_way), order)
            combinations_ = {key: _column_count(name, tallies) for key, tallies in cube_tallies.items()}
        else:
            counts = _ordered(_question_counts(name, answered_one_way, answered_two_way), order)
            combinations_ = {key: answered.get(name, 0) for key, answered in cube_answered.items()}
        cube = feasibility.Cube(combined, {key: n for key, n in combinations_.items() if n > 0})
        return _Column(counts, published_lines(counts, dimensions, pairs), tuple(pairs), cube)

    columns = {name: column(name) for name in (*_RESPONSE_COLUMNS, *questions)}
    sticky = {name: sticky_cells(column, _cells_of(previous, name), k) for name, column in columns.items()}
    hidden = _hidden_per_column(columns, k, tuple(q for q in definition.index.questions if q in questions), sticky)
    margins = {name: {d: frozenset(key for kind, part, key in cells if kind == "m" and part == d)
                      for d in dimensions} for name, cells in hidden.items()}
    crossed = {name: {p: frozenset(key for kind, part, key in cells if kind == "x" and part == p) for p in pairs}
               for name, cells in hidden.items()}
    return LinkedPlan(margins, crossed)


@dataclass
class _Column:
    """One column's cells with answers (id -> count, in `cell_order`) and its published sums."""

    counts: dict[tuple, int]
    lines: list[SumLine]
    #: The two-way tables planned (scope.canonical_pair), for the relations between them (`component_leaks`).
    pairs: tuple = ()
    #: The counts of the full combinations, for the feasibility audit; None: not audited (the claimed links).
    cube: feasibility.Cube | None = None

    @cached_property
    def lone(self) -> frozenset:
        """The cells that are the only member of a line with a total: hiding one hides that total too."""
        return frozenset(line.members[0] for line in self.lines if line.total is not None and len(line.members) == 1)

    def solve(self, k: int, seeds: Iterable = ()) -> frozenset:
        """Its hidden cells from `seeds` and its own 1..k-1 cells (`solve`), then every rectangle closed
        (`rectangle_leaks`) and every relation between tables (`component_leaks`, `nested_leaks`): a leak
        hides the smallest shown cell it used, and the whole is solved again (each round only hides, so it
        ends)."""
        hidden = solve(self.counts, self.lines, k, seeds)
        while True:
            used = (rectangle_leaks(self.counts, hidden, k) or component_leaks(self.counts, hidden, k, self.pairs)
                    or nested_leaks(self.counts, hidden, k, self.pairs)
                    or (self.cube is not None and feasibility.pinned(self.cube, self.counts, hidden, k)))
            if not used:
                return hidden
            # The smallest, ties in `cell_order`: the same cell in every process, whatever its set order.
            smallest = min(used, key=lambda cell: (self.counts[cell], cell_order(cell)))
            hidden = solve(self.counts, self.lines, k, hidden | {smallest})


def rectangle_leaks(counts: Mapping[tuple, int], hidden: frozenset, k: int) -> set:
    """The shown margins that some rectangle of a two-way table needs to give away 1..k-1 answers.

    The line rule protects each row and column alone, not their sums: in
    provider x channel with P2 and P3 hidden in SMS (20 together), QR and
    paper (2 each; P2, P3, QR and paper hidden as margins too), the total
    less P1's row less SMS's column plus (P1, SMS) - all shown - is P2's
    QR plus P3's paper: 4 answers (the third breaker, 2026-12-01). In
    general, for rows R whose total is known - rows with shown margins, and
    the rows with hidden margins all together (the table's total less the
    shown ones) - and the columns C with shown totals whose hidden cells all
    lie in R, R's total less C's gives the hidden cells of R outside C. R
    is tried as each such column's hidden rows, and as two columns'
    together; both ways round. Returns the shown margins (of R's rows and of
    C) of every R whose cells outside C hold 1..k-1; empty: no leak found.
    """
    used: set = set()
    for pair, cells in _hidden_by_pair(counts, hidden).items():
        for axis in (0, 1):
            row_dimension, column_dimension = pair[axis], pair[1 - axis]
            rows_of: dict = {}  # a column -> its hidden cells' rows
            for cell in cells:
                rows_of.setdefault(cell[2][1 - axis], set()).add(cell[2][axis])
            usable = {column: rows for column, rows in rows_of.items()
                      if ("m", column_dimension, column) not in hidden}
            unknown = {key for kind, part, key in hidden if kind == "m" and part == row_dimension}
            candidates = {frozenset(rows) for rows in usable.values()}
            candidates |= {first | second for first in list(candidates) for second in candidates if first != second}
            for rows in {rows | unknown if rows & unknown else rows for rows in candidates}:
                closed = {column for column, hidden_rows in usable.items() if hidden_rows <= rows}
                outside = sum(counts[cell] for cell in cells
                              if cell[2][axis] in rows and cell[2][1 - axis] not in closed)
                if 0 < outside < k:
                    used |= {("m", row_dimension, row) for row in rows - unknown}
                    used |= {("m", column_dimension, column) for column in closed}
    return {cell for cell in used if cell in counts}


def component_leaks(counts: Mapping[tuple, int], hidden: frozenset, k: int, pairs: Sequence[tuple]) -> set:
    """The shown cells of a relation between two-way tables that give a hidden cell away; empty: none found.

    Where the empty cells of X x Y split it into blocks - providers R give
    only programmes C, and C are given only by R - every third dimension Z
    has sum over R of (r, z) = sum over C of (c, z): JPG's men are P2's men
    and P3's when only P2 and P3 give JPG and give nothing else (the third
    breaker, 2026-12-01: JPG's men less P3's men were P2's 3). When one side
    is all shown, the other's hidden cells must be none, or two or more
    holding k together, as in a line; otherwise its smallest shown cells
    are returned. A block of the whole table says nothing and is skipped.
    """
    pair_of = {frozenset(pair): pair for pair in pairs}
    cell = functools.partial(_crossed_cell, pair_of)

    by_pair: dict[tuple, list] = {}
    for item in counts:
        if item[0] == "x":
            by_pair.setdefault(item[1], []).append(item[2])
    thirds = {part for pair in pairs for part in pair}
    fixes: set = set()
    for pair in pairs:
        for rows, columns in _blocks(by_pair.get(pair, ())):
            if rows == {key[0] for key in by_pair[pair]}:
                continue  # the whole table: its rows' and columns' sums are the same total
            for third in thirds - set(pair):
                if cell(pair[0], None, third, None) is None or cell(pair[1], None, third, None) is None:
                    continue
                values = set()  # the third dimension's values met by the block's rows or columns
                for dimension, members in ((pair[0], rows), (pair[1], columns)):
                    for member in members:
                        first = cell(dimension, member, third, None)
                        position = 1 if first[1][0] == dimension else 0
                        values |= {key[position] for key in by_pair.get(first[1], ())
                                   if key[1 - position] == member}
                for z in values:
                    left = [c for c in (cell(pair[0], row, third, z) for row in rows) if c in counts]
                    right = [c for c in (cell(pair[1], col, third, z) for col in columns) if c in counts]
                    for side, other in ((left, right), (right, left)):
                        if any(c in hidden for c in other):
                            continue
                        concealed = [c for c in side if c in hidden]
                        if concealed and (len(concealed) == 1 or sum(counts[c] for c in concealed) < k) and other:
                            fixes.add(min(other, key=lambda c: (counts[c], cell_order(c))))
    return fixes


def nested_leaks(counts: Mapping[tuple, int], hidden: frozenset, k: int, pairs: Sequence[tuple]) -> set:
    """The shown cells of two tables that share a margin whose difference is a three-way count of 1..k-1.

    Where a value c of Y has answers with one value x of X only (X x Y's
    other cells of c are empty), every z of a third dimension Z has
    (z, x) = (z, x, c) + the rest of (z, x), and (z, c) = (z, x, c): so
    (z, x) of Z x X less (z, c) of Z x Y is the rest, a three-way count no
    table shows (the breaker, 2026-12-01: Tre's SO less Tre's "no gender",
    all in SO, was 3 answers to y of Tre's women and men in SO). It must be
    0 or k and more; otherwise both cells are returned, and the smaller is
    hidden. Empty: none found.
    """
    pair_of = {frozenset(pair): pair for pair in pairs}
    cell = functools.partial(_crossed_cell, pair_of)

    # (pair, one of its dimensions) -> a value of that dimension -> the other dimension's values it has answers with
    partners: dict[tuple, dict] = {}
    for item in counts:
        if item[0] == "x":
            pair, (first, second) = item[1], item[2]
            partners.setdefault((pair, pair[0]), {}).setdefault(first, set()).add(second)
            partners.setdefault((pair, pair[1]), {}).setdefault(second, set()).add(first)
    dimensions = {part for pair in pairs for part in pair}
    used: set = set()
    for (pair, inner), values in partners.items():
        outer = pair[1] if inner == pair[0] else pair[0]  # c of `inner` lies in one x of `outer`
        for c, xs in values.items():
            if len(xs) != 1:
                continue
            (x,) = xs
            for third in dimensions - {outer, inner}:
                whole_pair = pair_of.get(frozenset((third, outer)))
                for z in partners.get((whole_pair, outer), {}).get(x, ()):
                    whole, part = cell(third, z, outer, x), cell(third, z, inner, c)
                    if part is None or whole in hidden or part in hidden:
                        continue
                    if 0 < counts.get(whole, 0) - counts.get(part, 0) < k:
                        used |= {whole, part} & counts.keys()
    return used


def _crossed_cell(pair_of: Mapping[frozenset, tuple], dimension, value, other, other_value):
    """The cell id of (`value` of `dimension`, `other_value` of `other`) in their two-way table, whichever of the
    two its canonical pair (`pair_of`: the pair by its two dimensions) puts first; None if the pair is not
    planned."""
    pair = pair_of.get(frozenset((dimension, other)))
    if pair is None:
        return None
    return ("x", pair, (value, other_value) if pair[0] == dimension else (other_value, value))


def _blocks(keys) -> list[tuple[set, set]]:
    """The blocks (rows, columns) of a two-way table's cells with answers: connected through shared rows or
    columns (union-find over both)."""
    parent: dict = {}

    def root(node):
        """`node`'s block (its representative), halving the path on the way."""
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for first, second in keys:
        parent[root((0, first))] = root((1, second))
    blocks: dict = {}
    for first, second in keys:
        rows, columns = blocks.setdefault(root((0, first)), (set(), set()))
        rows.add(first)
        columns.add(second)
    return list(blocks.values())


def _hidden_by_pair(counts: Mapping[tuple, int], hidden: frozenset) -> dict[tuple, list]:
    """Pair -> its hidden two-way cells (in `counts` order)."""
    by_pair: dict[tuple, list] = {}
    for cell in counts:
        if cell[0] == "x" and cell in hidden:
            by_pair.setdefault(cell[1], []).append(cell)
    return by_pair


def _cells_of(made: LinkedPlan | None, column: str) -> frozenset:
    """A plan's hidden cells of one column as cell ids (`_counts`): ("m", dimension, key), ("x", pair, (a, b))."""
    if made is None:
        return frozenset()
    return frozenset({("m", dimension, key) for dimension, keys in made.margins.get(column, {}).items() for key in keys}
                     | {("x", pair, key) for pair, keys in made.cells.get(column, {}).items() for key in keys})


def sticky_cells(column: _Column, previously_hidden: frozenset, k: int) -> frozenset:
    """The cells of the plan shown before the last mixing (`previously_hidden`) that the new plan keeps hidden:
    every one joined, through lines among those cells, to a cell hidden then and still 1..k-1 now.

    The third breaker of 2026-12-01 (tests/test_results_mixing_patterns.py):
    P2's 3 answers to y were hidden with P1 (9) as the complement; a batch of
    k in P1's cell made P3 the smaller, so P3 was hidden instead and P1
    shown. The batch shows where it went and what it held, so P1 before =
    P1 after less the batch, and the total before less P3 less P1 gave P2
    back. A count hidden then and still small keeps what protected it then:
    its complement, and through shared lines whatever protected that (a
    hidden margin's hidden cell in its row) - a cell shown now whose change
    the batch explains would give its old value, and with it the small one.
    Once no small count is left in such a group, it is shown again - and
    the batch that grew the small count then gives it back as it was
    (docs/analytics.md, "Before and after a mixing"): this closes the leak
    of a group the mixing did not touch, and puts off that of one it did.
    """
    hidden = {cell for cell in previously_hidden if cell in column.counts}
    small = [cell for cell in hidden if 0 < column.counts[cell] < k]
    if not small:
        return frozenset()
    neighbours: dict[tuple, set] = {cell: set() for cell in hidden}
    for line in column.lines:
        joined = [cell for cell in (*line.members, line.total) if cell in neighbours]
        for cell in joined:
            neighbours[cell].update(joined)
    kept, waiting = set(small), list(small)
    while waiting:
        for cell in neighbours[waiting.pop()] - kept:
            kept.add(cell)
            waiting.append(cell)
    return frozenset(kept)


def _hidden_per_column(columns: Mapping[str, _Column], k: int, index_questions: tuple[str, ...],
                       sticky: Mapping[str, frozenset] | None = None) -> dict[str, frozenset]:
    """Column name -> its hidden cells: each column on its own, but the NKI with its index questions;
    each from its `sticky` cells (`sticky_cells`) on.

    A column is not seeded with the cells hidden for their responses: each
    column's plan protects its own small counts, and a cell seeded where
    its count is large can be the only member of a line in that column,
    whose total then goes for nothing (the API's figures: Bro's one QR
    response hid every provider's NKI that way). The tables still hide a
    row hidden for its responses in every column.

    The NKI and its index questions (`index_questions`): a cell hidden in a
    question, or for its partly scored respondents, is hidden in the NKI
    (the NKI and the other questions would give it back, or a weighted sum
    of those respondents' answers), and a cell hidden in the NKI is hidden in at least one
    of its questions (or the questions would give the NKI back): the first
    that has answers there, so that these cells gather in one question's
    column instead of opening lines in all of them. Repeated until no
    question is given another cell (each pass only hides, so it ends).
    """
    sticky = {name: frozenset() for name in columns} | dict(sticky or {})
    hidden = {name: column.solve(k, sticky[name]) for name, column in columns.items()
              if name != "index" and name not in index_questions}
    in_index = columns["index"].solve(k, hidden["partly_scored"] | sticky["index"])
    given: dict[str, set] = {question: set() for question in index_questions}
    while True:
        # Each question starts from what the NKI hides (not where that would hide a total for nothing), so
        # that a small answer count finds its complement there instead of hiding a complete provider's NKI.
        in_questions = {question: columns[question].solve(
                            k, (in_index - columns[question].lone) | given[question] | sticky[question])
                        for question in index_questions}
        again = columns["index"].solve(k, in_index.union(hidden["partly_scored"], *in_questions.values()))
        more = False
        for cell in again:
            holders = [question for question in index_questions if cell in columns[question].counts]
            if holders and not any(cell in in_questions[question] for question in holders):
                given[holders[0]].add(cell)
                more = True
        if again == in_index and not more:
            return {**hidden, **in_questions, "index": in_index}
        in_index = again


def _counts(column: str, one_way: Mapping, two_way: Mapping) -> dict[tuple, int]:
    """Cell id -> its count in `column`: ("m", breakdown, key) for margins, ("x", pair, (a, b)) for cells."""
    counts = {("m", breakdown, key): _column_count(column, value) for breakdown, table in one_way.items()
              for key, value in table.items()}
    counts.update({("x", pair, key): _column_count(column, value)
                   for pair, table in two_way.items() for key, value in table.items()})
    return counts


def _column_count(column: str, tallies: tuple[StatusCounts, Moments]) -> int:
    """A group's count in one of _RESPONSE_COLUMNS from its (StatusCounts, Moments): responses, responses with
    an NKI, or those partly scored."""
    statuses, scores = tallies
    if column == "partly_scored":
        return statuses.partly_scored
    return statuses.responses if column == "responses" else scores.n


def _question_counts(question: str, one_way: Mapping, two_way: Mapping) -> dict[tuple, int]:
    """Cell id -> answers to `question` with a value or an option, as `_counts` gives a column's."""
    counts = {("m", breakdown, key): questions.get(question, 0) for breakdown, table in one_way.items()
              for key, questions in table.items()}
    counts.update({("x", pair, key): questions.get(question, 0) for pair, table in two_way.items()
                   for key, questions in table.items()})
    return counts


def _ordered(counts: Mapping[tuple, int], order: Sequence[tuple]) -> dict[tuple, int]:
    """The cells of `counts` with answers, in `order` (every cell, sorted by `cell_order` once per plan): one
    order whatever order the database returned the groups in - ties are broken by it, and two processes (or
    SQLite and PostgreSQL) must hide the same cells."""
    return {cell: counts[cell] for cell in order if counts.get(cell, 0) > 0}


def cell_order(cell: tuple) -> tuple:
    """A cell id's place in the one order `plan` works in: kind, dimension(s), then the key's values."""
    kind, part, key = cell
    parts = part if isinstance(part, tuple) else (part,)
    return kind, tuple((b.dimension, b.question_key or "") for b in parts), value_order(key)


@dataclass(frozen=True)
class SumLine:
    """A published sum: `members` (cells with answers) add up to `total`, a margin cell, or a shown sum (None)."""

    members: tuple
    total: tuple | None = None


def published_lines(counts: Mapping[tuple, int], dimensions: list[Breakdown], pairs: list) -> list[SumLine]:
    """Every published sum among the planned cells (module docstring), finest first."""
    of_part: dict[tuple, list] = {}  # (kind, dimension or pair) -> its cells, in `counts` order
    for cell in counts:
        of_part.setdefault(cell[:2], []).append(cell)
    lines: list[SumLine] = []
    for dimension in dimensions:
        keys = sorted((cell[2] for cell in of_part.get(("m", dimension), ())), key=value_order)
        if dimension.dimension == "month":
            lines += [SumLine(tuple(("m", dimension, month) for month in line.members))
                      for line in period_lines(keys) if len(line.members) < len(keys)]
        lines.append(SumLine(tuple(("m", dimension, key) for key in keys)))
    for pair in pairs:
        cells = of_part.get(("x", pair), ())
        for axis in (0, 1):
            other = pair[1 - axis]
            of_value: dict = {}
            for cell in cells:
                of_value.setdefault(cell[2][axis], []).append(cell)
            for value in sorted(of_value, key=value_order):
                members = of_value[value]
                if other.dimension == "month":
                    # A period holding all of the line's months is the line itself, with its total (a margin).
                    for line in period_lines(sorted((cell[2][1 - axis] for cell in members), key=value_order)):
                        within = tuple(cell for cell in members if cell[2][1 - axis] in line.members)
                        if len(within) < len(members):
                            lines.append(SumLine(within))
                total = ("m", pair[axis], value)
                # Its total is the one-way row, always counted where the row has answers; should a grouping
                # ever differ, the line still binds as a published sum.
                lines.append(SumLine(tuple(members), total if total in counts else None))
    return lines


def solve(counts: Mapping[tuple, int], lines: list[SumLine], k: int, seeds: Iterable = ()) -> frozenset:
    """The hidden cells of `counts` (id -> answers, > 0) under `lines`, from `seeds` and the 1..k-1 cells.

    Until nothing changes: a line with a shown total whose hidden members
    are one, or hold fewer than k answers together, hides another member
    or its total; a line whose total is hidden but whose members are all
    shown (their sum would be the total) hides a member. The cell hidden is
    the one that opens the fewest other lines (a line with nothing hidden
    yet would need a second cell), then the smallest, then the first in
    `counts` - so complements go where cells are already hidden instead of
    spreading. Each step only hides, so it ends.
    """
    order = {cell: position for position, cell in enumerate(counts)}
    hidden = {cell for cell in seeds if cell in counts} | {cell for cell, n in counts.items() if n < k}
    member_of: dict[tuple, list[SumLine]] = {}
    total_of: dict[tuple, list[SumLine]] = {}
    for line in lines:
        for cell in line.members:
            member_of.setdefault(cell, []).append(line)
        if line.total is not None:
            total_of.setdefault(line.total, []).append(line)

    def cost(cell, line: SumLine) -> tuple:
        """What hiding `cell` for `line` opens elsewhere, then its size and order: each other line with
        nothing hidden yet will need one more cell (2 where `cell` is its only member: its total must go)."""
        opened = 0
        for other in member_of.get(cell, ()):
            if other is not line and not _any_hidden(other, hidden):
                opened += 2 if other.total is not None and len(other.members) == 1 else 1
        opened += sum(1 for other in total_of.get(cell, ()) if other is not line and not _any_hidden(other, hidden))
        return opened, counts[cell], order[cell]

    changed = True
    while changed:
        changed = False
        for line in lines:
            candidates = _candidates(line, hidden, counts, k)
            if candidates:
                hidden.add(min(candidates, key=lambda cell: cost(cell, line)))
                changed = True
    return frozenset(hidden)


def _any_hidden(line: SumLine, hidden: set) -> bool:
    """Whether `line` already has a hidden member or a hidden total (a second hidden cell then protects it)."""
    return (line.total is not None and line.total in hidden) or any(cell in hidden for cell in line.members)


def _candidates(line: SumLine, hidden: set, counts: Mapping[tuple, int], k: int) -> list:
    """The cells one of which `line` needs hidden next; [] when it gives nothing away."""
    shown = [cell for cell in line.members if cell not in hidden]
    if line.total is not None and line.total in hidden:
        # Its total is unknown - unless every member is shown, when it is their sum.
        return shown if shown and len(shown) == len(line.members) else []
    if line.total is None and sum(counts[cell] for cell in line.members) < k:
        return []  # a sum of fewer than k is itself hidden: it publishes nothing
    concealed = [cell for cell in line.members if cell in hidden]
    if not concealed or (len(concealed) >= 2 and sum(counts[cell] for cell in concealed) >= k):
        return []
    return shown + ([line.total] if line.total is not None else [])  # another member, or the total itself
