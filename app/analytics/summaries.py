"""The summary tables the results pages read, kept current by whatever stores responses (models.AnswerCount,
models.ResponseTally).

Reading a campaign's answers is most of a results page's time: at 100,000
responses the by-provider distribution of every question joins ~130,000
answer rows (docs/performance.md, "analytics"). Every response the mixing
step stores adds its answers here once under each dimension - provider,
programme, language, channel, month and each background question - and
once under each pair of them ("provider|language", group "12|ar";
"programme|background:gender", group "3|woman"), in the same transaction
(`add_to_summaries`). A table whose breakdown and filters touch one or two
dimensions reads a few thousand counts instead (aggregates.answer_counts):
every table without filters or with one filter (results.MAX_FILTERS), the
crossed tables of a filter with a breakdown, and the two-way tables of the
linked suppression (linked.py). Only a provider account's tables with a
filter of its own (three dimensions) read the answers.
The same groups keep each one's responses (complete, partial) and the sum
and sum of squares of their personal index scores (models.ResponseTally),
so that such a table reads no response row either (aggregates.response_tallies).

Anonymity: the counts are sums over stored responses, nothing finer; a
mixing adds one batch of at least k responses of one stored cell, which
the responses' own rows already show (docs/anonymity.md, "Summary tables").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from datetime import date

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..respond.models import Answer, Response
from ..surveys.definition import StoredAnswer, SurveyDefinition
from .models import AnswerCount, ResponseTally
from .scope import PERIOD_DIMENSIONS, Breakdown

#: The dimensions kept on the response row itself; background questions are kept as "background:<key>".
RESPONSE_DIMENSIONS = ("provider_id", "programme_id", "language", "channel", "month")

#: The prefix of a background question's dimension ("background:gender").
BACKGROUND = "background:"

#: Joins the two dimensions of a pair, and their two groups ("provider|language", "12|ar").
#: No dimension name or group text contains it: ids, dates, codes and keys are [a-z0-9_:-].
PAIR = "|"

#: The provider's dimension: first in every pair it is part of (`pair_name`), so one provider's groups of a
#: pair start with "<id>|" (aggregates reads them by that prefix).
PROVIDER = "provider"

#: An AnswerCount key: (campaign_id, dimension, group_value, question_key, kind, answer).
CountKey = tuple[int, str, str, str, str, str]
KEY_COLUMNS = ("campaign_id", "dimension", "group_value", "question_key", "kind", "answer")

#: A ResponseTally key: (campaign_id, dimension, group_value).
TallyKey = tuple[int, str, str]
TALLY_KEY_COLUMNS = ("campaign_id", "dimension", "group_value")
#: A ResponseTally's figures, in this order: complete, partial, scored, score_sum, score_squares, partly_scored.
TALLY_COLUMNS = ("complete", "partial", "scored", "score_sum", "score_squares", "partly_scored")


def dimension_of(breakdown: Breakdown) -> str:
    """The AnswerCount dimension a breakdown reads: periods read "month" (folded later), background its question."""
    if breakdown.dimension in PERIOD_DIMENSIONS:
        return "month"
    if breakdown.dimension == "background":
        return BACKGROUND + breakdown.question_key
    return breakdown.dimension


def group_text(value) -> str:
    """A group's value as AnswerCount stores it: ids and codes as text, a month as YYYY-MM-01, None (merged) as ""."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def pair_of(dimension: str) -> tuple[str, ...]:
    """The dimensions an AnswerCount dimension holds: one, or two for a pair."""
    return tuple(dimension.split(PAIR))


def dimension_rank(dimension: str) -> tuple[int, int | str]:
    """A dimension's place in a pair's name: the response's own dimensions in RESPONSE_DIMENSIONS order
    (the provider first), then background questions by key. Migration 0011 writes the same order."""
    own = [column.removesuffix("_id") for column in RESPONSE_DIMENSIONS]
    return (0, own.index(dimension)) if dimension in own else (1, dimension)


def pair_name(first: str, second: str) -> str:
    """The AnswerCount dimension of a pair of dimensions, in either order: "provider|language"."""
    return PAIR.join(sorted((first, second), key=dimension_rank))


def kept_dimension(dimensions: Iterable[str]) -> str | None:
    """The AnswerCount dimension that holds these (dimension_of names), or None when none does.

    One dimension is kept alone, two as their pair (`pair_name`); three or more are not kept.
    """
    wanted = set(dimensions)
    if len(wanted) == 1:
        return wanted.pop()
    if len(wanted) == 2:
        return pair_name(*wanted)
    return None


def group_values(dimension: str, text: str) -> dict[str, object]:
    """An AnswerCount group's value per dimension it holds (`group_value` each), e.g. {"provider": 12, "language": "ar"}."""
    return {name: group_value(name, part) for name, part in zip(pair_of(dimension), text.split(PAIR))}


def group_value(dimension: str, text: str):
    """The inverse of `group_text` for `dimension`: an int id, a date, a code or option key; None for ""."""
    if text == "":
        return None
    if dimension in ("provider", "programme"):
        return int(text)
    if dimension == "month":
        return date.fromisoformat(text)
    return text


def answer_of(row: Mapping) -> tuple[str, str]:
    """(kind, answer) of an answer row (a mapping with value, choice, text, dont_know), as AnswerCount stores it."""
    if row.get("dont_know"):
        return "dont_know", ""
    if row.get("text") is not None:
        return "text", ""
    if row.get("choice") is not None:
        return "choice", row["choice"]
    return "value", str(row["value"])


def counted(responses: Sequence[Mapping], answers: Iterable[Mapping],
            definition: SurveyDefinition) -> Counter[CountKey]:
    """What storing `responses` with `answers` adds to AnswerCount: key -> answers (a count > 0).

    `responses` are response rows (id, campaign_id and the RESPONSE_DIMENSIONS),
    `answers` answer rows (response_id, question_key, value, choice, text,
    dont_know), as the mixing step inserts them. Each answer counts once
    per group of its response (`_groups`).
    """
    answers_of = _answers_by_response(answers)
    counts: Counter[CountKey] = Counter()
    for response in responses:
        own = answers_of.get(response["id"], [])
        for dimension, group in _groups(response, own, definition):
            for row in own:
                kind, answer = answer_of(row)
                counts[(response["campaign_id"], dimension, group, row["question_key"], kind, answer)] += 1
    return counts


def tallied(responses: Sequence[Mapping], answers: Iterable[Mapping],
            definition: SurveyDefinition) -> dict[TallyKey, list]:
    """What storing `responses` adds to ResponseTally: key -> [its TALLY_COLUMNS].

    `responses` as for `counted`, with their `status` ("complete" or
    "partial"), `index_score` (None without one) and `partly_scored`;
    `answers` give the background groups. Each response counts once per
    group (`_groups`).
    """
    answers_of = _answers_by_response(answers)
    tallies: dict[TallyKey, list] = {}
    for response in responses:
        score = response["index_score"]
        add = (int(response["status"] == "complete"), int(response["status"] == "partial"),
               int(score is not None), score or 0.0, (score or 0.0) ** 2, int(bool(response["partly_scored"])))
        for dimension, group in _groups(response, answers_of.get(response["id"], []), definition):
            tally = tallies.setdefault((response["campaign_id"], dimension, group), [0, 0, 0, 0.0, 0.0, 0])
            for position, value in enumerate(add):
                tally[position] += value
    return tallies


def _answers_by_response(answers: Iterable[Mapping]) -> dict[str, list[Mapping]]:
    answers_of: dict[str, list[Mapping]] = {}
    for row in answers:
        answers_of.setdefault(row["response_id"], []).append(row)
    return answers_of


def _groups(response: Mapping, answers: Sequence[Mapping], definition: SurveyDefinition) -> list[tuple[str, str]]:
    """(dimension, group text) of every group a response counts in: one per dimension, one per pair of them.

    A response's group in a background dimension is its answer's option, ""
    without one (skipped, "don't know", or withheld when its cell was
    merged) - what a breakdown of the answers by that question gives.
    """
    groups = [(column.removesuffix("_id"), group_text(response[column])) for column in RESPONSE_DIMENSIONS]
    choices = {row["question_key"]: row.get("choice") for row in answers}
    groups += [(BACKGROUND + question.key, group_text(choices.get(question.key)))
               for question in definition.background_questions]
    groups.sort(key=lambda group: dimension_rank(group[0]))  # a pair's parts in `pair_name` order
    return groups + [(first + PAIR + second, first_group + PAIR + second_group)
                     for (first, first_group), (second, second_group) in combinations(groups, 2)]


def add_to_summaries(connection: Connection, responses: Sequence[Mapping], answers: Sequence[Mapping],
                     definition: SurveyDefinition) -> None:
    """Add what storing `responses` and `answers` counts (`counted`, `tallied`) to AnswerCount and ResponseTally.

    Call it on `connection`, in the transaction that inserts them. One
    upsert per key (INSERT ... ON CONFLICT DO UPDATE, each figure plus the
    new one; SQLite and PostgreSQL alike), so concurrent writers of one
    campaign add up; keys in order, so that they lock rows in one order.
    """
    counts = counted(responses, answers, definition)
    if counts:
        _upsert(connection, AnswerCount.__table__, _rows(counts), ("n",))
    tallies = tallied(responses, answers, definition)
    if tallies:
        _upsert(connection, ResponseTally.__table__, _tally_rows(tallies), TALLY_COLUMNS)


def _upsert(connection: Connection, table, rows: list[dict], added: Sequence[str]) -> None:
    """INSERT `rows` into `table`; where a key exists, each column of `added` becomes its sum with the new value."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key.columns],
        set_={name: table.c[name] + statement.excluded[name] for name in added},
    )
    connection.execute(statement, rows)


def recount(connection: Connection, campaign_id: int, definition: SurveyDefinition, chunk: int = 5_000) -> int:
    """Rebuild what the mixing step keeps for a campaign from its stored answers; returns the AnswerCount rows written.

    Each response's `index_score` and `partly_scored` (definition.personal_score, .partly_scored) and the
    campaign's AnswerCount and ResponseTally rows, for a repair (`flask analytics recount`)
    and to check that what the mixing step keeps is what the answers give.
    Reads `chunk` responses at a time (ordered by their random id); the
    caller commits.
    """
    connection.execute(delete(AnswerCount.__table__).where(AnswerCount.campaign_id == campaign_id))
    connection.execute(delete(ResponseTally.__table__).where(ResponseTally.campaign_id == campaign_id))
    counts: Counter[CountKey] = Counter()
    tallies: dict[TallyKey, list] = {}
    after = ""
    while True:
        responses = [dict(row._mapping) for row in connection.execute(
            select(Response.__table__).where(Response.campaign_id == campaign_id, Response.id > after)
            .order_by(Response.id).limit(chunk))]
        if not responses:
            break
        answers = [dict(row._mapping) for row in connection.execute(
            select(Answer.__table__).where(Answer.response_id.in_([row["id"] for row in responses])))]
        counts.update(counted(responses, answers, definition))
        given: dict[str, dict[str, StoredAnswer]] = {row["id"]: {} for row in responses}
        for row in answers:
            given[row["response_id"]][row["question_key"]] = StoredAnswer(
                value=row["value"], choice=row["choice"], text=row["text"], dont_know=bool(row["dont_know"]))
        scores = {key: (definition.personal_score(value), definition.partly_scored(value))
                  for key, value in given.items()}
        connection.execute(update(Response.__table__).where(Response.id == bindparam("response_id"))
                           .values(index_score=bindparam("score"), partly_scored=bindparam("partly")),
                           [{"response_id": key, "score": score, "partly": partly}
                            for key, (score, partly) in scores.items()])
        for row in responses:
            row["index_score"], row["partly_scored"] = scores[row["id"]]
        for key, tally in tallied(responses, answers, definition).items():
            kept = tallies.setdefault(key, [0, 0, 0, 0.0, 0.0, 0])
            for position, value in enumerate(tally):
                kept[position] += value
        after = responses[-1]["id"]
    if counts:
        connection.execute(insert(AnswerCount.__table__), _rows(counts))
    if tallies:
        connection.execute(insert(ResponseTally.__table__), _tally_rows(tallies))
    return len(counts)


def _rows(counts: Counter[CountKey]) -> list[dict]:
    """AnswerCount rows from counts, in key order (so that concurrent upserts lock rows in one order)."""
    return [dict(zip(KEY_COLUMNS, key), n=n) for key, n in sorted(counts.items())]


def _tally_rows(tallies: Mapping[TallyKey, Sequence]) -> list[dict]:
    """ResponseTally rows from tallies, in key order."""
    return [dict(zip(TALLY_KEY_COLUMNS, key), **dict(zip(TALLY_COLUMNS, tally))) for key, tally in sorted(tallies.items())]
