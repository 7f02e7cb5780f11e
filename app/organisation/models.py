from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class Provider(Base):
    """A company or organisation that delivers programmes (Sw. anordnare)."""

    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name as the municipality writes it; shown to customers as is.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Programme(Base):
    """A programme (Sw. insats) that surveys are scoped to, e.g. SO or JPG."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code used in reports: "SO", "JPG", "AMI 1".
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
