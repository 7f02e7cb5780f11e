"""Downloads of results: tables as CSV and XLSX, anonymised answers, and the PDF report (report.py).

Routes (blueprint "analytics_exports", under /staff/results; the query
string is the results pages' own - access.py: `by` and the filters):

- `table_csv`, `table_xlsx`: /<campaign_id>/tables/<table>.csv|.xlsx, table
  `summary` | `rates` | `question_<key>`: exactly the table the page shows
  (presentation.py), suppressed figures written "..", the notes under it.
- `workbook`: /<campaign_id>/tables.xlsx - summary, rates and one sheet
  per question, for the same breakdown and filters.
- `answers_csv`, `answers_xlsx`: /<campaign_id>/answers.csv|.xlsx - one row
  per response (analysts and admins only; `text=1` adds free text for an
  administrator), only responses whose cell holds k or more and whose
  leaving-out hides nothing (`protected_cells`).
- `report_pdf`: /<campaign_id>/report.pdf - the PDF report (report.py).

Who sees what is access.py's: a provider-role account gets only its own
provider's figures (a table by provider is 404 for it, the answers 403).
A selection the results layer refuses (too few answers, or a complement
too small) is answered 409 with a sentence; a malformed address 400.

CSV follows app/spreadsheets.py (Swedish Excel: ";" and a decimal comma,
UTF-8 with a byte order mark); its shares are written as per cent numbers
(67 in a column headed "... (%)") because a CSV cannot carry a number
format, while XLSX keeps the 0-1 share with a per cent format.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import product

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from .. import spreadsheets
from ..accounts.policy import Permission, allows
from ..campaigns.models import Campaign
from ..db import db_session
from ..i18n import current_language
from ..mixing.queries import waiting_in
from ..organisation.models import Programme, Provider
from ..respond.models import Answer, Response as StoredResponse
from ..surveys.definition import ChoiceQuestion, SurveyDefinition, TextQuestion
from . import access, linked
from .presentation import Labels, Table, pool_notes, question_table, rates_table, refusal_text, summary_table
from .results import (HIDDEN, MAX_FILTERS, TOTAL, ResultTable, SelectionRefused, figure_questions, result_table,
                      text_questions)
from .scope import Breakdown, Selection, period_of

bp = Blueprint("analytics_exports", __name__, url_prefix="/staff/results")

#: What a suppressed figure is written as in every export (the statistical offices' sign).
HIDDEN_TEXT = ".."
#: Column kinds holding a 0-1 share; CSV writes them as per cent numbers.
_PERCENT_PLACES = {"percent": Decimal(1), "percent1": Decimal("0.1")}
#: What a "don't know" answer is written as in the answers export.
DONT_KNOW_TEXT = "dont_know"


# --- Who is asking, for what -------------------------------------------------------------------

def _k() -> int:
    return current_app.config["KUNDROST"].min_cell_size


def _refused_page(status: int, text: str):
    """An HTML page in the staff member's language saying why nothing can be exported."""
    return render_template("error.html", heading=_("Nothing to export"), text=text), status


class ExportRefused(Exception):
    """The export cannot be made; `page` is the (body, status) answer saying why."""

    def __init__(self, page):
        super().__init__("export refused")
        self.page = page


@bp.errorhandler(ExportRefused)
def _export_refused(error: ExportRefused):
    return error.page


@dataclass(frozen=True)
class TableContext:
    """One table address read and run: the campaign, the request (access.py), the labels and the result.

    `result` is the results layer's table for the request (with the
    comparison where the summary's "compared with all others" column needs it); `waiting` the
    answers of its campaigns (a pool's too) still waiting to be mixed (a count); `pool_notes` what a
    pooled table says of its campaigns (presentation.pool_notes).
    """

    campaign: Campaign
    request: access.TableRequest
    labels: Labels
    result: ResultTable
    waiting: int
    pool_notes: list[str] = field(default_factory=list)


def table_context(session: Session, user, campaign_id: int, args: Mapping[str, str],
                  compare: bool = False) -> TableContext:
    """Read a table address for `user`: 404 unknown campaign (or another provider's), 403 no results at all.

    `compare` runs the summary's comparison of each group with the rest
    (Welch + Holm; only the summary shows it, and it costs time).
    Raises ExportRefused with a 400 page for a malformed address and a 409
    page for a selection the results layer refuses (results.SelectionRefused).
    """
    campaign = access.campaign_for(session, user, campaign_id)
    try:
        # As the pages read it: an empty value ("all" in the filter form) is no filter.
        table_request = access.table_request(session, campaign, args, user)
    except access.ParameterError as error:
        raise ExportRefused(_refused_page(400, str(error))) from error
    definition = campaign.survey_version.definition
    try:
        result = result_table(session, table_request.selection, table_request.breakdown, _k(), compare=compare)
    except SelectionRefused as refused:
        raise ExportRefused(_refused_page(409, refusal_text(
            refused.reason, _k(), bool(table_request.selection.filters),
            own_provider=table_request.own_provider is not None))) from refused
    labels = Labels(session, definition, current_language().code)
    waiting = waiting_in(session, (*result.selection.campaign_ids, *result.left_out))
    return TableContext(campaign, table_request, labels, result, waiting, pool_notes(session, result))


def table_by_name(context: TableContext, name: str) -> Table:
    """The presentation table `name` ("summary", "rates", "question_<key>" of a figure question); 404 otherwise."""
    if name == "summary":
        return summary_table(context.result, context.labels)
    if name == "rates":
        return rates_table(context.result, context.labels)
    key = name.removeprefix("question_")
    if name.startswith("question_") and key in figure_questions(context.result.definition):
        return question_table(context.result, context.labels, key)
    abort(404)


def _notes(context: TableContext, table: Table) -> list[str]:
    """The table's own notes (what ".." means, and k), the campaigns pooled, then the answers still waiting to be mixed."""
    return [*table.written_notes, *context.pool_notes,
            _("Answers still waiting to be mixed into the results: %(n)d.", n=context.waiting)]


# --- Tables as rows --------------------------------------------------------------------------------

def csv_heading(heading: str, kind: str) -> str:
    """A column heading for CSV: shares are written in per cent there, so the heading says "(%)"."""
    return f"{heading} (%)" if kind in _PERCENT_PLACES else heading


def csv_cell(value, kind: str):
    """One table cell as CSV writes it: HIDDEN as "..", None empty, a 0-1 share as per cent (0.67 -> 67)."""
    if value is HIDDEN:
        return HIDDEN_TEXT
    if value is None:
        return None
    if kind in _PERCENT_PLACES and isinstance(value, (int, float, Decimal)):
        return (Decimal(str(value)) * 100).quantize(_PERCENT_PLACES[kind])
    return value


def _with_missing(table: Table) -> list[tuple]:
    """The table's rows, a provider's NKI without answers written "missing" as the page and Tabell 1 write it."""
    if table.key != "summary":
        return list(table.rows)
    nki = [column.key for column in table.columns].index("nki")
    return [row[:nki] + (_("Missing"),) + row[nki + 1:] if row[nki] is None and key != TOTAL else row
            for key, row in zip(table.row_keys, table.rows)]


def table_csv_rows(table: Table, notes: Sequence[str]) -> list[list]:
    """The table as CSV rows: the headings, the rows as shown, an empty row, then one note per row."""
    kinds = [column.kind for column in table.columns]
    rows = [[csv_heading(column.heading, column.kind) for column in table.columns]]
    rows += [[csv_cell(value, kind) for value, kind in zip(row, kinds)] for row in _with_missing(table)]
    return rows + [[]] + [[note] for note in notes]


def xlsx_cell(value):
    """One table cell as XLSX writes it: HIDDEN as ".." (text), None empty, numbers as they are (native)."""
    return HIDDEN_TEXT if value is HIDDEN else value


def table_sheet(table: Table, notes: Sequence[str], title: str | None = None) -> spreadsheets.Sheet:
    """The table as an XLSX sheet: presentation's kinds are spreadsheets' kinds (text, integer, decimal1, ...)."""
    columns = [spreadsheets.Column(column.heading, column.kind) for column in table.columns]
    rows = [[xlsx_cell(value) for value in row] for row in _with_missing(table)]
    return spreadsheets.Sheet(title or table.title, columns, rows, notes)


def _filename(campaign: Campaign, name: str, extension: str) -> str:
    return f"kundrost-{campaign.id}-{name}.{extension}"


# --- Routes: tables ----------------------------------------------------------------------------------

@bp.get("/<int:campaign_id>/tables/<table>.csv")
@login_required
def table_csv(campaign_id: int, table: str) -> Response:
    """One results table as CSV (Swedish Excel), with the page's query string; see the module docstring."""
    context = table_context(db_session, current_user, campaign_id, request.args, compare=table == "summary")
    shown = table_by_name(context, table)
    return spreadsheets.csv_response(_filename(context.campaign, shown.key, "csv"),
                                     table_csv_rows(shown, _notes(context, shown)))


@bp.get("/<int:campaign_id>/tables/<table>.xlsx")
@login_required
def table_xlsx(campaign_id: int, table: str) -> Response:
    """One results table as XLSX (native numbers, Swedish formats), with the page's query string."""
    context = table_context(db_session, current_user, campaign_id, request.args, compare=table == "summary")
    shown = table_by_name(context, table)
    return spreadsheets.xlsx_response(_filename(context.campaign, shown.key, "xlsx"),
                                      [table_sheet(shown, _notes(context, shown))])


@bp.get("/<int:campaign_id>/tables.xlsx")
@login_required
def workbook(campaign_id: int) -> Response:
    """Every table of the address in one workbook: summary, rates, then one sheet per question (key and text)."""
    context = table_context(db_session, current_user, campaign_id, request.args, compare=True)
    tables = [summary_table(context.result, context.labels), rates_table(context.result, context.labels)]
    sheets = [table_sheet(table, _notes(context, table)) for table in tables]
    for key in figure_questions(context.result.definition):
        table = question_table(context.result, context.labels, key)
        sheets.append(table_sheet(table, _notes(context, table), title=f"{key} {table.title}"))
    return spreadsheets.xlsx_response(_filename(context.campaign, "tables", "xlsx"), sheets)


# --- Anonymised answers ----------------------------------------------------------------------------

#: The scope a response stores (scope.SCOPE_DIMENSIONS), by dimension, in the order of a full cell's key.
_SCOPE_COLUMNS = {"provider": StoredResponse.provider_id, "programme": StoredResponse.programme_id,
                  "language": StoredResponse.language, "channel": StoredResponse.channel,
                  "month": StoredResponse.month}
#: The scope columns an answers export carries, by its `detail`: "programme" (the default) keeps the groups
#: large enough to export in a municipality of a few hundred customers, where cells of provider x programme
#: x language x channel x month are mostly below k and "full" leaves most responses out (the new user: an
#: empty file). A row's cell is its scope columns and its background answers (answer columns too).
ANSWER_DETAILS: dict[str, tuple[str, ...]] = {
    "programme": ("provider", "programme"),
    "full": ("provider", "programme", "language", "channel", "month"),
}
FULL_SCOPE = ANSWER_DETAILS["full"]
#: The period groupings a month is published in (results pages: month, tertial, year), or none.
_PERIOD_MODES = (None, "month", "tertial", "year")


@dataclass(frozen=True)
class CellCounts:
    """What one cell holds: responses, responses with an index answer, and answers per figure question (counts).

    `measures` is (responses, index, answered question 1, ...): every
    count a published table derives a figure from.
    """

    measures: tuple[int, ...]

    @property
    def responses(self) -> int:
        """Responses in the cell."""
        return self.measures[0]


def cell_counts(session: Session, campaign_id: int, definition: SurveyDefinition,
                scope: Sequence[str] = FULL_SCOPE) -> dict[tuple, CellCounts]:
    """Cell -> its counts, by GROUP BY in SQL; a cell is the `scope` dimensions' values (by default provider
    id, programme id, language, channel, month), then the option key of each background question, None
    where merged or not answered.

    Counts: responses; responses with at least one index answer (the NKI's
    n, results.py); per figure question (results.figure_questions order)
    the answers with a value or an option ("don't know" not counted: the
    question's n).
    """
    background, cell = _cell_expressions(definition, scope)
    base = select().select_from(StoredResponse)
    for alias, key in background:
        base = base.outerjoin(alias, and_(alias.response_id == StoredResponse.id, alias.question_key == key))
    base = base.where(StoredResponse.campaign_id == campaign_id)

    responses = {tuple(row[:-1]): row[-1] for row in session.execute(
        base.add_columns(*cell, func.count()).group_by(*cell))}
    answered = aliased(Answer)
    questions = figure_questions(definition)
    per_question: dict[tuple, dict[str, int]] = defaultdict(dict)
    statement = base.join(answered, answered.response_id == StoredResponse.id).where(
        answered.question_key.in_(questions), (answered.value.is_not(None)) | (answered.choice.is_not(None)))
    for row in session.execute(statement.add_columns(*cell, answered.question_key, func.count())
                               .group_by(*cell, answered.question_key)):
        per_question[tuple(row[:-2])][row[-2]] = row[-1]
    indexed = {tuple(row[:-1]): row[-1] for row in session.execute(
        base.add_columns(*cell, func.count(func.distinct(StoredResponse.id)))
        .join(answered, answered.response_id == StoredResponse.id)
        .where(answered.question_key.in_(definition.index.questions), answered.value.is_not(None))
        .group_by(*cell))}
    return {key: CellCounts((count, indexed.get(key, 0), *(per_question[key].get(q, 0) for q in questions)))
            for key, count in responses.items()}


def _cell_expressions(definition: SurveyDefinition, scope: Sequence[str]):
    """(background aliases with their question keys, the cell's SQL expressions in cell-key order)."""
    background = [(aliased(Answer), question.key) for question in definition.background_questions]
    return background, [*(_SCOPE_COLUMNS[name] for name in scope), *(alias.choice for alias, _key in background)]


def _projections(width: int, month_position: int | None) -> list[tuple[int, Callable]]:
    """Every grouping a results table can publish a count for: (how many dimensions it keeps, a function of a
    cell key).

    Any subset of the scope and background dimensions (filters combine
    freely), with the month (at `month_position` of a key; None: not in
    the cell) left out or taken as month, tertial or year.
    """
    others = [position for position in range(width) if position != month_position]
    projections = []
    for chosen in product((False, True), repeat=len(others)):
        kept = [position for position, keep in zip(others, chosen) if keep]
        for mode in (_PERIOD_MODES if month_position is not None else (None,)):
            projections.append((len(kept) + (mode is not None), lambda cell, kept=kept, mode=mode: (
                tuple(cell[p] for p in kept), period_of(cell[month_position], mode) if mode else None)))
    return projections


#: The most dimensions of a table whose hidden cells the export knows (`table_hidden_cells`): one filter
#: (results.MAX_FILTERS) and a breakdown. A provider account's own pages cross a third (its provider), but
#: which of those cells they hide is not read here; a cell alone in such a group counts as unpublished, so
#: it may still pad (counting it as shown let the file export a cell such a table hides:
#: tests/test_results_attacks.py).
_PUBLISHED_DIMENSIONS = MAX_FILTERS + 1


def _published_cells(cells: Mapping[tuple, CellCounts], projections, k: int, hidden_by_tables: set) -> set:
    """Cells whose own figures a results table shows: alone in a group of at most _PUBLISHED_DIMENSIONS
    dimensions (a one-way row or a two-way cell), with k responses or more, and not hidden by those tables
    (`hidden_by_tables`).

    Leaving such a cell out pads nothing: its figures are public, and the
    left-out part of a group minus them is what would be learnt.
    """
    published = set()
    for dimensions, project in projections:
        if 0 < dimensions <= _PUBLISHED_DIMENSIONS:
            groups: dict = defaultdict(list)
            for cell in cells:
                groups[project(cell)].append(cell)
            published |= {members[0] for members in groups.values() if len(members) == 1}
    return {cell for cell in published if cells[cell].responses >= k and cell not in hidden_by_tables}


def protected_cells(cells: Mapping[tuple, CellCounts], k: int, hidden_by_tables: Iterable[tuple] = (),
                    month_position: int | None = FULL_SCOPE.index("month")) -> set[tuple]:
    """The cells whose responses the answers export leaves out, so that no published figure can be undone.

    Primary: every cell with fewer than k responses. Secondary: a results
    table publishes, for any grouping of the cells (any combination of
    provider, programme, language, channel, period and background answers:
    `_projections`), counts and sums of k or more; that figure minus the
    exported rows of the group gives the left-out rows of the group pooled.
    So in every group and for every count (responses, NKI answers, each
    question's answers) the left-out part holds 0 or at least k; where it
    holds 1..k-1, the group's smallest kept cell with such answers is left
    out too (ties broken by the cell's key, so the choice is stable), until
    nothing changes. Cells a table shows on their own (`_published_cells`)
    count for nothing in a left-out part and are never chosen to pad one: an
    attacker subtracts them too. Terminates: each step only adds cells. `hidden_by_tables`
    are left out from the start: the cells of groups a results table hides
    (`table_hidden_cells`) - exporting them would show what the table hides.
    `month_position` is where a cell key holds the month (None: it holds none).
    """
    hidden_by_tables = set(hidden_by_tables)
    left = {cell for cell, counts in cells.items() if counts.responses < k} | hidden_by_tables
    if not cells:
        return left
    width = len(next(iter(cells)))
    measures = len(next(iter(cells.values())).measures)
    projections = _projections(width, month_position)
    published = _published_cells(cells, projections, k, hidden_by_tables)
    changed = True
    while changed:
        changed = False
        for _dimensions, project in projections:
            groups: dict = defaultdict(list)
            for cell in cells:
                groups[project(cell)].append(cell)
            for members in groups.values():
                changed |= _protect_group(members, cells, left, measures, k, published)
    return left


def _protect_group(members: list, cells: Mapping[tuple, CellCounts], left: set, measures: int, k: int,
                   published: set) -> bool:
    """Leave out more of `members` until every count's left-out part (without `published` cells) is 0 or >= k
    (or no unpublished cell is kept); True if any."""
    changed = False
    for measure in range(measures):
        while 0 < sum(cells[cell].measures[measure] for cell in members
                      if cell in left and cell not in published) < k:
            candidates = [cell for cell in members if cell not in left and cell not in published
                          and cells[cell].measures[measure] > 0]
            if not candidates:
                break
            left.add(min(candidates, key=lambda cell: (cells[cell].responses, repr(cell))))
            changed = True
    return changed


@dataclass(frozen=True)
class AnswersExport:
    """The anonymised answers: headings, column kinds, rows sorted by their values, and what was left out.

    `left_out` counts the responses in protected cells (protected_cells);
    `with_text` says whether free-text columns are included; `detail` is
    the scope carried (ANSWER_DETAILS).
    """

    headings: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: tuple[tuple, ...]
    left_out: int
    with_text: bool
    detail: str = "programme"


def _cell_positions(scope: Sequence[str], definition: SurveyDefinition) -> dict[str, int]:
    """Where each breakdown's value sits in a cell key of `scope` (cell_counts): tertial and year in the
    month, background questions (by key) after the scope."""
    positions = {name: position for position, name in enumerate(scope)}
    if "month" in positions:
        positions.update(tertial=positions["month"], year=positions["month"])
    positions.update({q.key: len(scope) + n for n, q in enumerate(definition.background_questions)})
    return positions


def table_hidden_cells(session: Session, campaign: Campaign, cells: Iterable[tuple], k: int,
                       scope: Sequence[str] = FULL_SCOPE) -> set[tuple]:
    """The cells of every group that a campaign's table by one dimension hides in any column.

    For each breakdown the pages offer whose value a cell of `scope` holds
    (provider, programme, language, channel, month, tertial, year, each
    background question), the campaign's own result table (results.py); a
    row hidden for its responses, its NKI or any question puts all its
    cells here. The second breaker's case: provider P2 hidden as P1's
    complement, but all of P2's rows exported, gave P1 back as the total
    minus P3 minus P2. A dimension the export does not carry cannot single
    out a hidden group's rows.
    """
    definition = campaign.survey_version.definition
    positions = _cell_positions(scope, definition)
    background = {q.key for q in definition.background_questions}
    breakdowns = [Breakdown("background", name) if name in background else Breakdown(name) for name in positions]
    cells = list(cells)
    left: set[tuple] = set()
    for breakdown in breakdowns:
        try:
            table = result_table(session, Selection((campaign.id,)), breakdown, k)
        except SelectionRefused:
            return set(cells)
        hidden = {row.key for row in table.rows if _any_hidden(row)}
        position = positions[breakdown.question_key or breakdown.dimension]
        for cell in cells:
            value = cell[position]
            if breakdown.dimension in ("tertial", "year"):
                value = period_of(value, breakdown.dimension)
            if value in hidden:
                left.add(cell)
    return left | _pair_hidden_cells(session, campaign, cells, k, positions)


def _pair_hidden_cells(session: Session, campaign: Campaign, cells: list[tuple], k: int,
                       positions: Mapping[str, int]) -> set[tuple]:
    """The cells of every two-way group the linked plan hides in any column (linked.py), of the pairs of
    dimensions a cell holds: a table filtered by one and broken down by the other hides that group, and
    exporting its rows would show it (provider x programme once the export carried no finer scope)."""
    definition = campaign.survey_version.definition
    plan = linked.plan(session, campaign.id, definition, k, figure_questions(definition), linked.request_wait())
    hidden_per_pair: dict[tuple, set] = defaultdict(set)  # every column's hidden cells, per pair of positions
    for pairs in plan.cells.values():
        for (first, second), hidden in pairs.items():
            at = tuple(positions.get(breakdown.question_key or breakdown.dimension) for breakdown in (first, second))
            if hidden and None not in at:
                hidden_per_pair[at] |= hidden
    return {cell for (first, second), hidden in hidden_per_pair.items() for cell in cells
            if (cell[first], cell[second]) in hidden}


def _any_hidden(row) -> bool:
    """Whether a result row hides its responses, its NKI, its claimed links or any question's figures."""
    return (row.responses is HIDDEN or row.nki is HIDDEN or row.answered is HIDDEN
            or any(figures is HIDDEN for figures in row.questions.values()))


def answers_export(session: Session, campaign: Campaign, k: int, with_text: bool,
                   detail: str = "programme") -> AnswersExport:
    """One row per exportable response of `campaign`: scope columns, then one column per question key.

    Scope by `detail` (ANSWER_DETAILS; KeyError for another): provider
    name and programme code, and for "full" also language answered in,
    channel and month (YYYY-MM); then status. An empty scope cell is a
    merged one. Answers as stored: a scale point or 1/0 for yes/no
    (numbers), an option key, "dont_know"; free text only when `with_text`.
    Rows are sorted by their values (never by id or arrival, which nothing
    here keeps anyway).
    """
    definition = campaign.survey_version.definition
    scope = ANSWER_DETAILS[detail]
    cells = cell_counts(session, campaign.id, definition, scope)
    month_position = scope.index("month") if "month" in scope else None
    left = protected_cells(cells, k, table_hidden_cells(session, campaign, cells, k, scope), month_position)
    questions = [*figure_questions(definition), *(text_questions(definition) if with_text else ())]
    background = [question.key for question in definition.background_questions]
    providers = dict(session.execute(select(Provider.id, Provider.name)).all())
    programmes = dict(session.execute(select(Programme.id, Programme.code)).all())

    answers: dict[str, dict[str, object]] = defaultdict(dict)
    #: Background options per response: the cell's background values (None: not answered, or "don't know").
    chosen: dict[str, dict[str, str]] = defaultdict(dict)
    for response_id, key, value, choice, text, dont_know in session.execute(
            select(Answer.response_id, Answer.question_key, Answer.value, Answer.choice, Answer.text,
                   Answer.dont_know)
            .join(StoredResponse, StoredResponse.id == Answer.response_id)
            .where(StoredResponse.campaign_id == campaign.id)):
        answers[response_id][key] = (DONT_KNOW_TEXT if dont_know else value if value is not None
                                     else choice if choice is not None else text)
        if key in background and choice is not None:
            chosen[response_id][key] = choice
    written = {"provider": lambda value: providers.get(value, ""), "programme": programmes.get,
               "language": str, "channel": str, "month": lambda month: f"{month.year}-{month.month:02d}"}
    rows = []
    for response_id, *values, status in session.execute(
            select(StoredResponse.id, *(_SCOPE_COLUMNS[name] for name in scope), StoredResponse.status)
            .where(StoredResponse.campaign_id == campaign.id)):
        given = answers.get(response_id, {})
        cell = (*values, *(chosen[response_id].get(key) for key in background))
        if cell in left:
            continue
        rows.append((*(None if value is None else written[name](value) for name, value in zip(scope, values)),
                     status, *(given.get(key) for key in questions)))
    rows.sort(key=lambda row: [("" if value is None else str(value)) for value in row])
    scope_headings = {"provider": _("Provider"), "programme": _("Programme"), "language": _("Language answered in"),
                      "channel": _("Channel"), "month": _("Month")}
    headings = (*(scope_headings[name] for name in scope), _("Status"), *questions)
    kinds = ("text",) * (len(scope) + 1) + tuple(_answer_kind(definition, key) for key in questions)
    left_out = sum(cells[cell].responses for cell in left)
    return AnswersExport(headings, kinds, tuple(rows), left_out, with_text, detail)


def _answer_kind(definition: SurveyDefinition, key: str) -> str:
    question = definition.question(key)
    return "text" if isinstance(question, (ChoiceQuestion, TextQuestion)) else "integer"


def answers_notes(export: AnswersExport, k: int) -> list[str]:
    """The sentences under the answers: what was left out and why, how answers are written, free text or not."""
    if export.detail == "full":
        left_out = _("%(n)d responses are left out: their group (provider, programme, language, channel, month and "
                     "background answers) holds fewer than %(k)d responses, or leaving them in would let a hidden "
                     "figure be worked out.", n=export.left_out, k=k)
    else:
        left_out = _("%(n)d responses are left out: their group (provider, programme and background answers) holds "
                     "fewer than %(k)d responses, or leaving them in would let a hidden figure be worked out. "
                     "Language, channel and month are not in this file, so that fewer groups are too small.",
                     n=export.left_out, k=k)
    notes = [
        left_out,
        _("Answers as stored: a scale point, 1 for yes and 0 for no, an option's key; \"%(dont_know)s\" is "
          "\"don't know\"; an empty answer was not given; an empty scope cell was merged with other small "
          "groups.", dont_know=DONT_KNOW_TEXT),
    ]
    if not export.with_text:
        notes.append(_("Free-text answers are not included."))
    return notes


def _answers_for_request(campaign_id: int) -> tuple[Campaign, AnswersExport]:
    """The campaign (404 unknown) and its answers export for this request's user (403 without VIEW_ALL_RESULTS).

    `detail` (query) picks the scope columns (ANSWER_DETAILS, default "programme"); another value is 404:
    there is no such file.
    """
    if not allows(current_user, Permission.VIEW_ALL_RESULTS):
        abort(403)
    campaign = db_session.get(Campaign, campaign_id)
    detail = request.args.get("detail", "programme")
    if campaign is None or detail not in ANSWER_DETAILS:
        abort(404)
    # Free text only when asked for and allowed: administrators (MANAGE_USERS is theirs alone).
    with_text = request.args.get("text") == "1" and allows(current_user, Permission.MANAGE_USERS)
    return campaign, answers_export(db_session, campaign, _k(), with_text, detail)


def _answers_name(export: AnswersExport) -> str:
    """The file's name part: "answers", or "answers-full" with language, channel and month."""
    return "answers" if export.detail == "programme" else f"answers-{export.detail}"


@bp.get("/<int:campaign_id>/answers.csv")
@login_required
def answers_csv(campaign_id: int) -> Response:
    """The anonymised answers as CSV (analysts and admins); `text=1` adds free text for an administrator."""
    campaign, export = _answers_for_request(campaign_id)
    rows: list[Iterable] = [export.headings, *export.rows, []]
    rows += [[note] for note in answers_notes(export, _k())]
    return spreadsheets.csv_response(_filename(campaign, _answers_name(export), "csv"), rows)


@bp.get("/<int:campaign_id>/answers.xlsx")
@login_required
def answers_xlsx(campaign_id: int) -> Response:
    """The anonymised answers as XLSX (analysts and admins); `text=1` adds free text for an administrator."""
    campaign, export = _answers_for_request(campaign_id)
    columns = [spreadsheets.Column(heading, kind) for heading, kind in zip(export.headings, export.kinds)]
    sheet = spreadsheets.Sheet(_("Answers"), columns, export.rows, answers_notes(export, _k()))
    return spreadsheets.xlsx_response(_filename(campaign, _answers_name(export), "xlsx"), [sheet])


# --- The PDF report -------------------------------------------------------------------------------

@bp.get("/<int:campaign_id>/report.pdf")
@login_required
def report_pdf(campaign_id: int) -> Response:
    """The campaign's PDF report (report.py) in the staff member's language; a provider gets its own page only.

    `campaigns` pools other campaigns as the pages do (400 for one that cannot be pooled, 404 for one
    the user may not open). The report takes no filter; a provider account naming another provider
    (`provider`) gets 404, as from every other download."""
    from .report import report_response

    campaign = access.campaign_for(db_session, current_user, campaign_id)
    own = access.own_provider(current_user)
    if own is not None and request.args.get("provider", str(own)) != str(own):
        abort(404)
    try:
        pooled = access.pooled_campaigns(db_session, current_user, campaign, request.args)
    except access.ParameterError as error:
        raise ExportRefused(_refused_page(400, str(error))) from error
    return report_response(db_session, campaign, access.own_provider(current_user), _k(),
                           [other.id for other in pooled[1:]])
