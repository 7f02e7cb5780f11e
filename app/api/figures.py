"""The results layer's tables as JSON for BI tools: numbers unrounded, a suppressed figure null and flagged.

Every figure object carries `"suppressed": bool`. Suppressed (true): its
values are null because the results layer hid them (fewer than k answers,
or another figure's complement, app/analytics/results.py) - the value
never reaches this module (`HIDDEN`). Not suppressed with a null value:
there is nothing to show (no answers to the index questions, a standard
deviation of one value, no single-use links handed out). Units:

- counts are integers;
- `nki` is on the survey's index scale (`index_scale`: 1..points for
  "mean", 0-100 for "scb100" and "share_positive");
- a question's `mean`, `sd`, `low`, `high` are on its scale (1..points),
  or 0-1 for a yes/no question (the share of "yes");
- `share_positive` and response `rate` are shares 0-1, never per cent;
- `low`/`high` are the 95 % confidence interval of the mean (Student's t,
  app/analytics/statistics.py).

The shapes are those of app/api/openapi.yaml (tests validate every answer
against it); docs/api.md explains them for a BI developer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ..analytics.presentation import Labels, ordered_rows
from ..analytics.results import HIDDEN, TOTAL, GroupFigures, QuestionFigures, ResultTable
from ..analytics.scope import Breakdown
from ..analytics.statistics import Comparison, Summary, mean_of_available
from ..campaigns.models import Campaign
from ..surveys.definition import ChoiceQuestion, ScaleQuestion, SurveyDefinition, YesNoQuestion


def key_text(breakdown: Breakdown, key) -> str | None:
    """A group key as the text a filter takes (access.py): "3", "sv", "2027-03", "2027-1", "2027", "woman".

    None (the merged group "not shown") stays None; the total is "total".
    """
    if key is None:
        return None
    if key == TOTAL:
        return TOTAL
    if breakdown.dimension == "month":
        return f"{key.year}-{key.month:02d}"
    if breakdown.dimension == "tertial":
        return f"{key[0]}-{key[1]}"
    return str(key)


def index_scale(definition: SurveyDefinition) -> dict:
    """The index definition for a client: method, questions, and the scale's ends (min, max) its NKI lies on."""
    method = definition.index.method
    if method == "mean":
        points = definition.question(definition.index.questions[0]).scale.points
        low, high = 1, points
    else:  # scb100 and share_positive: 0-100
        low, high = 0, 100
    return {"method": method, "questions": list(definition.index.questions), "scale_min": low, "scale_max": high}


def campaign_json(campaign: Campaign, own_provider: int | None) -> dict:
    """One campaign as `GET /api/v1/campaigns` lists it; a provider-limited token sees only its provider named."""
    definition = campaign.survey_version.definition
    providers = [p for p in campaign.providers if own_provider is None or p.id == own_provider]
    return {
        "id": campaign.id,
        "name": campaign.name,
        "survey": {"key": definition.key, "version": definition.version},
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "finalised": campaign.finalised_on is not None,
        "finalised_on": _iso(campaign.finalised_on),
        "index": index_scale(definition),
        "providers": [{"id": p.id, "name": p.name} for p in providers],
        "programmes": [{"id": p.id, "code": p.code, "name": p.name} for p in campaign.programmes],
        "languages": list(campaign.languages),
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def summary_json(summary: Summary | None | object) -> dict:
    """A mean's figures {suppressed, n, mean, sd, low, high}: all null and suppressed for HIDDEN; n 0 for None."""
    if summary is HIDDEN:
        return {"suppressed": True, "n": None, "mean": None, "sd": None, "low": None, "high": None}
    if summary is None:
        return {"suppressed": False, "n": 0, "mean": None, "sd": None, "low": None, "high": None}
    return {"suppressed": False, "n": summary.n, "mean": summary.mean, "sd": summary.sd,
            "low": summary.low, "high": summary.high}


def responses_json(figures: GroupFigures) -> dict:
    """{suppressed, total, complete, partial}: the group's responses. `complete` and `partial` are null but
    in the unfiltered selection's total, and there too when a required question's answers are hidden
    (results._total_split)."""
    if figures.responses is HIDDEN:
        return {"suppressed": True, "total": None, "complete": None, "partial": None}
    return {"suppressed": False, "total": figures.responses, "complete": _count_or_null(figures.complete),
            "partial": _count_or_null(figures.partial)}


def _count_or_null(count: int | object | None) -> int | None:
    """A count as JSON: null where it is not given or is hidden."""
    return None if count is None or count is HIDDEN else count


def response_rate_json(figures: GroupFigures) -> dict:
    """{suppressed, handed_out, answered, rate}: single-use links handed out (never hidden), answered, rate 0-1.

    All null and not suppressed where the channel has no denominator; rate
    null where nothing was handed out.
    """
    hidden = figures.answered is HIDDEN or figures.response_rate is HIDDEN
    return {
        "suppressed": hidden,
        "handed_out": figures.handed_out if figures.handed_out is not HIDDEN else None,
        "answered": None if hidden else figures.answered,
        "rate": None if hidden else figures.response_rate,
    }


def question_type(definition: SurveyDefinition, question_key: str) -> str:
    """"scale", "yesno" or "choice": how to read a question's figures."""
    question = definition.question(question_key)
    if isinstance(question, ScaleQuestion):
        return "scale"
    if isinstance(question, YesNoQuestion):
        return "yesno"
    assert isinstance(question, ChoiceQuestion), question_key
    return "choice"


def question_json(definition: SurveyDefinition, labels: Labels, question_key: str,
                  figures: QuestionFigures | object) -> dict:
    """One question's figures in one group (module docstring for units); values null when suppressed."""
    head = {"key": question_key, "type": question_type(definition, question_key),
            "text": labels.question(question_key)}
    if figures is HIDDEN:
        return {**head, **summary_json(HIDDEN), "share_positive": None, "dont_know": None, "distribution": None}
    mean = summary_json(figures.summary)
    mean["n"] = figures.n  # a choice question has counts but no mean
    return {
        **head, **mean,
        "share_positive": figures.share_positive,
        "dont_know": figures.dont_know,
        "distribution": [{"answer": answer, "label": labels.answer(question_key, answer), "count": count}
                         for answer, count in figures.distribution],
    }


def comparison_json(comparison: Comparison | None) -> dict | None:
    """Welch's t against all other groups, Holm-corrected: {p_value, unadjusted_p_value, significant, direction}."""
    if comparison is None:
        return None
    return {"p_value": comparison.p_value, "unadjusted_p_value": comparison.unadjusted_p_value,
            "significant": comparison.significant, "direction": comparison.direction}


def group_json(table: ResultTable, labels: Labels, figures: GroupFigures, *, questions: bool = True,
               compared: bool = False) -> dict:
    """One row (or the total) of a result table; `questions` adds per-question figures, `compared` the comparison."""
    row = {
        "key": key_text(table.breakdown, figures.key),
        "label": labels.group(table.breakdown, figures.key),
        "responses": responses_json(figures),
        "nki": summary_json(figures.nki),
        "response_rate": response_rate_json(figures),
    }
    if compared:
        row["comparison"] = comparison_json(figures.comparison)
    if questions:
        row["questions"] = [question_json(table.definition, labels, key, value)
                            for key, value in figures.questions.items()]
    return row


def table_head(table: ResultTable, campaign: Campaign, filters: Mapping[str, str], waiting: int) -> dict:
    """What every table answer starts with: the campaign, the campaigns pooled and left out, breakdown,
    filters applied, k, index scale, waiting answers."""
    by = table.breakdown
    return {
        "campaign_id": campaign.id,
        "pooled_campaigns": list(table.selection.campaign_ids),
        "left_out_campaigns": list(table.left_out),
        "by": f"background:{by.question_key}" if by.dimension == "background" else by.dimension,
        "filters": dict(filters),
        "k": table.k,
        "index": index_scale(table.definition),
        "waiting_answers": waiting,
        "hidden_groups": table.hidden_groups,
    }


def results_json(table: ResultTable, labels: Labels, campaign: Campaign, filters: Mapping[str, str],
                 waiting: int) -> dict:
    """`GET .../results`: every figure per group and for the total."""
    return {
        **table_head(table, campaign, filters, waiting),
        "groups": [group_json(table, labels, row) for row in ordered_rows(table, labels)],
        "total": group_json(table, labels, table.total),
    }


def summary_table_json(table: ResultTable, labels: Labels, campaign: Campaign, filters: Mapping[str, str],
                       waiting: int) -> dict:
    """`GET .../summary`: the municipal summary table (Tabell 1) as numbers.

    Per group NKI, responses, response rate and the comparison with all
    other groups (the table must be made with compare=True); then
    `mean_over_groups`: the unweighted mean of the groups' unrounded NKI
    means that are shown (hidden and missing ones left out, seed 000:
    5, 4.8, 5, missing, 5, missing -> 4.95) and how many groups it is
    over; null mean when none has one. The page takes the mean of the
    values as rounded for display; a BI tool gets the exact one.
    """
    rows = ordered_rows(table, labels)
    # The merged group (key None, small groups combined) is no provider: not in the mean over groups.
    means = [row.nki.mean for row in rows
             if row.key is not None and row.nki not in (HIDDEN, None) and row.nki.mean is not None]
    return {
        **table_head(table, campaign, filters, waiting),
        "groups": [group_json(table, labels, row, questions=False, compared=True) for row in rows],
        "mean_over_groups": {"groups": len(means), "mean": mean_of_available(means)},
        "total": group_json(table, labels, table.total, questions=False),
    }
