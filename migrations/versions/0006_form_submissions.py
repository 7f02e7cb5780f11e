"""a staff form sent twice does its work once; single-use links come in batches

Issue 8, kind 7 (posting twice). `form_submission` records each staff
form's submission that was done and where its answer led, so that the same
form sent again (reload, double click, back and resend, a retry after a
lost reply) is answered alike and does nothing more (app/idempotency.py).
`invitation_batch` is what the links page needs to show a batch's links
again in the browser that created it; it holds no token and nothing that
makes one (app/campaigns/shown.py).

Revision ID: 0006
Revises: 0004 (the lead re-chains it after 0005 on merge)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submission",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submission")),
    )
    op.create_table(
        "invitation_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("submission", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_invitation_batch_campaign_id_campaign"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"], name=op.f("fk_invitation_batch_programme_id_programme")),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"], name=op.f("fk_invitation_batch_provider_id_provider")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_batch")),
        sa.UniqueConstraint("submission", name=op.f("uq_invitation_batch_submission")),
    )
    op.create_index("ix_invitation_batch_campaign_id", "invitation_batch", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_invitation_batch_campaign_id", table_name="invitation_batch")
    op.drop_table("invitation_batch")
    op.drop_table("form_submission")
