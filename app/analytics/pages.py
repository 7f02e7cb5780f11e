"""What the results pages need beside the core layer: filter choices, formatted cells, charts, comparisons.

Every figure here comes from results.result_table, as presentation.py
shows it (rounded, HIDDEN or None); nothing in this module queries
responses or answers. What it adds is arithmetic on SHOWN figures only:

- the average of the other providers on the provider page: the unweighted
  mean of the values shown for them, offered only where at least two other
  providers have a shown value (with one, the "average" would be that
  provider's figure; issue 9, "Provider role");
- "all other providers" on the provider page: the campaign total's
  distribution minus the provider's, both shown, and only while the
  provider's own figures are shown (else the total minus the others would
  give the hidden figures back).

Numbers are formatted here in the staff member's locale (Babel through
Flask-Babel): Swedish staff read "4,8", "31 %", "1 234".
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import NumberPattern, parse_pattern
from flask_babel import format_percent, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from ..campaigns.models import Campaign
from ..i18n import LANGUAGES, numeric_date
from ..respond.models import CHANNELS
from ..surveys.definition import (
    ChoiceQuestion,
    ScaleQuestion,
    SurveyDefinition,
    YesNoQuestion,
)
from .aggregates import DONT_KNOW
from .charts import (
    Bar,
    Interval,
    Segment,
    bar_chart,
    distribution_chart,
    interval_chart,
)
from .presentation import CHANNEL_LABELS, Labels, Table, index_shown, level_text
from .results import HIDDEN, TOTAL, GroupFigures, QuestionFigures, question_figures
from .scope import Breakdown
from .statistics import round_half_up

#: Longest search text the comments page uses (characters); longer ones are cut.
SEARCH_MAX = 200

#: Decimal places a shown value of each column kind carries (spreadsheets.KINDS, which presentation's columns use).
PLACES = {"integer": 0, "decimal1": 1, "decimal2": 2, "percent": 2, "percent1": 3}


# ---------------------------------------------------------------- formatting


def _percent_pattern(decimals: int) -> str:
    """The locale's percent pattern ("#,##0 %" in Swedish) with `decimals` places."""
    pattern = get_locale().percent_formats[None].pattern
    if decimals == 0:
        return pattern
    last = pattern.rfind("0")
    return pattern[: last + 1] + "." + "0" * decimals + pattern[last + 1:]


def _formatted(value, pattern: str) -> str:
    """`value` by a number pattern in the staff member's locale (as flask_babel's format_decimal/format_percent)."""
    return _parsed_pattern(pattern).apply(value, get_locale())


@functools.lru_cache(maxsize=64)
def _parsed_pattern(pattern: str) -> NumberPattern:
    """babel's parsed pattern, made once: a results page formats hundreds of numbers with a few patterns."""
    return parse_pattern(pattern)


def number(value, kind: str) -> str:
    """A shown value (int, Decimal, date, str) as text in the staff member's locale, per its column kind.

    "integer" a count ("1 234"), "decimal1"/"decimal2" a mean ("4,8"),
    "percent"/"percent1" a 0-1 share ("31 %", "31,5 %"), "date" a day,
    "text" as it is. HIDDEN and None are the caller's to word.
    """
    if kind == "integer":
        return _formatted(value, "#,##0")
    if kind == "decimal1":
        return _formatted(value, "#,##0.0")
    if kind == "decimal2":
        return _formatted(value, "#,##0.00")
    if kind == "percent":
        return _formatted(value, _percent_pattern(0))
    if kind == "percent1":
        return _formatted(value, _percent_pattern(1))
    if kind == "date":
        return numeric_date(value)
    return str(value)


def hidden_text() -> str:
    """What a suppressed cell says instead of its figure: "not shown" - it has too few answers, or it is
    hidden so that another one cannot be worked out (the page's note says which rule)."""
    return _("Not shown")


@dataclass(frozen=True)
class Cell:
    """One table cell as printed: its text, whether it is a number (aligned right), its state and width.

    `state` is "shown", "hidden" (suppressed: the text says too few
    answers) or "missing" (nothing to show); `span` is the number of
    columns it covers (a row hidden whole is one cell).
    """

    text: str
    numeric: bool
    state: str = "shown"
    span: int = 1


#: printed_rows' default: every row.
_EVERY_ROW = object()


@dataclass(frozen=True)
class PrintedRow:
    """A table row as printed: the group's label, its key (for links) and its cells."""

    label: str
    key: object
    cells: tuple[Cell, ...]


def printed_rows(table: Table, missing: Mapping[str, str] | None = None, only: object = _EVERY_ROW) -> list[PrintedRow]:
    """The rows of a presentation Table as text: numbers in the locale, HIDDEN as "too few answers".

    `missing` gives per column key what None says (e.g. {"nki": "missing"});
    elsewhere None prints as a dash. A row whose figures are all HIDDEN is
    one cell spanning them. `only`: print just the row of that key (a page
    showing one provider's row; formatting every number costs).
    """
    missing = missing or {}
    rows = []
    for key, row in zip(table.row_keys, table.rows):
        if only is not _EVERY_ROW and key != only:
            continue
        figures = row[1:]
        columns = table.columns[1:]
        if figures and all(cell is HIDDEN for cell in figures):
            cells = (Cell(hidden_text(), False, "hidden", len(figures)),)
        else:
            cells = tuple(_cell(cell, column.kind, missing.get(column.key, "–"))
                          for cell, column in zip(figures, columns))
        rows.append(PrintedRow(str(row[0]), key, cells))
    return rows


def _cell(value, kind: str, missing: str) -> Cell:
    numeric = kind != "text"
    if value is HIDDEN:
        return Cell(hidden_text(), numeric, "hidden")
    if value is None:
        return Cell(missing, numeric, "missing")
    return Cell(number(value, kind), numeric)


def interval_text(estimate, low, high, kind: str) -> str:
    """"4,8 (4,1–5,0)": a shown estimate with its shown 95 % interval, or the estimate alone."""
    if low is None or high is None:
        return number(estimate, kind)
    return f"{number(estimate, kind)} ({number(low, kind)}–{number(high, kind)})"


# ---------------------------------------------------------------- the filter form


@dataclass(frozen=True)
class Choice:
    """One select of the filter form: its query name, label, options (value, text) and the value chosen."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]
    chosen: str = ""


def _months(campaign: Campaign) -> list[date]:
    months, day = [], date(campaign.starts_on.year, campaign.starts_on.month, 1)
    while day <= campaign.ends_on:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def breakdown_choice(definition: SurveyDefinition, labels: Labels, args: Mapping[str, str],
                     sees_all: bool) -> Choice:
    """The "by" select: the dimensions a table can be broken down by (provider only for those who see all)."""
    options = [("provider", _("Provider"))] if sees_all else []
    options += [("programme", _("Programme")), ("language", _("Language answered in")),
                ("channel", _("Channel")), ("month", _("Month")), ("tertial", _("Tertial")), ("year", _("Year"))]
    options += [(f"background:{q.key}", labels.question(q.key)) for q in definition.background_questions]
    default = "provider" if sees_all else "programme"
    return Choice("by", _("Break down by"), tuple(options), args.get("by", default))


def filter_choices(campaigns: Sequence[Campaign], definition: SurveyDefinition, labels: Labels,
                   args: Mapping[str, str], with_provider: bool) -> list[Choice]:
    """The filter selects of a campaign and those pooled with it (access.py's query names), "all" first as "".

    Providers and programmes of the campaigns, their languages, the
    channels, the years, tertials and months their periods touch, and each
    background question's options. `with_provider` leaves the provider
    select out (the provider page, the provider role).
    """
    every = ("", _("All"))
    months = sorted({month for campaign in campaigns for month in _months(campaign)})
    tertials = sorted({(m.year, (m.month - 1) // 4 + 1) for m in months})
    providers = {p.id: p for campaign in campaigns for p in campaign.providers}.values()
    programmes = {p.id: p for campaign in campaigns for p in campaign.programmes}.values()
    languages = dict.fromkeys(code for campaign in campaigns for code in campaign.languages if code in LANGUAGES)
    choices = []
    if with_provider:
        choices.append(Choice("provider", _("Provider"), (every, *(
            (str(p.id), p.name) for p in sorted(providers, key=lambda p: p.name.casefold())))))
    choices += [
        Choice("programme", _("Programme"), (every, *(
            (str(p.id), f"{p.code} {p.name}") for p in sorted(programmes, key=lambda p: p.code)))),
        Choice("language", _("Language answered in"), (every, *(
            (code, labels.group(Breakdown("language"), code)) for code in languages))),
        Choice("channel", _("Channel"), (every, *((c, str(CHANNEL_LABELS.get(c, c))) for c in CHANNELS))),
        Choice("year", _("Year"), (every, *((str(y), str(y)) for y in sorted({m.year for m in months})))),
        Choice("tertial", _("Tertial"), (every, *(
            (f"{y}-{t}", labels.group(Breakdown("tertial"), (y, t))) for y, t in tertials))),
        Choice("month", _("Month"), (every, *((f"{m.year}-{m.month:02d}",) * 2 for m in months))),
    ]
    for question in definition.background_questions:
        name = f"background:{question.key}"
        choices.append(Choice(name, labels.question(question.key), (every, *(
            (option.key, labels.option(question.key, option.key)) for option in question.options))))
    return [Choice(c.name, c.label, c.options, args.get(c.name, "")) for c in choices]


# ---------------------------------------------------------------- charts


def index_scale(definition: SurveyDefinition) -> tuple[float, float, list[tuple[float, str]]]:
    """(minimum, maximum, ticks) of an NKI as shown: 1..points for "mean", 0-100, or a 0-1 share."""
    kind, _value = index_shown(definition, 0.0)
    if kind == "decimal1":
        points = definition.index_scale().points
        return 1.0, float(points), [(float(p), number(p, "integer")) for p in range(1, points + 1)]
    if kind == "integer":
        return 0.0, 100.0, [(float(v), number(v, "integer")) for v in range(0, 101, 20)]
    return 0.0, 1.0, [(v / 100, number(Decimal(v) / 100, "percent")) for v in range(0, 101, 25)]


def nki_chart(chart_id: str, summary: Table, definition: SurveyDefinition) -> Markup | None:
    """NKI per group with 95 % whiskers and the "mean over groups with a value" line, from the summary table.

    None when no group has an NKI to draw (everything hidden or missing).
    """
    kind = summary.columns[1].kind
    rows, average = [], None
    for key, row in zip(summary.row_keys, summary.rows):
        if key == TOTAL:
            continue
        if key == "mean":
            average = row[1]
            continue
        estimate, low, high = row[1], row[2], row[3]
        if estimate is HIDDEN:
            rows.append(Interval(str(row[0]), None, None, None, hidden_text()))
        elif estimate is None:
            rows.append(Interval(str(row[0]), None, None, None, _("Missing")))
        else:
            rows.append(Interval(str(row[0]), float(estimate), _float(low), _float(high),
                                 interval_text(estimate, low, high, kind)))
    if not any(row.estimate is not None for row in rows):
        return None
    minimum, maximum, ticks = index_scale(definition)
    average_label = "" if average is None else _("Mean over groups with a value: %(value)s",
                                                 value=number(average, kind))
    return interval_chart(
        chart_id=chart_id, title=_("NKI with %(level)s confidence interval", level=level_text()),
        description=_("One dot per group with its %(level)s confidence interval; the dashed line is the mean over "
                      "the groups with a value.", level=level_text()),
        rows=rows, minimum=minimum, maximum=maximum, reference=_float(average), reference_label=average_label,
        ticks=ticks, label_heading=summary.columns[0].heading,
        value_heading=_("NKI (%(level)s interval)", level=level_text()))


def rate_chart(chart_id: str, rates: Table) -> Markup | None:
    """The response rate per group as bars (0-100 %), from the rates table; None when no rate is known."""
    bars = []
    for key, row in zip(rates.row_keys, rates.rows):
        if key == TOTAL:
            continue
        rate = row[3]
        if rate is HIDDEN:
            bars.append(Bar(str(row[0]), None, hidden_text()))
        elif rate is None:
            bars.append(Bar(str(row[0]), None, _("Not known")))
        else:
            bars.append(Bar(str(row[0]), float(rate), number(rate, "percent")))
    if not any(bar.value is not None for bar in bars):
        return None
    return bar_chart(
        chart_id=chart_id, title=_("Response rate"),
        description=_("One bar per group: the share of handed-out links or forms that were answered."),
        bars=bars, maximum=1.0, ticks=[(v / 100, number(Decimal(v) / 100, "percent")) for v in range(0, 101, 25)],
        label_heading=rates.columns[0].heading, value_heading=_("Response rate"))


def segments(definition: SurveyDefinition, labels: Labels, figures: QuestionFigures | object) -> list[Segment] | None:
    """A question's distribution in one group as chart segments ("don't know" last); None when HIDDEN.

    Each answer's share (0-1, shown in per cent) is of the answers given on
    the scale or among the options, the base the mean and the share
    positive have, so the shares of 4 and 5 add up to a 4-5 share positive;
    "don't know" is not a scale value and its share is of all answers.
    """
    if figures is HIDDEN or figures is None:
        return None
    on_scale = sum(count for _answer, count in figures.distribution)
    result = [Segment(labels.answer(figures.question_key, answer), count, _count_and_share(count, on_scale))
              for answer, count in figures.distribution]
    result.append(Segment(_("Don't know"), figures.dont_know,
                          _count_and_share(figures.dont_know, on_scale + figures.dont_know)))
    return result


def _count_and_share(count: int, total: int) -> str:
    if not total:
        return number(count, "integer")
    return f"{number(count, 'integer')} ({number(round_half_up(count / total, 2), 'percent')})"


def distribution(chart_id: str, title: str, rows: Sequence[tuple[str, list[Segment] | None]],
                 label_heading: str) -> Markup | None:
    """The distribution chart of one question over the given rows; None when no row has a shown answer."""
    if not any(row and sum(s.count for s in row) for _label, row in rows):
        return None
    return distribution_chart(
        chart_id=chart_id, title=title,
        description=_("Each bar is %(whole)s of a group's answers to the question, lowest answer first; "
                      "\"don't know\" stands apart at the end.", whole=format_percent(1)),
        rows=rows, hidden_text=hidden_text(), label_heading=label_heading, empty_text=_("Missing"))


# ---------------------------------------------------------------- the provider page


def question_mean(definition: SurveyDefinition, figures) -> Decimal | None:
    """A question's mean as shown (scale 1..points, one decimal; yes/no the 0-1 share of yes, two); None if none."""
    if figures is HIDDEN or figures is None or figures.summary is None or figures.summary.mean is None:
        return None
    places = 2 if isinstance(definition.question(figures.question_key), YesNoQuestion) else 1
    return round_half_up(figures.summary.mean, places)


def question_mean_kind(definition: SurveyDefinition, question_key: str) -> str | None:
    """The column kind of a question's mean: "decimal1" (scale), "percent" (yes/no), None (choice: no mean)."""
    question = definition.question(question_key)
    if isinstance(question, ChoiceQuestion):
        return None
    return "percent" if isinstance(question, YesNoQuestion) else "decimal1"


def nki_shown(definition: SurveyDefinition, figures: GroupFigures):
    """A group's NKI as shown (index_shown), or HIDDEN / None."""
    if figures.nki is HIDDEN or figures.nki is None:
        return figures.nki
    return index_shown(definition, figures.nki.mean)[1]


def average_of_others(values: Iterable, kind: str) -> Decimal | None:
    """The unweighted mean of the other providers' shown values, rounded as their kind is shown.

    None unless at least two values are given: with one other provider the
    average would be that provider's own figure (issue 9).
    """
    shown = [Decimal(value) for value in values if isinstance(value, (Decimal, int))]
    if len(shown) < 2:
        return None
    return round_half_up(float(sum(shown) / len(shown)), PLACES[kind])


def others_figures(definition: SurveyDefinition, total, own) -> QuestionFigures | None:
    """"All other providers" of one question: the shown total's distribution minus the shown provider's.

    None when either is hidden: with the provider's figures hidden, the
    total minus the others would give them back.
    """
    if total is HIDDEN or own is HIDDEN or total is None or own is None:
        return None
    counts: dict = {answer: count for answer, count in total.distribution}
    for answer, count in own.distribution:
        counts[answer] = counts.get(answer, 0) - count
    counts[DONT_KNOW] = total.dont_know - own.dont_know
    return question_figures(definition, total.question_key, counts)


def reference_text(definition: SurveyDefinition, reference) -> str:
    """A reference value as shown beside the municipality's, with its label and year ("4,2 (SKR, riket 2024)")."""
    if reference.measure == "index":
        kind, value = index_shown(definition, reference.value)
    elif reference.measure == "share_positive":
        # Named, since it stands beside a mean: "Share positive: 72 %" is no 1-5 value.
        shown = number(round_half_up(reference.value / 100, 2), "percent")
        return f"{_('Share positive')}: {shown} ({reference.label}, {reference.year})"
    else:
        kind, value = "decimal1", round_half_up(reference.value, 1)
    return f"{number(value, kind)} ({reference.label}, {reference.year})"


def measure_range(definition: SurveyDefinition, measure: str, question_key: str | None) -> tuple[float, float]:
    """The values a reference of `measure` may take: mean 1..points, share 0-100, the NKI on its index scale.

    Raises ValueError for a question that has no such measure (a choice or
    free-text question; a yes/no question has no mean).
    """
    if measure == "index":
        if definition.index.method == "mean":
            return 1.0, float(definition.index_scale().points)
        return 0.0, 100.0
    question = definition.question(question_key)
    if measure == "share_positive" and isinstance(question, (ScaleQuestion, YesNoQuestion)):
        return 0.0, 100.0
    if measure == "mean" and isinstance(question, ScaleQuestion):
        return 1.0, float(question.scale.points)
    raise ValueError(f"{question_key!r} has no {measure}")


def _float(value) -> float | None:
    """A shown Decimal as a float for chart geometry; None (and HIDDEN) as None."""
    if value is None or value is HIDDEN:
        return None
    return float(value)
