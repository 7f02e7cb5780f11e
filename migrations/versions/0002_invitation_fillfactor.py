"""leave room on invitation pages for in-place claims (PostgreSQL)

Every claim rewrites many invitations of its cell (app/respond/services.py).
With half-empty pages PostgreSQL keeps the new row versions on their page
and skips the index updates (HOT updates). SQLite has no such setting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE invitation SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE invitation RESET (fillfactor)")
