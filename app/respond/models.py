from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..campaigns.models import ScopeMixin
from ..db import Base


class Response(ScopeMixin, Base):
    """One customer's answers, cut loose from how they were invited.

    Deliberately absent: any reference to an invitation or link, an exact
    time, an IP or a user agent. The id is random, so it carries no order.
    """

    __tablename__ = "response"
    __table_args__ = (
        CheckConstraint("status IN ('complete', 'partial')", name="status"),
        CheckConstraint("channel IN ('sms', 'qr', 'paper', 'web')", name="channel"),
        Index("ix_response_campaign_provider", "campaign_id", "provider_id"),
        # Without SQLite's hidden rowid, rows are kept in random-id order, not arrival order.
        {"sqlite_with_rowid": False},
    )

    #: Random 128-bit id (hex); never sequential.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    #: complete: every required question answered; partial: some skipped.
    status: Mapped[str] = mapped_column(String(10))
    #: Monday of the week the response arrived: the finest time kept.
    week: Mapped[date] = mapped_column(Date)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")


class Answer(Base):
    __tablename__ = "answer"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN choice IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN text IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN dont_know THEN 1 ELSE 0 END) = 1",
            name="exactly_one_kind",
        ),
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[str] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), primary_key=True
    )
    question_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Scale point (1..n) or yes (1) / no (0).
    value: Mapped[int | None] = mapped_column(Integer)
    #: Option key of a single-choice question.
    choice: Mapped[str | None] = mapped_column(String(40))
    #: Free text, at most 1000 characters.
    text: Mapped[str | None] = mapped_column(Text)
    #: "Don't know / not applicable".
    dont_know: Mapped[bool] = mapped_column(Boolean, default=False)
