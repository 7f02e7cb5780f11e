"""response tallies: responses and index-score sums per campaign, dimension and group

Issue 9 (analytics, "Scale"): with answer_count (0009) a table of one
dimension, or of the provider and one other, read its answers from counts,
but its status counts and NKI still read the response rows - and for a
background question (women by provider) joined every response's answer:
374 ms on SQLite, 552 ms on PostgreSQL at 100,000 responses
(docs/performance.md). `response_tally` keeps, per campaign x dimension x
group of answer_count, the complete and partial responses and the count,
sum and sum of squares of their personal index scores
(app/analytics/summaries.py `tallied`); the mixing step adds to it with
each batch.

Filled here from the stored responses by one INSERT ... SELECT per
dimension - written out, not imported, so that this revision keeps doing
what it did when the app's summaries change; tests/test_migrations.py
checks it against the mixing step's own tallies.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from app.surveys.definition import parse_definition

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RESPONSE_DIMENSIONS = {"provider": "provider_id", "programme": "programme_id", "language": "language",
                       "channel": "channel", "month": "month"}


def upgrade() -> None:
    op.create_table(
        "response_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(70), nullable=False),
        sa.Column("group_value", sa.String(100), nullable=False),
        sa.Column("complete", sa.Integer(), nullable=False),
        sa.Column("partial", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.Column("score_squares", sa.Float(), nullable=False),
        sa.CheckConstraint("complete >= 0 AND partial >= 0 AND scored >= 0", name=op.f("ck_response_tally_counts")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_response_tally_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "dimension", "group_value", name=op.f("pk_response_tally")),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    for version_id, document in connection.execute(sa.text(
            "SELECT id, document FROM survey_version WHERE id IN (SELECT survey_version_id FROM response)")).all():
        definition = parse_definition(json.loads(document) if isinstance(document, str) else document)
        _fill_tallies(connection, version_id, [question.key for question in definition.background_questions])


def _fill_tallies(connection, version_id: int, background_keys: list[str]) -> None:
    """The version's responses tallied per campaign and dimension, and per provider pair (summaries.tallied, in SQL)."""
    # The month as YYYY-MM-DD whatever the server's DateStyle, as 0009 writes it.
    month = "to_char(r.month, 'YYYY-MM-DD')" if connection.dialect.name == "postgresql" else "r.month"
    selects = [
        (f"'{dimension}'", "COALESCE(" + (month if column == "month" else f"CAST(r.{column} AS VARCHAR(40))") + ", '')",
         "")
        for dimension, column in RESPONSE_DIMENSIONS.items()
    ]
    parameters = {"v": version_id}
    for position, key in enumerate(background_keys):
        # One answer per response and question (answer's primary key): the join adds no row.
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
            "INSERT INTO response_tally (campaign_id, dimension, group_value, complete, partial, scored, score_sum,"
            " score_squares)"
            f" SELECT r.campaign_id, {dimension}, {group},"
            " sum(CASE WHEN r.status = 'complete' THEN 1 ELSE 0 END),"
            " sum(CASE WHEN r.status = 'partial' THEN 1 ELSE 0 END),"
            " count(r.index_score), COALESCE(sum(r.index_score), 0), COALESCE(sum(r.index_score * r.index_score), 0)"
            f" FROM response r{join}"
            " WHERE r.survey_version_id = :v"
            f" GROUP BY r.campaign_id, {group}"), parameters)


def downgrade() -> None:
    op.drop_table("response_tally")
