from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base

#: How a customer can reach a survey: a response's channel is one of these (or NULL: merged).
CHANNELS = ("sms", "qr", "paper", "web")


class Response(Base):
    """One customer's answers, cut loose from how they were invited.

    Written only by the mixing step (app/mixing/mixer.py), in batches of at
    least k from one cell, never by the request that sent the answers.
    Deliberately absent: any reference to an invitation or link, the link's
    language, a time finer than the month, an IP or a user agent. The id is
    random, so it carries no order. A NULL provider, programme, language,
    channel or month means "merged into other": the cell was too small to
    keep it apart (docs/anonymity.md, "Coarsening").
    """

    __tablename__ = "response"
    __table_args__ = (
        CheckConstraint("status IN ('complete', 'partial')", name="status"),
        CheckConstraint("channel IN ('sms', 'qr', 'paper', 'web')", name="channel"),
        # Covers every results query's use of a campaign's responses (migrations 0008, 0009): the
        # rows themselves are never read, and the planner has one index on response to choose.
        Index("ix_response_campaign_cell", "campaign_id", "provider_id", "status", "programme_id", "language",
              "channel", "month", "index_score", "partly_scored"),
        # Without SQLite's hidden rowid, rows are kept in random-id order, not arrival order.
        {"sqlite_with_rowid": False},
    )

    #: Random 128-bit id (hex); never sequential.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    #: complete: every required question answered; partial: some skipped.
    status: Mapped[str] = mapped_column(String(10))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    #: NULL: merged with other providers' small cells.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"))
    #: NULL: merged with other programmes' small cells.
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programme.id"))
    #: The language answered in (may differ from the link's); NULL: merged.
    language: Mapped[str | None] = mapped_column(String(8))
    #: sms | qr | paper | web - how the customer reached the survey; NULL: merged.
    channel: Mapped[str | None] = mapped_column(String(10))
    #: First day of the month the answers were sent, in the municipality's
    #: time zone: the finest time kept. NULL: merged over the campaign.
    month: Mapped[date | None] = mapped_column(Date)
    #: The respondent's personal index score (SurveyDefinition.personal_score, on the index's
    #: scale: 1..points for "mean", 0-100 otherwise), written with the answers by the mixing
    #: step; NULL without an answered index question. The NKI is the mean of these
    #: (analytics/aggregates.response_tallies), read without touching the answers.
    index_score: Mapped[float | None] = mapped_column(Float)
    #: Whether that score is from some, not all, of the index questions (SurveyDefinition.partly_scored):
    #: the results hide the NKI of a group with 1..k-1 such respondents (docs/analytics.md, "Partly scored").
    partly_scored: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")


class Answer(Base):
    """One answer of a response: exactly one of value, choice, text and dont_know is set (a database check)."""

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
