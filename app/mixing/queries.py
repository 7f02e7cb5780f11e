"""Reads about answers on their way: how many wait to be mixed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign
from .models import WaitingAnswer


def waiting_count(session: Session, campaign: Campaign) -> int:
    """Answers of the campaign stored sealed and not yet mixed (in no figure yet)."""
    return session.scalar(
        select(func.count()).select_from(WaitingAnswer).where(WaitingAnswer.campaign_id == campaign.id)
    ) or 0
