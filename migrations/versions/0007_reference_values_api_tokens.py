"""reference values to compare with, and tokens for the read-only API

Issue 9 (analytics). `reference_value`: a figure from outside the
municipality (SKR's national result) per survey, question and year, shown
beside the municipality's own. `api_token`: the SHA-256 of each token a BI
tool presents to the JSON API (app/api/).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_key", sa.String(length=60), nullable=False),
        sa.Column("question_key", sa.String(length=40), nullable=True),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("figure", sa.String(length=70), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.CheckConstraint("measure IN ('mean', 'share_positive', 'index')", name=op.f("ck_reference_value_measure")),
        sa.CheckConstraint("(measure = 'index') = (question_key IS NULL)", name=op.f("ck_reference_value_index_has_no_question")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_value")),
        sa.UniqueConstraint("survey_key", "figure", "year", name=op.f("uq_reference_value_survey_key")),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"], name=op.f("fk_api_token_provider_id_provider")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("reference_value")
