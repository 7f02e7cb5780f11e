"""Reads and writes of the respondent flow.

`record_response` is the one place a response is written. It claims the
invitation and stores the answers in one transaction that starts with the
claim: the database serialises concurrent submits of one token and only
one of them can flip `responded` from false to true.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign, Invitation, OpenLink
from ..campaigns.tokens import looks_like_token, token_hash
from ..surveys.definition import StoredAnswer, SurveyDefinition
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


def record_response(
    session: Session,
    grant: Grant,
    definition: SurveyDefinition,
    survey_version_id: int,
    language: str,
    answers: dict[str, StoredAnswer],
    today: date,
) -> Outcome:
    # End any read transaction so the claim below is the first statement of
    # a fresh one (SQLite then takes the write lock before reading the row).
    session.rollback()
    if grant.kind == INVITATION and not _claim_invitation(session, grant):
        session.rollback()
        return Outcome.ALREADY_ANSWERED
    campaign = session.get(Campaign, grant.campaign_id)
    if campaign is None or today > campaign.ends_on:
        session.rollback()
        return Outcome.CLOSED
    session.add(
        Response(
            id=uuid.uuid4().hex,
            survey_version_id=survey_version_id,
            campaign_id=grant.campaign_id,
            provider_id=grant.provider_id,
            programme_id=grant.programme_id,
            # The language answered in, which may differ from the link's.
            language=language,
            channel=grant.channel,
            status=response_status(definition, answers),
            week=week_of(today),
            answers=[
                Answer(
                    question_key=key,
                    value=answer.value,
                    choice=answer.choice,
                    text=answer.text,
                    dont_know=answer.dont_know,
                )
                for key, answer in answers.items()
            ],
        )
    )
    session.commit()
    return Outcome.STORED


def _claim_invitation(session: Session, grant: Grant) -> bool:
    """Mark the invitation used; False if it already was. The database decides."""
    if session.get_bind().dialect.name == "postgresql":
        return _claim_invitation_rewriting_cell(session, grant)
    # SQLite has one writer at a time and updates rows in place: a conditional
    # UPDATE is atomic and leaves no trace of when it ran.
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == grant.link_id, Invitation.responded.is_(False))
        .values(responded=True)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def _claim_invitation_rewriting_cell(session: Session, grant: Grant) -> bool:
    """PostgreSQL: claim the invitation by rewriting its whole cell in one statement.

    PostgreSQL stamps every written row version with its transaction id
    (xmin) and places it anew (ctid). Updating only the claimed invitation
    would give it the same xmin as the response inserted beside it - pairing
    the two - and the newest place in the table. Rewriting every invitation
    of the cell (which the response names anyway) in one statement gives
    them all that xmin and moves them in table order, not answer order.
    An advisory lock per cell serialises claims, so the statement sees the
    last committed claim and concurrent rewrites cannot deadlock.
    """
    cell = (
        Invitation.campaign_id == grant.campaign_id,
        Invitation.provider_id == grant.provider_id,
        Invitation.programme_id == grant.programme_id,
        Invitation.language == grant.language,
        Invitation.channel == grant.channel,
    )
    cell_key = f"{grant.provider_id}:{grant.programme_id}:{grant.language}:{grant.channel}"
    session.execute(
        select(func.pg_advisory_xact_lock(grant.campaign_id, func.hashtext(cell_key)))
    )
    still_open = (
        select(Invitation.responded.is_(False))
        .where(Invitation.id == grant.link_id)
        .scalar_subquery()
    )
    rewritten = session.execute(
        update(Invitation)
        .where(*cell, still_open)
        .values(responded=Invitation.responded | (Invitation.id == grant.link_id))
        .execution_options(synchronize_session=False)
    ).rowcount
    return rewritten > 0
