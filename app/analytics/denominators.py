"""The response rate's denominators, one source per way customers are reached.

A response rate is answers over what was handed out, and each channel
hands out something else: single-use links (sent by SMS, or printed),
paper forms handed out, QR cards handed out. Each source below answers
"how many were handed out, and how many of those were answered" per group;
`link_counts` sums every source. The Paper and Distribution issues add
their sources to `SOURCES`; nothing else changes.

Open links (posters, a QR code on the wall) have no denominator: nobody
knows how many saw them. Their answers are in no response rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign, Invitation
from ..mixing.models import LINK, CellCount
from .scope import Breakdown, Selection

#: Dimensions a denominator is known for: the link's scope. Not the answered
#: language (a link's language is not the one answered in), not the month
#: answered, not background answers.
RATE_DIMENSIONS = ("provider", "programme", "channel")


@dataclass(frozen=True)
class HandedOut:
    """Handed out and, of those, answered (counts): the response rate is answered / handed_out, 0-1."""

    handed_out: int
    answered: int

    def __add__(self, other: HandedOut) -> HandedOut:
        return HandedOut(self.handed_out + other.handed_out, self.answered + other.answered)

    @property
    def rate(self) -> float | None:
        """answered / handed_out, 0-1; None when nothing was handed out."""
        return self.answered / self.handed_out if self.handed_out else None


def single_use_links(session: Session, campaign: Campaign, column: str | tuple[str, ...] | None,
                     filters: dict[str, object]) -> dict[object, HandedOut]:
    """Single-use links issued and claimed per value of `column` (None: one group, key None; a pair of
    columns: keys are pairs).

    Live invitations while the campaign runs; its `cell_count` link rows
    once finalised (the invitations are deleted then). A claim counts an
    answer sent, mixed or still waiting.
    """
    if campaign.finalised_on is not None:
        model, issued, answered = CellCount, func.sum(CellCount.issued), func.sum(CellCount.answered)
        base = select().select_from(CellCount).where(CellCount.language_role == LINK)
    else:
        model = Invitation
        issued, answered = func.count(), func.count().filter(Invitation.responded.is_(True))
        base = select().select_from(Invitation)
    names = () if column is None else column if isinstance(column, tuple) else (column,)
    keys = [getattr(model, name + "_id" if name in ("provider", "programme") else name) for name in names]
    statement = base.where(model.campaign_id == campaign.id)
    for name, value in filters.items():
        attribute = getattr(model, name + "_id" if name in ("provider", "programme") else name)
        statement = statement.where(attribute.is_(None) if value is None else attribute == value)
    statement = statement.add_columns(*keys, issued, answered)
    if keys:
        statement = statement.group_by(*keys)
    result = {}
    for row in session.execute(statement):
        group = None if not keys else row[0] if len(keys) == 1 else tuple(row[:len(keys)])
        result[group] = HandedOut(int(row[-2] or 0), int(row[-1] or 0))
    return {group: counts for group, counts in result.items() if counts.handed_out}


#: Every denominator source: (session, campaign, column or None, filters) -> {group: HandedOut}.
SOURCES: tuple[Callable[..., dict[object, HandedOut]], ...] = (single_use_links,)


def link_counts(session: Session, selection: Selection,
                breakdown: Breakdown | tuple[Breakdown, ...] | None) -> dict[object, HandedOut] | None:
    """Group key -> handed out and answered, summed over every source and campaign; None when not known.

    Known only when the breakdown (None: the selection as one group, key
    None) and every filter are on RATE_DIMENSIONS; otherwise the response
    rate of these groups cannot be stated and the caller says so.
    """
    parts = () if breakdown is None else breakdown if isinstance(breakdown, tuple) else (breakdown,)
    if any(part.dimension not in RATE_DIMENSIONS for part in parts):
        return None
    if any(item.breakdown.dimension not in RATE_DIMENSIONS for item in selection.filters):
        return None
    filters = {item.breakdown.dimension: item.value for item in selection.filters}
    totals: dict[object, HandedOut] = {}
    for campaign_id in selection.campaign_ids:
        campaign = session.get(Campaign, campaign_id)
        for source in SOURCES:
            column = None if not parts else parts[0].dimension if len(parts) == 1 else tuple(
                part.dimension for part in parts)
            for group, counts in source(session, campaign, column, filters).items():
                totals[group] = totals.get(group, HandedOut(0, 0)) + counts
    return totals
