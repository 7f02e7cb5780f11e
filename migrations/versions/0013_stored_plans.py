"""stored plans: a campaign's linked suppression plan, made once per change for every process

Issue 9 (analytics, "Linked tables"): the linked plan's feasibility audit
(app/analytics/feasibility.py) takes seconds at 100,000 responses. The
mixing step now makes the plan after each round that changed a
campaign's responses and keeps it here, keyed by what it is for (k and
the questions planned) and marked with the one-way counts it was made
from; a results page reads it while those counts are current. No rows
to fill: a plan missing is made by the first page that needs it, as
before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_plan",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_stored_plan_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "plan_key", name=op.f("pk_stored_plan")),
    )


def downgrade() -> None:
    op.drop_table("stored_plan")
