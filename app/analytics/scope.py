"""What a results table is about: the answers selected and the dimension they are broken down by.

A `Selection` is a set of mixed responses: the responses of some campaigns,
narrowed by filters (provider = Nordljus, gender = woman, tertial 2027-1,
...). A `Breakdown` names the dimension its table's rows come from. Both are
plain values: the SQL is in aggregates.py, the suppression in
suppression.py, the figures in results.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

#: Dimensions a table can be broken down by or filtered on. "background"
#: needs the question key of a background question (gender, age band).
DIMENSIONS = ("provider", "programme", "language", "channel", "month", "tertial", "year", "background")

#: The scope a mixed response stores (its cell, with the month): what every campaign can be broken down
#: by besides the survey's background questions.
SCOPE_DIMENSIONS = ("provider", "programme", "language", "channel", "month")

#: Dimensions whose values come from the response's month (folded in Python: moments add up).
PERIOD_DIMENSIONS = ("month", "tertial", "year")


@dataclass(frozen=True)
class Breakdown:
    """A dimension to break a selection down by; `question_key` only for "background".

    Raises ValueError for an unknown dimension, or a background breakdown
    without a question key (or another dimension with one).
    """

    dimension: str
    question_key: str | None = None

    def __post_init__(self):
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {self.dimension!r}")
        if (self.dimension == "background") != (self.question_key is not None):
            raise ValueError("a background breakdown names its question, and only it does")
        # Hashed once: the linked plan (linked.py) keys ~100,000 cells by breakdown per campaign.
        object.__setattr__(self, "_hash", hash((self.dimension, self.question_key)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True)
class Filter:
    """Keep only responses whose `breakdown` value is `value`.

    Values: a provider's or programme's id (int), a language code, a
    channel, a month (date, first of the month), a tertial ((year, 1-3)),
    a year (int), or a background question's option key. None selects the
    merged group ("not shown"), which is never offered but is a valid value.
    """

    breakdown: Breakdown
    value: object


@dataclass(frozen=True)
class Selection:
    """Responses of `campaign_ids` (one or more campaigns of one index definition) that pass every filter.

    `filters` are ANDed. The provider role's own-provider restriction is a
    filter like any other (results.py adds it, not the caller).
    """

    campaign_ids: tuple[int, ...]
    filters: tuple[Filter, ...] = field(default=())

    def __post_init__(self):
        if not self.campaign_ids:
            raise ValueError("a selection needs at least one campaign")

    def without(self, position: int) -> Selection:
        """The same selection with its `position`-th filter dropped (the parent that filter narrows)."""
        return replace(self, filters=self.filters[:position] + self.filters[position + 1:])

    def with_filter(self, added: Filter) -> Selection:
        """The same selection narrowed by one more filter."""
        return replace(self, filters=(*self.filters, added))


def canonical_pair(first: Breakdown, second: Breakdown) -> tuple[Breakdown, Breakdown]:
    """Two breakdowns in one fixed order, so that "A filtered, by B" and "B filtered, by A" are one crossing."""
    return tuple(sorted((first, second), key=lambda b: (b.dimension, b.question_key or "")))


def value_order(value) -> tuple:
    """Group keys of one dimension (ids, codes, dates, tertials, None for merged) in a total order, None last;
    a tuple (a two-way cell, a combination) by part."""
    if isinstance(value, tuple):
        return tuple(value_order(part) for part in value)
    return (value is None, type(value).__name__, 0 if value is None else value)


def period_of(month: date | None, dimension: str):
    """The period a response's month falls in, as a key: the month (date), (year, tertial) or the year (int).

    None (the month was merged over the campaign) stays None. Tertials:
    January-April 1, May-August 2, September-December 3.
    Raises ValueError for a dimension that is not a period.
    """
    if month is None:
        return None
    if dimension == "month":
        return month
    if dimension == "tertial":
        return (month.year, (month.month - 1) // 4 + 1)
    if dimension == "year":
        return month.year
    raise ValueError(f"{dimension!r} is not a period")
