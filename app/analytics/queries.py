"""The personal index score as SQL, for aggregates.py (every figure is made in results.py).

NKI follows the survey's index definition (docs/surveys.md): each
response's personal score over the index questions it answered, then the
mean of those scores per group (aggregates.index_sums).
"""

from __future__ import annotations

from sqlalchemy import Float, case, cast, func, literal

from ..respond.models import Answer
from ..surveys.definition import SurveyDefinition


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
