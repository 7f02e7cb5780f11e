"""Reads about answers on their way: how many wait to be mixed."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign
from .models import WaitingAnswer


def waiting_count(session: Session, campaign: Campaign) -> int:
    """Answers of the campaign stored sealed and not yet mixed (in no figure yet)."""
    return session.scalar(
        select(func.count()).select_from(WaitingAnswer).where(WaitingAnswer.campaign_id == campaign.id)
    ) or 0


def waiting_in(session: Session, campaign_ids: Iterable[int]) -> int:
    """Answers of these campaigns stored sealed and not yet mixed, together (a pooled table's waiting answers)."""
    ids = list(campaign_ids)
    if not ids:
        return 0
    return session.scalar(
        select(func.count()).select_from(WaitingAnswer).where(WaitingAnswer.campaign_id.in_(ids))
    ) or 0
