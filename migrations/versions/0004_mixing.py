"""answers wait sealed and are mixed: keys, waiting answers, nonces, counts

The write path of issue 7 (docs/anonymity.md). A submit no longer writes a
response: it claims its invitation (or records an open-link form's nonce)
and stores the answers sealed to a published key; the mixing step writes
responses later, a cell at a time. So:

- new tables `mixer_installation`, `answer_key`, `waiting_answer`,
  `form_nonce`, `cell_count`; `campaign.finalised_on`;
- `response` keeps the month, not the week, and its provider, programme,
  language and channel may be NULL ("merged into other");
- PostgreSQL: the database function `record_response` and the invitation
  table's fillfactor (both served the per-cell claim rewrite, now gone)
  are replaced by `store_waiting_answer`, the new submit in one call.

SQLite cannot alter columns: `response` and `answer` are rebuilt by hand
rather than by Alembic's batch mode, which would lose WITHOUT ROWID and -
with foreign keys on inside this transaction - let dropping the old
`response` cascade into `answer`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The submit of app/mixing/intake.py in one call; returns the outcome's name.
# Lock, check, key, claim or nonce, insert: the same steps as intake._store_on_sqlite.
STORE_WAITING_ANSWER = r"""
CREATE FUNCTION store_waiting_answer(
  p_campaign_id integer, p_today date, p_late_entry boolean,
  p_provider_id integer, p_programme_id integer, p_channel varchar, p_link_language varchar,
  p_claimed_id integer, p_open_link_id integer, p_nonce_hash varchar,
  p_key_id integer, p_sealed bytea
) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_ends_on date;
  v_finalised_on date;
BEGIN
  -- Finalisation takes this lock alone: a submit lands before it or sees it.
  PERFORM pg_advisory_xact_lock_shared(7301, p_campaign_id);
  SELECT ends_on, finalised_on INTO v_ends_on, v_finalised_on FROM campaign WHERE id = p_campaign_id;
  IF NOT FOUND OR v_finalised_on IS NOT NULL OR (p_today > v_ends_on AND NOT p_late_entry) THEN
    RETURN 'closed';
  END IF;
  -- Sealed to a key that is no longer the newest: the app seals again. So
  -- the mixer may retire the old key as soon as it has published a new one.
  IF p_key_id IS DISTINCT FROM (SELECT max(id) FROM answer_key) THEN
    RETURN 'stale_key';
  END IF;
  -- The link must exist with exactly the scope the answers will be stored in.
  IF p_claimed_id IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM invitation WHERE id = p_claimed_id AND campaign_id = p_campaign_id
         AND provider_id = p_provider_id AND programme_id = p_programme_id
         AND channel = p_channel AND language = p_link_language)
     OR p_open_link_id IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM open_link WHERE id = p_open_link_id AND campaign_id = p_campaign_id
         AND provider_id = p_provider_id AND programme_id = p_programme_id
         AND channel = p_channel AND language = p_link_language) THEN
    RETURN 'invalid';
  END IF;
  IF p_claimed_id IS NOT NULL THEN
    UPDATE invitation SET responded = true WHERE id = p_claimed_id AND NOT responded;
    IF NOT FOUND THEN
      RETURN 'already_answered';
    END IF;
  ELSE
    INSERT INTO form_nonce (hash, campaign_id) VALUES (p_nonce_hash, p_campaign_id)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      RETURN 'already_answered';
    END IF;
  END IF;
  INSERT INTO waiting_answer (campaign_id, key_id, sealed)
  VALUES (p_campaign_id, p_key_id, p_sealed);
  RETURN 'stored';
END
$$
"""

def _response_table(name: str, month: bool) -> None:
    nullable = month  # after 0004 the scope columns may be NULL ("merged")
    op.create_table(
        name,
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("survey_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("month" if month else "week", sa.Date(), nullable=month),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=nullable),
        sa.Column("programme_id", sa.Integer(), nullable=nullable),
        sa.Column("language", sa.String(length=8), nullable=nullable),
        sa.Column("channel", sa.String(length=10), nullable=nullable),
        sa.CheckConstraint("channel IN ('sms', 'qr', 'paper', 'web')", name="ck_response_channel"),
        sa.CheckConstraint("status IN ('complete', 'partial')", name="ck_response_status"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name="fk_response_campaign_id_campaign", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"], name="fk_response_programme_id_programme"),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"], name="fk_response_provider_id_provider"),
        sa.ForeignKeyConstraint(["survey_version_id"], ["survey_version.id"], name="fk_response_survey_version_id_survey_version"),
        sa.PrimaryKeyConstraint("id", name="pk_response"),
        sqlite_with_rowid=False,
    )


def _answer_table() -> None:
    op.create_table(
        "answer",
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("question_key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("choice", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("dont_know", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN choice IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN text IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN dont_know THEN 1 ELSE 0 END) = 1",
            name="ck_answer_exactly_one_kind",
        ),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"], name="fk_answer_response_id_response", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("response_id", "question_key", name="pk_answer"),
        sqlite_with_rowid=False,
    )


def _rebuild_response_on_sqlite(to_month: bool) -> None:
    """Copy response and answer into tables of the new shape, in an order no cascade can reach."""
    old_period, new_period = ("week", "month") if to_month else ("month", "week")
    # A month becomes its first day; a week's Monday becomes its month's first day.
    converted = f"date({old_period}, 'start of month')" if to_month else "month"
    _response_table("response_new", month=to_month)
    op.execute(
        f"INSERT INTO response_new (id, survey_version_id, status, {new_period}, campaign_id, provider_id,"
        " programme_id, language, channel)"
        f" SELECT id, survey_version_id, status, {converted}, campaign_id, provider_id, programme_id, language, channel"
        " FROM response"
    )
    op.execute("CREATE TEMPORARY TABLE answer_copy AS SELECT * FROM answer")
    op.execute("DROP TABLE answer")  # nothing refers to answer
    op.execute("DROP INDEX ix_response_campaign_provider")
    op.execute("DROP TABLE response")  # nothing refers to response any more
    op.execute("ALTER TABLE response_new RENAME TO response")
    op.create_index("ix_response_campaign_provider", "response", ["campaign_id", "provider_id"])
    _answer_table()
    op.execute(
        "INSERT INTO answer (response_id, question_key, value, choice, text, dont_know)"
        " SELECT response_id, question_key, value, choice, text, dont_know FROM answer_copy"
    )
    op.execute("DROP TABLE answer_copy")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP FUNCTION record_response")
        op.execute("ALTER TABLE invitation RESET (fillfactor)")

    op.create_table(
        "mixer_installation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=1000), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mixer_installation")),
    )
    op.create_table(
        "answer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_key")),
        sa.UniqueConstraint("public_key", name=op.f("uq_answer_key_public_key")),
    )
    op.create_table(
        "waiting_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_waiting_answer_campaign_id_campaign"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["key_id"], ["answer_key.id"], name=op.f("fk_waiting_answer_key_id_answer_key"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waiting_answer")),
    )
    op.create_index("ix_waiting_answer_campaign_id", "waiting_answer", ["campaign_id"])
    op.create_index("ix_waiting_answer_key_id", "waiting_answer", ["key_id"])
    if postgresql:
        # Random bytes do not compress: keep them in the row (a page holds
        # up to ~8 KB) instead of trying to compress and moving them out.
        op.execute("ALTER TABLE waiting_answer ALTER COLUMN sealed SET STORAGE MAIN")
    op.create_table(
        "form_nonce",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_form_nonce_campaign_id_campaign"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_form_nonce")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_form_nonce_campaign_id", "form_nonce", ["campaign_id"])
    op.create_table(
        "cell_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("language_role", sa.String(length=10), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("month", sa.Date(), nullable=True),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Integer(), nullable=False),
        sa.Column("partial", sa.Integer(), nullable=False),
        sa.Column("withheld", sa.Integer(), nullable=False),
        sa.CheckConstraint("language_role IN ('link', 'answered')", name=op.f("ck_cell_count_language_role")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_cell_count_campaign_id_campaign"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"], name=op.f("fk_cell_count_programme_id_programme")),
        sa.ForeignKeyConstraint(["provider_id"], ["provider.id"], name=op.f("fk_cell_count_provider_id_provider")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cell_count")),
    )
    op.create_index("ix_cell_count_campaign_id", "cell_count", ["campaign_id"])
    op.add_column("campaign", sa.Column("finalised_on", sa.Date(), nullable=True))

    if postgresql:
        op.add_column("response", sa.Column("month", sa.Date(), nullable=True))
        op.execute("UPDATE response SET month = date_trunc('month', week)::date")
        op.drop_column("response", "week")
        for column in ("provider_id", "programme_id", "language", "channel"):
            op.alter_column("response", column, nullable=True)
        op.execute(STORE_WAITING_ANSWER)
    else:
        _rebuild_response_on_sqlite(to_month=True)


def downgrade() -> None:
    """Back to 0003. Waiting answers, keys, nonces and counts are dropped;
    responses merged into "other" (NULL scope) cannot be kept and are deleted."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute("DELETE FROM response WHERE provider_id IS NULL OR programme_id IS NULL"
               " OR language IS NULL OR channel IS NULL OR month IS NULL")
    if postgresql:
        op.execute("DROP FUNCTION store_waiting_answer")
        op.add_column("response", sa.Column("week", sa.Date(), nullable=True))
        op.execute("UPDATE response SET week = month")
        op.alter_column("response", "week", nullable=False)
        op.drop_column("response", "month")
        for column in ("provider_id", "programme_id", "language", "channel"):
            op.alter_column("response", column, nullable=False)
    else:
        _rebuild_response_on_sqlite(to_month=False)
    op.drop_column("campaign", "finalised_on")
    op.drop_index("ix_cell_count_campaign_id", table_name="cell_count")
    op.drop_table("cell_count")
    op.drop_index("ix_form_nonce_campaign_id", table_name="form_nonce")
    op.drop_table("form_nonce")
    op.drop_index("ix_waiting_answer_key_id", table_name="waiting_answer")
    op.drop_index("ix_waiting_answer_campaign_id", table_name="waiting_answer")
    op.drop_table("waiting_answer")
    op.drop_table("answer_key")
    op.drop_table("mixer_installation")
    if postgresql:
        op.execute("ALTER TABLE invitation SET (fillfactor = 50)")
        op.execute(_record_response_0003())


def _record_response_0003() -> str:
    """Migration 0003's function text, read from its file (module names cannot start with a digit)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0003_record_response_function.py")
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.CREATE_FUNCTION
