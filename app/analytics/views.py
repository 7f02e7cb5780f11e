"""The results pages: campaigns, a campaign's overview, a provider, a question, the comments, reference values.

Every figure comes from results.result_table (suppressed there) as
presentation.py shows it; access.py decides who sees which campaign and
reads the query string. An analyst (VIEW_ALL_RESULTS) sees every page; a
provider-role account (VIEW_OWN_RESULTS) sees the campaigns that include
its provider and that provider's page only (404 for another provider's,
403 for the question and comment pages, which show every provider).

Answers: 400 with the sentence from access.ParameterError for a malformed
address; 200 with a message when results.SelectionRefused refuses the
selection (too few answers in it, or outside it).
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import delete, select

from ..accounts.policy import Permission, requires
from ..campaigns.models import Campaign
from ..db import db_session
from ..i18n import LANGUAGES, current_language
from ..idempotency import done, once
from ..mixing.queries import waiting_count, waiting_in
from ..surveys.definition import ScaleQuestion, SurveyDefinition, YesNoQuestion
from ..surveys.models import SurveyVersion
from . import access, pages
from .aggregates import comments as comment_rows
from .charts import Interval, interval_chart
from .forms import ReferenceForm, parse_value
from .models import ReferenceValue
from .presentation import (Column, Labels, Table, comparison_text, index_shown, level_text, ordered_rows, pool_notes,
                           question_cells, question_columns, question_table, rates_table, refusal_text, summary_table,
                           suppression_note)
from .results import HIDDEN, ResultTable, SelectionRefused, figure_questions, result_table, text_questions
from .statistics import Comparison, Summary, holm, moments_of, welch_p_value
from .scope import Breakdown, Selection

bp = Blueprint("analytics", __name__, url_prefix="/staff/results", template_folder="templates")


def results_viewer(view):
    """View decorator: signed in (else 302 to sign-in) and allowed some results (else 403, access.own_provider)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        """The view for a user who may see all results or its own provider's."""
        access.own_provider(current_user)
        return view(*args, **kwargs)

    return wrapped


@bp.context_processor
def _helpers() -> dict:
    return {"number": pages.number, "HIDDEN": HIDDEN}


def _k() -> int:
    return current_app.config["KUNDROST"].min_cell_size


def _labels(definition: SurveyDefinition) -> Labels:
    return Labels(db_session, definition, current_language().code)


def _refusal(reason: str, filtered: bool) -> str:
    """The sentence a refused selection shows (presentation.refusal_text) with this instance's k."""
    return refusal_text(reason, _k(), filtered)


def _campaign_context(campaign: Campaign, args: dict[str, str]) -> dict:
    """What every results page of a campaign shows at the top: the campaign, its survey, what waits to be
    mixed, and the campaigns it may be pooled with (`pool`: the choices, those chosen in `args`, and the
    campaigns the filter selects offer values of: this one and those chosen)."""
    chosen = set(access.pool_values(args))
    poolable = access.poolable_campaigns(db_session, current_user, campaign)
    return {"campaign": campaign, "definition": campaign.survey_version.definition,
            "waiting": waiting_count(db_session, campaign), "k": _k(),
            "suppression_note": suppression_note(_k(), written=False),
            "pool": {"choices": [(str(other.id), other.name) for other in poolable], "chosen": chosen,
                     "campaigns": [campaign, *(other for other in poolable if str(other.id) in chosen)]},
            "pool_notes": []}


def _pooled_args(asked: access.TableRequest) -> dict[str, str]:
    """The query string of the pool alone ({} or {"campaigns": "7,9"}): the downloads that take no filters
    (the workbook of a provider's page, the PDF report) keep the pool the page shows."""
    return {name: value for name, value in access.filter_args(asked).items() if name == access.POOL}


def _pool_notes(result: ResultTable) -> list[str]:
    """What a pooled page says of its campaigns (presentation.pool_notes) and their answers still waiting."""
    notes = pool_notes(db_session, result)
    waiting = waiting_in(db_session, (*result.selection.campaign_ids, *result.left_out)) if notes else 0
    if waiting:
        notes.append(_("Answers still waiting to be mixed into the results: %(n)d.", n=waiting))
    return notes


# ---------------------------------------------------------------- the campaigns


@bp.get("/")
@results_viewer
def index():
    """The campaigns whose results the user may open (access.visible_campaigns), newest first."""
    return render_template("analytics/index.html",
                           campaigns=access.visible_campaigns(db_session, current_user),
                           sees_all=access.sees_all(current_user))


# ---------------------------------------------------------------- a campaign's overview


@bp.get("/<int:campaign_id>")
@results_viewer
def campaign(campaign_id: int):
    """A campaign's overview: filters, the summary table (NKI with comparison), response rates, charts, questions.

    Query string per access.py (`by`, filters). 400 with the reason for a
    malformed one; a refused selection is a page that says so (200). A
    provider-role account is sent on to its own provider's page (302) with
    the same filters; asking it for another provider or `by=provider` is 404.
    """
    found = access.campaign_for(db_session, current_user, campaign_id)
    args = access.clean_args(request.args)
    context = _campaign_context(found, args)
    definition, labels = context["definition"], _labels(context["definition"])
    sees_all = access.sees_all(current_user)
    context.update(by=pages.breakdown_choice(definition, labels, args, sees_all),
                   choices=pages.filter_choices(context["pool"]["campaigns"], definition, labels, args,
                                                with_provider=sees_all))
    try:
        asked = access.table_request(db_session, found, args, current_user)
    except access.ParameterError as error:
        return render_template("analytics/campaign.html", error=str(error), **context), 400
    if asked.own_provider is not None:
        kept = {name: value for name, value in access.filter_args(asked).items() if name not in ("by", "provider")}
        return redirect(url_for("analytics.provider", campaign_id=found.id, provider_id=asked.own_provider, **kept))
    try:
        result = result_table(db_session, asked.selection, asked.breakdown, _k(), compare=True)
    except SelectionRefused as refused:
        return render_template("analytics/campaign.html", refused=_refusal(refused.reason,
                                                                           bool(asked.selection.filters)), **context)
    context["pool_notes"] = _pool_notes(result)
    summary, rates = summary_table(result, labels), rates_table(result, labels)
    links = {name: value for name, value in access.filter_args(asked).items() if name != "by"}
    questions = []
    for key in figure_questions(definition):
        cells = pages.printed_rows(_one_row_table(definition, labels, key, result.total.questions[key]))[0].cells
        questions.append((key, labels.question(key), cells))
    return render_template(
        "analytics/campaign.html", **context, result=result,
        summary=summary, summary_rows=pages.printed_rows(summary, {"nki": _("Missing")}),
        rates=rates, rates_rows=pages.printed_rows(rates, {"response_rate": _("Not known")}),
        nki_chart=pages.nki_chart("nki-chart", summary, definition),
        rate_chart=pages.rate_chart("rate-chart", rates),
        questions=questions, question_headings=_question_headings(definition, labels),
        links=links, provider_links=_provider_links(found, result, links), downloads=access.filter_args(asked),
        pooled=_pooled_args(asked),
    )


def _provider_links(found: Campaign, result, links: dict[str, str]) -> dict:
    """Row key -> the provider page's address (with the same filters), for a table broken down by provider."""
    if result.breakdown.dimension != "provider":
        return {}
    return {row.key: url_for("analytics.provider", campaign_id=found.id, provider_id=row.key, **links)
            for row in result.rows if row.key is not None}


def _question_headings(definition: SurveyDefinition, labels: Labels) -> tuple[str, ...]:
    return (_("Answers"), _("Mean"), _("Share positive"))


def _one_row_table(definition: SurveyDefinition, labels: Labels, key: str, figures):
    """A one-row presentation Table of a question's answers, mean and share positive (the overview's list)."""
    cells = question_cells(definition, figures)
    kind = pages.question_mean_kind(definition, key)
    if cells is None:
        row = (labels.question(key), HIDDEN, HIDDEN, HIDDEN)
    elif kind is None:
        row = (labels.question(key), cells[0], None, None)
    else:
        row = (labels.question(key), cells[0], cells[1], cells[5])
    columns = (Column("question", _("Question")), Column("n", _("Answers"), "integer"),
               Column("mean", _("Mean"), kind or "decimal1"), Column("share_positive", _("Share positive"), "percent"))
    return Table(f"question_{key}", labels.question(key), columns, (row,), (key,))


# ---------------------------------------------------------------- a provider


@bp.get("/<int:campaign_id>/providers/<int:provider_id>")
@results_viewer
def provider(campaign_id: int, provider_id: int):
    """One provider's page: NKI and every question beside the other providers' average and the reference values.

    The provider's row of the campaign's by-provider result table (filters
    from the query string but provider and `by`), the distribution of each
    question against all other providers, and the trend over the campaigns
    of the same survey and index. The average of the others is shown only
    where at least two other providers have a shown value. 404 for a
    provider outside the campaign, and for a provider-role account asking
    for another provider than its own.
    """
    found = access.campaign_for(db_session, current_user, campaign_id)
    own = access.own_provider(current_user)
    if (own is not None and own != provider_id) or provider_id not in {p.id for p in found.providers}:
        abort(404)
    args = {name: value for name, value in access.clean_args(request.args).items() if name not in ("by", "provider")}
    context = _campaign_context(found, args)
    definition, labels = context["definition"], _labels(context["definition"])
    context.update(provider_id=provider_id, provider_name=labels.group(Breakdown("provider"), provider_id),
                   choices=pages.filter_choices(context["pool"]["campaigns"], definition, labels, args,
                                                with_provider=False),
                   sees_all=own is None)
    try:
        asked = access.table_request(db_session, found, args, current_user)
    except access.ParameterError as error:
        return render_template("analytics/provider.html", error=str(error), **context,
                               **_trend(found, provider_id, definition, labels)), 400
    # The provider's row in the table of all providers: the provider role's own-provider filter comes off here,
    # and only this row, the total's difference and averages of the others' shown values reach the page.
    selection = Selection(asked.selection.campaign_ids,
                          tuple(f for f in asked.selection.filters if f.breakdown.dimension != "provider"))
    context["filtered"] = bool(selection.filters)
    try:
        result = result_table(db_session, selection, Breakdown("provider"), _k(), compare=True)
    except SelectionRefused as refused:
        return render_template("analytics/provider.html", refused=_refusal(refused.reason, bool(selection.filters)),
                               **context, **_trend(found, provider_id, definition, labels))
    # Without filters this is the campaign's own by-provider table: the trend's row for this campaign.
    own_table = not selection.filters and selection.campaign_ids == (found.id,)
    trend = _trend(found, provider_id, definition, labels, made=result if own_table else None)
    others = _others_may_be_shown(result, provider_id, selection)
    context["pool_notes"] = _pool_notes(result)
    context["pooled"] = _pooled_args(asked)
    return render_template("analytics/provider.html", **context, **trend,
                           **_provider_figures(result, provider_id, definition, labels, others))


def _references(definition: SurveyDefinition) -> dict[str, list[ReferenceValue]]:
    """The survey's reference values by figure ("index:" or "<measure>:<question>"), newest year first."""
    found: dict[str, list[ReferenceValue]] = {}
    for reference in db_session.scalars(select(ReferenceValue).where(ReferenceValue.survey_key == definition.key)
                                        .order_by(ReferenceValue.year.desc(), ReferenceValue.label)):
        found.setdefault(reference.figure, []).append(reference)
    return found


def _others_may_be_shown(result: ResultTable, provider_id: int, selection: Selection) -> bool:
    """Whether the provider page may show any figure of "the other providers" (their average, their answers pooled).

    Each such figure must stand for at least two other providers in every
    way the page can be differenced: in each pooled campaign alone (a pool
    minus the other campaign's page is that campaign's others), and in what
    each filter leaves out of the same page without it (the page minus its
    filtered copy). The breaker's cases: Bro alone among the others in one
    campaign of a pool, and in the first tertial. Counted from the tables'
    responses; a hidden count may be anything, so it never makes two.
    """
    for part in result.parts or (result,):
        if _single_other(part, None, provider_id):
            return False
    for position in range(len(selection.filters)):
        try:
            parent = result_table(db_session, selection.without(position), Breakdown("provider"), _k(), questions=())
        except SelectionRefused:
            return False
        filtered = {part.selection.campaign_ids[0]: part for part in result.parts or (result,)}
        for part in parent.parts or (parent,):
            if _single_other(part, filtered.get(part.selection.campaign_ids[0]), provider_id):
                return False
    return True


def _single_other(table: ResultTable, narrower: ResultTable | None, provider_id: int) -> bool:
    """Whether `table`'s other providers (less those of `narrower`, a filtered copy of it) may be one provider alone.

    A provider counts when its responses (less the narrower table's) are
    shown and more than 0; a hidden one might hold any number. Safe are
    none at all, or at least two shown.
    """
    narrow = {row.key: row.responses for row in narrower.rows} if narrower is not None else {}
    shown = unknown = 0
    for row in table.rows:
        if row.key is None or row.key == provider_id:
            continue
        inner = narrow.get(row.key, 0)
        if row.responses is HIDDEN or inner is HIDDEN:
            unknown += 1
        elif row.responses - inner > 0:
            shown += 1
    return not (shown >= 2 or shown + unknown == 0)


def _provider_figures(result, provider_id: int, definition: SurveyDefinition, labels: Labels,
                      others_allowed: bool = True) -> dict:
    """What the provider page shows of a by-provider result: this provider's figures and, where
    `others_allowed` (_others_may_be_shown), the others' summaries."""
    summary = summary_table(result, labels)
    own_row = pages.printed_rows(summary, {"nki": _("Missing")}, only=provider_id)[0]
    figures = {row.key: row for row in result.rows}
    own = figures[provider_id]
    others = [row for key, row in figures.items() if key is not None and key != provider_id] if others_allowed else []
    references = _references(definition)
    nki_kind = index_shown(definition, 0.0)[0]
    nki_average = pages.average_of_others((pages.nki_shown(definition, row) for row in others), nki_kind)
    questions = []
    for key in figure_questions(definition):
        kind = pages.question_mean_kind(definition, key)
        own_question = own.questions[key]
        other_means = [pages.question_mean(definition, row.questions[key]) for row in others]
        average = pages.average_of_others(other_means, kind) if kind else None
        pooled = pages.others_figures(definition, result.total.questions[key], own_question)
        # The others pooled are shown where their average is: at least two other providers have a value
        # (a choice question has no mean: at least two with shown answers).
        enough = sum(1 for row in others if row.questions[key] is not HIDDEN and row.questions[key].n) >= 2
        if not enough:
            pooled = None
        columns = question_columns(definition, key, labels)
        detail_rows = [(labels.group(Breakdown("provider"), provider_id), provider_id, own_question)]
        if pooled is not None:
            detail_rows.append((_("All other providers"), "others", pooled))
        detail = _detail_table(definition, key, labels, columns, detail_rows)
        chart_rows = [(label, pages.segments(definition, labels, item)) for label, _key, item in detail_rows]
        reference_figures = [f"mean:{key}", f"share_positive:{key}"]
        questions.append({
            "key": key, "text": labels.question(key), "kind": kind,
            "mean": pages.question_mean(definition, own_question) if own_question is not HIDDEN else HIDDEN,
            "n": own_question if own_question is HIDDEN else own_question.n,
            "average": average,
            "references": [pages.reference_text(definition, r) for f in reference_figures for r in references.get(f, [])],
            "detail": detail, "detail_rows": pages.printed_rows(detail),
            "chart": pages.distribution(f"dist-{key}", labels.question(key), chart_rows, _("Provider")),
        })
    return {
        "result": result, "own_row": own_row, "summary_columns": summary.columns,
        "nki_kind": nki_kind, "nki_average": nki_average,
        "nki_references": [pages.reference_text(definition, r) for r in references.get("index:", [])],
        "questions": questions, "own_hidden": own.responses is HIDDEN,
    }


def _detail_table(definition, key, labels, columns, rows):
    """A presentation Table of one question for the provider and, where allowed, all other providers."""
    width = len(columns)
    table_rows = []
    for label, _row_key, figures in rows:
        cells = question_cells(definition, figures)
        table_rows.append((label, *(cells if cells is not None else (HIDDEN,) * width)))
    return Table(f"question_{key}", labels.question(key), (Column("group", _("Provider")), *columns),
                 tuple(table_rows), tuple(row[1] for row in rows))


def _trend(found: Campaign, provider_id: int, definition: SurveyDefinition, labels: Labels,
           made: ResultTable | None = None) -> dict:
    """The provider's NKI in each campaign of the same survey and index that includes it, oldest first.

    Each value is the provider's row of that campaign's own by-provider
    result table (no filters), so nothing new can be differenced; `made`
    is `found`'s, when the caller has it already. Returns
    the template's `trend` (rows), `trend_columns` (headings) and
    `trend_chart` (an interval chart, or None).
    """
    rows, columns, intervals, estimates = [], (), [], []
    kind = index_shown(definition, 0.0)[0]
    campaigns = [c for c in access.visible_campaigns(db_session, current_user)
                 if c.survey_version.definition.key == definition.key
                 and c.survey_version.definition.index == definition.index
                 and provider_id in {p.id for p in c.providers}]
    for other in sorted(campaigns, key=lambda c: (c.starts_on, c.id)):
        try:
            # The trend shows the summary row only: no question's figures are read.
            result = made if made is not None and other.id == found.id else result_table(
                db_session, Selection((other.id,)), Breakdown("provider"), _k(), questions=())
        except SelectionRefused:
            rows.append({"campaign": other, "refused": True})
            intervals.append(Interval(other.name, None, None, None, pages.hidden_text()))
            continue
        summary = summary_table(result, labels)
        columns = tuple(column.heading for column in summary.columns[1:7])
        position = summary.row_keys.index(provider_id)
        printed = pages.printed_rows(summary, {"nki": _("Missing")}, only=provider_id)[0]
        raw = summary.rows[position]
        rows.append({"campaign": other, "refused": False, "cells": printed.cells[:6]})
        intervals.append(_trend_interval(other.name, raw, kind))
        estimates.append((len(rows) - 1, next(row.nki for row in result.rows if row.key == provider_id)))
    _mark_changes(rows, estimates)
    if not columns:
        columns = (_("NKI"),)
    columns = (*columns, _("Compared with the previous campaign"))
    chart = None
    if any(item.estimate is not None for item in intervals):
        minimum, maximum, ticks = pages.index_scale(definition)
        chart = interval_chart(
            chart_id="trend-chart", title=_("NKI over campaigns, with %(level)s confidence interval", level=level_text()),
            description=_("One dot per campaign, oldest first, with its %(level)s confidence interval.", level=level_text()),
            rows=intervals, minimum=minimum, maximum=maximum, ticks=ticks,
            label_heading=_("Campaign"), value_heading=_("NKI (%(level)s interval)", level=level_text()))
    return {"trend": rows, "trend_columns": columns, "trend_chart": chart}


def _mark_changes(rows: list[dict], estimates: list[tuple[int, object]]) -> None:
    """Each trend row's change from the campaign before it, as presentation.comparison_text words it.

    "Higher"/"Lower" only where significant, "No clear difference" where
    tested and not, "Not compared" where the pair could not be tested; the
    first campaign has nothing before it ("").

    Welch's t test between the provider's personal scores in two
    consecutive campaigns, from their shown n, mean and sd (no figure that is
    not on the page), Holm's correction over the consecutive pairs tested
    (statistics.py). A pair with a hidden or missing NKI is not tested.
    """
    pairs = {}
    for (before_row, before), (row, now) in zip(estimates, estimates[1:]):
        if isinstance(before, Summary) and isinstance(now, Summary) and row == before_row + 1:
            p_value = welch_p_value(moments_of(before), moments_of(now))
            if p_value is not None:
                pairs[row] = (p_value, now.mean > before.mean)
    corrected = holm({row: p_value for row, (p_value, _higher) in pairs.items()})
    for position, item in enumerate(rows):
        if position == 0:
            item["change"] = ""  # nothing before it to compare with
        elif position not in corrected:
            item["change"] = comparison_text(None)
        else:
            p_value, significant = corrected[position]
            direction = (1 if pairs[position][1] else -1) if significant else 0
            item["change"] = comparison_text(Comparison(p_value, significant, direction))


def _trend_interval(name: str, raw: tuple, kind: str) -> Interval:
    """One campaign's dot in the trend chart, from the provider's summary row as shown."""
    estimate, low, high = raw[1], raw[2], raw[3]
    if estimate is HIDDEN:
        return Interval(name, None, None, None, pages.hidden_text())
    if estimate is None:
        return Interval(name, None, None, None, _("Missing"))
    return Interval(name, float(estimate), None if low is None else float(low), None if high is None else float(high),
                    pages.interval_text(estimate, low, high, kind))


# ---------------------------------------------------------------- a question


@bp.get("/<int:campaign_id>/questions/<question_key>")
@requires(Permission.VIEW_ALL_RESULTS)
def question(campaign_id: int, question_key: str):
    """One question's figures per group side by side (presentation.question_table) with its distribution chart.

    404 for a key the survey has no figures for (unknown, or free text:
    see the comments page). Query string and answers as the overview.
    """
    found = access.campaign_for(db_session, current_user, campaign_id)
    definition = found.survey_version.definition
    if question_key not in figure_questions(definition):
        abort(404)
    args = access.clean_args(request.args)
    context = _campaign_context(found, args)
    labels = _labels(definition)
    context.update(question_key=question_key, question_text=labels.question(question_key),
                   background=question_key in {q.key for q in definition.background_questions},
                   by=pages.breakdown_choice(definition, labels, args, True),
                   choices=pages.filter_choices(context["pool"]["campaigns"], definition, labels, args,
                                                with_provider=True))
    try:
        asked = access.table_request(db_session, found, args, current_user)
    except access.ParameterError as error:
        return render_template("analytics/question.html", error=str(error), **context), 400
    try:
        result = result_table(db_session, asked.selection, asked.breakdown, _k())
    except SelectionRefused as refused:
        return render_template("analytics/question.html",
                               refused=_refusal(refused.reason, bool(asked.selection.filters)), **context)
    context["pool_notes"] = _pool_notes(result)
    table = question_table(result, labels, question_key)
    chart_rows = [(labels.group(result.breakdown, row.key), pages.segments(definition, labels, row.questions[question_key]))
                  for row in ordered_rows(result, labels)]
    chart_rows.append((_("All answers"), pages.segments(definition, labels, result.total.questions[question_key])))
    return render_template(
        "analytics/question.html", **context, table=table, rows=pages.printed_rows(table),
        downloads=access.filter_args(asked),
        chart=pages.distribution("question-chart", labels.question(question_key), chart_rows,
                                 table.columns[0].heading),
        links={name: value for name, value in access.filter_args(asked).items() if name != "by"},
        provider_links=_provider_links(found, result, {name: value for name, value in access.filter_args(asked).items()
                                                       if name != "by"}))


# ---------------------------------------------------------------- comments


@bp.get("/<int:campaign_id>/comments")
@requires(Permission.VIEW_ALL_RESULTS)
def comments(campaign_id: int):
    """The free-text answers of a selection, each in its own language with the language named; `q` searches.

    Analysts only. Filtered as the overview; shown only once
    result_table has accepted the same selection (at least k responses in
    it and outside it), so a group below k shows none.
    """
    found = access.campaign_for(db_session, current_user, campaign_id)
    definition = found.survey_version.definition
    args = access.clean_args(request.args)
    search = args.get("q", "")[:pages.SEARCH_MAX].strip()
    context = _campaign_context(found, args)
    labels = _labels(definition)
    context.update(search=search, choices=pages.filter_choices(context["pool"]["campaigns"], definition, labels,
                                                               args, with_provider=True))
    try:
        asked = access.table_request(db_session, found, args, current_user)
    except access.ParameterError as error:
        return render_template("analytics/comments.html", error=str(error), **context), 400
    try:
        result = result_table(db_session, asked.selection, Breakdown("channel"), _k(), questions=())
    except SelectionRefused as refused:
        return render_template("analytics/comments.html",
                               refused=_refusal(refused.reason, bool(asked.selection.filters)), **context)
    if result.total.responses is HIDDEN or result.total.responses < _k():
        return render_template("analytics/comments.html", refused=_refusal("too_few", bool(asked.selection.filters)),
                               **context)
    context["pool_notes"] = _pool_notes(result)
    by_question: dict[str, list] = {key: [] for key in text_questions(definition)}
    # A pool's comments: those of the campaigns whose own answers accept the selection (result.selection).
    for language, key, text in comment_rows(db_session, result.selection, by_question, search or None):
        known = LANGUAGES.get(language) if language else None
        by_question[key].append({
            "text": text, "lang": known.html_lang if known else "",
            "language": labels.group(Breakdown("language"), language) if known else _("Language not shown"),
        })
    return render_template("analytics/comments.html", **context,
                           comments=[(key, labels.question(key), items) for key, items in by_question.items()])


# ---------------------------------------------------------------- reference values


def _survey_definitions() -> dict[str, SurveyDefinition]:
    """Each stored survey's newest definition, by survey key."""
    latest: dict[str, SurveyVersion] = {}
    for version in db_session.scalars(select(SurveyVersion).order_by(SurveyVersion.key, SurveyVersion.version)):
        latest[version.key] = version
    return {key: version.definition for key, version in latest.items()}


def _figure_choices(definitions: dict[str, SurveyDefinition]) -> list[tuple[str, str]]:
    """The figures a reference may be entered for: each survey's NKI, its scale questions' mean and share positive."""
    language = current_language().code
    choices = [("", _("Choose a figure"))]
    for key, definition in definitions.items():
        title = definition.title.get(language) or definition.title[definition.languages[0]]
        labels = _labels(definition)
        choices.append((f"{key}|index|", f"{title}: {_('NKI')}"))
        for question in definition.questions:
            text = labels.question(question.key)
            if isinstance(question, ScaleQuestion):
                choices.append((f"{key}|mean|{question.key}", f"{title}: {text} – {_('Mean')}"))
            if isinstance(question, (ScaleQuestion, YesNoQuestion)):
                choices.append((f"{key}|share_positive|{question.key}",
                                f"{title}: {text} – {_('Share positive')}"))
    return choices


def _reference_rows(definitions: dict[str, SurveyDefinition]) -> list[dict]:
    rows = []
    for reference in db_session.scalars(select(ReferenceValue).order_by(
            ReferenceValue.survey_key, ReferenceValue.figure, ReferenceValue.year.desc())):
        definition = definitions.get(reference.survey_key)
        if definition is None:
            continue
        labels = _labels(definition)
        if reference.measure == "index":
            figure = _("NKI")
        else:
            measure = _("Mean") if reference.measure == "mean" else _("Share positive")
            figure = f"{labels.question(reference.question_key)} – {measure}" \
                if reference.question_key in {q.key for q in definition.questions} else reference.figure
        rows.append({"reference": reference, "survey": definition.title.get(current_language().code)
                     or definition.title[definition.languages[0]], "figure": figure,
                     "value": pages.reference_text(definition, reference)})
    return rows


@bp.route("/references", methods=["GET", "POST"])
@requires(Permission.VIEW_ALL_RESULTS)
@once()
def references():
    """GET: the reference values and the form to add one. POST: add it, then 303 here; 422 with clear errors.

    The value must lie on the figure's scale (pages.measure_range): a mean
    1..points, a share 0-100, the NKI on its index's scale; one value per
    survey, figure and year. Once per submission (`once`); analysts only.
    """
    definitions = _survey_definitions()
    form = ReferenceForm()
    form.figure.choices = _figure_choices(definitions)
    if form.validate_on_submit():
        survey_key, measure, question_key = form.figure.data.split("|")
        definition = definitions[survey_key]
        low, high = pages.measure_range(definition, measure, question_key or None)
        value = parse_value(form.value.data)
        figure = f"{measure}:{question_key}"
        if not low <= value <= high:
            form.value.errors.append(_("This figure lies between %(low)s and %(high)s: give a value in that range.",
                                       low=format_decimal(low), high=format_decimal(high)))
        elif db_session.scalar(select(ReferenceValue.id).where(
                ReferenceValue.survey_key == survey_key, ReferenceValue.figure == figure,
                ReferenceValue.year == form.year.data)) is not None:
            form.year.errors.append(_("A reference value for this figure and year exists already: delete it first."))
        else:
            db_session.add(ReferenceValue(survey_key=survey_key, question_key=question_key or None, measure=measure,
                                          figure=figure, year=form.year.data, label=form.label.data, value=value))
            return done(url_for("analytics.references"), _("Reference value added."))
    status = 422 if request.method == "POST" else 200
    return render_template("analytics/references.html", form=form, rows=_reference_rows(definitions)), status


@bp.post("/references/<int:reference_id>/delete")
@requires(Permission.VIEW_ALL_RESULTS)
def delete_reference(reference_id: int):
    """POST: delete a reference value, then 303 to the list; one already gone is the same answer (sent twice)."""
    # One DELETE statement, not load-then-delete: two of these sent at once must not collide.
    deleted = db_session.execute(delete(ReferenceValue).where(ReferenceValue.id == reference_id)).rowcount
    db_session.commit()
    if deleted:
        flash(_("Reference value deleted."), "success")
    return redirect(url_for("analytics.references"), code=303)
