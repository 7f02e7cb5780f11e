"""every pair of dimensions kept: answer_count and response_tally for pairs without the provider

Issue 9 (analytics, "Linked tables"): 0009 and 0010 keep each dimension
and the provider paired with each other one. The linked suppression
(app/analytics/linked.py) needs every two-way table of a campaign, per
question too, and grouping the answers for the pairs without the
provider took 4 s per campaign at 100,000 responses (ten pairs, about
0.4 s each on SQLite). The mixing step now adds every response under
every pair of dimensions (app/analytics/summaries.py `_groups`); this
fills the pairs it did not keep before from the stored responses, in
SQL of its own - written out, not imported, so that this revision keeps
doing what it did when the app's summaries change; tests/test_migrations.py
checks it against the mixing step's own counts.

A pair's name puts its dimensions in one order (summaries.pair_name): the
response's own (programme, language, channel, month) in that order, then
background questions by key.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from itertools import combinations

import sqlalchemy as sa
from alembic import op

from app.surveys.definition import parse_definition

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The response's own dimensions other than the provider, in pair-name order, and their columns.
OWN_DIMENSIONS = {"programme": "programme_id", "language": "language", "channel": "channel", "month": "month"}

_KIND = ("CASE WHEN a.dont_know THEN 'dont_know' WHEN a.text IS NOT NULL THEN 'text'"
         " WHEN a.choice IS NOT NULL THEN 'choice' ELSE 'value' END")
_ANSWER = ("CASE WHEN a.dont_know OR a.text IS NOT NULL THEN ''"
           " ELSE COALESCE(a.choice, CAST(a.value AS VARCHAR(40))) END")


def upgrade() -> None:
    # Two background questions' pair is "background:<key>|background:<key>": up to 103 characters with
    # 40-character keys (the breaker's case: 71 did not fit VARCHAR(70) on PostgreSQL). SQLite does not
    # enforce the length; its batch copy keeps the tables without rowid.
    for table in ("answer_count", "response_tally"):
        with op.batch_alter_table(table, table_kwargs={"sqlite_with_rowid": False}) as batch:
            batch.alter_column("dimension", type_=sa.String(110), existing_type=sa.String(70),
                               existing_nullable=False)
    connection = op.get_bind()
    for version_id, document in connection.execute(sa.text(
            "SELECT id, document FROM survey_version WHERE id IN (SELECT survey_version_id FROM response)")).all():
        definition = parse_definition(json.loads(document) if isinstance(document, str) else document)
        background_keys = sorted(question.key for question in definition.background_questions)
        for name, group, joins, parameters in _pairs(connection, background_keys):
            parameters = {**parameters, "v": version_id, "name": name}
            connection.execute(sa.text(
                "INSERT INTO answer_count (campaign_id, dimension, group_value, question_key, kind, answer, n)"
                f" SELECT r.campaign_id, :name, {group}, a.question_key, {_KIND}, {_ANSWER}, count(*)"
                f" FROM answer a JOIN response r ON r.id = a.response_id{joins}"
                " WHERE r.survey_version_id = :v"
                f" GROUP BY r.campaign_id, {group}, a.question_key, {_KIND}, {_ANSWER}"), parameters)
            connection.execute(sa.text(
                "INSERT INTO response_tally (campaign_id, dimension, group_value, complete, partial, scored,"
                " score_sum, score_squares)"
                f" SELECT r.campaign_id, :name, {group},"
                " sum(CASE WHEN r.status = 'complete' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN r.status = 'partial' THEN 1 ELSE 0 END),"
                " count(r.index_score), COALESCE(sum(r.index_score), 0),"
                " COALESCE(sum(r.index_score * r.index_score), 0)"
                f" FROM response r{joins}"
                " WHERE r.survey_version_id = :v"
                f" GROUP BY r.campaign_id, {group}"), parameters)


def _pairs(connection, background_keys: list[str]) -> list[tuple[str, str, str, dict]]:
    """(pair name, SQL of its group text, joins it needs, their parameters) of each pair without the provider."""
    # The month as YYYY-MM-DD whatever the server's DateStyle, as 0009 writes it.
    month = "to_char(r.month, 'YYYY-MM-DD')" if connection.dialect.name == "postgresql" else "r.month"
    dimensions = [(name, "COALESCE(" + (month if column == "month" else f"CAST(r.{column} AS VARCHAR(40))") + ", '')",
                   "", {}) for name, column in OWN_DIMENSIONS.items()]
    for position, key in enumerate(background_keys):
        # One answer per response and question (answer's primary key): the join adds no row.
        dimensions.append(("background:" + key, f"COALESCE(b{position}.choice, '')",
                           f" LEFT JOIN answer b{position} ON b{position}.response_id = r.id"
                           f" AND b{position}.question_key = :key_{position}", {f"key_{position}": key}))
    return [(f"{first}|{second}", f"{first_group} || '|' || {second_group}", first_join + second_join,
             {**first_parameters, **second_parameters})
            for (first, first_group, first_join, first_parameters), (second, second_group, second_join,
                                                                      second_parameters)
            in combinations(dimensions, 2)]


def downgrade() -> None:
    for table in ("answer_count", "response_tally"):
        op.execute(f"DELETE FROM {table} WHERE dimension LIKE '%|%' AND dimension NOT LIKE 'provider|%'")
        with op.batch_alter_table(table, table_kwargs={"sqlite_with_rowid": False}) as batch:
            batch.alter_column("dimension", type_=sa.String(70), existing_type=sa.String(110),
                               existing_nullable=False)
