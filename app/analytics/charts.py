"""Accessible SVG charts for the results pages, drawn on the server as plain strings.

No JavaScript, no CDN, no plotting library: each function returns a
`markupsafe.Markup` holding one `<figure>` with

- an inline `<svg role="img" aria-labelledby="ID-title ID-desc">` with a
  `<title>` and a `<desc>`, a `viewBox` and `width="100%"` (no fixed pixel
  size, so it scales down on a phone; staff.css caps its width);
- a `<figcaption>` (the title);
- a `<table>` with the same labels and printed strings, always visible,
  so screen readers, printing and copying get the numbers.

The caller suppresses and translates: every label, title, description and
printed number arrives as a finished string (numbers already
locale-formatted, "4,95", "31 %"), and a value of None means "not shown"
(too few answers, or missing): it is drawn as no bar or dot, only the
caller's text (e.g. "too few answers"). This module never formats a number
for display; it only computes geometry, in SVG user units of a viewBox
`WIDTH` wide.

Text is escaped with markupsafe and stripped of characters XML 1.0 cannot
hold, so any label keeps the markup well-formed (the whole figure parses
as XML). Labels longer than `MAX_LABEL_CHARS` are cut with an ellipsis and
carry the full text in a `<title>` (a tooltip). Text width is estimated
from the number of characters: there are no font metrics on the server.

No `style` attributes or `<style>` elements: the Content-Security-Policy
(app/web.py) allows only the hashed staff stylesheet. Colours are SVG
presentation attributes (so a chart saved alone still looks right) that
staff.css may override, e.g. for print.

Right-to-left (rtl=True, for Arabic, Persian, Dari, Pashto, Sorani staff):
the numeric axis keeps growing left to right - numbers and scales such as
1-5 are read left to right in those scripts too, and one geometry keeps
charts comparable between staff members - while every caller-given text is
set with `direction="rtl"`, so an Arabic label reads right and bidi order
within it is right. Labels then stand right-aligned against the plot. Per
SVG (1.1 and 2), with `direction="rtl"` `text-anchor="start"` puts the
text's right edge at x and "end" its left edge; the root sets
`direction="ltr"` so that a chart on an RTL page is not mirrored by
inheritance.

Colours: every bar, dot and segment has at least 3:1 contrast against
white (WCAG 2.1, 1.4.11 non-text contrast); the reference/average line is
also dashed and labelled, and the "don't know" segment stands apart by a
gap, a hatched fill and an outline, so nothing relies on colour alone.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: The viewBox width, in SVG user units; the whole layout is in these units.
WIDTH = 520
#: Left column for the row labels; the plot starts at its right edge.
LABEL_WIDTH = 150
#: Where the numeric axis starts (value 0, or `minimum`).
PLOT_X = LABEL_WIDTH
#: Length of the numeric axis for bar and interval charts: a bar of value
#: `maximum` is this long (a value of 0.25 of `maximum` is 60 units).
PLOT_WIDTH = 240
#: Length of the 100 % bar of a distribution chart, "don't know" included
#: (the gap before the "don't know" segment is taken from it).
DISTRIBUTION_WIDTH = 360
#: The gap that sets the "don't know" segment apart from the scale values.
DONT_KNOW_GAP = 12
#: Height of one row, and of the bar drawn in it.
ROW_HEIGHT = 22
BAR_HEIGHT = 14
#: Room above the rows for the average/reference label, and below for ticks.
TOP = 26
BOTTOM = 24
FONT_SIZE = 13
#: Estimated advance of one character at FONT_SIZE (about 0.55 em).
CHAR_WIDTH = 7.2
#: Labels longer than this are cut (ellipsis included) and get a tooltip.
MAX_LABEL_CHARS = 20
ELLIPSIS = "…"

#: Bars and dots; contrast 8.4:1 against white.
BAR_COLOUR = "#0b4f8a"
#: Average and reference lines (dashed as well); 4.7:1 against white.
REFERENCE_COLOUR = "#b35c00"
#: Whiskers, axis and the "don't know" hatching and outline; 7.5:1.
INK = "#555555"
GRID = "#d0d0d0"
HALO = ' stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
#: Diverging stops for the answer scale, lowest to highest answer: orange,
#: grey, blue, each at least 4.5:1 against white; colours between two stops
#: are mixed linearly in sRGB and stay above 3:1 (tests/test_charts.py).
SCALE_STOPS = ("#b04a00", "#767676", "#0b4f8a")

SVG_NS = "http://www.w3.org/2000/svg"
_CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Characters XML 1.0 cannot hold (C0 controls but tab/newline/return,
# lone surrogates, U+FFFE/U+FFFF); markupsafe leaves them, a parser chokes.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart.

    `value` is in the chart's units (e.g. a response rate 0-1, scaled
    against the chart's `maximum`); None means not shown. `shown` is the
    caller's finished text printed at the bar's end and in the table, e.g.
    "31 %", or "too few answers" when `value` is None.
    """

    label: str
    value: float | None
    shown: str


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: an estimate with its confidence interval.

    `estimate`, `low` and `high` are on the chart's scale (e.g. a mean 1-5
    or an index 0-100); `estimate` None means not shown, `low`/`high` None
    means no interval (e.g. n = 1): the dot is drawn without whiskers.
    `shown` is the caller's text, e.g. "4,2 (3,9–4,5)" or "too few answers".
    """

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    shown: str


@dataclass(frozen=True)
class Segment:
    """One answer option's count in a distribution row.

    `label` is the answer, e.g. "5 Strongly agree" or "Don't know";
    `count` a number of answers (>= 0). `shown` is what the table prints
    for it (e.g. "12" or "12 (31 %)"); empty means the bare count in
    ASCII digits, which no locale writes differently below 1000.
    """

    label: str
    count: int
    shown: str = ""


# ---------------------------------------------------------------- public


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    maximum: float,
    average: float | None = None,
    average_label: str = "",
    rtl: bool = False,
    ticks: Sequence[tuple[float, str]] = (),
    label_heading: str = "",
    value_heading: str = "",
) -> Markup:
    """Horizontal bars, one row per `Bar`, scaled 0..`maximum`, in a figure with its data table.

    A bar is `value / maximum * PLOT_WIDTH` units long (values beyond the
    scale are clamped to 0..maximum); its `shown` text stands at its end.
    `average` (same units) draws a dashed vertical line labelled
    `average_label` above the plot, and the label also closes the table.
    `ticks` are (value, caller-formatted text) pairs drawn as grid lines
    with the text under the axis. `label_heading` and `value_heading` head
    the table's columns (the value column falls back to `title`).
    `chart_id` prefixes the ids inside, so it must be unique on the page.

    Raises ValueError for a `chart_id` that is not an id token (a letter,
    then letters, digits, "-" or "_"), a `maximum` that is not a finite
    positive number, or a non-finite value.
    """
    _check_id(chart_id)
    _check_scale(0.0, maximum)
    rows = len(bars)
    height = TOP + rows * ROW_HEIGHT + BOTTOM
    rects, ends, notes = [], [], []
    for i, bar in enumerate(bars):
        top = TOP + i * ROW_HEIGHT
        if bar.value is None:
            notes.append(_text(PLOT_X + 4, top + 15, bar.shown))
            continue
        length = _position(_finite(bar.value), 0.0, maximum, PLOT_WIDTH)
        rects.append(
            f'<rect x="{PLOT_X}" y="{top + (ROW_HEIGHT - BAR_HEIGHT) // 2}" '
            f'width="{_n(length)}" height="{BAR_HEIGHT}"/>'
        )
        ends.append(_text(PLOT_X + length + 4, top + 15, bar.shown))
    parts = [
        _svg_open(chart_id, title, description, height),
        _ticks(ticks, 0.0, maximum, height),
        _labels([bar.label for bar in bars], rtl),
        f'<g class="bars" fill="{BAR_COLOUR}">{"".join(rects)}</g>',
        _reference_line(average, average_label, 0.0, maximum, height, rtl, "average"),
        _group("values", ends, rtl),
        _group("notes", notes, rtl),
        _axis(height),
        "</svg>",
    ]
    table = _table(
        label_heading,
        value_heading or title,
        [(bar.label, bar.shown) for bar in bars],
        average_label if average is not None else "",
    )
    return _figure(chart_id, title, "".join(parts), table)


def interval_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[Interval],
    minimum: float,
    maximum: float,
    reference: float | None = None,
    reference_label: str = "",
    rtl: bool = False,
    ticks: Sequence[tuple[float, str]] = (),
    label_heading: str = "",
    value_heading: str = "",
) -> Markup:
    """A dot with confidence whiskers per row on a scale `minimum`..`maximum`, in a figure with its data table.

    A value v stands at `PLOT_X + (v - minimum) / (maximum - minimum) *
    PLOT_WIDTH` (clamped to the plot; a whisker cut by the plot edge has no
    cap there). Each row's `shown` text stands right of the plot, or at its
    start when the estimate is None. `reference` (the average over
    providers, or a national reference value, same scale) draws a dashed
    vertical line labelled `reference_label`. `ticks`, `label_heading`,
    `value_heading` and `chart_id` as for `bar_chart`.

    Raises ValueError for a bad `chart_id`, `minimum >= maximum` or a
    non-finite bound or value.
    """
    _check_id(chart_id)
    _check_scale(minimum, maximum)
    height = TOP + len(rows) * ROW_HEIGHT + BOTTOM
    whiskers, dots, values, notes = [], [], [], []
    for i, row in enumerate(rows):
        top = TOP + i * ROW_HEIGHT
        middle = top + ROW_HEIGHT // 2
        if row.estimate is None:
            notes.append(_text(PLOT_X + 4, top + 15, row.shown))
            continue
        x = PLOT_X + _position(_finite(row.estimate), minimum, maximum, PLOT_WIDTH)
        if row.low is not None and row.high is not None:
            whiskers.append(_whisker(_finite(row.low), _finite(row.high), minimum, maximum, middle))
        dots.append(f'<circle cx="{_n(x)}" cy="{middle}" r="4.5"/>')
        values.append(_text(PLOT_X + PLOT_WIDTH + 8, top + 15, row.shown))
    parts = [
        _svg_open(chart_id, title, description, height),
        _ticks(ticks, minimum, maximum, height),
        _labels([row.label for row in rows], rtl),
        f'<g class="whiskers" stroke="{INK}" stroke-width="1.5">{"".join(whiskers)}</g>',
        _reference_line(reference, reference_label, minimum, maximum, height, rtl, "reference"),
        f'<g class="dots" fill="{BAR_COLOUR}">{"".join(dots)}</g>',
        _group("values", values, rtl),
        _group("notes", notes, rtl),
        _axis(height),
        "</svg>",
    ]
    table = _table(
        label_heading,
        value_heading or title,
        [(row.label, row.shown) for row in rows],
        reference_label if reference is not None else "",
    )
    return _figure(chart_id, title, "".join(parts), table)


def distribution_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Sequence[Segment] | None]],
    hidden_text: str,
    rtl: bool = False,
    label_heading: str = "",
    empty_text: str | None = None,
) -> Markup:
    """One 100 % stacked bar per row (e.g. per provider): each answer's share, "don't know" apart.

    Every row lists the same answer options in the same order, the scale
    values first and "don't know" (not a scale value) last. A row's
    segments share `DISTRIBUTION_WIDTH - DONT_KNOW_GAP` units in proportion
    to their counts; the last segment stands after a gap with a hatched
    fill and an outline. Scale values are coloured from `SCALE_STOPS`
    (lowest answer orange, highest blue) and explained in a legend under
    the bars. A row whose segments are None (hidden) shows `hidden_text`
    instead, one whose segments count no answer at all `empty_text`
    (default: `hidden_text`). The table has one column per answer
    option with each segment's `shown` text (or its count).

    Raises ValueError for a bad `chart_id`, rows with fewer than two
    options or with options different from the first row's, or a negative
    count.
    """
    _check_id(chart_id)
    empty_text = empty_text or hidden_text
    options = _options(rows)
    kinds = len(options)
    colours = scale_colours(kinds - 1)
    legend_rows = math.ceil(kinds / 3)
    bars_bottom = TOP + len(rows) * ROW_HEIGHT
    height = bars_bottom + 12 + legend_rows * ROW_HEIGHT
    segments, dont_know, notes = [], [], []
    for i, (_label, row) in enumerate(rows):
        top = TOP + i * ROW_HEIGHT
        total = sum(segment.count for segment in row) if row is not None else 0
        if total == 0:
            notes.append(_text(PLOT_X + 4, top + 15, hidden_text if row is None else empty_text))
            continue
        y = top + (ROW_HEIGHT - BAR_HEIGHT) // 2
        unit = (DISTRIBUTION_WIDTH - DONT_KNOW_GAP) / total
        x = float(PLOT_X)
        for segment, colour in zip(row[:-1], colours):
            width = segment.count * unit
            if width > 0:
                segments.append(
                    f'<rect x="{_n(x)}" y="{y}" width="{_n(width)}" height="{BAR_HEIGHT}" fill="{colour}"/>'
                )
            x += width
        width = row[-1].count * unit
        if width > 0:
            dont_know.append(
                f'<rect x="{_n(x + DONT_KNOW_GAP)}" y="{y}" width="{_n(width)}" height="{BAR_HEIGHT}"/>'
            )
    parts = [
        _svg_open(chart_id, title, description, height),
        _hatch(chart_id),
        _labels([label for label, _row in rows], rtl),
        # White edges keep neighbouring segments apart where two colours are close.
        f'<g class="segments" stroke="#fff">{"".join(segments)}</g>',
        f'<g class="dont-know" fill="url(#{chart_id}-dk)" stroke="{INK}">{"".join(dont_know)}</g>',
        _group("notes", notes, rtl),
        _legend(chart_id, options, colours, bars_bottom + 12, rtl),
        "</svg>",
    ]
    table = _distribution_table(label_heading, options, rows, hidden_text, empty_text)
    return _figure(chart_id, title, "".join(parts), table)


def scale_colours(count: int) -> list[str]:
    """`count` fill colours "#rrggbb" for the scale values, lowest answer first.

    Mixed linearly in sRGB along `SCALE_STOPS` (orange, grey, blue); one
    value gets the blue. Raises ValueError for a count below 0.
    """
    if count < 0:
        raise ValueError("a negative number of colours")
    if count == 1:
        return [SCALE_STOPS[-1]]
    stops = [tuple(int(stop[i : i + 2], 16) for i in (1, 3, 5)) for stop in SCALE_STOPS]
    colours = []
    for i in range(count):
        where = i / (count - 1) * (len(stops) - 1)
        left = min(int(where), len(stops) - 2)
        share = where - left
        rgb = (round(a + (b - a) * share) for a, b in zip(stops[left], stops[left + 1]))
        colours.append("#" + "".join(f"{c:02x}" for c in rgb))
    return colours


# ---------------------------------------------------------------- layout


def _svg_open(chart_id: str, title: str, description: str, height: int) -> str:
    # direction="ltr" on the root: an RTL page must not mirror the geometry
    # by inheritance; the label groups set their own direction.
    return (
        f'<svg xmlns="{SVG_NS}" class="chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" font-size="{FONT_SIZE}" direction="ltr">'
        f'<title id="{chart_id}-title">{_esc(title)}</title>'
        f'<desc id="{chart_id}-desc">{_esc(description)}</desc>'
    )


def _labels(labels: Sequence[str], rtl: bool) -> str:
    """The row labels: left-aligned at 0, or right-aligned against the plot for RTL."""
    x = LABEL_WIDTH - 6 if rtl else 0
    texts = []
    for i, label in enumerate(labels):
        short, cut = _short(label)
        tooltip = f"<title>{_esc(label)}</title>" if cut else ""
        texts.append(f'<text x="{x}" y="{TOP + i * ROW_HEIGHT + 15}">{tooltip}{_esc(short)}</text>')
    # With direction="rtl", text-anchor="start" is the right edge (SVG text-anchor).
    direction = ' direction="rtl"' if rtl else ""
    return f'<g class="labels"{direction} text-anchor="start">{"".join(texts)}</g>'


def _group(name: str, texts: list[str], rtl: bool) -> str:
    """Texts whose left edge stands at their x, in the writing direction of the labels."""
    if not texts:
        return ""
    # For RTL text the left edge is its end.
    attributes = ' direction="rtl" text-anchor="end"' if rtl else ""
    # A white halo keeps the text readable where it crosses the average line.
    return f'<g class="{name}"{attributes}{HALO}>{"".join(texts)}</g>'


def _text(x: float, y: int, text: str) -> str:
    return f'<text x="{_n(x)}" y="{y}">{_esc(text)}</text>'


def _ticks(ticks: Sequence[tuple[float, str]], low: float, high: float, height: int) -> str:
    if not ticks:
        return ""
    lines, texts = [], []
    for value, text in ticks:
        x = _n(PLOT_X + _position(_finite(value), low, high, PLOT_WIDTH))
        lines.append(f"M{x} {TOP - 4}V{height - BOTTOM}")
        texts.append(f'<text x="{x}" y="{height - 6}">{_esc(text)}</text>')
    return (
        f'<path class="grid" d="{"".join(lines)}" stroke="{GRID}" fill="none"/>'
        f'<g class="ticks" text-anchor="middle">{"".join(texts)}</g>'
    )


def _axis(height: int) -> str:
    return f'<path class="axis" d="M{PLOT_X} {TOP - 4}V{height - BOTTOM}" stroke="{INK}"/>'


def _reference_line(
    value: float | None, label: str, low: float, high: float, height: int, rtl: bool, name: str
) -> str:
    """A dashed vertical line across the rows at `value`, its label centred above it."""
    if value is None:
        return ""
    x = PLOT_X + _position(_finite(value), low, high, PLOT_WIDTH)
    # Keep the centred label inside the viewBox: its width is estimated.
    half = min(len(label) * CHAR_WIDTH / 2, WIDTH / 2)
    label_x = min(max(x, half), WIDTH - half)
    direction = ' direction="rtl"' if rtl else ""
    return (
        f'<g class="{name}">'
        f'<path d="M{_n(x)} {TOP - 4}V{height - BOTTOM}" stroke="{REFERENCE_COLOUR}" '
        f'stroke-width="2" stroke-dasharray="5 3"/>'
        f'<text x="{_n(label_x)}" y="{TOP - 9}" text-anchor="middle"{direction}>{_esc(label)}</text></g>'
    )


def _whisker(low: float, high: float, minimum: float, maximum: float, y: int) -> str:
    """The confidence interval as a line with a cap at each end the plot does not cut."""
    x1 = PLOT_X + _position(low, minimum, maximum, PLOT_WIDTH)
    x2 = PLOT_X + _position(high, minimum, maximum, PLOT_WIDTH)
    caps = "".join(
        f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{y - 5}" y2="{y + 5}"/>'
        for x, inside in ((x1, low >= minimum), (x2, high <= maximum))
        if inside
    )
    return f'<line x1="{_n(x1)}" x2="{_n(x2)}" y1="{y}" y2="{y}"/>{caps}'


def _hatch(chart_id: str) -> str:
    """The "don't know" fill: dark diagonal hatching on white (not colour alone)."""
    return (
        f'<defs><pattern id="{chart_id}-dk" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        f'<path d="M0 0V6" stroke="{INK}" stroke-width="2.5"/></pattern></defs>'
    )


def _legend(chart_id: str, options: Sequence[str], colours: Sequence[str], top: int, rtl: bool) -> str:
    """Swatches with the answer options, three to a line, "don't know" hatched like its segments."""
    column = WIDTH // 3
    fills = [*colours, f"url(#{chart_id}-dk)"]
    swatches, texts = [], []
    for i, (option, fill) in enumerate(zip(options, fills)):
        x = (i % 3) * column
        y = top + (i // 3) * ROW_HEIGHT
        swatches.append(f'<rect x="{x}" y="{y + 3}" width="12" height="12" fill="{fill}" stroke="{INK}"/>')
        short, cut = _short(option)
        tooltip = f"<title>{_esc(option)}</title>" if cut else ""
        texts.append(f'<text x="{x + 17}" y="{y + 14}">{tooltip}{_esc(short)}</text>')
    attributes = ' direction="rtl" text-anchor="end"' if rtl else ""
    return f'<g class="legend">{"".join(swatches)}<g{attributes}>{"".join(texts)}</g></g>'


# ---------------------------------------------------------------- HTML around


def _figure(chart_id: str, title: str, svg: str, table: str) -> Markup:
    return Markup(
        f'<figure class="chart" id="{chart_id}"><figcaption>{_esc(title)}</figcaption>'
        f'{svg}<div class="scroll">{table}</div></figure>'
    )


def _table(label_heading: str, value_heading: str, rows: Sequence[tuple[str, str]], footer: str) -> str:
    body = "".join(
        f'<tr><th scope="row">{_esc(label)}</th><td class="num">{_esc(shown)}</td></tr>'
        for label, shown in rows
    )
    foot = f'<tfoot><tr><td colspan="2">{_esc(footer)}</td></tr></tfoot>' if footer else ""
    return (
        f'<table class="chart-data"><thead><tr><th scope="col">{_esc(label_heading)}</th>'
        f'<th scope="col" class="num">{_esc(value_heading)}</th></tr></thead>'
        f"<tbody>{body}</tbody>{foot}</table>"
    )


def _distribution_table(
    label_heading: str,
    options: Sequence[str],
    rows: Sequence[tuple[str, Sequence[Segment] | None]],
    hidden_text: str,
    empty_text: str,
) -> str:
    head = "".join(f'<th scope="col" class="num">{_esc(option)}</th>' for option in options)
    body = []
    for label, row in rows:
        if row is None or sum(segment.count for segment in row) == 0:
            cells = f'<td colspan="{len(options)}">{_esc(hidden_text if row is None else empty_text)}</td>'
        else:
            cells = "".join(
                f'<td class="num">{_esc(segment.shown or str(segment.count))}</td>' for segment in row
            )
        body.append(f'<tr><th scope="row">{_esc(label)}</th>{cells}</tr>')
    return (
        f'<table class="chart-data"><thead><tr><th scope="col">{_esc(label_heading)}</th>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table>'
    )


# ---------------------------------------------------------------- checks and small helpers


def _check_id(chart_id: str) -> None:
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"chart_id must be a letter then letters, digits, '-' or '_': {chart_id!r}")


def _check_scale(minimum: float, maximum: float) -> None:
    if not (math.isfinite(minimum) and math.isfinite(maximum)) or minimum >= maximum:
        raise ValueError(f"the scale {minimum!r}..{maximum!r} is not a finite, non-empty range")


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"a chart value must be finite or None, not {value!r}")
    return value


def _options(rows: Sequence[tuple[str, Sequence[Segment] | None]]) -> list[str]:
    """The answer options shared by every shown row, checked."""
    options: list[str] | None = None
    for label, row in rows:
        if row is None:
            continue
        these = [segment.label for segment in row]
        if any(segment.count < 0 for segment in row):
            raise ValueError(f"a negative count in the row {label!r}")
        if options is None:
            options = these
        elif these != options:
            raise ValueError(f"the row {label!r} has other answer options than the first row")
    if options is not None and len(options) < 2:
        raise ValueError("a distribution needs at least one scale value and the 'don't know' option")
    return options or []


def _position(value: float, low: float, high: float, length: float) -> float:
    """How far from the axis start `value` stands, clamped to 0..length."""
    share = (value - low) / (high - low)
    return min(max(share, 0.0), 1.0) * length


def _n(number: float) -> str:
    """A coordinate with at most two decimals ("60", "67.5"): geometry, never a displayed figure."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _esc(text: str) -> Markup:
    return escape(_NOT_XML.sub("", text))


def _short(label: str) -> tuple[str, bool]:
    """The label cut to MAX_LABEL_CHARS with an ellipsis, and whether it was cut.

    The cut never separates a combining mark (Arabic vowel signs, the
    Ethiopic gemination mark) or a zero-width joiner from the letter before.
    """
    label = _NOT_XML.sub("", label)
    if len(label) <= MAX_LABEL_CHARS:
        return label, False
    end = MAX_LABEL_CHARS - 1
    while end > 1 and (unicodedata.category(label[end]).startswith("M") or label[end] in "\u200c\u200d"):
        end -= 1
    return label[:end].rstrip() + ELLIPSIS, True
