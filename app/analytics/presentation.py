"""Result tables as shown: labelled, rounded as the reports round, one shape for page, CSV, XLSX and PDF.

results.py decides what is hidden; this module only names and rounds. A
`Table` holds, per cell, a value rounded as it is shown (Decimal, int,
str), `HIDDEN` (a suppressed figure) or None (nothing to show: "missing"
in the summary table, "not known" for a rate without a denominator).
Pages render it with the `result_table` macro, exports write it with
app/spreadsheets.py, the PDF draws it: all show the same numbers.

Rounding is half up (statistics.round_half_up), as the municipal reports
round (Tabell 1 of seed 000: 4.95 is shown as 5,0).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign
from ..i18n import LANGUAGES
from ..organisation.models import Programme, Provider
from ..surveys.definition import ChoiceQuestion, ScaleQuestion, SurveyDefinition, YesNoQuestion
from .results import HIDDEN, TOTAL, GroupFigures, Hidden, QuestionFigures, ResultTable
from .scope import Breakdown
from .statistics import Comparison, mean_of_available, round_half_up


#: The confidence level of every interval shown (statistics.summarise's default), 0-1.
CONFIDENCE_LEVEL = 0.95


def level_text() -> str:
    """The confidence level as the staff member's locale writes a percentage ("95 %" in Swedish, "٩٥٪" in Arabic).

    A placeholder in the messages rather than "95 %" in them: a literal
    "% i" would read as a printf conversion to gettext's checks.
    """
    return format_percent(CONFIDENCE_LEVEL)


CHANNEL_LABELS = {
    "sms": lazy_gettext("SMS link"),
    "qr": lazy_gettext("QR code or open link"),
    "paper": lazy_gettext("Paper form"),
    "web": lazy_gettext("Web link"),
}


@dataclass(frozen=True)
class Column:
    """A column: a stable key (CSV/API), its heading in the staff member's language, and its kind.

    Kinds are app/spreadsheets.py's KINDS, so exports write them as they are: "integer" a count,
    "decimal1"/"decimal2" a mean, "percent"/"percent1" a 0-1 share, "text", "date".
    """

    key: str
    heading: str
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """A table as shown: `rows` of cells (see the module docstring), one per `row_keys` entry.

    `row_keys` are the groups' keys (a provider id, a month, TOTAL, "mean"
    for the summary table's average row) so pages can link rows; `k` is the
    suppression threshold its figures were hidden by (None: a table that
    hides nothing of its own). `page_notes` and `written_notes` are the
    sentences printed under it on a page and in a file (CSV, XLSX, PDF).
    """

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]
    row_keys: tuple = ()
    k: int | None = None
    #: Sentences for page and file alike, after the suppression note (e.g. `merged_notes`).
    notes: tuple[str, ...] = ()

    @property
    def page_notes(self) -> tuple[str, ...]:
        """Under the table on a page, where a hidden cell says "Not shown" (pages.hidden_text)."""
        return (*(() if self.k is None else (suppression_note(self.k, written=False),)), *self.notes)

    @property
    def written_notes(self) -> tuple[str, ...]:
        """Under the table in CSV, XLSX and PDF, where a hidden cell is written ".."."""
        return (*(() if self.k is None else (suppression_note(self.k, written=True),)), *self.notes)


def merged_notes(result: ResultTable, labels: Labels) -> tuple[str, ...]:
    """Why a table has a merged row (key None), if it has one: what finalisation does to small groups.

    A finalised campaign's answers often all sit in that row when broken
    down by a background question, language or month (a small
    municipality's groups are small): without this, the row reads as
    answers gone missing. docs/anonymity.md, "Coarsening".
    """
    if not any(row.key is None for row in result.rows):
        return ()
    return (_("“%(row)s”: when a campaign is finalised, the answers still waiting are stored in groups of at least "
              "%(k)d; a smaller group gives up its background answers first, then its language, month, programme "
              "and provider, until it is large enough.", row=labels.group(result.breakdown, None), k=result.k),)


def suppression_note(k: int, written: bool) -> str:
    """The threshold k, and that figures others could be worked out from are hidden too, in the staff member's language.

    `written`: the file's wording, naming the ".." a hidden figure is
    written as; a page's cells say "Not shown" in words instead.
    """
    if written:
        return _("Figures of a group with fewer than %(k)d answers are not shown (..), nor other figures they "
                 "could be worked out from. Within a group that is shown, a count may be small.", k=k)
    return _("Figures of a group with fewer than %(k)d answers are not shown, nor other figures they could be "
             "worked out from. Within a group that is shown, a count may be small.", k=k)


class Labels:
    """Names for group keys in the staff member's language: providers, programmes, languages, channels, periods."""

    def __init__(self, session: Session, definition: SurveyDefinition, language: str):
        self.providers = dict(session.execute(select(Provider.id, Provider.name)).all())
        self.programmes = {pid: f"{code} {name}" for pid, code, name in
                           session.execute(select(Programme.id, Programme.code, Programme.name))}
        self.definition = definition
        self.language = language

    def group(self, breakdown: Breakdown, key) -> str:
        """The row label of `key` in a table broken down by `breakdown`."""
        if key == TOTAL:
            return _("All")
        if key is None and breakdown.dimension == "background":
            # Not only merged: a background question may be skipped or answered "don't know" too.
            return _("No answer, or merged to keep answers anonymous")
        if key is None:
            return _("Small groups merged to keep answers anonymous")
        dimension = breakdown.dimension
        if dimension == "provider":
            return self.providers.get(key, str(key))
        if dimension == "programme":
            return self.programmes.get(key, str(key))
        if dimension == "language":
            return f"{LANGUAGES[key].own_name} ({key})" if key in LANGUAGES else key
        if dimension == "channel":
            return str(CHANNEL_LABELS.get(key, key))
        if dimension == "month":
            return f"{key.year}-{key.month:02d}"
        if dimension == "tertial":
            return _("%(year)d, tertial %(tertial)d", year=key[0], tertial=key[1])
        if dimension == "year":
            return str(key)
        return self.option(breakdown.question_key, key)

    def option(self, question_key: str, option_key: str) -> str:
        """A choice question's option label in the staff member's language (the key if the survey lacks it)."""
        question = self.definition.question(question_key)
        for key, label in question.choices(self._survey_language()):
            if key == option_key:
                return label
        return option_key

    def question(self, question_key: str) -> str:
        """A question's text in the staff member's language (Swedish when the survey lacks it)."""
        return self.definition.question(question_key).text[self._survey_language()]

    def answer(self, question_key: str, answer) -> str:
        """A distribution's answer label: "5 Strongly agree", "Yes", an option's label."""
        question = self.definition.question(question_key)
        if isinstance(question, ScaleQuestion):
            label = question.scale.label(answer, self._survey_language())
            return f"{answer} {label}" if label else str(answer)
        if isinstance(question, YesNoQuestion):
            return _("Yes") if answer == 1 else _("No")
        return self.option(question_key, answer)

    def _survey_language(self) -> str:
        return self.language if self.language in self.definition.languages else "sv"


def index_shown(definition: SurveyDefinition, value: float | None | Hidden):
    """(kind, value as shown) of an NKI on the survey's index scale.

    "mean": one decimal, 1-5 (the Nacka tables); "scb100": a whole number
    0-100; "share_positive": the personal scores are per cent, shown as a
    0-1 share with no decimal ("64 %").
    """
    method = definition.index.method
    kind = {"mean": "decimal1", "scb100": "integer"}.get(method, "percent")
    if value is None or value is HIDDEN:
        return kind, value
    if method == "mean":
        return kind, round_half_up(value, 1)
    if method == "scb100":
        return kind, round_half_up(value, 0)
    return kind, round_half_up(value / 100, 2)


def _nki(definition: SurveyDefinition, figures: GroupFigures, part: str):
    """One part ("mean", "low", "high") of a group's NKI as shown, or HIDDEN / None."""
    if figures.nki is HIDDEN or figures.nki is None:
        return figures.nki
    return index_shown(definition, getattr(figures.nki, part))[1]


def _nki_n(figures: GroupFigures):
    return figures.nki if figures.nki is HIDDEN else (figures.nki.n if figures.nki else 0)


def _rate(value) -> Decimal | Hidden | None:
    return value if value is None or value is HIDDEN else round_half_up(value, 2)


def _flag(figures: GroupFigures) -> str:
    """A provider's NKI against all others (Welch + Holm), in words.

    "Higher" / "Lower" where the difference is significant, "No clear
    difference" where it was tested and is not, "Not compared" where it
    could not be tested (its NKI hidden or missing, fewer than two answers,
    or no other group with a value): a blank cell would not tell the last
    two apart. The total and the merged group ("small groups combined")
    are no provider: "".
    """
    if figures.key in (TOTAL, None):
        return ""
    return comparison_text(figures.comparison)


def comparison_text(comparison: Comparison | None) -> str:
    """A significance test's outcome as a table says it: "Higher", "Lower", "No clear difference" or "Not compared".

    `comparison` None, or one without a p-value, was not tested.
    """
    if comparison is None or comparison.p_value is None:
        return _("Not compared")
    if not comparison.significant:
        return _("No clear difference")
    return _("Higher") if comparison.direction > 0 else _("Lower")


def summary_table(result: ResultTable, labels: Labels) -> Table:
    """The municipal summary table (Tabell 1 of seed 000): per group NKI with its 95 % interval, n, response rate.

    A bottom row "Mean over providers with a value": the unweighted mean
    of the NKI values shown above it, rounded as shown (hidden and missing
    ones left out), as the report computes it (5, 4.8, 5, missing, 5,
    missing -> 4.95 -> 5.0); then the pooled total of every answer.
    """
    definition = result.definition
    kind, _value = index_shown(definition, 0.0)
    columns = (
        Column("group", _group_heading(result.breakdown, labels)),
        Column("nki", _("NKI"), kind),
        Column("nki_low", _("%(level)s interval, from", level=level_text()), kind),
        Column("nki_high", _("%(level)s interval, to", level=level_text()), kind),
        Column("nki_n", _("Answers behind NKI"), "integer"),
        Column("responses", _("Responses"), "integer"),
        Column("response_rate", _("Response rate"), "percent"),
        Column("compared", _("Compared with all others"), "text"),
    )
    rows, keys = [], []
    for figures in ordered_rows(result, labels):
        rows.append(_summary_row(definition, labels.group(result.breakdown, figures.key), figures))
        keys.append(figures.key)
    # The merged group (key None) is no provider of its own: not in the mean over groups.
    shown = [row[1] for row, key in zip(rows, keys) if key is not None and isinstance(row[1], Decimal)]
    average = mean_of_available(float(value) for value in shown) if shown else None
    rows.append((_("Mean over groups with a value"),
                 None if average is None else index_shown(definition, _unshown(definition, average))[1],
                 None, None, None, None, None, ""))
    keys.append("mean")
    rows.append(_summary_row(definition, _("All answers"), result.total))
    keys.append(TOTAL)
    return Table("summary", _("NKI and response rate"), columns, tuple(rows), tuple(keys), result.k,
                 merged_notes(result, labels))


def _unshown(definition: SurveyDefinition, shown_value: float) -> float:
    """A shown NKI back on the index scale (share_positive is shown as a 0-1 share)."""
    return shown_value * 100 if definition.index.method == "share_positive" else shown_value


def _summary_row(definition: SurveyDefinition, label: str, figures: GroupFigures) -> tuple:
    return (label, _nki(definition, figures, "mean"), _nki(definition, figures, "low"),
            _nki(definition, figures, "high"), _nki_n(figures), figures.responses,
            _rate(figures.response_rate), _flag(figures))


def rates_table(result: ResultTable, labels: Labels) -> Table:
    """Response rate per group: handed out, answered (claimed), the rate (0-1), complete and partial responses."""
    columns = (
        Column("group", _group_heading(result.breakdown, labels)),
        Column("handed_out", _("Handed out"), "integer"),
        Column("answered", _("Answered"), "integer"),
        Column("response_rate", _("Response rate"), "percent"),
        Column("complete", _("Complete responses"), "integer"),
        Column("partial", _("Partial responses"), "integer"),
    )
    rows, keys = [], []
    for figures in (*ordered_rows(result, labels), result.total):
        label = _("All answers") if figures.key == TOTAL else labels.group(result.breakdown, figures.key)
        rows.append((label, figures.handed_out, figures.answered, _rate(figures.response_rate),
                     figures.complete, figures.partial))
        keys.append(figures.key)
    # The new user: 110 answered beside 114 + 26 responses read as an error without it.
    counted = _("“%(answered)s” counts the links and forms handed out that were used, answers still waiting to be "
                "mixed included; “%(complete)s” and “%(partial)s” count the answers mixed into the results, from "
                "every channel, open links (QR codes) without a handed-out count included. So they need not agree.",
                answered=_("Answered"), complete=_("Complete responses"), partial=_("Partial responses"))
    # Only the unfiltered total is split (results._total_split): say why the groups' cells are empty.
    split = _("“%(complete)s” and “%(partial)s” are given only in the row “%(total)s” of a table without a filter, "
              "and only for a survey with at most one required question: more would give away how many of a group "
              "answered a required question, which may be hidden.",
              complete=_("Complete responses"), partial=_("Partial responses"), total=_("All answers"))
    return Table("rates", _("Response rate"), columns, tuple(rows), tuple(keys), result.k,
                 (counted, split, *merged_notes(result, labels)))


def question_columns(definition: SurveyDefinition, question_key: str, labels: Labels) -> tuple[Column, ...]:
    """The figure columns of one question: n, mean, sd, 95 % interval, share positive, don't know, then each answer's count."""
    question = definition.question(question_key)
    columns = [Column("n", _("Answers"), "integer")]
    if not isinstance(question, ChoiceQuestion):
        mean_kind = "percent" if isinstance(question, YesNoQuestion) else "decimal1"
        # A yes/no question's mean is the share of yes (0-1): its spread is shown in the same unit, per cent
        # (the new user: "87 %" beside "0,35").
        sd_kind = "percent" if isinstance(question, YesNoQuestion) else "decimal2"
        columns += [Column("mean", _("Mean"), mean_kind), Column("sd", _("Standard deviation"), sd_kind),
                    Column("low", _("%(level)s interval, from", level=level_text()), mean_kind),
                    Column("high", _("%(level)s interval, to", level=level_text()), mean_kind),
                    Column("share_positive", _("Share positive"), "percent")]
    if isinstance(question, ScaleQuestion) or isinstance(question, ChoiceQuestion):
        columns.append(Column("dont_know", _("Don't know"), "integer"))
    answers = _answer_order(question)
    columns += [Column(f"answer_{answer}", labels.answer(question_key, answer), "integer") for answer in answers]
    return tuple(columns)


def _answer_order(question) -> list:
    if isinstance(question, ScaleQuestion):
        return list(range(1, question.scale.points + 1))
    if isinstance(question, YesNoQuestion):
        return [1, 0]
    return [option.key for option in question.options]


def question_cells(definition: SurveyDefinition, figures: QuestionFigures | Hidden) -> tuple:
    """One group's cells for `question_columns`: HIDDEN in every column when hidden."""
    question = None if figures is HIDDEN else definition.question(figures.question_key)
    if figures is HIDDEN:
        return None
    cells: list = [figures.n]
    if not isinstance(question, ChoiceQuestion):
        summary = figures.summary
        yes_no = isinstance(question, YesNoQuestion)
        decimals = 2 if yes_no else 1

        def shown(value, places=decimals):
            """A figure rounded half up to `places` decimals as shown (Decimal); None stays None."""
            return None if value is None else round_half_up(value, places)
        cells += [shown(summary.mean) if summary else None, shown(summary.sd, 2) if summary else None,
                  shown(summary.low) if summary else None, shown(summary.high) if summary else None,
                  shown(figures.share_positive, 2)]
    if isinstance(question, ScaleQuestion) or isinstance(question, ChoiceQuestion):
        cells.append(figures.dont_know)
    cells += [count for _answer, count in figures.distribution]
    return tuple(cells)


def question_table(result: ResultTable, labels: Labels, question_key: str) -> Table:
    """One question's figures per group of the result, then the total (the question page)."""
    definition = result.definition
    columns = (Column("group", _group_heading(result.breakdown, labels)),
               *question_columns(definition, question_key, labels))
    width = len(columns) - 1
    rows, keys = [], []
    for figures in (*ordered_rows(result, labels), result.total):
        label = _("All answers") if figures.key == TOTAL else labels.group(result.breakdown, figures.key)
        cells = question_cells(definition, figures.questions[question_key])
        rows.append((label, *(cells if cells is not None else (HIDDEN,) * width)))
        keys.append(figures.key)
    return Table(f"question_{question_key}", labels.question(question_key), columns, tuple(rows), tuple(keys), result.k,
                 merged_notes(result, labels))


def ordered_rows(result: ResultTable, labels: Labels) -> list[GroupFigures]:
    """The result's rows as a reader looks for them: providers and programmes by name, other keys in order, merged last."""
    if result.breakdown.dimension not in ("provider", "programme"):
        return list(result.rows)
    known = [row for row in result.rows if row.key is not None]
    known.sort(key=lambda row: labels.group(result.breakdown, row.key).casefold())
    return known + [row for row in result.rows if row.key is None]


def _group_heading(breakdown: Breakdown, labels: Labels) -> str:
    headings = {
        "provider": _("Provider"), "programme": _("Programme"), "language": _("Language answered in"),
        "channel": _("Channel"), "month": _("Month"), "tertial": _("Tertial"), "year": _("Year"),
    }
    if breakdown.dimension == "background":
        return labels.question(breakdown.question_key)
    return headings[breakdown.dimension]


def pool_notes(session: Session, result: ResultTable) -> list[str]:
    """What a pooled table (several campaigns) says of them, in the staff member's language; [] for one campaign.

    The campaigns pooled and how (each figure added up from what every
    campaign shows on its own, results._pooled_table), then those left out
    because their own answers refuse the selection (ResultTable.left_out).
    Names are joined by semicolons: a campaign's name may hold a comma.
    """
    if len(result.selection.campaign_ids) + len(result.left_out) < 2:
        return []
    names = {campaign.id: campaign.name for campaign in session.scalars(
        select(Campaign).where(Campaign.id.in_((*result.selection.campaign_ids, *result.left_out))))}
    notes = [_("Pooled campaigns: %(names)s. Each figure adds up what every one of them shows on its own; "
               "a figure hidden in one of them is hidden here too.",
               names="; ".join(names[campaign_id] for campaign_id in result.selection.campaign_ids))]
    if result.left_out:
        notes.append(_("Left out, with too few answers for this selection: %(names)s.",
                       names="; ".join(names[campaign_id] for campaign_id in result.left_out)))
    return notes


def refusal_text(reason: str, k: int, filtered: bool = True, own_provider: bool = False) -> str:
    """The sentence every page, export, report and API answer gives for a refused selection, in the
    staff member's language: what happened and what to do.

    `reason` is results.SelectionRefused's ("too_few", "complement" or
    "filters"); `filtered` says whether the selection has filters (an
    unfiltered campaign with too few answers has none to widen);
    `own_provider` whether one of them is a provider account's own provider
    (its exports and API answers: that filter is not the reader's to drop).
    """
    if reason == "filters" and own_provider:
        return _("Your account's results are always those of your own provider, and that is already their one "
                 "filter: a download or an API answer cannot be filtered further. Break the table down instead, "
                 "or use the filter on your provider page.")
    if reason == "filters":
        return _("A table can be filtered on one thing at a time. Choose one filter, and break the table down by "
                 "the other instead: with two filters, comparing tables could give single answers away.")
    if reason == "complement":
        return _("Too few answers lie outside this selection (fewer than %(k)d): showing it would reveal them "
                 "by subtraction. Widen the filter.", k=k)
    if filtered:
        return _("Too few answers are in this selection (fewer than %(k)d) to show any figures. Widen the filter.",
                 k=k)
    return _("This campaign has fewer than %(k)d answers so far: no figures can be shown yet.", k=k)
