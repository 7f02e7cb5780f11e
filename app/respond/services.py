"""Reads and writes of the respondent flow.

`record_response` is the one place a response is written. It checks the
campaign is still open, then claims the invitation and stores the answers
in one transaction whose first write is the claim: the database serialises
concurrent submits of one token and only one of them can flip `responded`
from false to true.

Every respondent request reads what it needs in one statement
(`survey_scope`; pages that only show the survey share what was read for a
few seconds, `RecentScopes`) and writes with statements built once, on a
pooled connection rather than through the ORM session: these two routes
are the ones under load.
"""

from __future__ import annotations

import enum
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign, Invitation, OpenLink
from ..campaigns.tokens import looks_like_token, token_hash
from ..organisation.models import Provider
from ..surveys.definition import StoredAnswer, SurveyDefinition
from ..surveys.models import SurveyVersion, definition_of
from .grant import INVITATION, Grant
from .models import Answer, Response


class LinkState(enum.Enum):
    VALID = "valid"
    #: Unknown and already used look the same from outside, on purpose.
    UNUSABLE = "unusable"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkLookup:
    state: LinkState
    link: Invitation | OpenLink | None = None
    campaign: Campaign | None = None


def find_invitation(session: Session, token: str, today: date) -> LinkLookup:
    # Hash first, whatever the token looks like, so that every path costs the same.
    digest = token_hash(token)
    row = session.execute(
        select(Invitation, Campaign)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Invitation.token_hash == digest)
    ).first()
    if row is None or not looks_like_token(token):
        return LinkLookup(LinkState.UNUSABLE)
    invitation, campaign = row
    return _lookup(invitation, campaign, today, used=invitation.responded)


def find_open_link(session: Session, code: str, today: date) -> LinkLookup:
    row = session.execute(
        select(OpenLink, Campaign)
        .join(Campaign, Campaign.id == OpenLink.campaign_id)
        .where(OpenLink.code == code)
    ).first()
    if row is None:
        return LinkLookup(LinkState.UNUSABLE)
    link, campaign = row
    return _lookup(link, campaign, today, used=False)


def _lookup(link, campaign: Campaign, today: date, *, used: bool) -> LinkLookup:
    if today > campaign.ends_on:
        return LinkLookup(LinkState.CLOSED, link, campaign)
    if used:
        return LinkLookup(LinkState.UNUSABLE)
    if today < campaign.starts_on:
        return LinkLookup(LinkState.NOT_YET_OPEN, link, campaign)
    return LinkLookup(LinkState.VALID, link, campaign)


class Outcome(enum.Enum):
    STORED = "stored"
    ALREADY_ANSWERED = "already_answered"
    CLOSED = "closed"


def week_of(day: date) -> date:
    """Monday of the day's week: the finest time a response keeps."""
    return day - timedelta(days=day.weekday())


def response_status(definition: SurveyDefinition, answers: dict[str, StoredAnswer]) -> str:
    skipped_required = any(q.required and q.key not in answers for q in definition.questions)
    return "partial" if skipped_required else "complete"


@dataclass(frozen=True)
class SurveyScope:
    """What a respondent page needs to know about the grant's campaign."""

    survey_version_id: int
    definition: SurveyDefinition
    ends_on: date
    provider_name: str


# Built once, on the tables rather than the ORM entities: this runs whenever
# a page or submit finds no kept scope (RecentScopes).
_campaign, _version, _provider = Campaign.__table__.c, SurveyVersion.__table__.c, Provider.__table__.c
_SCOPE_QUERY = (
    select(_campaign.survey_version_id, _version.digest, _campaign.ends_on, _provider.name)
    .join_from(Campaign.__table__, SurveyVersion.__table__, _version.id == _campaign.survey_version_id)
    .join(Provider.__table__, _provider.id == bindparam("provider_id"))
    .where(_campaign.id == bindparam("campaign_id"))
)


def survey_scope(connection: Connection, grant: Grant) -> SurveyScope | None:
    row = connection.execute(
        _SCOPE_QUERY, {"campaign_id": grant.campaign_id, "provider_id": grant.provider_id}
    ).first()
    if row is None:
        return None
    version_id, digest, ends_on, provider_name = row
    return SurveyScope(version_id, definition_of(connection, version_id, digest), ends_on, provider_name)


class RecentScopes:
    """Scopes read for survey pages, kept a few seconds per campaign and provider.

    Every customer of a provider in a campaign sees the same survey version,
    end date and provider name, and they change rarely (a version never). A
    page may show them `seconds` late. A submit uses the kept survey version
    but reads the end date afresh as its write begins (`record_response`),
    so a campaign that closes stops responses at once and pages soon after.
    """

    #: Campaigns x providers being answered at once stays small; this bounds a long-lived process.
    MAX_ENTRIES = 4096

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[tuple[int, int], tuple[float, SurveyScope]] = {}

    def get(self, connect: Callable[[], Connection], grant: Grant) -> SurveyScope | None:
        key = (grant.campaign_id, grant.provider_id)
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        # A page only reads: a pooled connection of its own costs half of the ORM session.
        with connect() as connection:
            scope = survey_scope(connection, grant)
        if scope is not None:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + self.seconds, scope)
        return scope


# Built once, executed with plain parameters: these run on every submit.
_INSERT_RESPONSE = insert(Response.__table__)
_INSERT_ANSWERS = insert(Answer.__table__)
_invitation = Invitation.__table__.c
_CLAIM_ONE = (
    update(Invitation.__table__)
    .where(_invitation.id == bindparam("claimed_id"), _invitation.responded.is_(False))
    .values(responded=True)
)
_CAMPAIGN_END = select(_campaign.ends_on).where(_campaign.id == bindparam("campaign_id"))
# PostgreSQL, one round trip: the cell's lock, and the campaign's end date.
_LOCK_CELL_READING_END = select(
    func.pg_advisory_xact_lock(bindparam("campaign_id"), func.hashtext(bindparam("cell_key"))),
    _CAMPAIGN_END.scalar_subquery(),
)

# PostgreSQL: every statement is a round trip to the server, so a submit
# stores the response and its answers - and claims its invitation - in one.
# The answers travel as one JSON text: psycopg adapting them as arrays cost a
# third of the submit's time in the app's process.
_PG_INSERTS = """
new_response AS (
  INSERT INTO response (id, survey_version_id, campaign_id, provider_id, programme_id,
                        language, channel, status, week)
  SELECT :id, :survey_version_id, :campaign_id, :provider_id, :programme_id,
         :language, :channel, :status, :week
  {condition}
),
new_answers AS (
  INSERT INTO answer (response_id, question_key, value, choice, text, dont_know)
  SELECT :id, a.question_key, a.value, a.choice, a.text, a.dont_know
  FROM json_to_recordset(CAST(:answers AS json))
       AS a(question_key varchar, value integer, choice varchar, text text, dont_know boolean)
  {condition}
)"""
_PG_STORE = text("WITH " + _PG_INSERTS.format(condition="") + "\nSELECT 1")
# The claim rewrites the cell's used invitations (see _store_on_postgresql);
# it finds no row if the claimed invitation was used already, and then
# nothing is inserted.
_PG_CLAIM_AND_STORE = text("""
WITH claimed AS (
  UPDATE invitation SET responded = true
  WHERE campaign_id = :campaign_id AND provider_id = :provider_id AND programme_id = :programme_id
    AND language = :link_language AND channel = :channel
    AND (responded OR id = :claimed_id)
    AND (SELECT NOT responded FROM invitation WHERE id = :claimed_id)
  RETURNING id
),""" + _PG_INSERTS.format(condition="WHERE EXISTS (SELECT FROM claimed)") + """
SELECT count(*) FROM claimed""")


def record_response(
    connection: Connection,
    grant: Grant,
    scope: SurveyScope,
    language: str,
    answers: dict[str, StoredAnswer],
    today: date,
) -> Outcome:
    response_id = uuid.uuid4().hex
    # Rows are built before the claim: from the claim to the commit the
    # database is locked for every other submit (on SQLite, all of them).
    response_row = {
        "id": response_id,
        "survey_version_id": scope.survey_version_id,
        "campaign_id": grant.campaign_id,
        "provider_id": grant.provider_id,
        "programme_id": grant.programme_id,
        # The language answered in, which may differ from the link's.
        "language": language,
        "channel": grant.channel,
        "status": response_status(scope.definition, answers),
        "week": week_of(today),
    }
    answer_rows = [
        {
            "response_id": response_id,
            "question_key": key,
            "value": answer.value,
            "choice": answer.choice,
            "text": answer.text,
            "dont_know": answer.dont_know,
        }
        for key, answer in answers.items()
    ]
    if today > _begin_write(connection, grant):
        connection.rollback()
        return Outcome.CLOSED
    if not _store(connection, grant, response_row, answer_rows):
        connection.rollback()
        return Outcome.ALREADY_ANSWERED
    connection.commit()
    return Outcome.STORED


def _store(connection: Connection, grant: Grant, response_row: dict, answer_rows: list[dict]) -> bool:
    """Claim the invitation, if the link is one, and insert the response and its answers.

    False if the invitation was used already: then nothing is inserted. The
    database decides, under concurrent submits too.
    """
    if connection.dialect.name == "postgresql":
        return _store_on_postgresql(connection, grant, response_row, answer_rows)
    # SQLite has one writer at a time and updates rows in place: a conditional
    # UPDATE is atomic and leaves no trace of when it ran.
    if grant.kind == INVITATION and connection.execute(_CLAIM_ONE, {"claimed_id": grant.link_id}).rowcount != 1:
        return False
    # SQLite runs in this process: separate statements cost no extra trip.
    connection.execute(_INSERT_RESPONSE, response_row)
    if answer_rows:
        connection.execute(_INSERT_ANSWERS, answer_rows)
    return True


def _store_on_postgresql(connection: Connection, grant: Grant, response_row: dict, answer_rows: list[dict]) -> bool:
    """PostgreSQL: claim by rewriting the cell's used invitations, and insert, in one statement.

    PostgreSQL stamps every written row version with its transaction id
    (xmin) and places it anew (ctid). Updating only the claimed invitation
    would give it the same xmin as the response inserted beside it - pairing
    the two - and the newest place in the table. Instead, the statement
    rewrites the claimed invitation together with every invitation of its
    cell (which the response names anyway) already used: they all get that
    xmin and move in table order, not answer order. An attacker can only
    say the response came from one of the cell's used invitations, which
    the response's scope and the `responded` flags say anyway; unused
    invitations are never candidates, so rewriting them would add cost,
    not anonymity. An advisory lock per cell, taken by `_begin_write` in
    this transaction, serialises claims, so the statement's snapshot (taken
    after the lock) holds the last committed claim and concurrent rewrites
    cannot deadlock.
    """
    parameters = {**response_row, "answers": json.dumps(answer_rows)}
    if grant.kind != INVITATION:
        connection.execute(_PG_STORE, parameters)
        return True
    claimed = connection.execute(
        _PG_CLAIM_AND_STORE, {**parameters, "link_language": grant.language, "claimed_id": grant.link_id}
    ).scalar_one()
    return claimed > 0


def _begin_write(connection: Connection, grant: Grant) -> date:
    """The campaign's end date, read as the write begins (the scope may be seconds old).

    On PostgreSQL an invitation's claim needs its cell's lock first; the
    same round trip takes it.
    """
    if connection.dialect.name == "postgresql" and grant.kind == INVITATION:
        _, ends_on = connection.execute(
            _LOCK_CELL_READING_END, {"campaign_id": grant.campaign_id, "cell_key": _cell_key(grant)}
        ).one()
        return ends_on
    return connection.scalar(_CAMPAIGN_END, {"campaign_id": grant.campaign_id})


def _cell_key(grant: Grant) -> str:
    return f"{grant.provider_id}:{grant.programme_id}:{grant.language}:{grant.channel}"
