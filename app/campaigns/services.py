"""Writes for campaigns: creating them, their open links and invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import product

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..organisation.models import Programme, Provider
from ..surveys.models import SurveyVersion
from .models import Campaign, CampaignLanguage, Invitation, InvitationBatch, OpenLink
from .tokens import OPEN_LINK_CODE_LENGTH, derived_token, new_token, token_hash


class CampaignError(ValueError):
    """A campaign request that cannot be met; the message says why (in English)."""


def create_campaign(
    session: Session,
    *,
    name: str,
    survey_version: SurveyVersion,
    starts_on: date,
    ends_on: date,
    providers: list[Provider],
    programmes: list[Programme],
    languages: list[str],
) -> Campaign:
    """Add a campaign with one open link (channel "qr") per provider x programme x language; returns it.

    `starts_on` and `ends_on` are municipal dates, both inclusive;
    `languages` are codes of LANGUAGES. Raises CampaignError when the
    campaign ends before it starts or a language is not one the survey
    version has texts in. Nothing is committed.
    """
    if ends_on < starts_on:
        raise CampaignError("ends before it starts")
    unsupported = set(languages) - set(survey_version.definition.languages)
    if unsupported:
        raise CampaignError(f"the survey has no text in {sorted(unsupported)}")
    campaign = Campaign(
        name=name,
        survey_version=survey_version,
        starts_on=starts_on,
        ends_on=ends_on,
        providers=list(providers),
        programmes=list(programmes),
        language_rows=[CampaignLanguage(language=code) for code in sorted(set(languages))],
    )
    session.add(campaign)
    session.flush()
    for provider, programme, language in product(providers, programmes, sorted(set(languages))):
        session.add(
            OpenLink(
                campaign_id=campaign.id,
                provider_id=provider.id,
                programme_id=programme.id,
                language=language,
                channel="qr",
                code=new_token(OPEN_LINK_CODE_LENGTH),
            )
        )
    return campaign


@dataclass(frozen=True)
class IssuedInvitation:
    """A single-use link just made: its token (22 letters and digits, never stored) and its language code."""

    token: str
    language: str


def issue_invitations(
    session: Session,
    campaign: Campaign,
    *,
    provider: Provider,
    programme: Programme,
    language: str,
    count: int,
    channel: str = "sms",
    today: date,
    seed: bytes | None = None,
) -> list[IssuedInvitation]:
    """Create `count` single-use links issued on `today` (the municipality's date).

    The tokens are returned once and never stored (only their SHA-256).
    With a `seed` (32 secret bytes) token number i is `derived_token(seed, i)`,
    so the holder of the seed can show them again; without one they are random.
    Raises CampaignError for a provider, programme or language outside the
    campaign, a count outside 1..5000, or a finalised campaign.
    """
    if campaign.finalised_on is not None:
        raise CampaignError("the campaign is finalised")
    if provider not in campaign.providers or programme not in campaign.programmes:
        raise CampaignError("provider or programme is not part of this campaign")
    if language not in campaign.languages:
        raise CampaignError("language is not part of this campaign")
    if not 1 <= count <= 5000:
        raise CampaignError("count must be between 1 and 5000")
    issued = [
        IssuedInvitation(derived_token(seed, index) if seed is not None else new_token(), language)
        for index in range(count)
    ]
    session.add_all(
        Invitation(
            campaign_id=campaign.id,
            provider_id=provider.id,
            programme_id=programme.id,
            language=language,
            channel=channel,
            token_hash=token_hash(item.token),
            created_on=today,
        )
        for item in issued
    )
    return issued


def create_batch(
    session: Session,
    campaign: Campaign,
    *,
    provider: Provider,
    programme: Programme,
    language: str,
    count: int,
    today: date,
    seed: bytes,
    submission: str,
    channel: str = "sms",
) -> InvitationBatch:
    """A batch of `count` single-use links whose tokens derive from `seed`.

    `submission` is the id of the staff form's submission that asks for it
    (idempotency.Submission.id); the batch row is unique per submission.
    The tokens are `batch_tokens(seed, count)`. Raises CampaignError as
    `issue_invitations` does. Nothing is committed.
    """
    issue_invitations(
        session, campaign, provider=provider, programme=programme, language=language,
        count=count, channel=channel, today=today, seed=seed,
    )
    batch = InvitationBatch(
        campaign_id=campaign.id, provider_id=provider.id, programme_id=programme.id,
        language=language, channel=channel, count=count, submission=submission,
    )
    session.add(batch)
    return batch


def batch_tokens(seed: bytes, count: int) -> list[str]:
    """The tokens of a batch made with `seed`, in the order they were made."""
    return [derived_token(seed, index) for index in range(count)]


def open_links(session: Session, campaign: Campaign) -> list[OpenLink]:
    """The campaign's open links, ordered by provider id, programme id and language code."""
    return list(
        session.scalars(
            select(OpenLink)
            .where(OpenLink.campaign_id == campaign.id)
            .order_by(OpenLink.provider_id, OpenLink.programme_id, OpenLink.language)
        )
    )
