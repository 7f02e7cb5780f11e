"""The answer counts the results pages read, kept current by whatever stores responses (models.AnswerCount).

Reading a campaign's answers is most of a results page's time: at 100,000
responses the by-provider distribution of every question joins ~130,000
answer rows (docs/performance.md, "analytics"). Every response the mixing
step stores adds its answers here once under each dimension - provider,
programme, language, channel, month and each background question - and
once under each pair of the provider with another ("provider|language",
group "12|ar"), in the same transaction (`add_answer_counts`). A table
whose breakdown and filters touch one dimension, or the provider and one
other, reads a few thousand counts instead (aggregates.answer_counts):
every table without filters, every table of the provider role (always
filtered on its provider), a provider filter, and the crossed tables of a
filter with the provider breakdown. Other filtered tables read the answers.

Anonymity: the counts are sums over stored responses, nothing finer; a
mixing adds one batch of at least k responses of one stored cell, which
the responses' own rows already show (docs/anonymity.md, "Summary tables").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..respond.models import Answer, Response
from ..surveys.definition import StoredAnswer, SurveyDefinition
from .models import AnswerCount
from .scope import PERIOD_DIMENSIONS, Breakdown

#: The dimensions kept on the response row itself; background questions are kept as "background:<key>".
RESPONSE_DIMENSIONS = ("provider_id", "programme_id", "language", "channel", "month")

#: The prefix of a background question's dimension ("background:gender").
BACKGROUND = "background:"

#: Joins the two dimensions of a pair, and their two groups ("provider|language", "12|ar").
#: No dimension name or group text contains it: ids, dates, codes and keys are [a-z0-9_:-].
PAIR = "|"

#: The dimension every pair is made with.
PAIRED = "provider"

#: An AnswerCount key: (campaign_id, dimension, group_value, question_key, kind, answer).
CountKey = tuple[int, str, str, str, str, str]
KEY_COLUMNS = ("campaign_id", "dimension", "group_value", "question_key", "kind", "answer")


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
    """The dimensions an AnswerCount dimension holds: one, or the provider and another for a pair."""
    return tuple(dimension.split(PAIR))


def kept_dimension(dimensions: Iterable[str]) -> str | None:
    """The AnswerCount dimension that holds these (dimension_of names), or None when none does.

    One dimension is kept alone; two when one of them is the provider
    ("provider|<other>"); anything else is not kept.
    """
    wanted = set(dimensions)
    if len(wanted) == 1:
        return wanted.pop()
    if len(wanted) == 2 and PAIRED in wanted:
        return PAIRED + PAIR + (wanted - {PAIRED}).pop()
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
    dont_know), as the mixing step inserts them. A response's group in a
    background dimension is its answer's option, "" without one (skipped,
    "don't know", or withheld when its cell was merged) - what a breakdown
    of the answers by that question gives. Each answer counts once per
    dimension and once per provider pair (`PAIR`).
    """
    answers_of: dict[str, list[Mapping]] = {}
    for row in answers:
        answers_of.setdefault(row["response_id"], []).append(row)
    background = [question.key for question in definition.background_questions]
    counts: Counter[CountKey] = Counter()
    for response in responses:
        own = answers_of.get(response["id"], [])
        groups = [(column.removesuffix("_id"), group_text(response[column])) for column in RESPONSE_DIMENSIONS]
        choices = {row["question_key"]: row.get("choice") for row in own}
        groups += [(BACKGROUND + key, group_text(choices.get(key))) for key in background]
        provider = groups[0][1]
        groups += [(PAIRED + PAIR + dimension, provider + PAIR + group) for dimension, group in groups[1:]]
        for row in own:
            kind, answer = answer_of(row)
            for dimension, group in groups:
                counts[(response["campaign_id"], dimension, group, row["question_key"], kind, answer)] += 1
    return counts


def add_answer_counts(connection: Connection, responses: Sequence[Mapping], answers: Sequence[Mapping],
                      definition: SurveyDefinition) -> None:
    """Add what storing `responses` and `answers` counts (`counted`) to AnswerCount, on `connection`.

    Call it in the transaction that inserts them. One upsert per key
    (INSERT ... ON CONFLICT DO UPDATE n = n + excluded n, SQLite and
    PostgreSQL alike), so concurrent writers of one campaign add up.
    """
    counts = counted(responses, answers, definition)
    if not counts:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(AnswerCount.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=[column.name for column in AnswerCount.__table__.primary_key.columns],
        set_={"n": AnswerCount.__table__.c.n + statement.excluded.n},
    )
    connection.execute(statement, _rows(counts))


def recount(connection: Connection, campaign_id: int, definition: SurveyDefinition, chunk: int = 5_000) -> int:
    """Rebuild what the mixing step keeps for a campaign from its stored answers; returns the AnswerCount rows written.

    Each response's `index_score` (definition.personal_score) and the
    campaign's AnswerCount rows, for a repair (`flask analytics recount`)
    and to check that what the mixing step keeps is what the answers give.
    Reads `chunk` responses at a time (ordered by their random id); the
    caller commits.
    """
    connection.execute(delete(AnswerCount.__table__).where(AnswerCount.campaign_id == campaign_id))
    counts: Counter[CountKey] = Counter()
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
        connection.execute(update(Response.__table__).where(Response.id == bindparam("response_id"))
                           .values(index_score=bindparam("score")),
                           [{"response_id": key, "score": definition.personal_score(value)}
                            for key, value in given.items()])
        after = responses[-1]["id"]
    if counts:
        connection.execute(insert(AnswerCount.__table__), _rows(counts))
    return len(counts)


def _rows(counts: Counter[CountKey]) -> list[dict]:
    """AnswerCount rows from counts, in key order (so that concurrent upserts lock rows in one order)."""
    return [dict(zip(KEY_COLUMNS, key), n=n) for key, n in sorted(counts.items())]
