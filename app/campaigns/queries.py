"""Reads for the campaign pages."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..mixing.models import LINK, CellCount
from .models import Campaign, Invitation


def all_campaigns(session: Session) -> list[Campaign]:
    """Every campaign, newest first (by first day, then by id)."""
    return list(session.scalars(select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc())))


def invitation_counts(session: Session, campaign: Campaign) -> dict[tuple[int, int, str], tuple[int, int]]:
    """(provider, programme, link language) -> (single-use links issued, claimed).

    From the invitations while they exist; a finalised campaign's come from
    its `cell_count` rows (app/mixing/models.py).
    """
    if campaign.finalised_on is not None:
        rows = session.execute(
            select(CellCount.provider_id, CellCount.programme_id, CellCount.language,
                   func.sum(CellCount.issued), func.sum(CellCount.answered))
            .where(CellCount.campaign_id == campaign.id, CellCount.language_role == LINK)
            .group_by(CellCount.provider_id, CellCount.programme_id, CellCount.language)
        ).all()
        if rows:
            return {(p, r, lang): (int(issued), int(answered)) for p, r, lang, issued, answered in rows}
    rows = session.execute(
        select(
            Invitation.provider_id,
            Invitation.programme_id,
            Invitation.language,
            func.count(),
            func.count().filter(Invitation.responded.is_(True)),
        )
        .where(Invitation.campaign_id == campaign.id)
        .group_by(Invitation.provider_id, Invitation.programme_id, Invitation.language)
    )
    return {(p, r, lang): (issued, responded) for p, r, lang, issued, responded in rows}
