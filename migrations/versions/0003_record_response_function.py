"""record_response(): a respondent's submit in one call (PostgreSQL)

Every statement is a round trip to PostgreSQL, and so are BEGIN and
COMMIT; a submit was five. This function is the whole submit - the
campaign's end date, the claim of the invitation, the response and its
answers - as one statement, run in autocommit by
app/respond/services.py:_record_on_postgresql, whose docstring says why the
claim rewrites the cell's used invitations. SQLite runs in the app's
process and keeps doing the same in Python (_record_on_sqlite).

A migration is a fixed step: to change the function, add a migration with
CREATE OR REPLACE FUNCTION (or a new signature and DROP of this one).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# VOLATILE (the default, said out loud): each statement in the body then
# reads what was committed when it starts - after the lock - not when the
# call started. p_claimed_id is NULL for open links (QR codes), which claim
# nothing. Returns the outcome's name: stored, closed or already_answered.
CREATE_FUNCTION = r"""
CREATE FUNCTION record_response(
  p_campaign_id integer, p_provider_id integer, p_programme_id integer,
  p_link_language varchar, p_channel varchar, p_claimed_id integer, p_today date,
  p_response_id varchar, p_survey_version_id integer, p_language varchar,
  p_status varchar, p_week date, p_answers json
) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_claimed_id IS NOT NULL THEN
    -- One claim at a time per cell: the rewrite below must see the claim
    -- committed just before it, and two rewrites must not deadlock.
    PERFORM pg_advisory_xact_lock(p_campaign_id,
      hashtext(concat_ws(':', p_provider_id, p_programme_id, p_link_language, p_channel)));
  END IF;
  IF p_today > (SELECT ends_on FROM campaign WHERE id = p_campaign_id) THEN
    RETURN 'closed';
  END IF;
  IF p_claimed_id IS NOT NULL THEN
    -- The claim: the invitation and the cell's used ones get one new row
    -- version each, or none if the invitation was used already.
    UPDATE invitation SET responded = true
    WHERE campaign_id = p_campaign_id AND provider_id = p_provider_id
      AND programme_id = p_programme_id AND language = p_link_language AND channel = p_channel
      AND (responded OR id = p_claimed_id)
      AND (SELECT NOT responded FROM invitation WHERE id = p_claimed_id);
    IF NOT FOUND THEN
      RETURN 'already_answered';
    END IF;
  END IF;
  INSERT INTO response (id, survey_version_id, campaign_id, provider_id, programme_id,
                        language, channel, status, week)
  VALUES (p_response_id, p_survey_version_id, p_campaign_id, p_provider_id, p_programme_id,
          p_language, p_channel, p_status, p_week);
  -- The answers come as one JSON array: cheaper to send than one array per column.
  INSERT INTO answer (response_id, question_key, value, choice, text, dont_know)
  SELECT p_response_id, a.question_key, a.value, a.choice, a.text, a.dont_know
  FROM json_to_recordset(p_answers)
       AS a(question_key varchar, value integer, choice varchar, text text, dont_know boolean);
  RETURN 'stored';
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION record_response")
