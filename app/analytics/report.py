"""The PDF report of a campaign (ReportLab): what a quality developer attaches to the board report as it is.

Pages: a title page (municipality, campaign, survey, period, answers,
answers waiting to be mixed, k); the summary table (Tabell 1: NKI with its
95 % interval, n and response rate per provider, the mean over providers
with a value, the pooled total); the response rates; two charts drawn with
reportlab.graphics (response rate per provider as bars; NKI per provider
with its interval as whiskers and the mean over providers as a line); then
a page per provider with every question's n, mean, 95 % interval and share
positive. Every figure comes from the results layer through presentation.py,
so it is suppressed and rounded exactly as the pages show it: a hidden
figure is "..", never its value.

A provider-role account gets a report of its own provider only: the title
page and its own page (its figures over its own answers, as its results
pages show them), no table or chart naming another provider.

Language: the staff member's. Numbers and dates by Babel in that locale
(Swedish: 4,95 and 2027-01-15). Fonts: Noto Sans from Debian's
fonts-noto-core (Latin, Cyrillic), Noto Sans Ethiopic for Tigrinya runs
(tech-notes: it lacks Latin and digits, so each Ethiopic run gets its own
font), DejaVu Sans where Noto is missing. Arabic-script languages (ar, prs,
fa, ps, ckb) are set right to left by app/pdftext.py (bidi order with
python-bidi, shaping with HarfBuzz, a font per run, Noto Sans Arabic for
the Arabic letters): pages right-aligned, tables with their first column on
the right and numbers at the cell's end (left), as the staff pages show
them; charts keep their left-to-right axis, labels right-aligned against
the plot (as charts.py draws them). Any text with right-to-left letters in
a left-to-right report (a provider named in Arabic) goes the same way;
other text is drawn by ReportLab's Paragraph as before. When no Arabic
font is installed, or no font has Tigrinya's or Ukrainian's letters, the
staff member gets the report in English, and the title page says so.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape

from flask import Response, current_app
from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.attrmap import AttrMap, AttrMapValue
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus import Table as PdfTable
from reportlab.platypus import TableStyle
from sqlalchemy.orm import Session

from .. import pdftext
from ..campaigns.models import Campaign
from ..clock import local_today
from ..i18n import LANGUAGES, current_language, numeric_date
from ..mixing.queries import waiting_in
from .presentation import (Labels, Table, level_text, ordered_rows, pool_notes, question_cells, question_columns,
                           rates_table, refusal_text, summary_table, suppression_note)
from . import pages
from .results import HIDDEN, GroupFigures, ResultTable, SelectionRefused, figure_questions, result_table
from .scope import Breakdown, Filter, Selection

PDF_MIMETYPE = "application/pdf"
HIDDEN_TEXT = ".."
#: Languages in Arabic script: they need the Arabic font (and pdftext's bidi and shaping).
NEEDS_SHAPING = frozenset({"ar", "prs", "fa", "ps", "ckb"})
#: Ethiopic letters and punctuation (Ethiopic, Supplement, Extended, Extended-A).
_ETHIOPIC = re.compile("[\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f]+")
_INK = colors.HexColor("#1f2933")
_BAR = colors.HexColor("#2b6cb0")
_GRID = colors.HexColor("#cbd2d9")


@lru_cache(maxsize=1)
def fonts() -> dict[str, str]:
    """The report's fonts (registered by pdftext); returns role -> font name.

    Roles "sans" and "bold" always; "ethiopic"/"ethiopic-bold" and
    "arabic"/"arabic-bold" when found. A font ReportLab cannot find falls
    back to its built-in Helvetica (Latin only); `report_language` then
    chooses English for scripts it lacks.
    """
    found = pdftext.registered_fonts()
    chosen = {"sans": "KrSans" if "KrSans" in found else "Helvetica",
              "bold": "KrSans-Bold" if "KrSans-Bold" in found else "Helvetica-Bold"}
    for script, name in (("ethiopic", "KrEthiopic"), ("arabic", "KrArabic")):
        if name in found:
            chosen[script] = name
            chosen[f"{script}-bold"] = name + "-Bold" if name + "-Bold" in found else name
    return chosen


def report_language(code: str) -> str:
    """The language the report is written in for a staff member reading `code`: that one, or "en" (docstring)."""
    available = fonts()
    if code in NEEDS_SHAPING and "arabic" not in available:
        return "en"
    if code == "ti" and "ethiopic" not in available:
        return "en"
    if code in ("uk", "ti") and available["sans"] == "Helvetica":
        return "en"
    return code


def markup(text: str, bold: bool = False) -> str:
    """`text` as Paragraph markup: XML-escaped, each Ethiopic run in the Ethiopic font (no digits or Latin there)."""
    available = fonts()
    escaped = escape(text)
    if "ethiopic" not in available:
        return escaped
    font = available["ethiopic-bold" if bold else "ethiopic"]
    return _ETHIOPIC.sub(lambda match: f'<font name="{font}">{match.group(0)}</font>', escaped)


def shown(value, kind: str) -> str:
    """One cell as the report prints it, in the current locale: ".." hidden, "" nothing, else as the pages write it.

    Values arrive rounded as shown (presentation.py); numbers are written by
    pages.number, the one formatter of pages and report ("67 %" in Swedish,
    with its no-break space: a report once wrote "0%" where the page said
    "0 %").
    """
    if value is HIDDEN:
        return HIDDEN_TEXT
    if value is None:
        return ""
    if kind == "text" or isinstance(value, str):
        return str(value)
    return pages.number(value, kind)


@dataclass
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    note: ParagraphStyle
    direction: str = "ltr"


def _styles(direction: str = "ltr") -> _Styles:
    sans, bold = fonts()["sans"], fonts()["bold"]
    body = ParagraphStyle("body", fontName=sans, fontSize=10, leading=13, textColor=_INK, spaceAfter=4)
    return _Styles(
        direction=direction,
        title=ParagraphStyle("title", parent=body, fontName=bold, fontSize=22, leading=27, spaceAfter=14),
        heading=ParagraphStyle("heading", parent=body, fontName=bold, fontSize=14, leading=18, spaceBefore=6,
                               spaceAfter=8),
        body=body,
        cell=ParagraphStyle("cell", parent=body, fontSize=8, leading=10, spaceAfter=0),
        cell_bold=ParagraphStyle("cell_bold", parent=body, fontName=bold, fontSize=8, leading=10, spaceAfter=0),
        note=ParagraphStyle("note", parent=body, fontSize=8, leading=10, textColor=colors.HexColor("#52606d")),
    )


def _text(text: str, style: ParagraphStyle, styles: _Styles, align: str = "start"):
    """`text` as a flowable in `style`: ReportLab's Paragraph for left-to-right text without RTL letters (as always),
    else a pdftext.TextBlock in the report's direction (bold when the style's font is the bold one)."""
    if styles.direction == "ltr" and not pdftext.has_rtl(text):
        return Paragraph(markup(text), style)
    return pdftext.TextBlock(text, style.fontSize, style.leading, styles.direction,
                             pdftext.noto_fonts(bold=style.fontName == fonts()["bold"]), align=align,
                             color=style.textColor, space_before=style.spaceBefore, space_after=style.spaceAfter)


def _column_widths(headings: list[str], first_width: float, rows: Sequence[Sequence[str]] = ()) -> list[float]:
    """Widths (points) for a table across the page: each figure column at least as wide as the longest word
    of its heading and of its cells in 8 pt bold (nothing breaks inside a word: "Response s"), the label
    column the rest.

    The label column keeps at least 3 cm, the figure columns share what is
    left evenly above their minimum. A cell wider than its column wraps at
    its spaces (`_pdf_table`); one without a space is one word.
    """
    available = A4[0] - 4 * cm
    padding = 13  # the cell paddings (6 + 6 points, TableStyle defaults) and a point for rounding
    minimum = [_longest_word(heading) + padding for heading in headings[1:]]
    for row in rows:
        minimum = [max(width, _longest_word(cell) + padding) for width, cell in zip(minimum, row[1:])]
    label = max(3 * cm, min(first_width, available - sum(minimum)))
    spare = max(0.0, available - label - sum(minimum))
    return [label] + [width + spare / len(minimum) for width in minimum]


def _longest_word(text: str) -> float:
    # Words as ReportLab breaks them: at spaces only. str.split() would also split at the no-break space
    # of "95 %" (Swedish), and "95 %-intervall," then broke inside ("interva / ll").
    return max((pdfmetrics.stringWidth(word, fonts()["bold"], 8) for word in str(text).split(" ")), default=0)


def _pdf_table(headings: list[str], rows: list[list[str]], widths: list[float], styles: _Styles,
               bold_rows: tuple[int, ...] = ()) -> PdfTable:
    """A table with wrapped headings, numbers right-aligned, bold rows (the mean and total), repeated headings.

    Right to left: columns mirrored (the first on the right), every cell a
    TextBlock, labels right-aligned and numbers at the cell's end (left),
    as the staff pages' `text-align: end` shows them.
    """
    if styles.direction == "rtl":
        return _rtl_table(headings, rows, widths, styles, bold_rows)
    data = [[Paragraph(markup(h, bold=True), styles.cell_bold) for h in headings]]
    for position, row in enumerate(rows):
        style = styles.cell_bold if position in bold_rows else styles.cell
        # Words ("Ingen säker skillnad") wrap within their column; a figure stays one line.
        data.append([_text(row[0], style, styles),
                     *(Paragraph(markup(cell), _end_aligned(style)) if " " in cell else cell for cell in row[1:])])
    table = PdfTable(data, colWidths=widths, repeatRows=1)
    commands = [
        ("FONT", (1, 1), (-1, -1), fonts()["sans"], 8),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, _INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, _GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    commands += [("FONT", (1, r + 1), (-1, r + 1), fonts()["bold"], 8) for r in bold_rows]
    table.setStyle(TableStyle(commands))
    return table


@lru_cache(maxsize=8)
def _end_aligned(style: ParagraphStyle) -> ParagraphStyle:
    """`style` aligned right, as a left-to-right table's figure column."""
    return ParagraphStyle(f"{style.name}_end", parent=style, alignment=TA_RIGHT)


def _rtl_table(headings: list[str], rows: list[list[str]], widths: list[float], styles: _Styles,
               bold_rows: tuple[int, ...]) -> PdfTable:
    """`_pdf_table` for a right-to-left report: the same lines and paddings, columns mirrored."""
    data = [[_text(h, styles.cell_bold, styles, align="start" if column == 0 else "end")
             for column, h in enumerate(headings)][::-1]]
    for number, row in enumerate(rows):
        style = styles.cell_bold if number in bold_rows else styles.cell
        data.append([_text(cell, style, styles, align="start" if column == 0 else "end")
                     for column, cell in enumerate(row)][::-1])
    table = PdfTable(data, colWidths=widths[::-1], repeatRows=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, _INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, _GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _table_flowables(table: Table, styles: _Styles, first_width: float = 4.6 * cm) -> list:
    """A presentation table as a heading, the table (cells as `shown`) and its notes."""
    kinds = [column.kind for column in table.columns]
    rows = []
    for key, row in zip(table.row_keys, table.rows):
        cells = [shown(value, kind) for value, kind in zip(row, kinds)]
        if table.key == "summary" and row[1] is None and key != "mean":
            cells[1] = _("Missing")
        rows.append(cells)
    bold = tuple(i for i, key in enumerate(table.row_keys) if key in ("mean", "total"))
    widths = _column_widths([c.heading for c in table.columns], first_width, rows)
    flowables = [_text(table.title, styles.heading, styles),
                 _pdf_table([c.heading for c in table.columns], rows, widths, styles, bold)]
    flowables += [_text(note, styles.note, styles) for note in table.written_notes]
    return flowables


# --- Charts -------------------------------------------------------------------------------------

_CHART_WIDTH = A4[0] - 4 * cm
_LABEL_WIDTH = 4.6 * cm
_ROW = 16


def _label(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _ChartDrawing(Drawing):
    """A Drawing that also draws bidi text (pdftext.draw_line) over its shapes: labels reportlab.graphics's
    String would print in the wrong order or without the glyphs."""

    _attrMap = AttrMap(BASE=Drawing, direction=AttrMapValue(None, desc="the report's direction"),
                       texts=AttrMapValue(None, desc="(x, y, text, size, anchor) drawn by pdftext"))

    def __init__(self, width: float, height: float, direction: str = "ltr"):
        super().__init__(width, height)
        self.direction = direction
        self.texts: list[tuple[float, float, str, float, str]] = []

    def text(self, x: float, y: float, text: str, size: float, anchor: str = "start", label: bool = False) -> None:
        """Add `text` at (x, y) in points; `anchor` as String's textAnchor ("start", "middle", "end": left-based).

        A group's `label` in a right-to-left report stands right-aligned
        against the plot (its right edge at the label column's end), as
        charts.py sets labels on the staff pages. Text without right-to-left
        letters in a left-to-right report stays a String, as before.
        """
        if self.direction == "ltr" and not pdftext.has_rtl(text):
            self.add(String(x, y, text, fontName=fonts()["sans"], fontSize=size, textAnchor=anchor,
                            fillColor=_INK))
            return
        if label and self.direction == "rtl":
            x, anchor = _LABEL_WIDTH - 4, "end"
        self.texts.append((x, y, text, size, {"start": "left", "middle": "middle", "end": "right"}[anchor]))

    def draw(self, showBoundary=None):
        """Draw the shapes (Drawing.draw), then the bidi texts in the report's direction."""
        super().draw()
        self.canv.saveState()
        self.canv.setFillColor(_INK)
        for x, y, text, size, anchor in self.texts:
            pdftext.draw_line(self.canv, x, y, text, size, self.direction, anchor=anchor)
        self.canv.restoreState()


def rate_chart(table: Table, direction: str = "ltr") -> Drawing:
    """Bars of the response rate (0-1) per group of the rates table; a hidden or unknown rate is ".." without a bar.

    `direction` is the report's: the axis grows left to right either way,
    right-to-left labels stand right-aligned against the plot (_ChartDrawing).
    """
    rows = [(row[0], row[3]) for key, row in zip(table.row_keys, table.rows)]
    height = _ROW * len(rows) + 24
    drawing = _ChartDrawing(_CHART_WIDTH, height, direction)
    plot = _CHART_WIDTH - _LABEL_WIDTH - 50
    for tick in range(0, 101, 25):
        x = _LABEL_WIDTH + plot * tick / 100
        drawing.add(Line(x, 14, x, height, strokeColor=_GRID, strokeWidth=0.5))
        drawing.text(x, 3, shown(Decimal(tick) / 100, "percent"), 7, "middle")
    for number, (label, rate) in enumerate(rows):
        y = height - (number + 1) * _ROW
        drawing.text(0, y + 4, _label(label), 8, label=True)
        if isinstance(rate, Decimal):
            width = plot * float(min(rate, Decimal(1)))
            drawing.add(Rect(_LABEL_WIDTH, y + 1, width, _ROW - 5, fillColor=_BAR, strokeColor=None))
            drawing.text(_LABEL_WIDTH + width + 3, y + 4, shown(rate, "percent"), 8)
        else:
            drawing.text(_LABEL_WIDTH + 3, y + 4, shown(rate, "percent") or "–", 8)
    return drawing


def nki_chart(table: Table, low: float, high: float, direction: str = "ltr") -> Drawing:
    """NKI per group of the summary table as a point with whiskers (its 95 % interval) on `low`..`high`.

    The mean over groups with a value is a dashed line; hidden or missing
    groups are listed with ".." or nothing, without a point. `direction`
    as in `rate_chart`.
    """
    kind = table.columns[1].kind
    groups = [row for key, row in zip(table.row_keys, table.rows) if key not in ("mean", "total")]
    mean_row = next((row for key, row in zip(table.row_keys, table.rows) if key == "mean"), None)
    height = _ROW * len(groups) + 24
    drawing = _ChartDrawing(_CHART_WIDTH, height, direction)
    plot = _CHART_WIDTH - _LABEL_WIDTH - 50

    def x_of(value) -> float:
        """The x position (points) of a value on the chart's low..high scale, kept inside the plot."""
        share = (float(value) - low) / (high - low)
        return _LABEL_WIDTH + plot * min(max(share, 0.0), 1.0)

    for tick, tick_kind in _ticks(low, high, kind):
        drawing.add(Line(x_of(tick), 14, x_of(tick), height, strokeColor=_GRID, strokeWidth=0.5))
        drawing.text(x_of(tick), 3, shown(tick, tick_kind), 7, "middle")
    if mean_row is not None and isinstance(mean_row[1], Decimal):
        drawing.add(Line(x_of(mean_row[1]), 14, x_of(mean_row[1]), height, strokeColor=_INK, strokeWidth=0.8,
                         strokeDashArray=[3, 2]))
    for number, row in enumerate(groups):
        y = height - (number + 1) * _ROW + 6
        drawing.text(0, y - 2, _label(row[0]), 8, label=True)
        value, lower, upper = row[1], row[2], row[3]
        if not isinstance(value, Decimal):
            drawing.text(_LABEL_WIDTH + 3, y - 2, shown(value, kind), 8)
            continue
        if isinstance(lower, Decimal) and isinstance(upper, Decimal):
            drawing.add(Line(x_of(lower), y, x_of(upper), y, strokeColor=_BAR, strokeWidth=1))
            for end in (lower, upper):
                drawing.add(Line(x_of(end), y - 3, x_of(end), y + 3, strokeColor=_BAR, strokeWidth=1))
        drawing.add(Rect(x_of(value) - 2.5, y - 2.5, 5, 5, fillColor=_BAR, strokeColor=None))
        drawing.text(_LABEL_WIDTH + plot + 6, y - 2, shown(value, kind), 8)
    return drawing


def _ticks(low: float, high: float, kind: str) -> list[tuple[Decimal, str]]:
    """Axis ticks with their kinds: each whole point of a 1..points scale, quarters of 0..100 or of a 0-1 share."""
    if kind == "percent":
        return [(Decimal(step) / 4, "percent") for step in range(5)]
    if high - low <= 10:
        return [(Decimal(point), "integer") for point in range(int(low), int(high) + 1)]
    return [(Decimal(int(low + (high - low) * step / 4)), "integer") for step in range(5)]


def _index_range(result: ResultTable) -> tuple[float, float]:
    """The index scale's ends as shown: 1..points for "mean", 0..100 for "scb100", 0..1 for "share_positive"."""
    method = result.definition.index.method
    if method == "mean":
        return 1.0, float(result.definition.index_scale().points)
    return (0.0, 100.0) if method == "scb100" else (0.0, 1.0)


# --- Provider pages ---------------------------------------------------------------------------------

_QUESTION_KEYS = ("n", "mean", "low", "high", "share_positive")


def provider_flowables(result: ResultTable, labels: Labels, figures: GroupFigures, name: str,
                       styles: _Styles) -> list:
    """One provider's page: its responses, NKI and response rate, then per question n, mean, interval, share positive."""
    definition = result.definition
    summary = summary_table(ResultTable(result.selection, result.breakdown, definition, (), figures, result.k),
                            labels)
    total = summary.rows[-1]
    kinds = [column.kind for column in summary.columns]
    facts = [
        _("Responses: %(n)s", n=shown(total[5], "integer")),
        # Only a shown NKI has an interval and answers behind it to state.
        _("NKI: %(nki)s (95 %% interval %(low)s to %(high)s, from %(n)s answers)",
          nki=shown(total[1], kinds[1]), low=shown(total[2], kinds[2]),
          high=shown(total[3], kinds[3]), n=shown(total[4], "integer"))
        if isinstance(total[1], Decimal) else f"{_('NKI')}: {shown(total[1], kinds[1]) or _('Missing')}",
        _("Response rate: %(rate)s", rate=shown(total[6], "percent") or "–"),
    ]
    rows = []
    for key in figure_questions(definition):
        columns = {c.key: c for c in question_columns(definition, key, labels)}
        cells = question_cells(definition, figures.questions[key])
        if cells is None:
            values = {k: HIDDEN for k in columns}
        else:
            values = dict(zip(columns, cells))
        rows.append([labels.question(key),
                     *(shown(values[k], columns[k].kind) if k in columns else "" for k in _QUESTION_KEYS)])
    headings = [_("Question"), _("Answers"), _("Mean"), _("%(level)s interval, from", level=level_text()), _("%(level)s interval, to", level=level_text()),
                _("Share positive")]
    return [_text(name, styles.heading, styles), *[_text(fact, styles.body, styles) for fact in facts],
            Spacer(1, 6), _pdf_table(headings, rows, _column_widths(headings, 7.5 * cm, rows), styles),
            *[_text(note, styles.note, styles) for note in summary.written_notes]]


# --- The document ---------------------------------------------------------------------------------

def _title_page(campaign: Campaign, language: str, answers, waiting: int, k: int, styles: _Styles,
                asked: str) -> list:
    definition = campaign.survey_version.definition
    survey = definition.title.get(language) or definition.title.get("sv", definition.key)
    municipality = current_app.config["KUNDROST"].municipality_name
    lines = [
        (_("Survey"), survey),
        (_("Period"), f"{numeric_date(campaign.starts_on)} – {numeric_date(campaign.ends_on)}"),
        (_("Answers"), shown(answers, "integer") or "0"),
        (_("Answers still waiting to be mixed"), shown(waiting, "integer")),
        (_("Smallest group shown (k)"), shown(k, "integer")),
        (_("Report made"), numeric_date(local_today())),
    ]
    flowables = [Spacer(1, 4 * cm)]
    if municipality:
        flowables.append(_text(municipality, styles.body, styles))
    flowables += [_text(_("Customer survey results"), styles.body, styles),
                  _text(campaign.name, styles.title, styles)]
    if styles.direction == "ltr":
        flowables += [Paragraph(f"<b>{markup(label, bold=True)}:</b> {markup(value)}", styles.body)
                      if not pdftext.has_rtl(label + value) else _text(f"{label}: {value}", styles.body, styles)
                      for label, value in lines]
    else:
        # Label and value in cells of their own (label on the right): each is ordered apart, so a
        # date or an untranslated label does not reorder with its neighbour.
        label_style = ParagraphStyle("label", parent=styles.body, fontName=fonts()["bold"])
        cells = [[_text(value, styles.body, styles), _text(f"{label}:", label_style, styles)]
                 for label, value in lines]
        grid = PdfTable(cells, colWidths=[A4[0] - 10 * cm, 6 * cm], hAlign="RIGHT")
        grid.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 4)]))
        flowables.append(grid)
    flowables.append(Spacer(1, 1 * cm))
    flowables.append(_text(suppression_note(k, written=True), styles.note, styles))
    if asked != language:
        flowables.append(Paragraph(markup(
            "This report is in English: its text would need shaping or letters this installation cannot print "
            "in the language chosen."), styles.note))
    return flowables


def _refused(reason: str, k: int, styles: _Styles) -> list:
    return [PageBreak(), _text(refusal_text(reason, k), styles.body, styles)]


def build_report(session: Session, campaign: Campaign, own_provider: int | None, k: int, language: str,
                 pooled: Sequence[int] = ()) -> bytes:
    """The report's PDF bytes for `campaign`, written in `report_language(language)` (module docstring).

    `own_provider` (a provider role's provider id, or None for analysts)
    limits the report to that provider's own page. `pooled` are the ids of
    other campaigns of the same survey and index pooled with it (as the
    pages pool them, access.pooled_campaigns; the title page names them).
    A selection the results layer refuses (results.SelectionRefused)
    gives the title page and a sentence saying why, never an error.
    """
    written = report_language(language)
    campaign_ids = (campaign.id, *pooled)
    with force_locale(LANGUAGES[written].babel_locale):
        styles = _styles(LANGUAGES[written].direction)
        definition = campaign.survey_version.definition
        labels = Labels(session, definition, written)
        flowables: list = []
        notes: list[str] = []
        try:
            if own_provider is None:
                result = result_table(session, Selection(campaign_ids), Breakdown("provider"), k, compare=True)
                flowables = _analyst_pages(result, labels, styles)
            else:
                selection = Selection(campaign_ids, (Filter(Breakdown("provider"), own_provider),))
                result = result_table(session, selection, Breakdown("programme"), k)
                name = labels.group(Breakdown("provider"), own_provider)
                flowables = [PageBreak(), *provider_flowables(result, labels, result.total, name, styles)]
            answers = result.total.responses
            notes = pool_notes(session, result)
        except SelectionRefused as refused:
            flowables, answers = _refused(refused.reason, k, styles), None
        waiting = waiting_in(session, campaign_ids)
        story = [*_title_page(campaign, written, answers, waiting, k, styles, language),
                 *(_text(note, styles.note, styles) for note in notes), *flowables]
        buffer = io.BytesIO()
        document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm,
                                     bottomMargin=2 * cm, title=campaign.name, author="Kundröst",
                                     lang=LANGUAGES[written].html_lang)
        page = _("Page")  # outside the f-string: Babel's extractor does not look inside one
        footer = f"{campaign.name} · {page}"
        document.build(story, onFirstPage=lambda c, d: None,
                       onLaterPages=lambda canvas, doc: _footer(canvas, doc, footer, styles.direction))
        return buffer.getvalue()


def _footer(canvas, document, text: str, direction: str = "ltr") -> None:
    """The footer: campaign and page number at the page's end side (right; left for a right-to-left report)."""
    canvas.saveState()
    canvas.setFont(fonts()["sans"], 8)
    canvas.setFillColor(_INK)
    line = f"{text} {format_decimal(document.page)}"
    if direction == "ltr" and not pdftext.has_rtl(line):
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, line)
    else:
        x = 2 * cm if direction == "rtl" else A4[0] - 2 * cm
        pdftext.draw_line(canvas, x, 1.2 * cm, line, 8, direction, anchor="end")
    canvas.restoreState()


def _analyst_pages(result: ResultTable, labels: Labels, styles: _Styles) -> list:
    """Summary table, response rates, the two charts, then a page per provider (all providers: an analyst's report)."""
    summary = summary_table(result, labels)
    rates = rates_table(result, labels)
    low, high = _index_range(result)
    flowables = [PageBreak(), *_table_flowables(summary, styles), Spacer(1, 12), *_table_flowables(rates, styles),
                 PageBreak(),
                 KeepTogether([_text(_("Response rate per provider"), styles.heading, styles),
                               rate_chart(rates, styles.direction)]),
                 Spacer(1, 18),
                 KeepTogether([_text(_("NKI per provider with its %(level)s interval", level=level_text()), styles.heading, styles),
                               nki_chart(summary, low, high, styles.direction),
                               _text(_("The dashed line is the mean over providers with a value."), styles.note,
                                     styles)])]
    for figures in ordered_rows(result, labels):
        name = labels.group(result.breakdown, figures.key)
        flowables += [PageBreak(), *provider_flowables(result, labels, figures, name, styles)]
    return flowables


def report_response(session: Session, campaign: Campaign, own_provider: int | None, k: int,
                    pooled: Sequence[int] = ()) -> Response:
    """The report as a download (report-<campaign id>.pdf), never cached, in the current staff member's
    language; `pooled` as for build_report."""
    pdf = build_report(session, campaign, own_provider, k, current_language().code, pooled)
    return Response(pdf, mimetype=PDF_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="kundrost-{campaign.id}-report.pdf"',
        "Cache-Control": "no-store"})
