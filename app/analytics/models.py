"""What an analyst enters beside the survey answers: reference values to compare with."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

#: What a reference value measures: a question's mean (on its scale, e.g. 1-5), a question's
#: share of positive answers (per cent, 0-100), or the survey's NKI (on the index's scale).
MEASURES = ("mean", "share_positive", "index")


class ReferenceValue(Base):
    """A figure from outside the municipality shown beside its own, e.g. SKR's national result.

    Keyed by survey key and question key, not by survey version: a question
    key keeps its kind across versions (docs/surveys.md, "Versions"), so
    one reference serves every campaign of the survey. `question_key` is
    NULL exactly when `measure` is "index" (the survey's NKI).
    """

    __tablename__ = "reference_value"
    __table_args__ = (
        CheckConstraint("measure IN ('mean', 'share_positive', 'index')", name="measure"),
        CheckConstraint("(measure = 'index') = (question_key IS NULL)", name="index_has_no_question"),
        UniqueConstraint("survey_key", "figure", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_key: Mapped[str] = mapped_column(String(60))
    #: The question it refers to; NULL for the NKI.
    question_key: Mapped[str | None] = mapped_column(String(40))
    #: One of MEASURES.
    measure: Mapped[str] = mapped_column(String(20))
    #: "<measure>:<question key>" or "index:": one column the unique constraint can use on both databases (NULLs are distinct in SQL).
    figure: Mapped[str] = mapped_column(String(70))
    #: The year the reference was measured (e.g. 2024 for SKR's national result 2024).
    year: Mapped[int] = mapped_column(Integer)
    #: Where it comes from, as the analyst writes it ("SKR, riket 2024").
    label: Mapped[str] = mapped_column(String(200))
    #: On the measure's scale: a mean 1..points, a share 0-100, the NKI on the index's scale.
    value: Mapped[float] = mapped_column(Float)
