"""What the analytics keep beside the survey answers: reference values to compare with, and the answer counts the pages read."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

#: The longest dimension name: two background questions' (keys up to 40 characters,
#: surveys.definition.KEY_PATTERN), "background:<key>|background:<key>" = 103 characters (migration 0011).
DIMENSION_LENGTH = 110

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


class AnswerCount(Base):
    """A summary table kept current by the mixing step: answers counted per campaign, dimension, group and answer.

    One row per (campaign, dimension, group, question, answer): `n` stored
    answers of that question with that answer among the campaign's
    responses whose `dimension` has the value `group_value`. Every stored
    response adds its answers once under each dimension and each pair of
    dimensions (summaries.py), in the transaction that writes it, so a campaign's
    rows of one dimension add up to its answers. The results read tables
    of one or two dimensions from here
    (aggregates.answer_counts) instead of joining every answer;
    rebuilt from the stored answers by migrations 0009 and 0011 and `flask
    analytics recount`. Nothing here is finer than the responses it counts.
    """

    __tablename__ = "answer_count"
    __table_args__ = (
        CheckConstraint("kind IN ('value', 'choice', 'dont_know', 'text')", name="kind"),
        CheckConstraint("n > 0", name="positive"),
        {"sqlite_with_rowid": False},
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    #: "provider", "programme", "language", "channel", "month" or "background:<question key>", or
    #: two of them, the provider first where it is one: "provider|language" (summaries.pair_name).
    dimension: Mapped[str] = mapped_column(String(DIMENSION_LENGTH), primary_key=True)
    #: The group's value as text: a provider's or programme's id, a language code, a channel,
    #: a month (YYYY-MM-01), a background option key; "" for the merged group (NULL in `response`);
    #: for a pair both, joined: "12|ar".
    group_value: Mapped[str] = mapped_column(String(100), primary_key=True)
    question_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: "value" (a scale point or yes 1 / no 0), "choice" (an option), "dont_know" or "text".
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: The value as text ("3") or the option key; "" for "dont_know" and "text".
    answer: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: How many answers (a count, > 0).
    n: Mapped[int] = mapped_column(Integer)


class ResponseTally(Base):
    """A summary table kept current by the mixing step: responses and their index scores per campaign, dimension and group.

    One row per (campaign, dimension, group), with the dimensions and
    groups of AnswerCount: how many of the campaign's stored responses in
    the group are complete and partial, how many have a personal index
    score (`Response.index_score`), and the sum and sum of squares of those
    scores (on the index scale: 1..points for "mean", 0-100 for "scb100"
    and "share_positive"), and how many of those are partly scored
    (`Response.partly_scored`). The results read a table's status counts and
    NKI from here (aggregates.response_tallies) wherever they read its
    answers from AnswerCount; a background question's groups would
    otherwise join every response's answer. Rebuilt from the stored
    responses by migrations 0010, 0011 and 0012 and `flask analytics recount`.
    """

    __tablename__ = "response_tally"
    __table_args__ = (
        CheckConstraint("complete >= 0 AND partial >= 0 AND scored >= 0", name="counts"),
        {"sqlite_with_rowid": False},
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    #: As AnswerCount.dimension.
    dimension: Mapped[str] = mapped_column(String(DIMENSION_LENGTH), primary_key=True)
    #: As AnswerCount.group_value.
    group_value: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: Complete responses (every required question answered; a count).
    complete: Mapped[int] = mapped_column(Integer)
    #: Partial responses (a count).
    partial: Mapped[int] = mapped_column(Integer)
    #: Responses with a personal index score (a count).
    scored: Mapped[int] = mapped_column(Integer)
    #: The sum of their scores (index scale).
    score_sum: Mapped[float] = mapped_column(Float)
    #: The sum of their squares (index scale, squared).
    score_squares: Mapped[float] = mapped_column(Float)
    #: Of the scored, those scored from some but not all index questions (`Response.partly_scored`; a count).
    partly_scored: Mapped[int] = mapped_column(Integer, server_default="0")


class StoredPlan(Base):
    """A campaign's linked suppression plan as made from its current counts, kept for every process to read.

    The plan (linked.py: which one-way rows and two-way cells each column
    hides) takes seconds to make at 100,000 responses, its feasibility audit
    most of them. The mixing step makes it after each round that changed a
    campaign's responses and keeps it here (linked.store_plan); a results
    page reads it while its `signature` is that of the one-way counts it
    was made from, and makes its own otherwise. It holds which groups are
    hidden, never a count; rows go with their campaign.
    """

    __tablename__ = "stored_plan"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    #: What the plan is for: k and the question keys planned (linked.plan_key, a SHA-256 in hex).
    plan_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The one-way counts it was made from (linked.counts_signature, a SHA-256 in hex).
    signature: Mapped[str] = mapped_column(String(64))
    #: The hidden groups, as JSON (linked.encoded_plan).
    payload: Mapped[str] = mapped_column(Text)
