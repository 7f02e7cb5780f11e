"""Reads for the campaign pages."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Campaign, Invitation


def all_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc())))


def invitation_counts(session: Session, campaign_id: int) -> dict[tuple[int, int, str], tuple[int, int]]:
    """(provider, programme, language) -> (issued, responded)."""
    rows = session.execute(
        select(
            Invitation.provider_id,
            Invitation.programme_id,
            Invitation.language,
            func.count(),
            func.count().filter(Invitation.responded.is_(True)),
        )
        .where(Invitation.campaign_id == campaign_id)
        .group_by(Invitation.provider_id, Invitation.programme_id, Invitation.language)
    )
    return {(p, r, lang): (issued, responded) for p, r, lang, issued, responded in rows}
