"""partly scored: responses whose personal index score is from some, not all, index questions

Issue 9 (analytics, "Linked tables"): the NKI (the mean of personal
scores) beside its index questions' figures gives a weighted sum of the
answers of the respondents who answered some but not all of those
questions - with two questions, 2 x NKI sum - sum(a) - sum(b) is exactly
their answers. The results count them per group and hide the NKI where
they are 1..k-1 (docs/analytics.md, "Partly scored"), so the mixing step
now writes `response.partly_scored` with each response and adds it up in
`response_tally.partly_scored`; this fills both from what is stored, in
SQL of its own - written out, not imported, so that this revision keeps
doing what it did when the app changes; tests/test_migrations.py checks
it against the mixing step's own tallies.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from itertools import combinations

import sqlalchemy as sa
from alembic import op

from app.surveys.definition import parse_definition

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The response's own dimensions, in pair-name order (app/analytics/summaries.pair_name), and their columns.
OWN_DIMENSIONS = {"provider": "provider_id", "programme": "programme_id", "language": "language",
                  "channel": "channel", "month": "month"}
OLD_INDEX = ["campaign_id", "provider_id", "status", "programme_id", "language", "channel", "month", "index_score"]


def upgrade() -> None:
    op.add_column("response", sa.Column("partly_scored", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("response_tally", sa.Column("partly_scored", sa.Integer(), nullable=False, server_default="0"))
    # The results' one index on response covers every column they read (0008, 0009).
    op.drop_index("ix_response_campaign_cell", table_name="response")
    op.create_index("ix_response_campaign_cell", "response", [*OLD_INDEX, "partly_scored"])
    connection = op.get_bind()
    for version_id, document in connection.execute(sa.text(
            "SELECT id, document FROM survey_version WHERE id IN (SELECT survey_version_id FROM response)")).all():
        definition = parse_definition(json.loads(document) if isinstance(document, str) else document)
        index_keys = list(definition.index.questions)
        # Some index question answered with a value (so it has a score), but fewer than all of them.
        connection.execute(
            sa.text("UPDATE response SET partly_scored = true WHERE survey_version_id = :v AND id IN ("
                    " SELECT a.response_id FROM answer a WHERE a.question_key IN :keys AND a.value IS NOT NULL"
                    " GROUP BY a.response_id HAVING count(*) < :m)")
            .bindparams(sa.bindparam("keys", expanding=True)),
            {"v": version_id, "keys": index_keys, "m": len(index_keys)})
        background_keys = sorted(question.key for question in definition.background_questions)
        for name, group, joins, parameters in _dimensions(connection, background_keys):
            # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
            connection.execute(sa.text(
                "UPDATE response_tally SET partly_scored = s.n FROM ("
                f" SELECT r.campaign_id AS campaign_id, {group} AS group_value, count(*) AS n"
                f" FROM response r{joins} WHERE r.survey_version_id = :v AND r.partly_scored"
                f" GROUP BY r.campaign_id, {group}) AS s"
                " WHERE response_tally.campaign_id = s.campaign_id AND response_tally.dimension = :name"
                " AND response_tally.group_value = s.group_value"), {**parameters, "v": version_id, "name": name})


def _dimensions(connection, background_keys: list[str]) -> list[tuple[str, str, str, dict]]:
    """(dimension name, SQL of its group text, joins it needs, their parameters): each dimension, each pair."""
    # The month as YYYY-MM-DD whatever the server's DateStyle, as 0009 writes it.
    month = "to_char(r.month, 'YYYY-MM-DD')" if connection.dialect.name == "postgresql" else "r.month"
    singles = [(name, "COALESCE(" + (month if column == "month" else f"CAST(r.{column} AS VARCHAR(40))") + ", '')",
                "", {}) for name, column in OWN_DIMENSIONS.items()]
    for position, key in enumerate(background_keys):
        # One answer per response and question (answer's primary key): the join adds no row.
        singles.append(("background:" + key, f"COALESCE(b{position}.choice, '')",
                        f" LEFT JOIN answer b{position} ON b{position}.response_id = r.id"
                        f" AND b{position}.question_key = :key_{position}", {f"key_{position}": key}))
    pairs = [(f"{first}|{second}", f"{first_group} || '|' || {second_group}", first_join + second_join,
              {**first_parameters, **second_parameters})
             for (first, first_group, first_join, first_parameters), (second, second_group, second_join,
                                                                       second_parameters)
             in combinations(singles, 2)]
    return singles + pairs


def downgrade() -> None:
    op.drop_index("ix_response_campaign_cell", table_name="response")
    op.create_index("ix_response_campaign_cell", "response", OLD_INDEX)
    # Not a batch (table copy) on SQLite: dropping `response` there would cascade into `answer`;
    # SQLite >= 3.35 drops a column in place.
    op.drop_column("response_tally", "partly_scored")
    op.drop_column("response", "partly_scored")
