"""The SQL of the results: counts, sums and sums of squares per group, run in the database.

Every function takes a `Selection` and a `Breakdown` (scope.py) and returns
raw tallies keyed by the breakdown's value (None: the merged group, "not
shown"). Nothing here hides anything: results.py applies suppression
before any figure leaves the analytics package. The queries are the same
on SQLite and PostgreSQL; SQLite has no standard deviation, so sums of
squares travel (statistics.Moments) and statistics.py finishes the figures.

Period breakdowns (month, tertial, year) are grouped by month in SQL and
folded in Python (`_folded_key`): counts and sums add up, and this keeps
date arithmetic out of dialect-specific SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..campaigns.models import Campaign
from ..respond.models import Answer, Response
from . import summaries
from .models import AnswerCount, ResponseTally
from .statistics import Moments
from .scope import PERIOD_DIMENSIONS, Breakdown, Filter, Selection, period_of

#: An answer's kind in a distribution: a scale or yes/no value (int), a
#: single choice's option key (str), DONT_KNOW, or TEXT (free text, counted only).
DONT_KNOW = "dont_know"
TEXT = "text"

_COLUMNS = {
    "provider": Response.provider_id,
    "programme": Response.programme_id,
    "language": Response.language,
    "channel": Response.channel,
}


@dataclass(frozen=True)
class StatusCounts:
    """Responses in a group: complete (every required question answered) and partial (counts), and how many
    have a personal index score from some but not all index questions (`partly_scored`, a count)."""

    complete: int
    partial: int
    partly_scored: int = 0

    @property
    def responses(self) -> int:
        """Complete plus partial (a count)."""
        return self.complete + self.partial


def _group_expression(breakdown, statement):
    """(statement with any join the breakdown needs, the SQL expressions of its group key, as a list).

    `breakdown` is a Breakdown, or a pair of them (a crossed table: the key
    is then the pair of values).
    """
    if isinstance(breakdown, tuple):
        columns = []
        for part in breakdown:
            statement, more = _group_expression(part, statement)
            columns += more
        return statement, columns
    if breakdown.dimension in _COLUMNS:
        return statement, [_COLUMNS[breakdown.dimension]]
    if breakdown.dimension in PERIOD_DIMENSIONS:
        return statement, [Response.month]
    background = aliased(Answer)
    statement = statement.outerjoin(background, and_(
        background.response_id == Response.id, background.question_key == breakdown.question_key))
    return statement, [background.choice]


def _key(row, width: int):
    """A result row's group key: its first value, or the tuple of its first `width` values (a crossed table)."""
    return row[0] if width == 1 else tuple(row[:width])


def _filter_condition(item: Filter):
    """The SQL condition one filter puts on Response (background answers through EXISTS)."""
    dimension, value = item.breakdown.dimension, item.value
    if dimension in _COLUMNS:
        column = _COLUMNS[dimension]
        return column.is_(None) if value is None else column == value
    if dimension in PERIOD_DIMENSIONS:
        if value is None:
            return Response.month.is_(None)
        first, last = _months_of(dimension, value)
        return and_(Response.month >= first, Response.month <= last)
    # An alias of its own: inside a query over `answer`, a plain Answer would correlate with the outer row.
    background = aliased(Answer)
    answered = exists().where(background.response_id == Response.id,
                              background.question_key == item.breakdown.question_key)
    if value is None:
        return ~answered
    return answered.where(background.choice == value)


def _months_of(dimension: str, value) -> tuple[date, date]:
    """First and last month (first days) of a month, tertial (year, 1-3) or year value."""
    if dimension == "month":
        return value, value
    if dimension == "tertial":
        year, tertial = value
        return date(year, 4 * tertial - 3, 1), date(year, 4 * tertial, 1)
    return date(value, 1, 1), date(value, 12, 1)


def _where_selected(statement, selection: Selection):
    """`statement` narrowed to the selection's campaigns and filters (it must select from Response)."""
    statement = statement.where(Response.campaign_id.in_(selection.campaign_ids))
    for item in selection.filters:
        statement = statement.where(_filter_condition(item))
    return statement


def _folded_key(breakdown, key):
    """A row's group key with each month as its breakdown's period (each part of a crossed breakdown's pair)."""
    if isinstance(breakdown, tuple):
        return tuple(_period_key(part, value) for part, value in zip(breakdown, key))
    return _period_key(breakdown, key)


def _period_key(breakdown: Breakdown, value):
    """A month value as the breakdown's period (month, tertial, year); other values as they are."""
    return period_of(value, breakdown.dimension) if breakdown.dimension in PERIOD_DIMENSIONS else value


def response_tallies(session: Session, selection: Selection,
                     breakdown) -> dict[object, tuple[StatusCounts, Moments]]:
    """Group key -> (complete and partial responses, Moments of the personal index scores), one query.

    The scores' Moments count the group's responses with an answered index
    question (n) and sum their personal scores and squares, on the index
    scale (SurveyDefinition.personal_score; docs/surveys.md, "Index
    methods"): 1..points for "mean", 0-100 for "scb100" and
    "share_positive". Read from the tallies the mixing step keeps where
    they hold the table (ResponseTally, as answer_counts reads
    AnswerCount), else from the response rows, where each response's score
    is stored (`Response.index_score`; a background breakdown or filter
    joins its answer). `breakdown` is a Breakdown or a pair (a crossed
    table). Groups without responses are absent.
    """
    kept = kept_response_tallies(session, selection, breakdown)
    return kept if kept is not None else joined_response_tallies(session, selection, breakdown)


def kept_response_tallies(session: Session, selection: Selection,
                          breakdown) -> dict[object, tuple[StatusCounts, Moments]] | None:
    """response_tallies from the tallies the mixing step keeps (ResponseTally); None where they do not hold
    the table (`kept_reading`)."""
    reading = _usable_reading(session, selection, breakdown)
    if reading is None:
        return None
    tally = ResponseTally
    statement = _kept_where(select(tally.group_value, func.sum(tally.complete), func.sum(tally.partial),
                                   func.sum(tally.scored), func.sum(tally.score_sum), func.sum(tally.score_squares),
                                   func.sum(tally.partly_scored)),
                            tally, selection, reading).group_by(tally.group_value)
    rows = ((key, (StatusCounts(int(row[1]), int(row[2]), int(row[6])),
                   Moments(int(row[3]), float(row[4]), float(row[5]))))
            for row in session.execute(statement) if (key := reading.key(row[0])) is not _LEFT_OUT)
    return _added_tallies(rows)


def joined_response_tallies(session: Session, selection: Selection,
                            breakdown) -> dict[object, tuple[StatusCounts, Moments]]:
    """response_tallies from the selected response rows: any selection, any breakdown or pair."""
    score = Response.index_score
    statement, keys = _group_expression(breakdown, select().select_from(Response))
    statement = _where_selected(statement.add_columns(
        *keys,
        func.count().filter(Response.status == "complete"),
        func.count().filter(Response.status == "partial"),
        func.count().filter(Response.partly_scored.is_(True)),
        func.count(score), func.sum(score), func.sum(score * score),
    ), selection).group_by(*keys)
    rows = ((_folded_key(breakdown, _key(row, len(keys))),
             (StatusCounts(row[-6], row[-5], row[-4]), Moments(row[-3], float(row[-2] or 0), float(row[-1] or 0))))
            for row in session.execute(statement))
    return _added_tallies(rows)


def _added_tallies(rows: Iterable[tuple]) -> dict[object, tuple[StatusCounts, Moments]]:
    """Rows (group key, (StatusCounts, Moments)) into {key: their sums} (months folded into one period add up)."""
    added: dict = {}
    for key, (statuses, scores) in rows:
        if key in added:
            before, moments = added[key]
            statuses = StatusCounts(before.complete + statuses.complete, before.partial + statuses.partial,
                                    before.partly_scored + statuses.partly_scored)
            scores = moments + scores
        added[key] = (statuses, scores)
    return added


def answer_counts(session: Session, selection: Selection, breakdown,
                  question_keys: Iterable[str]) -> dict[object, dict[str, dict[object, int]]]:
    """Group key -> question key -> answer -> count: the distribution of every listed question.

    Answers are a scale or yes/no value (int), an option key (str),
    DONT_KNOW or TEXT. A question nobody in the group answered is absent.
    `breakdown` is a Breakdown or a pair (a crossed table). Read from the
    counts the mixing step keeps where they hold the table (`kept_reading`),
    else from the selected responses' answers (a join).
    """
    question_keys = list(question_keys)
    kept = kept_answer_counts(session, selection, breakdown, question_keys)
    return kept if kept is not None else joined_answer_counts(session, selection, breakdown, question_keys)


def answered_counts(session: Session, selection: Selection, breakdown,
                    question_keys: Iterable[str]) -> dict[object, dict[str, int]]:
    """Group key -> question key -> answers with a value or an option (a count; not "don't know", not text).

    What suppression needs of a question whose figures are not asked for
    (an index question beside the NKI, a parent's or a crossed table's
    columns): far fewer rows than its distribution. Read like answer_counts.
    """
    question_keys = list(question_keys)
    if not question_keys:
        return {}
    reading = _usable_reading(session, selection, breakdown)
    if reading is not None:
        statement = _kept_statement(selection, reading, question_keys, AnswerCount.group_value,
                                    AnswerCount.question_key).where(AnswerCount.kind.in_(("value", "choice")))
        rows = ((key, question_key, count) for group, question_key, count in session.execute(statement)
                if (key := reading.key(group)) is not _LEFT_OUT)
    else:
        statement, keys = _group_expression(breakdown, select().select_from(Response).join(
            Answer, Answer.response_id == Response.id))
        statement = _where_selected(statement.add_columns(*keys, Answer.question_key, func.count()), selection).where(
            Answer.question_key.in_(question_keys), or_(Answer.value.is_not(None), Answer.choice.is_not(None)),
        ).group_by(*keys, Answer.question_key)
        rows = ((_folded_key(breakdown, _key(row, len(keys))), *row[len(keys):]) for row in session.execute(statement))
    folded: dict = {}
    for key, question_key, count in rows:
        questions = folded.setdefault(key, {})
        questions[question_key] = questions.get(question_key, 0) + int(count)
    return folded


def joined_answer_counts(session: Session, selection: Selection, breakdown, question_keys: list[str]) -> dict:
    """answer_counts from the answers of the selected responses (a join): any selection, any breakdown or pair."""
    kind = case(
        (Answer.dont_know.is_(True), DONT_KNOW),
        (Answer.text.is_not(None), TEXT),
        else_=None,
    )
    statement, keys = _group_expression(breakdown, select().select_from(Response).join(
        Answer, Answer.response_id == Response.id))
    statement = _where_selected(statement.add_columns(
        *keys, Answer.question_key, Answer.value, Answer.choice, kind, func.count(),
    ), selection).where(Answer.question_key.in_(question_keys)).group_by(
        *keys, Answer.question_key, Answer.value, Answer.choice, kind)
    rows = []
    for row in session.execute(statement):
        question_key, value, choice, other, count = row[len(keys):]
        answer = value if value is not None else choice if choice is not None else other
        rows.append((_folded_key(breakdown, _key(row, len(keys))), question_key, answer, count))
    return _fold_distributions(rows)


def kept_answer_counts(session: Session, selection: Selection, breakdown,
                       question_keys: list[str]) -> dict[object, dict[str, dict[object, int]]] | None:
    """answer_counts from the counts the mixing step keeps (AnswerCount); None where they do not hold the
    table (`kept_reading`)."""
    reading = _usable_reading(session, selection, breakdown)
    if reading is None:
        return None
    statement = _kept_statement(selection, reading, question_keys, AnswerCount.group_value, AnswerCount.question_key,
                                AnswerCount.kind, AnswerCount.answer)
    rows = ((key, question_key, _KEPT_ANSWER[kind](answer), int(count))
            for group, question_key, kind, answer, count in session.execute(statement)
            if (key := reading.key(group)) is not _LEFT_OUT)
    return _fold_distributions(rows)


#: A kept group outside the selection's filters.
_LEFT_OUT = object()


@dataclass
class KeptReading:
    """How a table is read from AnswerCount: which `dimension`, and each group's table key (`key`).

    `key(group_value)` is the table's group key for a stored group - the
    breakdown's value, its period for a month, a tuple for a pair - or
    _LEFT_OUT when the group lies outside a filter. `provider` is the
    provider filter's stored text, which narrows the rows read (None: no
    such filter).
    """

    dimension: str
    selection: Selection
    parts: tuple[Breakdown, ...]
    crossed: bool
    provider: str | None
    _keys: dict = field(default_factory=dict)

    def key(self, text: str):
        """The table key of a stored group (each distinct text worked out once), or _LEFT_OUT."""
        if text not in self._keys:
            values = summaries.group_values(self.dimension, text)
            if any(_period_key(item.breakdown, values[summaries.dimension_of(item.breakdown)]) != item.value
                   for item in self.selection.filters):
                self._keys[text] = _LEFT_OUT
            else:
                keys = tuple(_period_key(part, values[summaries.dimension_of(part)]) for part in self.parts)
                self._keys[text] = keys if self.crossed else keys[0]
        return self._keys[text]


def kept_reading(selection: Selection, breakdown) -> KeptReading | None:
    """How to read a table from the counts the mixing step keeps, or None where they do not hold it.

    They hold a table whose breakdown (one, or a pair) and filters touch
    one or two dimensions (summaries.kept_dimension; month, tertial and
    year are all the month). Not: a filter on the
    merged background group (None: the answers' join tells "no answer"
    from "don't know", the counts do not).
    """
    parts = breakdown if isinstance(breakdown, tuple) else (breakdown,)
    if any(item.breakdown.dimension == "background" and item.value is None for item in selection.filters):
        return None
    dimension = summaries.kept_dimension(summaries.dimension_of(part)
                                         for part in (*parts, *(item.breakdown for item in selection.filters)))
    if dimension is None:
        return None
    provider = next((summaries.group_text(item.value) for item in selection.filters
                     if item.breakdown.dimension == "provider"), None)
    return KeptReading(dimension, selection, parts, isinstance(breakdown, tuple), provider)


def _usable_reading(session: Session, selection: Selection, breakdown) -> KeptReading | None:
    """`kept_reading`, where every selected campaign keeps what it reads (`_kept_for_every_campaign`); else None."""
    reading = kept_reading(selection, breakdown)
    return reading if reading is not None and _kept_for_every_campaign(session, selection, reading) else None


def _kept_for_every_campaign(session: Session, selection: Selection, reading: KeptReading) -> bool:
    """Whether every campaign's survey version marks the background question the reading uses as one.

    The mixing step keeps a background dimension only for the questions the
    campaign's version marks as background; a selection may span versions
    of one survey (one index), and a later version may mark another set
    (the breaker's case: gender no longer background in version 2).
    """
    wanted = {name.removeprefix(summaries.BACKGROUND) for name in summaries.pair_of(reading.dimension)
              if name.startswith(summaries.BACKGROUND)}
    if not wanted:
        return True
    for campaign_id in selection.campaign_ids:
        definition = session.get(Campaign, campaign_id).survey_version.definition
        if not wanted <= {question.key for question in definition.background_questions}:
            return False
    return True


def _kept_statement(selection: Selection, reading: KeptReading, question_keys: list[str], *columns):
    """SELECT `columns`, sum(n) of the reading's dimension, summed over the selection's campaigns."""
    statement = select(*columns, func.sum(AnswerCount.n)).where(AnswerCount.question_key.in_(question_keys))
    return _kept_where(statement, AnswerCount, selection, reading).group_by(*columns)


def _kept_where(statement, table, selection: Selection, reading: KeptReading):
    """`statement` over a summary table (AnswerCount, ResponseTally) narrowed to the selection's campaigns, the
    reading's dimension and, with a provider filter, that provider's groups."""
    statement = statement.where(table.campaign_id.in_(selection.campaign_ids), table.dimension == reading.dimension)
    if reading.provider is not None:
        # The provider is the first part of every pair it is in (summaries.pair_name): its rows start with "<id>|".
        # Compared as a prefix, not as a range: PostgreSQL orders text by the database's collation,
        # where "12|ar" may sort between "1|" and "1}".
        if reading.dimension == summaries.PROVIDER:
            statement = statement.where(table.group_value == reading.provider)
        else:
            prefix = reading.provider + summaries.PAIR
            statement = statement.where(func.substr(table.group_value, 1, len(prefix)) == prefix)
    return statement


def _fold_distributions(rows: Iterable[tuple]) -> dict[object, dict[str, dict[object, int]]]:
    """Rows (group key, question key, answer, count) into group -> question -> answer -> count, added in
    place (a campaign has thousands of rows; keys already folded into the breakdown's periods)."""
    folded: dict = {}
    for key, question_key, answer, count in rows:
        distribution = folded.setdefault(key, {}).setdefault(question_key, {})
        distribution[answer] = distribution.get(answer, 0) + count
    return folded


#: An AnswerCount row's (kind, answer) as answer_counts gives it.
_KEPT_ANSWER = {"value": int, "choice": str, "dont_know": lambda _answer: DONT_KNOW, "text": lambda _answer: TEXT}


def add_distributions(a: dict, b: dict) -> dict:
    """Two {question: {answer: count}} added up."""
    merged = {question: dict(counts) for question, counts in a.items()}
    for question, counts in b.items():
        target = merged.setdefault(question, {})
        for answer, count in counts.items():
            target[answer] = target.get(answer, 0) + count
    return merged


def comments(session: Session, selection: Selection, question_keys: Iterable[str],
             search: str | None = None) -> list[tuple[str | None, str, str]]:
    """(answered language or None when merged, question key, text) of the selection's free-text answers.

    `search` keeps texts containing it, compared caseless (str.casefold) in
    Python: SQLite's LIKE folds ASCII only and PostgreSQL's ILIKE follows
    the server's locale, and a search must find "Å" alike on both. Ordered
    by question, text and language (code points), never by arrival (nothing stored orders them).
    """
    statement = _where_selected(
        select(Response.language, Answer.question_key, Answer.text)
        .join(Answer, Answer.response_id == Response.id)
        .where(Answer.question_key.in_(list(question_keys)), Answer.text.is_not(None)),
        selection,
    )
    # Sorted here: the databases' collations order text differently.
    rows = sorted((tuple(row) for row in session.execute(statement)), key=lambda row: (row[1], row[2], row[0] or ""))
    if search:
        wanted = search.casefold()
        rows = [row for row in rows if wanted in row[2].casefold()]
    return rows
