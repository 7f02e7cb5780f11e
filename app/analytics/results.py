"""The one results layer: every figure any page, chart, export or API shows comes from here, suppressed.

`result_table` runs the SQL (aggregates.py, denominators.py), decides what
must be hidden (suppression.py) and only then turns counts into figures
(statistics.py). A hidden figure is replaced by `HIDDEN` before it leaves
this module: no template, export or API response ever holds the value, so
none can show it by mistake.

What is hidden, with k = MIN_CELL_SIZE (>= 5):
- a selection with more than MAX_FILTERS filters - nothing of it is shown
  (a provider account's own provider is a filter: its figures are broken
  down, not filtered further);
- a selection (the campaigns and filters asked for) with fewer than k
  responses, or whose complement within any one-filter-less parent holds
  1..k-1 responses (filter "women" leaves 3 men: refused, or the total
  minus the women would be the 3 men) - the whole table is refused;
- per column (responses; NKI; each question; claimed links), each group
  whose count is 1..k-1, or whose complement within a one-filter-less
  parent's same group is 1..k-1 (primary), then more groups until no line
  - the table's total, a tertial's or a year's months - gives one away
  (secondary; suppression.py). A group hidden for its responses is hidden
  in every column; the NKI and its index questions hide together;
- what a filter's parent table hides in the filtered row, and what the
  crossed table of a filter with the breakdown hides (one suppression for
  "women by provider" and "P2 by gender"); totals of 1..k-1 answers;
- first of all, in every column, what the campaign's linked suppression
  hides (linked.py: every one-way and two-way table of the campaign
  suppressed together, so that a group hidden in one table is not the
  very answers of a group shown in another).

Several campaigns are pooled from each campaign's own table, figure by
figure, and only from what those tables show (`_pooled_table`): a pooled
figure is hidden wherever one of its campaigns' figures is. Every pooled
figure is then a sum of shown figures, so no pool and no difference of a
pool and its campaigns gives a hidden figure back.
docs/analytics.md states the rules with their reasons and what they cannot
rule out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from ..campaigns.models import Campaign
from ..surveys.definition import ChoiceQuestion, ScaleQuestion, SurveyDefinition, TextQuestion, YesNoQuestion
from . import aggregates, linked
from .aggregates import DONT_KNOW, TEXT, StatusCounts
from .linked import LINKED_COLUMNS
from .denominators import RATE_DIMENSIONS, HandedOut, link_counts
from .scope import PERIOD_DIMENSIONS, Breakdown, Selection, canonical_pair, period_of
from .statistics import Comparison, Moments, Summary, compare_each_with_rest, moments_of, summarise
from .suppression import Line, hidden_cells, period_lines


class Hidden:
    """The one value a suppressed figure has once it leaves this module (`HIDDEN`)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "HIDDEN"

    def __bool__(self) -> bool:
        return False


#: Stands for a figure derived from too few answers; exports write "..", the statistical offices' sign.
HIDDEN = Hidden()

#: The key of a table's total row.
TOTAL = "total"


#: The most filters a table may have: with its breakdown, every figure shown is then a cell of a two-way
#: table (provider x gender, within the campaign), suppressed once with all its rows and columns.
#: A second filter would publish three-way cells (Bro x tertial 1 x women), and the four tables
#: "Bro", "Bro in tertial 1", "Bro among women" and "Bro among women in tertial 1" give by
#: inclusion-exclusion Bro's answers outside both filters (16 - 10 - 10 + 5 = 1 respondent: the second
#: breaker's attack), which no check of one table or one filter at a time sees (docs/analytics.md).
MAX_FILTERS = 1


class SelectionRefused(Exception):
    """The selection itself (or its complement in a parent) holds too few responses to show anything.

    `reason` is "too_few" (the selection holds 1..k-1 responses),
    "complement" (what a filter leaves out holds 1..k-1: showing this would
    give those away by subtraction) or "filters" (more than MAX_FILTERS
    filters: the table would be a slice of a three-way table).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class QuestionFigures:
    """One question's figures in one group (shown: nothing here is hidden).

    `n` counts the answers with a value or an option (not "don't know",
    not text); `summary` (n, mean, sd, 95 % t interval on the question's
    scale, 1..points, or 0-1 for yes/no: the share of yes) is None for a
    choice question; `share_positive` is 0-1 (answers >= the scale's
    positive_from, or yes) over `n`; `distribution` is (answer, count) in
    the question's order - scale points 1..points, then yes/no as 1/0, or
    option keys - with `dont_know` apart (not a scale value).
    """

    question_key: str
    n: int
    summary: Summary | None
    share_positive: float | None
    distribution: tuple[tuple[object, int], ...]
    dont_know: int


@dataclass(frozen=True)
class GroupFigures:
    """One row of a result table: a group (provider, month, ...) or the total (`key` TOTAL).

    Every figure is a value, HIDDEN (suppressed), or None where there is
    nothing to show (no index answers: "missing"; no denominator: "not
    known"). `nki` is on the index scale (1..points for "mean", 0-100 for
    "scb100" and "share_positive"); `response_rate` 0-1 over the links
    handed out; `comparison` is against all other groups pooled (Welch +
    Holm, statistics.py), None where not compared.
    """

    key: object
    responses: int | Hidden
    complete: int | Hidden | None  # None in a group row: only the total is split (`_total_split`)
    partial: int | Hidden | None
    nki: Summary | Hidden | None
    handed_out: int | Hidden | None
    answered: int | Hidden | None
    response_rate: float | Hidden | None
    questions: Mapping[str, QuestionFigures | Hidden]
    comparison: Comparison | None = None


@dataclass(frozen=True)
class ResultTable:
    """A selection broken down by one dimension: rows per group, a total, and what was hidden.

    `rows` are in the breakdown's natural order (groups with no response
    are absent; None is the merged group "not shown"); `k` the threshold
    used; `hidden_groups` how many rows are hidden (pages say so). A
    pooled table (several campaigns) holds in `selection` the campaigns
    pooled, and in `left_out` those of the asked selection whose own table
    refuses it (too few answers in or outside it there): they are in no
    figure; `parts` are the pooled campaigns' own tables ((): not pooled).
    """

    selection: Selection
    breakdown: Breakdown
    definition: SurveyDefinition
    rows: tuple[GroupFigures, ...]
    total: GroupFigures
    k: int
    hidden_groups: int = field(default=0)
    left_out: tuple[int, ...] = field(default=())
    parts: tuple[ResultTable, ...] = field(default=())


def figure_questions(definition: SurveyDefinition) -> tuple[str, ...]:
    """Keys of the questions that have figures (scale, yes/no, choice), in survey order; free text has comments instead."""
    return tuple(q.key for q in definition.questions if not isinstance(q, TextQuestion))


def text_questions(definition: SurveyDefinition) -> tuple[str, ...]:
    """Keys of the free-text questions, in survey order."""
    return tuple(q.key for q in definition.questions if isinstance(q, TextQuestion))


def selection_definition(session: Session, selection: Selection) -> SurveyDefinition:
    """The survey definition of the selection's campaigns.

    Raises ValueError when the campaigns do not share one index definition
    (figures across them would not be comparable) or a campaign is unknown.
    """
    definitions = []
    for campaign_id in selection.campaign_ids:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise ValueError(f"no campaign {campaign_id}")
        definitions.append(campaign.survey_version.definition)
    first = definitions[0]
    if any(d.index != first.index or d.key != first.key for d in definitions[1:]):
        raise ValueError("the campaigns do not share one survey and index definition")
    return first


@dataclass
class _Tallies:
    """What the SQL gives for one selection broken down one way (aggregates.py), before any figure.

    `answers` holds the distributions of the questions whose figures are
    asked for; `answered` only the counts (answers with a value or an
    option) of `counted`, the questions suppression looks at without showing.
    """

    statuses: dict
    index: dict
    answers: dict
    links: dict | None
    answered: dict = field(default_factory=dict)
    counted: frozenset = frozenset()
    _counts: dict = field(default_factory=dict, repr=False)

    def counts(self, column: str) -> dict:
        """Group -> the count that decides suppression in `column` ("responses", "index", "partly_scored",
        "links" or a question key).

        Made once per column: suppression asks for a column's counts again on every pass.
        """
        if column not in self._counts:
            self._counts[column] = self._count(column)
        return self._counts[column]

    def _count(self, column: str) -> dict:
        if column == "responses":
            return {key: value.responses for key, value in self.statuses.items()}
        if column == "index":
            return {key: value.n for key, value in self.index.items()}
        if column == "partly_scored":
            return {key: value.partly_scored for key, value in self.statuses.items()}
        if column == "links":
            return {key: value.answered for key, value in (self.links or {}).items()}
        if column in self.counted:
            return {key: questions.get(column, 0) for key, questions in self.answered.items()}
        return {key: _answered(questions.get(column, {})) for key, questions in self.answers.items()}


def _answered(distribution: Mapping[object, int]) -> int:
    """Answers with a value or an option in a distribution: what a question's figures are made of."""
    return sum(count for answer, count in distribution.items() if answer not in (DONT_KNOW, TEXT))


def _tally(session: Session, selection: Selection, breakdown: Breakdown, questions: tuple[str, ...],
           counted: tuple[str, ...] = ()) -> _Tallies:
    """Run every aggregate of the selection (one SQL query each): the distributions of `questions`,
    only the counts of `counted` (suppression needs no more of them)."""
    counted = tuple(question for question in counted if question not in questions)
    responses = aggregates.response_tallies(session, selection, breakdown)
    return _Tallies(
        statuses={key: statuses for key, (statuses, _scores) in responses.items()},
        index={key: scores for key, (_statuses, scores) in responses.items() if scores.n},
        answers=aggregates.answer_counts(session, selection, breakdown, questions) if questions else {},
        links=link_counts(session, selection, breakdown),
        answered=aggregates.answered_counts(session, selection, breakdown, counted),
        counted=frozenset(counted),
    )


def _complement_failures(selection_counts: Mapping, parents: Iterable[Mapping], k: int) -> set:
    """Groups whose complement in some parent (the parent's count minus this one) holds 1..k-1."""
    failing = set()
    for parent in parents:
        for key, count in selection_counts.items():
            left_out = parent.get(key, 0) - count
            if 0 < left_out < k:
                failing.add(key)
    return failing


def result_table(session: Session, selection: Selection, breakdown: Breakdown, k: int,
                 compare: bool = False, questions: Sequence[str] | None = None) -> ResultTable:
    """The selection broken down by `breakdown`, every figure suppressed per k (module docstring).

    `compare` adds each group's NKI comparison against all other groups
    pooled (Welch's t, Holm over the groups compared; statistics.py).
    `questions` limits the per-question figures to these keys (None: every
    question with figures; () for none). The index questions are counted
    whatever is asked (they hide together with the NKI), the others only
    when asked - reading the answer table is most of a page's time. So
    asking for fewer changes nothing in the figures asked for.
    Several campaigns are pooled from each one's own table (`_pooled_table`).
    Raises SelectionRefused when the selection cannot be shown at all (for
    a pool: in none of its campaigns; "filters" for more than MAX_FILTERS
    filters, before any SQL), and ValueError for campaigns without one
    shared definition.
    """
    if len(selection.filters) > MAX_FILTERS:
        raise SelectionRefused("filters")
    if len(selection.campaign_ids) > 1:
        return _pooled_table(session, selection, breakdown, k, compare, questions)
    return _result_table(session, selection, breakdown, k, compare, questions, {})


def _result_table(session: Session, selection: Selection, breakdown: Breakdown, k: int, compare: bool,
                  questions: Sequence[str] | None, parents_seen: dict) -> ResultTable:
    """result_table, with the parents' tables already made in this call (`parents_seen`) reused."""
    definition = selection_definition(session, selection)
    questions = figure_questions(definition) if questions is None else tuple(questions)
    # The index questions are always counted: the NKI is (nearly) the mean of their means, so
    # what is hidden in one of them must be hidden in the NKI and the others (see below).
    linked = tuple(definition.index.questions)
    tallied = tuple(dict.fromkeys((*questions, *linked)))
    # The required questions are counted too: the total's complete/partial split hides with them.
    tallies = _tally(session, selection, breakdown, questions, counted=(*linked, *_required(definition)))
    parents = [_tally(session, selection.without(i), breakdown, (), counted=tallied)
               for i in range(len(selection.filters))]
    _check_selection(_responses_in(tallies), [_responses_in(parent) for parent in parents], k)
    inherited = _hidden_in_parents(session, selection, k, questions, parents_seen)

    keys = _ordered_keys(breakdown, tallies, _scope_members(session, selection, breakdown))
    lines = _period_lines(breakdown, keys)
    crossed = _crossed_seeds(session, selection, breakdown, keys, k, definition, tallied, parents_seen)
    if not selection.filters:
        # The campaign's linked suppression hides these rows; a filtered table gets the plan's cells through
        # its crossing (_crossed_hidden), and a filter on this table's own dimension from its parent.
        plan = _linked_plan(session, selection, definition, k, parents_seen)
        for column in (*LINKED_COLUMNS, *tallied):
            crossed[column] |= plan.rows(column, breakdown)
    months = _month_seeds(session, selection, breakdown, k, tallied, parents_seen)

    def hide(column: str, seed: Iterable = ()) -> frozenset:
        """The groups hidden in one column: primary (own count or complement), then secondary."""
        if column in inherited:
            return frozenset(keys)
        own = tallies.counts(column)
        counts = {key: own.get(key, 0) for key in keys}
        failing = _complement_failures(counts, [parent.counts(column) for parent in parents], k)
        return hidden_cells(counts, k, lines, already_hidden={*seed, *failing, *crossed.get(column, ()),
                                                              *months.get(column, ())})

    hidden = _hidden_by_column(hide, tallied, linked, with_links=tallies.links is not None)
    hidden_rows, hidden_links, hidden_index = hidden["responses"], hidden["links"], hidden["index"]
    hidden_questions = {question: hidden[question] for question in tallied}

    comparisons = {}
    if compare:
        # The merged group ("small groups combined") is no provider: it is not compared.
        shown = {key: tallies.index[key] for key in keys
                 if key is not None and key not in hidden_index and key in tallies.index and tallies.index[key].n}
        if len(shown) >= 2:
            comparisons = compare_each_with_rest(shown)

    rows = tuple(
        _group_figures(key, tallies, definition, questions, key in hidden_rows, key in hidden_index,
                       key in hidden_links, {q for q, hidden in hidden_questions.items() if key in hidden},
                       comparisons.get(key))
        for key in keys
    )
    total = _total_figures(session, selection, definition, questions, tallies, k,
                           inherited | _index_total_hidden(tallies, linked, k, inherited))
    return ResultTable(selection, breakdown, definition, rows, total, k, hidden_groups=len(hidden_rows))


#: Periods made of months: their figures are shown only where the months' own table lets them be.
COARSE_PERIODS = ("tertial", "year")


def _month_seeds(session: Session, selection: Selection, breakdown: Breakdown, k: int, tallied: tuple[str, ...],
                 memo: dict) -> dict[str, set]:
    """Column -> the tertials or years (rows of a table by `breakdown`) holding a month that the same
    selection's table by month hides in that column; {} for other breakdowns.

    The third breaker's case: a tertial whose answers all fell in March
    was a row of its own in "tertial 1 by provider", suppressed apart from
    "P2 by month", and each table hid other complements - the tertial's
    total minus one provider shown here and another's March shown there
    left one answer. A coarser period is a sum of months; hiding it
    wherever one of its months is hidden makes every coarser figure shown
    a sum of months shown, so a table by tertial or year tells nothing the
    table by month does not (docs/analytics.md, "Periods").
    """
    if breakdown.dimension not in COARSE_PERIODS:
        return {}
    by_month = _one_way(session, selection, Breakdown("month"), k, tallied, memo)
    seeds: dict[str, set] = defaultdict(set)
    if isinstance(by_month, SelectionRefused):
        return seeds  # the same selection: this table is refused too
    for row in by_month.rows:
        for column in _hidden_columns(row, tallied):
            seeds[column].add(period_of(row.key, breakdown.dimension))
    return seeds


def _one_way(session: Session, selection: Selection, breakdown: Breakdown, k: int, tallied: tuple[str, ...],
             memo: dict) -> ResultTable | SelectionRefused:
    """The selection's table by `breakdown` (every column of `tallied`), or its refusal, made once per call tree."""
    key = (frozenset(selection.filters), breakdown, tallied)
    if key not in memo:
        try:
            memo[key] = _result_table(session, selection, breakdown, k, False, tallied, memo)
        except SelectionRefused as refused:
            memo[key] = refused
    return memo[key]


def _hidden_columns(row: GroupFigures, tallied: tuple[str, ...]) -> set[str]:
    """The columns ("responses", "index", "links", question keys of `tallied`) a table's row hides."""
    if row.responses is HIDDEN:
        return {"responses"}  # hidden in every column with it
    columns = {"index"} if row.nki is HIDDEN else set()
    if row.answered is HIDDEN:
        columns.add("links")
    return columns | {question for question in tallied if row.questions.get(question) is HIDDEN}


def _linked_plan(session: Session, selection: Selection, definition: SurveyDefinition, k: int,
                 memo: dict) -> linked.LinkedPlan:
    """The linked suppression of the selection's one campaign (linked.plan) in every column a page may show
    (the responses, the NKI, each question with figures), made once per call tree."""
    key = ("linked", selection.campaign_ids)
    if key not in memo:
        memo[key] = linked.plan(session, selection.campaign_ids[0], definition, k, figure_questions(definition),
                                linked.request_wait())
    return memo[key]


def _period_lines(breakdown: Breakdown, keys: Iterable) -> list[Line]:
    """The published sums among a table's rows: each tertial's and year's months, each year's tertials."""
    keys = [key for key in keys if key is not None]
    if breakdown.dimension == "month":
        return period_lines(keys)
    if breakdown.dimension == "tertial":
        return [Line(frozenset(key for key in keys if key[0] == year)) for year in {key[0] for key in keys}]
    return []


def _crossed_seeds(session: Session, selection: Selection, breakdown: Breakdown, keys: list, k: int,
                   definition: SurveyDefinition, tallied: tuple[str, ...], memo: dict) -> dict[str, set]:
    """Column -> rows of this table hidden in the crossed table of its breakdown with one of its filters.

    The second breaker's case: "women by provider" hid P2 as P1's
    complement, and "P2 by gender" showed P2's women as a row - the same
    answers. Both tables are slices of one crossed table (provider x
    gender, within the other filters); its cells are hidden once, here,
    for both, so a cell is hidden in every table that shows it.
    """
    seeds: dict[str, set] = defaultdict(set)
    for position, item in enumerate(selection.filters):
        if item.breakdown == breakdown:
            continue
        pair = canonical_pair(item.breakdown, breakdown)
        hidden = _crossed_hidden(session, selection.without(position), pair, k, definition, tallied, memo)
        filter_axis = pair.index(item.breakdown)
        for key in keys:
            cell = (item.value, key) if filter_axis == 0 else (key, item.value)
            for column, cells in hidden.items():
                if cell in cells:
                    seeds[column].add(key)
    return seeds


def _crossed_hidden(session: Session, base: Selection, pair: tuple[Breakdown, Breakdown], k: int,
                    definition: SurveyDefinition, tallied: tuple[str, ...], memo: dict) -> dict[str, frozenset]:
    """Column -> the hidden cells (pairs of values) of `base` crossed by `pair`, made once per call tree.

    Published lines: every row and every column of the crossing (the
    filtered tables' totals and the one-way tables' rows), period lines
    within them, the whole. Seeds: the rows the one-way tables of `base`
    hide (a row hidden there is hidden in every cell of it). Then primary
    and secondary suppression per column, the NKI with its questions.
    """
    memo_key = ("crossed", frozenset(base.filters), pair)
    if memo_key in memo:
        return memo[memo_key]
    tallies = _tally(session, base, pair, (), counted=tallied)
    cells = sorted(set(tallies.statuses) | set(tallies.links or {}), key=lambda cell: tuple(map(_sort_key, cell)))
    lines: list[Line] = []
    for axis in (0, 1):
        for value in sorted({cell[axis] for cell in cells}, key=_sort_key):  # one order in every process
            members = [cell for cell in cells if cell[axis] == value]
            lines.append(Line(frozenset(members)))
            for period in _period_lines(pair[1 - axis], [cell[1 - axis] for cell in members]):
                lines.append(Line(frozenset(cell for cell in members if cell[1 - axis] in period.members)))
    seeds: dict[str, set] = defaultdict(set)
    for axis, one_way in enumerate(pair):
        parent = _one_way(session, base, one_way, k, tallied, memo)
        rows = {} if isinstance(parent, SelectionRefused) else {row.key: row for row in parent.rows}
        for cell in cells:
            if isinstance(parent, SelectionRefused):
                seeds["responses"].add(cell)
            elif cell[axis] in rows:
                for column in _hidden_columns(rows[cell[axis]], tallied):
                    seeds[column].add(cell)
    for column, hidden_cells_ in _crossed_month_seeds(session, base, pair, k, definition, tallied, memo).items():
        seeds[column] |= hidden_cells_
    if not base.filters:
        plan = _linked_plan(session, base, definition, k, memo)
        for column in (*LINKED_COLUMNS, *tallied):
            seeds[column] |= plan.crossed(column, pair)

    def hide(column: str, seed: Iterable = ()) -> frozenset:
        """The crossed cells hidden in one column: `seed` and the one-way seeds, then primary and secondary."""
        own = tallies.counts(column)
        counts = {cell: own.get(cell, 0) for cell in cells}
        return hidden_cells(counts, k, lines, already_hidden={*seed, *seeds.get(column, ())})

    hidden = _hidden_by_column(hide, tallied, tuple(definition.index.questions),
                               with_links=tallies.links is not None)
    memo[memo_key] = hidden
    return hidden


def _crossed_month_seeds(session: Session, base: Selection, pair: tuple[Breakdown, Breakdown], k: int,
                         definition: SurveyDefinition, tallied: tuple[str, ...], memo: dict) -> dict[str, set]:
    """Column -> cells of a crossing with a tertial or year that hold a cell its crossing with months hides.

    As `_month_seeds`, for the crossed tables: "tertial 1 by provider" and
    "P2 by month" show cells of provider x tertial and provider x month;
    a provider's tertial is hidden wherever one of its months is. {} when
    neither axis is a tertial or year, or both are periods.
    """
    coarse = [part for part in pair if part.dimension in COARSE_PERIODS]
    if not coarse or all(part.dimension in PERIOD_DIMENSIONS for part in pair):
        return {}
    month = Breakdown("month")
    finer = canonical_pair(*(month if part.dimension in COARSE_PERIODS else part for part in pair))
    seeds: dict[str, set] = defaultdict(set)
    for column, cells in _crossed_hidden(session, base, finer, k, definition, tallied, memo).items():
        for cell in cells:
            values = dict(zip(finer, cell))
            seeds[column].add(tuple(period_of(values[month], part.dimension) if part.dimension in COARSE_PERIODS
                                    else values[part] for part in pair))
    return seeds


def _hidden_by_column(hide: Callable[[str, Iterable], frozenset], tallied: tuple[str, ...],
                      linked: tuple[str, ...], with_links: bool) -> dict[str, frozenset]:
    """Column ("responses", "links", "index", "partly_scored", each question) -> its hidden groups, by
    `hide(column, seed)`.

    A group hidden for its responses is hidden in every column. The NKI
    and its index questions (`linked`) hide together: with everyone
    answering both a and b, NKI = (a + b) / 2, so a shown NKI and a shown a
    would give a hidden b back - repeated until nothing changes (each pass
    only hides, so it ends). So do the groups hidden for their partly
    scored respondents (1..k-1, or a complement of such a group): the NKI
    beside its questions gives a weighted sum of their answers
    (docs/analytics.md, "Partly scored").
    """
    rows = hide("responses", ())
    hidden = {"responses": rows, "links": hide("links", rows) if with_links else frozenset()}
    hidden.update({question: hide(question, rows) for question in tallied})
    hidden["index"] = hide("index", rows)
    hidden["partly_scored"] = hide("partly_scored", rows)
    while True:
        together = hidden["index"].union(hidden["partly_scored"], *(hidden[question] for question in linked))
        again = {question: hide(question, together) for question in linked}
        index_again = hide("index", together)
        if index_again == hidden["index"] and all(again[question] == hidden[question] for question in linked):
            return hidden
        hidden.update(again, index=index_again)


def _index_total_hidden(tallies: _Tallies, linked: tuple[str, ...], k: int, inherited: set[str]) -> set[str]:
    """The NKI and its questions in the total row: all hidden when any of them is (1..k-1 answers or inherited),
    or when 1..k-1 of its respondents are partly scored (`_hidden_by_column`)."""
    columns = ("index", *linked)
    small = any(0 < sum(tallies.counts(column).values()) < k or column in inherited for column in columns)
    small = small or 0 < sum(tallies.counts("partly_scored").values()) < k
    return set(columns) if small else set()


def _hidden_in_parents(session: Session, selection: Selection, k: int, questions: tuple[str, ...],
                       parents_seen: dict) -> set[str]:
    """Columns ("index", "links", question keys) hidden for the whole selection because its own cell is
    hidden in a parent's table; raises SelectionRefused("complement") when the cell's responses are.

    A filter (provider = Vägval) selects one row of the parent's table broken
    down by the filter's dimension (the campaign by provider). Whatever that
    table hides in that row - a figure of its own, or one hidden as the
    complement that keeps another row safe - this selection must hide too,
    or its total would put the hidden figure back. The parent's table is
    suppressed by these same rules, one filter fewer each time; a parent
    reached twice (filters a and b: a's parent is b alone, b's is a alone,
    and both reach the campaign) is made once, in `parents_seen`.
    """
    hidden: set[str] = set()
    for position, item in enumerate(selection.filters):
        parent_selection = selection.without(position)
        key = (frozenset(parent_selection.filters), item.breakdown, questions)
        if key not in parents_seen:
            try:
                parents_seen[key] = _result_table(session, parent_selection, item.breakdown, k, False, questions,
                                                  parents_seen)
            except SelectionRefused as refused:
                parents_seen[key] = refused
        parent = parents_seen[key]
        if isinstance(parent, SelectionRefused):
            raise SelectionRefused(parent.reason)
        row = next((row for row in parent.rows if row.key == item.value), None)
        if row is None:
            continue
        if row.responses is HIDDEN:
            raise SelectionRefused("complement")
        if row.nki is HIDDEN:
            hidden.add("index")
        if row.answered is HIDDEN:
            hidden.add("links")
        hidden |= {question for question, figures in row.questions.items() if figures is HIDDEN}
    return hidden


def _responses_in(tallies: _Tallies) -> int:
    """Mixed responses in a tallied selection, every group together (a count)."""
    return sum(counts.responses for counts in tallies.statuses.values())


def _check_selection(own: int, parents: Sequence[int], k: int) -> None:
    """Raise SelectionRefused unless the selection (`own` responses) and its complement in every
    one-filter-less parent (`parents`, their responses) are 0 or >= k.

    An empty selection is shown: it has no figure to give away, and a
    running campaign whose answers all still wait to be mixed keeps its
    response rate (links handed out and claimed) on the page.
    """
    if 0 < own < k:
        raise SelectionRefused("too_few")
    for parent in parents:
        left_out = parent - own
        if 0 < left_out < k:
            raise SelectionRefused("complement")


def _scope_members(session: Session, selection: Selection, breakdown: Breakdown) -> set:
    """Providers or programmes the selection's campaigns include (rows even without an answer: "missing").

    Narrowed by a filter on the same dimension; empty for other breakdowns.
    """
    if breakdown.dimension not in ("provider", "programme"):
        return set()
    members = set()
    for campaign_id in selection.campaign_ids:
        campaign = session.get(Campaign, campaign_id)
        members |= {item.id for item in getattr(campaign, breakdown.dimension + "s")}
    for item in selection.filters:
        if item.breakdown == breakdown:
            members &= {item.value}
    return members


def _ordered_keys(breakdown: Breakdown, tallies: _Tallies, members: set) -> list:
    """Group keys with responses or links, and `members`, in a stable order: known values sorted, merged (None) last."""
    keys = set(tallies.statuses) | set(tallies.links or {}) | members
    known = sorted((key for key in keys if key is not None), key=_sort_key)
    return known + ([None] if None in keys else [])


def _sort_key(key):
    """Sort ids, codes, dates and tertials alike (each table has one kind of key)."""
    return (str(type(key)), key)


def _group_figures(key, tallies: _Tallies, definition: SurveyDefinition, questions: tuple[str, ...],
                   row_hidden: bool, index_hidden: bool, links_hidden: bool, questions_hidden: set,
                   comparison: Comparison | None) -> GroupFigures:
    """One row's figures, HIDDEN where suppressed."""
    statuses = tallies.statuses.get(key, StatusCounts(0, 0))
    links = (tallies.links or {}).get(key) if tallies.links is not None else None
    index = tallies.index.get(key)
    answers = tallies.answers.get(key, {})
    return GroupFigures(
        key=key,
        responses=HIDDEN if row_hidden else statuses.responses,
        # Not split per group: with one required question a group's complete responses are its answers to
        # it ("don't know" included), which that question's column may hide (`_total_split`).
        complete=None,
        partial=None,
        nki=HIDDEN if index_hidden else (index_summary(definition, index) if index and index.n else None),
        handed_out=_handed_out(links, tallies.links),
        answered=None if links is None else HIDDEN if links_hidden else links.answered,
        response_rate=None if links is None else HIDDEN if links_hidden else links.rate,
        questions={
            question: HIDDEN if question in questions_hidden or row_hidden
            else question_figures(definition, question, answers.get(question, {}))
            for question in questions
        },
        comparison=None if index_hidden else comparison,
    )


def _handed_out(links: HandedOut | None, all_links: dict | None) -> int | None:
    """Links handed out to the group (a count: not an answer, never hidden); None where not known."""
    if all_links is None:
        return None
    return links.handed_out if links else 0


def _total_figures(session: Session, selection: Selection, definition: SurveyDefinition,
                   questions: tuple[str, ...], tallies: _Tallies, k: int, inherited: set[str]) -> GroupFigures:
    """The selection's total row: sums over every group (merged ones too).

    A column is HIDDEN in the total when a parent's table hides it for this
    selection (`inherited`, see _hidden_in_parents) or when its own count
    is 1..k-1 (a campaign with 3 claimed links: the rate of 3 people).
    """
    statuses = StatusCounts(sum(s.complete for s in tallies.statuses.values()),
                            sum(s.partial for s in tallies.statuses.values()))
    index = sum(tallies.index.values(), Moments(0, 0.0, 0.0))
    answers: dict = {}
    for group in tallies.answers.values():
        answers = aggregates.add_distributions(answers, group)
    links = link_counts(session, selection, None)
    total_links = (links or {}).get(None) if links is not None else None

    def hidden(column: str, count: int) -> bool:
        """Whether the total's `column`, made of `count` answers, is hidden (inherited, or 1..k-1 answers)."""
        return column in inherited or 0 < count < k

    links_hidden = total_links is not None and hidden("links", total_links.answered)
    figures = {question: question_figures(definition, question, answers.get(question, {})) for question in questions}
    complete, partial = _total_split(selection, definition, tallies, statuses, k)
    return GroupFigures(
        key=TOTAL,
        responses=statuses.responses, complete=complete, partial=partial,
        nki=HIDDEN if hidden("index", index.n) else index_summary(definition, index) if index.n else None,
        handed_out=None if links is None else (total_links.handed_out if total_links else 0),
        answered=None if links is None else HIDDEN if links_hidden else (total_links.answered if total_links else 0),
        response_rate=None if links is None or not total_links else HIDDEN if links_hidden else total_links.rate,
        questions={question: HIDDEN if hidden(question, shown.n) else shown for question, shown in figures.items()},
    )


def _total_split(selection: Selection, definition: SurveyDefinition, tallies: _Tallies, statuses: StatusCounts,
                 k: int) -> tuple[int | Hidden | None, int | Hidden | None]:
    """(complete, partial) of the total row: the campaign's split, never a group's.

    "Complete" is every required question answered, "don't know"
    included, so a group's complete responses are at most its answers to
    each required question, and with one required question exactly those
    (the third breaker of 2026-12-01: P2's 3 hidden answers to the one
    required question came back as its 3 complete responses). A required
    question's count is suppressed by its own column's rules, so the split
    is given only where no group's is: for the unfiltered selection's total
    (a filter's total is a group of its parent), None otherwise.

    And there only with at most one required question, where it is that
    question's answers and "don't know" in all, both shown (HIDDEN where
    they have 1..k-1 answers). With two or more, the groups' own figures
    pin many a group's complete count (a group that answered every required
    question: all its responses; one that never answered one: 0), and the
    total less those gave the one left - with its other required questions
    answered by all, its hidden count of the first (the fourth breaker of
    2026-12-01): HIDDEN.
    """
    if selection.filters:
        return None, None
    required = _required(definition)
    if len(required) > 1 or any(0 < sum(tallies.counts(question).values()) < k for question in required):
        return HIDDEN, HIDDEN
    return statuses.complete, statuses.partial


def _required(definition: SurveyDefinition) -> tuple[str, ...]:
    """The keys of the survey's required questions: those a complete response answered."""
    return tuple(question.key for question in definition.questions if question.required)


def question_figures(definition: SurveyDefinition, question_key: str,
                     distribution: Mapping[object, int]) -> QuestionFigures:
    """One question's figures from its distribution (answer -> count); see QuestionFigures for shapes."""
    question = definition.question(question_key)
    dont_know = distribution.get(DONT_KNOW, 0)
    if isinstance(question, ScaleQuestion):
        order = list(range(1, question.scale.points + 1))
        positive = question.scale.positive_from
    elif isinstance(question, YesNoQuestion):
        order, positive = [1, 0], 1
    else:
        order, positive = [option.key for option in question.options], None
    counted = tuple((answer, distribution.get(answer, 0)) for answer in order)
    if isinstance(question, ChoiceQuestion):
        return QuestionFigures(question_key, sum(count for _answer, count in counted), None, None, counted, dont_know)
    # One pass: every table row of every page comes through here, once per question.
    n = total = squares = positives = 0
    for answer, count in counted:
        if count:
            n += count
            total += answer * count
            squares += answer * answer * count
            positives += count if answer >= positive else 0
    moments = Moments(n, float(total), float(squares))
    share = positives / n if n else None
    bounds = (0, 1) if isinstance(question, YesNoQuestion) else (1, question.scale.points)
    return QuestionFigures(question_key, n, bounded(summarise(moments), *bounds) if n else None, share,
                           counted, dont_know)


def index_summary(definition: SurveyDefinition, moments: Moments) -> Summary:
    """The NKI's summary from its personal scores' moments, its interval kept on the index scale.

    Scale: 1..points for "mean", 0-100 for "scb100" and "share_positive".
    """
    if definition.index.method == "mean":
        return bounded(summarise(moments), 1, definition.index_scale().points)
    return bounded(summarise(moments), 0, 100)


def bounded(summary: Summary, lowest: float, highest: float) -> Summary:
    """`summary` with its confidence interval cut to the scale's ends (lowest..highest, the scale's units).

    A t interval of a bounded measure can reach past its ends with few
    answers (a share of 0.8 from 5 answers: 0.245-1.355); no value lies
    there, so the interval is shown up to the end - and still says the
    estimate is uncertain.
    """
    if summary.low is None or summary.high is None or (lowest <= summary.low and summary.high <= highest):
        return summary
    return Summary(summary.n, summary.mean, summary.sd, max(lowest, summary.low), min(highest, summary.high))


# ---------------------------------------------------------------- several campaigns pooled


def _pooled_table(session: Session, selection: Selection, breakdown: Breakdown, k: int, compare: bool,
                  questions: Sequence[str] | None) -> ResultTable:
    """The selection's campaigns pooled: each campaign's own table made alone, then added up figure by figure.

    Pooling the answers and suppressing the pool would not do: with a
    provider's 3 answers hidden in one campaign and its 10 shown in
    another, a pooled 13 gives the 3 back. So each figure is pooled from
    the campaigns' shown figures only (`_pooled_row`): hidden in the pool
    wherever one campaign hides it, otherwise the counts added and every
    mean, deviation and interval made again from the added counts
    (distributions; the NKI's moments from each shown n, mean and sd,
    statistics.moments_of). A campaign whose own table refuses the
    selection is left out of every figure (`ResultTable.left_out`); when
    all do, raises SelectionRefused with the first campaign's reason.
    """
    definition = selection_definition(session, selection)
    questions = figure_questions(definition) if questions is None else tuple(questions)
    tables, left_out, reasons = [], [], []
    for campaign_id in selection.campaign_ids:
        own = replace(selection, campaign_ids=(campaign_id,))
        own_definition = selection_definition(session, own)
        if not all(same_question(definition, own_definition, key) for key in definition.index.questions):
            raise ValueError(f"campaign {campaign_id} answers the index questions on other scales")
        poolable = tuple(question for question in questions if same_question(definition, own_definition, question))
        try:
            tables.append(_result_table(session, own, breakdown, k, False, poolable, {}))
        except SelectionRefused as refused:
            left_out.append(campaign_id)
            reasons.append(refused.reason)
    if not tables:
        raise SelectionRefused(reasons[0])
    by_key = [{row.key: row for row in table.rows} for table in tables]
    keys = sorted({key for rows in by_key for key in rows if key is not None}, key=_sort_key)
    keys += [None] if any(None in rows for rows in by_key) else []
    # Links handed out are known per group for breakdowns and filters of RATE_DIMENSIONS only (denominators.py).
    rows_know_links = breakdown.dimension in RATE_DIMENSIONS and all(
        item.breakdown.dimension in RATE_DIMENSIONS for item in selection.filters)
    rows = [_pooled_row(key, [rows.get(key) for rows in by_key], rows_know_links, definition, questions)
            for key in keys]
    if compare:
        shown = {row.key: moments_of(row.nki) for row in rows
                 if row.key is not None and isinstance(row.nki, Summary) and row.nki.n}
        if len(shown) >= 2:
            comparisons = compare_each_with_rest(shown)
            rows = [replace(row, comparison=comparisons.get(row.key)) for row in rows]
    total = _pooled_row(TOTAL, [table.total for table in tables],
                        all(table.total.handed_out is not None for table in tables), definition, questions)
    pooled = replace(selection, campaign_ids=tuple(table.selection.campaign_ids[0] for table in tables))
    return ResultTable(pooled, breakdown, definition, tuple(rows), total, k,
                       hidden_groups=sum(1 for row in rows if row.responses is HIDDEN), left_out=tuple(left_out),
                       parts=tuple(tables))


def same_question(pooled: SurveyDefinition, own: SurveyDefinition, question_key: str) -> bool:
    """Whether `own`'s version asks `question_key` with the answers of `pooled`'s version (same kind,
    scale points and positive end, or option keys): only then are its answers pooled (False when
    `own` has no figures for it)."""
    if question_key not in figure_questions(own):
        return False
    first, second = pooled.question(question_key), own.question(question_key)
    if type(first) is not type(second):
        return False
    if isinstance(first, ScaleQuestion):
        return (first.scale.points, first.scale.positive_from) == (second.scale.points, second.scale.positive_from)
    if isinstance(first, ChoiceQuestion):
        return [option.key for option in first.options] == [option.key for option in second.options]
    return True


def _pooled_row(key, parts: Sequence[GroupFigures | None], links_known: bool, definition: SurveyDefinition,
                questions: tuple[str, ...]) -> GroupFigures:
    """One pooled row from each campaign's row of it (None: the group has no answer there, a known 0).

    Reads only what the rows show: a figure is HIDDEN where any campaign's
    is, a count the sum, a rate answered over handed out summed (None,
    "not known", unless `links_known`: every campaign knows this row's
    denominator), the NKI and each question made again from the added
    moments and distributions.
    """
    rows = [row for row in parts if row is not None]
    answered = _pooled_count([row.answered for row in rows])
    handed_out = sum(row.handed_out or 0 for row in rows) if links_known else None
    if not links_known or answered is None:
        rate = None
    else:
        rate = HIDDEN if answered is HIDDEN else (answered / handed_out if handed_out else None)
    return GroupFigures(
        key=key,
        responses=_pooled_count([row.responses for row in rows], 0),
        complete=_pooled_count([row.complete for row in rows]),
        partial=_pooled_count([row.partial for row in rows]),
        nki=_pooled_index(definition, [row.nki for row in rows]),
        handed_out=handed_out,
        answered=answered if links_known else None,
        response_rate=rate,
        questions={question: _pooled_question(definition, question, [row.questions.get(question) for row in rows])
                   for question in questions},
    )


def _pooled_count(values: Sequence, empty=None):
    """The sum of shown counts; HIDDEN where any is hidden; `empty` where none is given (all None)."""
    if any(value is HIDDEN for value in values):
        return HIDDEN
    given = [value for value in values if value is not None]
    return sum(given) if given else empty


def _pooled_index(definition: SurveyDefinition, summaries: Sequence) -> Summary | Hidden | None:
    """The pooled NKI from each campaign's shown summary (None: missing there); HIDDEN where any is hidden."""
    if any(summary is HIDDEN for summary in summaries):
        return HIDDEN
    moments = sum((moments_of(summary) for summary in summaries if summary is not None), Moments(0, 0.0, 0.0))
    return index_summary(definition, moments) if moments.n else None


def _pooled_question(definition: SurveyDefinition, question_key: str,
                     figures: Sequence[QuestionFigures | Hidden | None]) -> QuestionFigures | Hidden:
    """One question pooled from each campaign's shown figures (None: not asked there); HIDDEN where any is hidden."""
    if any(item is HIDDEN for item in figures):
        return HIDDEN
    distribution: dict[object, int] = {}
    for item in figures:
        if item is None:
            continue
        for answer, count in (*item.distribution, (DONT_KNOW, item.dont_know)):
            distribution[answer] = distribution.get(answer, 0) + count
    return question_figures(definition, question_key, distribution)
