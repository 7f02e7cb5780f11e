"""Reads of the respondent flow: links, their state and the survey scope.

Answers are written by the one write path of app/mixing/intake.py.
Every respondent request reads what it needs in one statement
(`survey_scope`; pages that only show the survey share what was read for a
few seconds, `RecentScopes`), on a pooled connection rather than through
the ORM session: these routes are the ones under load.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign, Invitation, OpenLink
from ..campaigns.tokens import looks_like_token, token_hash
from ..organisation.models import Provider
from ..surveys.definition import SurveyDefinition
from ..surveys.models import SurveyVersion, definition_of
from .grant import Grant


class LinkState(enum.Enum):
    """What opening a link found; only VALID gets a grant."""

    VALID = "valid"
    #: Unknown and already used look the same from outside, on purpose.
    UNUSABLE = "unusable"
    #: Before the campaign's first day.
    NOT_YET_OPEN = "not_yet_open"
    #: After its last day, or finalised.
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkLookup:
    """What `find_invitation` or `find_open_link` found: the state, and the link and its campaign (None when UNUSABLE)."""

    state: LinkState
    link: Invitation | OpenLink | None = None
    campaign: Campaign | None = None


def find_invitation(session: Session, token: str, today: date) -> LinkLookup:
    """Look up the single-use link with `token` on `today` (a municipal date).

    UNUSABLE for an unknown, malformed or used token, alike (also once the
    campaign closed); CLOSED for an unused link after the campaign's last
    day or once it is finalised;
    NOT_YET_OPEN before its first day; VALID otherwise.
    """
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
    """Look up the open link with `code` on `today` (a municipal date): UNUSABLE if unknown, else as `find_invitation`."""
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
    # A used link first: "closed" would tell a stranger holding it that the
    # link was real, where an unknown one says "cannot be used".
    if used:
        return LinkLookup(LinkState.UNUSABLE)
    if today > campaign.ends_on or campaign.finalised_on is not None:
        return LinkLookup(LinkState.CLOSED, link, campaign)
    if today < campaign.starts_on:
        return LinkLookup(LinkState.NOT_YET_OPEN, link, campaign)
    return LinkLookup(LinkState.VALID, link, campaign)


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
    """`grant`'s survey version (id and definition), campaign's last day and provider's name, in one statement.

    None when the campaign or the provider no longer exists.
    """
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
    but reads the end date afresh as its write begins (mixing/intake.py),
    so a campaign that closes stops answers at once and pages soon after.
    """

    #: Campaigns x providers being answered at once stays small; this bounds a long-lived process.
    MAX_ENTRIES = 4096

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[tuple[int, int], tuple[float, SurveyScope]] = {}

    def get(self, connect: Callable[[], Connection], grant: Grant) -> SurveyScope | None:
        """`grant`'s scope as read less than `seconds` ago for its campaign and provider, or read now.

        `connect` gives a connection for the read (closed after it). None,
        and nothing kept, when `survey_scope` finds none.
        """
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
