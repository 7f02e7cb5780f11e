"""analytics indexes: one covering index on response for every results query

Issue 9 (analytics, "Scale"). Every results query starts from one
campaign's responses (or a survey's campaigns) and reads their scope
columns (provider, status, programme, language, channel, month), then each
response's answers by the answer table's primary key (response_id,
question_key). `ix_response_campaign_cell` holds all of them after the
campaign, so the response rows themselves are never read (SQLite: a
covering index; PostgreSQL: an index-only scan once vacuumed); it replaces
`ix_response_campaign_provider`, its prefix, so that the planner has one
index on response to choose, not two (SQLite's planner picked the wrong one
of two, 6x slower: tests/test_query_plans.py checks the plans). No index on
answer beyond its primary key: an index led by question_key would tempt
SQLite to scan a question's answers of every campaign (docs/performance.md,
"Analytics").

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CELL_COLUMNS = ["campaign_id", "provider_id", "status", "programme_id", "language", "channel", "month"]


def upgrade() -> None:
    op.create_index("ix_response_campaign_cell", "response", CELL_COLUMNS)
    op.drop_index("ix_response_campaign_provider", table_name="response")


def downgrade() -> None:
    op.create_index("ix_response_campaign_provider", "response", ["campaign_id", "provider_id"])
    op.drop_index("ix_response_campaign_cell", table_name="response")
