from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..organisation.models import Programme, Provider
from ..surveys.models import SurveyVersion

campaign_provider = Table(
    "campaign_provider",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("provider_id", ForeignKey("provider.id"), primary_key=True),
)

campaign_programme = Table(
    "campaign_programme",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_id", ForeignKey("programme.id"), primary_key=True),
)


class Campaign(Base):
    """A survey version run over a period, e.g. "SO, tertial 1 2027"."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    #: First and last day customers can answer (inclusive, local dates).
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: Set when finalisation began (after `ends_on` and the grace period for
    #: paper forms): from then on nothing more is accepted, what waits is
    #: mixed, and per-person rows (invitations, form nonces) are deleted.
    finalised_on: Mapped[date | None] = mapped_column(Date)

    survey_version: Mapped[SurveyVersion] = relationship()
    providers: Mapped[list[Provider]] = relationship(
        secondary=campaign_provider, order_by=Provider.name
    )
    programmes: Mapped[list[Programme]] = relationship(
        secondary=campaign_programme, order_by=Programme.code
    )
    language_rows: Mapped[list[CampaignLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="CampaignLanguage.language"
    )

    @property
    def languages(self) -> list[str]:
        """The codes of the campaign's link languages ("sv", "prs", ...), sorted."""
        return [row.language for row in self.language_rows]

    def is_open_on(self, day: date) -> bool:
        """Whether `day` (a municipal date) lies within the first and last day, inclusive; finalisation aside."""
        return self.starts_on <= day <= self.ends_on


class CampaignLanguage(Base):
    """One language a campaign's links are made in (a code of LANGUAGES)."""

    __tablename__ = "campaign_language"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)


class ScopeMixin:
    """Where a link leads: campaign, provider, programme, language and channel."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    language: Mapped[str] = mapped_column(String(8))
    #: sms | qr | paper | web - how the customer reached the survey.
    channel: Mapped[str] = mapped_column(String(10))


class Invitation(ScopeMixin, Base):
    """A single-use link for one customer.

    Holds only the hash of its token and whether it was used: nothing here
    can be matched with a response (no time of answer, no response id).
    Deleted when its campaign is finalised; `cell_count` keeps the counts.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        Index("ix_invitation_cell", "campaign_id", "provider_id", "programme_id", "language", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the token; the token itself exists only in the link sent.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    responded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[date] = mapped_column(Date)


class OpenLink(ScopeMixin, Base):
    """A reusable link for posters and QR codes, one per scope."""

    __tablename__ = "open_link"
    __table_args__ = (
        UniqueConstraint("campaign_id", "provider_id", "programme_id", "language", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)


class InvitationBatch(ScopeMixin, Base):
    """Single-use links created together by one staff form: what its links page needs.

    Holds no token and nothing that makes one. The tokens derive from a
    secret of the form's submission (`tokens.derived_token`) that only the
    browser which sent the form holds - in its session, for
    `LINKS_SHOWN_MINUTES` - so the links page can show them again there,
    and nowhere else. `submission` names the form's submission
    (idempotency.FormSubmission): the same form sent again finds its batch
    instead of making another.
    """

    __tablename__ = "invitation_batch"
    __table_args__ = (Index("ix_invitation_batch_campaign_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: How many links the batch made (1-5000).
    count: Mapped[int] = mapped_column(Integer)
    #: The id of the form submission that made it (64 hex digits).
    submission: Mapped[str] = mapped_column(String(64), unique=True)
