"""answer counts: a personal index score on each response, answers counted per dimension

Issue 9 (analytics, "Scale"): at 100,000 responses every results page
joined a campaign's ~130,000 answers and missed 250 ms. Two things the
mixing step now writes with each batch of responses (docs/performance.md,
"analytics"):

- `response.index_score`, the respondent's personal index score
  (SurveyDefinition.personal_score): the NKI becomes a sum over response
  rows, read from the covering index, which now ends with it;
- `answer_count`, answers counted per campaign x dimension (provider,
  programme, language, channel, month, each background question, and the
  provider paired with each other) x group x question x answer
  (app/analytics/summaries.py): a table of one dimension, or of the
  provider and one other, reads a few thousand counts.

Both are filled here from what is stored: the scores through the survey
version's own definition (its index rule is frozen with the version), the
counts by one INSERT ... SELECT per dimension - written out here, not
imported, so that this revision keeps doing what it did when the app's
summaries change; tests/test_migrations.py checks it against the mixing
step's own counting.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from app.surveys.definition import StoredAnswer, parse_definition

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_COLUMNS = ["campaign_id", "provider_id", "status", "programme_id", "language", "channel", "month"]
RESPONSE_DIMENSIONS = {"provider": "provider_id", "programme": "programme_id", "language": "language",
                       "channel": "channel", "month": "month"}

_KIND = ("CASE WHEN a.dont_know THEN 'dont_know' WHEN a.text IS NOT NULL THEN 'text'"
         " WHEN a.choice IS NOT NULL THEN 'choice' ELSE 'value' END")
_ANSWER = ("CASE WHEN a.dont_know OR a.text IS NOT NULL THEN ''"
           " ELSE COALESCE(a.choice, CAST(a.value AS VARCHAR(40))) END")


def upgrade() -> None:
    op.add_column("response", sa.Column("index_score", sa.Float(), nullable=True))
    op.drop_index("ix_response_campaign_cell", table_name="response")
    op.create_index("ix_response_campaign_cell", "response", [*OLD_COLUMNS, "index_score"])
    op.create_table(
        "answer_count",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(70), nullable=False),
        sa.Column("group_value", sa.String(100), nullable=False),
        sa.Column("question_key", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("answer", sa.String(40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('value', 'choice', 'dont_know', 'text')", name=op.f("ck_answer_count_kind")),
        sa.CheckConstraint("n > 0", name=op.f("ck_answer_count_positive")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_answer_count_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "dimension", "group_value", "question_key", "kind", "answer",
                                name=op.f("pk_answer_count")),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    # Only versions with responses: nothing else has answers to score or count.
    for version_id, document in connection.execute(sa.text(
            "SELECT id, document FROM survey_version WHERE id IN (SELECT survey_version_id FROM response)")).all():
        definition = parse_definition(json.loads(document) if isinstance(document, str) else document)
        _fill_scores(connection, version_id, definition)
        _fill_counts(connection, version_id, [question.key for question in definition.background_questions])


def _fill_scores(connection, version_id: int, definition) -> None:
    """Every response of the version gets its personal index score (NULL without an index answer)."""
    keys = list(definition.index.questions)
    rows = connection.execute(
        sa.text("SELECT a.response_id, a.question_key, a.value FROM answer a JOIN response r ON r.id = a.response_id"
                " WHERE r.survey_version_id = :v AND a.value IS NOT NULL AND a.question_key IN :keys")
        .bindparams(sa.bindparam("keys", expanding=True)),
        {"v": version_id, "keys": keys})
    answers: dict[str, dict[str, StoredAnswer]] = {}
    for response_id, question_key, value in rows:
        answers.setdefault(response_id, {})[question_key] = StoredAnswer(value=value)
    scores = [{"score": definition.personal_score(given), "id": response_id} for response_id, given in answers.items()]
    if scores:
        connection.execute(sa.text("UPDATE response SET index_score = :score WHERE id = :id"), scores)


def _fill_counts(connection, version_id: int, background_keys: list[str]) -> None:
    """The version's answers counted per campaign and dimension, and per provider pair (summaries.counted, in SQL)."""
    # The month as YYYY-MM-DD whatever the server's DateStyle (a CAST follows it on PostgreSQL); SQLite keeps
    # dates as that text already.
    month = "to_char(r.month, 'YYYY-MM-DD')" if connection.dialect.name == "postgresql" else "r.month"
    selects = [
        (f"'{dimension}'", "COALESCE(" + (month if column == "month" else f"CAST(r.{column} AS VARCHAR(40))") + ", '')",
         "")
        for dimension, column in RESPONSE_DIMENSIONS.items()
    ]
    parameters = {"v": version_id}
    for position, key in enumerate(background_keys):
        selects.append((f":dimension_{position}", f"COALESCE(b{position}.choice, '')",
                        f" LEFT JOIN answer b{position} ON b{position}.response_id = r.id"
                        f" AND b{position}.question_key = :key_{position}"))
        parameters.update({f"dimension_{position}": "background:" + key, f"key_{position}": key})
    provider = selects[0][1]
    pairs = [(f"'provider|{dimension[1:-1]}'", f"{provider} || '|' || {group}", join)
             for dimension, group, join in selects[1:len(RESPONSE_DIMENSIONS)]]
    for position, key in enumerate(background_keys):
        dimension, group, join = selects[len(RESPONSE_DIMENSIONS) + position]
        pairs.append((f":pair_{position}", f"{provider} || '|' || {group}", join))
        parameters[f"pair_{position}"] = "provider|background:" + key
    selects += pairs
    for dimension, group, join in selects:
        connection.execute(sa.text(
            "INSERT INTO answer_count (campaign_id, dimension, group_value, question_key, kind, answer, n)"
            f" SELECT r.campaign_id, {dimension}, {group}, a.question_key, {_KIND}, {_ANSWER}, count(*)"
            f" FROM answer a JOIN response r ON r.id = a.response_id{join}"
            " WHERE r.survey_version_id = :v"
            f" GROUP BY r.campaign_id, {group}, a.question_key, {_KIND}, {_ANSWER}"), parameters)


def downgrade() -> None:
    op.drop_table("answer_count")
    op.drop_index("ix_response_campaign_cell", table_name="response")
    op.create_index("ix_response_campaign_cell", "response", OLD_COLUMNS)
    # Not a batch (table copy) on SQLite: dropping `response` there would cascade into `answer`;
    # SQLite >= 3.35 drops a column in place.
    op.drop_column("response", "index_score")
