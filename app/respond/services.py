"""Reads and writes of the respondent flow.

`record_response` is the one place a response is written. It checks the
campaign is still open, then claims the invitation and stores the answers
in one transaction whose first write is the claim: the database serialises
concurrent submits of one token and only one of them can flip `responded`
from false to true. On PostgreSQL that transaction is one call of a
database function (migration 0003), to spare the round trips.

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

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign, Invitation, OpenLink
from ..campaigns.tokens import looks_like_token, token_hash
from ..db import writer_turn
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
# The database function of migration 0003: the whole submit, in one call.
_RECORD_ON_POSTGRESQL = text(
    "SELECT record_response(:campaign_id, :provider_id, :programme_id, :link_language, :channel,"
    " :claimed_id, :today, :id, :survey_version_id, :language, :status, :week, :answers)"
)


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
    if connection.dialect.name == "postgresql":
        return _record_on_postgresql(connection, grant, response_row, answer_rows, today)
    return _record_on_sqlite(connection, grant, response_row, answer_rows, today)


def _record_on_sqlite(
    connection: Connection, grant: Grant, response_row: dict, answer_rows: list[dict], today: date
) -> Outcome:
    """Check the end date, claim the invitation if the link is one, insert; commit.

    SQLite has one writer at a time and updates rows in place: a conditional
    UPDATE is atomic and leaves no trace of when it ran. It runs in this
    process, so separate statements cost no extra trip.
    """
    with writer_turn(connection):
        # The end date is read afresh: the scope may be seconds old.
        if today > connection.scalar(_CAMPAIGN_END, {"campaign_id": grant.campaign_id}):
            connection.rollback()
            return Outcome.CLOSED
        if grant.kind == INVITATION and connection.execute(_CLAIM_ONE, {"claimed_id": grant.link_id}).rowcount != 1:
            connection.rollback()
            return Outcome.ALREADY_ANSWERED
        connection.execute(_INSERT_RESPONSE, response_row)
        if answer_rows:
            connection.execute(_INSERT_ANSWERS, answer_rows)
        connection.commit()
        return Outcome.STORED


def _record_on_postgresql(
    connection: Connection, grant: Grant, response_row: dict, answer_rows: list[dict], today: date
) -> Outcome:
    """One call of the database function `record_response` (migration 0003), in autocommit.

    A statement is a round trip to the server, and so are BEGIN and COMMIT:
    the submit was five of them. The function is one statement, and so its
    own transaction; in it, each step reads what was committed before it ran.

    The claim is where anonymity is at stake. PostgreSQL stamps every
    written row version with its transaction id (xmin) and places it anew
    (ctid). Updating only the claimed invitation would give it the xmin of
    the response inserted beside it - pairing the two - and the newest
    place in the table. Instead the function rewrites the claimed invitation
    together with every invitation of its cell (which the response names
    anyway) already used: they all get that xmin and move in table order,
    not answer order. An attacker can only say the response came from one
    of the cell's used invitations, which the response's scope and the
    `responded` flags say anyway; unused invitations are never candidates,
    so rewriting them would add cost, not anonymity. Claims in a cell are
    serialised by an advisory lock taken first, so that the rewrite sees
    the claim committed just before it, and concurrent rewrites cannot
    deadlock. If the invitation was used already, nothing is written.
    """
    # The pool puts the connection back in transactions when it is returned.
    connection.execution_options(isolation_level="AUTOCOMMIT")
    outcome = connection.scalar(_RECORD_ON_POSTGRESQL, {
        **response_row,
        # One JSON text: psycopg adapting five arrays cost a third of a submit's CPU here.
        "answers": json.dumps(answer_rows),
        "link_language": grant.language,
        "claimed_id": grant.link_id if grant.kind == INVITATION else None,
        "today": today,
    })
    return Outcome(outcome)
