"""API tokens: what a BI tool (Qlik Sense, Power BI) presents to read the aggregates."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class ApiToken(Base):
    """One token's record; the token itself (256 random bits) is shown once and never stored.

    Only its SHA-256 is kept: the token is random, so a plain hash cannot be
    guessed back, and a lookup by hash takes one index probe. A token with
    a provider sees that provider's figures only, as the provider role does.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the token is for, as the analyst names it ("Qlik, board dashboard").
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token, hex.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Set: the token reads this provider's figures only.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"))
    #: The day it was made, in the municipality's zone (a day, not a time: nothing finer is needed).
    created_on: Mapped[date] = mapped_column(Date)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
