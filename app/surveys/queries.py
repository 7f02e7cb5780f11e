"""Reads of stored survey versions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import SurveyVersion


def current_versions(session: Session) -> list[SurveyVersion]:
    """The newest stored version of each survey, ordered by survey key.

    A new campaign uses one of these. Older versions stay stored, unchanged,
    for the campaigns created on them (docs/surveys.md, "Versions").
    """
    newest = (
        select(SurveyVersion.key, func.max(SurveyVersion.version).label("version"))
        .group_by(SurveyVersion.key)
        .subquery()
    )
    return list(session.scalars(
        select(SurveyVersion)
        .join(newest, (SurveyVersion.key == newest.c.key) & (SurveyVersion.version == newest.c.version))
        .order_by(SurveyVersion.key)
    ))
