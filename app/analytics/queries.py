"""Aggregations in SQL: the database does the counting, Python only shapes rows.

NKI follows the survey's index definition (docs/surveys.md): each
response's personal score over the index questions it answered, then the
mean of those scores per provider.

Responses are what the mixing step has written (app/mixing/): answers
still waiting to be mixed are not in any figure but their count, and a
response whose provider was merged for anonymity counts in one row of its
own ("provider not shown") and in the campaign total. The response rate counts claimed
invitations: live ones while the campaign runs, the `cell_count` table
once it is finalised and the invitations are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign
from ..campaigns.queries import invitation_counts
from ..organisation.models import Provider
from ..respond.models import Answer, Response
from ..surveys.definition import SurveyDefinition


@dataclass(frozen=True)
class ProviderResult:
    """One row of the results table: a provider, the merged providers ("provider not shown") or the total.

    Every figure but `index_value` is a count: of mixed responses (answers
    still waiting are in none) or of single-use links; `response_rate` is
    0-1. `index_value` is on the survey's index scale: for "mean" the
    questions' scale, 1..points (1-5 in every shipped survey that uses
    it); for "scb100" 0-100; for "share_positive" per cent, 0-100 (the page
    divides by 100 to format it).
    """

    #: None for merged providers and for the campaign total (`merged` tells which).
    provider_id: int | None
    #: "" for merged providers and for the campaign total.
    provider_name: str
    #: Responses with every required question answered (a count).
    complete: int
    #: Responses with a required question skipped (a count).
    partial: int
    #: Responses with at least one answered index question (a count): the answers behind `index_value`.
    index_n: int
    #: The mean of the personal scores, on the index scale above; None when there are no index answers at all.
    index_value: float | None
    #: Single-use links issued (a count); 0 for merged providers.
    invitations: int
    #: Of those, claimed: answers stored, mixed or still waiting (a count).
    invitations_answered: int
    #: Responses whose provider was merged with others to keep k (docs/anonymity.md).
    merged: bool = False

    @property
    def responses(self) -> int:
        """Complete plus partial responses (a count)."""
        return self.complete + self.partial

    @property
    def response_rate(self) -> float | None:
        """Claimed over issued single-use links, 0-1; None without links."""
        return self.invitations_answered / self.invitations if self.invitations else None


def personal_score(definition: SurveyDefinition):
    """SQL expression: one response's personal score, aggregated over its index answers' rows.

    Per docs/surveys.md, "Index methods" ("don't know" and skipped
    questions are left out): "mean", the mean of the values, 1..points;
    "share_positive", 100 x the share of values >= the scale's
    `positive_from`, 0-100 (per cent); "scb100", Statistics Sweden's NKI,
    (weighted mean - 1) x 100 / (points - 1), 0-100, the weights (equal
    unless the survey gives them) taken over the questions answered.
    """
    index = definition.index
    value = cast(Answer.value, Float)
    if index.method == "mean":
        return func.avg(value)
    if index.method == "share_positive":
        threshold = definition.index_scale().positive_from
        return func.avg(case((Answer.value >= threshold, 100.0), else_=0.0))
    # scb100: weighted mean of 1..points mapped onto 0..100.
    points = definition.index_scale().points
    weights = index.weights or {key: 1 / len(index.questions) for key in index.questions}
    weight = case(*((Answer.question_key == key, literal(w)) for key, w in weights.items()), else_=0.0)
    return (func.sum(value * weight) / func.sum(weight) - 1) * 100.0 / (points - 1)


def _index_scores(campaign: Campaign, definition: SurveyDefinition):
    """Subquery (response_id, score) for every response of the campaign with an index answer; score on the index scale."""
    return (
        select(Answer.response_id, personal_score(definition).label("score"))
        .join(Response, Response.id == Answer.response_id)
        .where(
            Response.campaign_id == campaign.id,
            Answer.question_key.in_(definition.index.questions),
            Answer.value.is_not(None),
        )
        .group_by(Answer.response_id)
        .subquery()
    )


def campaign_results(session: Session, campaign: Campaign) -> list[ProviderResult]:
    """One row per provider of the campaign (by name, case aside), then one for merged providers if any.

    Each row holds counts, the NKI (the mean of its responses' personal
    scores, on the index scale: see ProviderResult) and the single-use
    links issued and claimed, from which `response_rate` (0-1) follows.
    Nothing here hides small figures: the page shows an NKI from fewer
    than MIN_CELL_SIZE answers as "too few answers".
    """
    scores = _index_scores(campaign, campaign.survey_version.definition)
    response_rows = session.execute(
        select(
            Response.provider_id,
            func.count().filter(Response.status == "complete"),
            func.count().filter(Response.status == "partial"),
            func.count(scores.c.score),
            func.avg(scores.c.score),
        )
        .outerjoin(scores, scores.c.response_id == Response.id)
        .where(Response.campaign_id == campaign.id)
        .group_by(Response.provider_id)
    ).all()
    invited = invitation_totals(session, campaign)
    by_provider = {row[0]: row[1:] for row in response_rows}
    names = dict(session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(
        [p.id for p in campaign.providers] + [pid for pid in by_provider if pid is not None] + list(invited)
    ))).all())
    results = []
    for provider_id in sorted(names, key=lambda pid: names[pid].lower()):
        complete, partial, index_n, index_value = by_provider.get(provider_id, (0, 0, 0, None))
        issued, answered = invited.get(provider_id, (0, 0))
        results.append(
            ProviderResult(provider_id, names[provider_id], complete, partial, index_n,
                           float(index_value) if index_value is not None else None, issued, answered)
        )
    if None in by_provider:
        complete, partial, index_n, index_value = by_provider[None]
        results.append(ProviderResult(None, "", complete, partial, index_n,
                                      float(index_value) if index_value is not None else None, 0, 0, merged=True))
    return results


def invitation_totals(session: Session, campaign: Campaign) -> dict[int, tuple[int, int]]:
    """provider id -> (single-use links issued, claimed), both counts, summed over
    `campaigns.queries.invitation_counts` (live invitations, or the finalised
    campaign's `cell_count`)."""
    totals: dict[int, tuple[int, int]] = {}
    for (provider_id, _programme, _language), (issued, answered) in invitation_counts(session, campaign).items():
        before = totals.get(provider_id, (0, 0))
        totals[provider_id] = (before[0] + issued, before[1] + answered)
    return totals


def campaign_total(session: Session, campaign: Campaign, rows: list[ProviderResult]) -> ProviderResult:
    """The whole campaign's row: counts summed over `rows`, NKI over every response (not a mean of provider means)."""
    scores = _index_scores(campaign, campaign.survey_version.definition)
    index_n, index_value = session.execute(select(func.count(scores.c.score), func.avg(scores.c.score))).one()
    return ProviderResult(
        None, "", sum(r.complete for r in rows), sum(r.partial for r in rows), index_n,
        float(index_value) if index_value is not None else None,
        sum(r.invitations for r in rows), sum(r.invitations_answered for r in rows),
    )
