"""The results pages' SVG charts (app/analytics/charts.py): parsed back as XML and measured.

Geometry constants used in the hand arithmetic below: the viewBox is 520
wide, the plot starts at x = 150 and is 240 long (bar and interval
charts); a distribution bar is 360 long including a 12-unit gap before
"don't know"; rows are 22 high, starting at y = 26, with 24 below.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from app.analytics import charts
from app.analytics.charts import Bar, Interval, Segment, bar_chart, distribution_chart, interval_chart

SVG = "{http://www.w3.org/2000/svg}"
STAFF_CSS = Path(__file__).resolve().parent.parent / "app" / "static" / "css" / "staff.css"


# ---------------------------------------------------------------- helpers


def parse(markup):
    """The whole figure as XML: it must be well-formed, whatever the labels."""
    return fromstring(str(markup))


def svg_of(figure):
    return figure.find(f"{SVG}svg")


def group(svg, name):
    found = [g for g in svg.iter(f"{SVG}g") if g.get("class") == name]
    assert len(found) == 1, name
    return found[0]


def texts(element):
    """Each <text>'s own visible text (a <title> tooltip child not included)."""
    out = []
    for text in element.iter(f"{SVG}text"):
        tooltip = text.find(f"{SVG}title")
        shown = tooltip.tail if tooltip is not None else ""
        out.append((text.text or "") + (shown or ""))
    return out


def table_rows(figure):
    return [[cell.text or "" for cell in row] for row in figure.find("div/table/tbody")]


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of '#rrggbb' against white (1.05 / (L + 0.05))."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return 1.05 / (luminance + 0.05)


def two_bars(**kwargs):
    return bar_chart(
        chart_id="rate",
        title="Response rate per provider",
        description="Share of invited customers who answered.",
        bars=[Bar("Nordljus AB", 0.25, "25 %"), Bar("Bro", 0.5, "50 %")],
        maximum=1.0,
        **kwargs,
    )


# ---------------------------------------------------------------- accessibility and structure


def test_the_svg_is_an_image_labelled_by_its_title_and_description_and_scales():
    svg = svg_of(parse(two_bars()))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "rate-title rate-desc"
    assert svg.find(f"{SVG}title").get("id") == "rate-title"
    assert svg.find(f"{SVG}title").text == "Response rate per provider"
    assert svg.find(f"{SVG}desc").get("id") == "rate-desc"
    assert svg.find(f"{SVG}desc").text == "Share of invited customers who answered."
    # Height: 26 above + 2 rows x 22 + 24 below = 94.
    assert svg.get("viewBox") == "0 0 520 94"
    assert svg.get("width") == "100%"
    assert svg.get("height") is None
    # No fixed pixel size anywhere on the root.
    assert not any("px" in value for value in svg.attrib.values())


def test_every_chart_is_a_figure_with_its_caption_and_a_data_table_of_the_same_strings():
    figure = parse(two_bars(label_heading="Provider", value_heading="Rate"))
    assert figure.tag == "figure"
    assert figure.find("figcaption").text == "Response rate per provider"
    assert [th.text for th in figure.find("div/table/thead/tr")] == ["Provider", "Rate"]
    assert table_rows(figure) == [["Nordljus AB", "25 %"], ["Bro", "50 %"]]
    # The header of the value column falls back to the title.
    figure = parse(two_bars())
    assert [th.text for th in figure.find("div/table/thead/tr")] == [None, "Response rate per provider"]


def test_no_style_attribute_or_element_since_the_content_security_policy_would_block_it():
    figure = parse(
        distribution_chart(
            chart_id="d",
            title="t",
            description="d",
            rows=[("A", [Segment("1", 1), Segment("2", 1), Segment("Don't know", 1)])],
            hidden_text="too few answers",
        )
    )
    for chart in (figure, parse(two_bars(average=0.3, average_label="Average 30 %"))):
        for element in chart.iter():
            assert "style" not in element.attrib
            assert not element.tag.endswith("style")


def test_ids_are_prefixed_by_the_chart_id_and_unique_on_a_page():
    page = "<main>" + str(two_bars()) + str(
        bar_chart(chart_id="other", title="t", description="d", bars=[], maximum=1.0)
    ) + "</main>"
    ids = [element.get("id") for element in fromstring(page).iter() if element.get("id")]
    assert ids == ["rate", "rate-title", "rate-desc", "other", "other-title", "other-desc"]


# ---------------------------------------------------------------- bar chart geometry


def test_bar_lengths_are_proportional_to_the_values():
    svg = svg_of(parse(two_bars()))
    rects = list(group(svg, "bars"))
    # maximum 1.0 over 240 units: 0.25 x 240 = 60, 0.5 x 240 = 120 (1:2).
    assert [r.get("width") for r in rects] == ["60", "120"]
    assert [r.get("x") for r in rects] == ["150", "150"]
    # Rows 22 apart, each bar 4 below its row's top (22 - 14) / 2: y = 26 + 4, 48 + 4.
    assert [r.get("y") for r in rects] == ["30", "52"]
    # The printed value stands 4 after the bar's end: 150 + 60 + 4, 150 + 120 + 4.
    assert [t.get("x") for t in group(svg, "values")] == ["214", "274"]
    assert texts(group(svg, "values")) == ["25 %", "50 %"]


def test_bars_scale_against_the_maximum_and_are_clamped_to_it():
    svg = svg_of(
        parse(
            bar_chart(
                chart_id="m",
                title="t",
                description="d",
                bars=[Bar("a", 4.0, "4"), Bar("b", 7.0, "7"), Bar("c", -1.0, "-1"), Bar("d", 0.0, "0")],
                maximum=5.0,
            )
        )
    )
    # 4 / 5 x 240 = 192; 7 beyond 5 -> the full 240; -1 below 0 -> 0; 0 -> 0.
    assert [r.get("width") for r in group(svg, "bars")] == ["192", "240", "0", "0"]


def test_a_value_not_shown_draws_no_bar_only_the_callers_text():
    figure = parse(
        bar_chart(
            chart_id="n",
            title="t",
            description="d",
            bars=[Bar("Nordljus", 0.5, "50 %"), Bar("Bro", None, "too few answers"), Bar("Ek", 0.25, "25 %")],
            maximum=1.0,
        )
    )
    svg = svg_of(figure)
    # Two bars for three rows; Bro's row (the second, top 26 + 22 = 48) has none.
    assert [r.get("y") for r in group(svg, "bars")] == ["30", "74"]
    notes = list(group(svg, "notes"))
    assert texts(group(svg, "notes")) == ["too few answers"]
    # At the plot's start + 4, on the second row's baseline 48 + 15.
    assert (notes[0].get("x"), notes[0].get("y")) == ("154", "63")
    assert table_rows(figure)[1] == ["Bro", "too few answers"]


def test_the_average_line_stands_at_the_average_with_its_label_and_closes_the_table():
    figure = parse(two_bars(average=0.5, average_label="Average 50 %"))
    average = group(svg_of(figure), "average")
    line = average.find(f"{SVG}path")
    # 150 + 0.5 x 240 = 270, from 4 above the first row (22) to the bottom of the rows (94 - 24 = 70).
    assert line.get("d") == "M270 22V70"
    assert line.get("stroke-dasharray")  # dashed: not told apart by colour alone
    assert average.find(f"{SVG}text").text == "Average 50 %"
    assert figure.find("div/table/tfoot/tr/td").text == "Average 50 %"
    # No average, no line and no footer.
    figure = parse(two_bars())
    assert not [g for g in svg_of(figure).iter(f"{SVG}g") if g.get("class") == "average"]
    assert figure.find("div/table/tfoot") is None


def test_ticks_are_placed_on_the_scale_with_the_callers_text():
    svg = svg_of(parse(two_bars(ticks=[(0.0, "0 %"), (0.5, "50 %"), (1.0, "100 %")])))
    # 150 + 0, 150 + 120, 150 + 240.
    assert [t.get("x") for t in group(svg, "ticks")] == ["150", "270", "390"]
    assert texts(group(svg, "ticks")) == ["0 %", "50 %", "100 %"]


def test_a_forty_row_bar_chart_stays_under_12_kb_of_svg():
    bars = [
        Bar(f"Arbetsmarknadsinsatser nr {i} AB", i / 40, f"{round(100 * i / 40)} %")  # 30-odd chars: every label is cut
        for i in range(1, 41)
    ]
    markup = str(
        bar_chart(
            chart_id="big",
            title="Response rate per provider",
            description="Share of invited customers who answered, per provider.",
            bars=bars,
            maximum=1.0,
            average=0.5,
            average_label="Average 50 %",
            ticks=[(0.0, "0 %"), (0.5, "50 %"), (1.0, "100 %")],
        )
    )
    svg = markup[markup.index("<svg") : markup.index("</svg>") + len("</svg>")]
    assert len(svg.encode("utf-8")) < 12 * 1024
    assert len(list(group(svg_of(parse(markup)), "bars"))) == 40


# ---------------------------------------------------------------- hostile and long labels


def test_hostile_labels_are_escaped_and_keep_the_markup_well_formed():
    labels = [
        "<script>x</script>",  # 18 characters: not cut
        "A & B \"Q\" 'S'",
        "مركز النور للتدريب",
        "ሰላም ትግርኛ",
        "x" * 200,
        "bad\x01char",  # a control character XML 1.0 cannot hold
    ]
    markup = bar_chart(
        chart_id="h",
        title="<b>Title & co</b>",
        description="\"quoted\" & 'single'",
        bars=[Bar(label, 0.5, "<i>50 %</i>") for label in labels],
        maximum=1.0,
    )
    assert "<script>" not in str(markup)
    figure = parse(markup)
    assert not [element for element in figure.iter() if element.tag in ("script", f"{SVG}script", "b", "i")]
    svg = svg_of(figure)
    assert svg.find(f"{SVG}title").text == "<b>Title & co</b>"
    assert svg.find(f"{SVG}desc").text == "\"quoted\" & 'single'"
    assert texts(group(svg, "labels")) == [
        "<script>x</script>",
        "A & B \"Q\" 'S'",
        "مركز النور للتدريب",
        "ሰላም ትግርኛ",
        "x" * 19 + "…",  # 20 characters shown, the ellipsis included
        "badchar",
    ]
    assert texts(group(svg, "values")) == ["<i>50 %</i>"] * 6
    assert [row[0] for row in table_rows(figure)] == labels[:5] + ["badchar"]


def test_a_long_label_is_cut_with_its_full_text_in_a_tooltip_of_that_row():
    long = "Kompetens och Jobb i Stockholm Aktiebolag"
    svg = svg_of(
        parse(bar_chart(chart_id="l", title="t", description="d", bars=[Bar(long, 0.5, "50 %"), Bar("Bro", 0.1, "10 %")], maximum=1.0))
    )
    first, second = group(svg, "labels")
    assert first.find(f"{SVG}title").text == long
    # The first 19 characters, "Kompetens och Jobb ", without the trailing space, then the ellipsis.
    assert first.find(f"{SVG}title").tail == "Kompetens och Jobb…"
    # A short label needs no tooltip.
    assert second.find(f"{SVG}title") is None and second.text == "Bro"


def test_the_cut_never_separates_a_combining_mark_from_its_letter():
    # 18 a's, beh, fatha (U+064E, a combining vowel sign), then more: 23 characters.
    # A plain cut at 19 would keep beh and drop its fatha; the cut goes before beh.
    label = "a" * 18 + "\u0628\u064e" + "zzz"
    svg = svg_of(parse(bar_chart(chart_id="c", title="t", description="d", bars=[Bar(label, 0.5, "50 %")], maximum=1.0)))
    assert texts(group(svg, "labels")) == ["a" * 18 + "…"]


# ---------------------------------------------------------------- right to left


def test_rtl_sets_labels_right_to_left_against_the_plot_and_keeps_the_numeric_axis():
    labels = [Bar("مرکز آموزشی نور", 0.25, "25 %"), Bar("Bro", None, "عدد قليل جدا")]
    ltr = svg_of(parse(bar_chart(chart_id="x", title="t", description="d", bars=labels, maximum=1.0)))
    rtl = svg_of(parse(bar_chart(chart_id="x", title="t", description="d", bars=labels, maximum=1.0, rtl=True)))
    # The root is left to right in both: an RTL page must not mirror the axis by inheritance.
    assert ltr.get("direction") == rtl.get("direction") == "ltr"
    # Labels: with direction rtl, text-anchor start is the right edge, at the label column's end 150 - 6.
    assert group(rtl, "labels").get("direction") == "rtl"
    assert group(rtl, "labels").get("text-anchor") == "start"
    assert [t.get("x") for t in group(rtl, "labels")] == ["144", "144"]
    assert group(ltr, "labels").get("direction") is None
    assert [t.get("x") for t in group(ltr, "labels")] == ["0", "0"]
    # Printed values and notes read right to left too, their left edge (the end) after the bar.
    for name in ("values", "notes"):
        assert (group(rtl, name).get("direction"), group(rtl, name).get("text-anchor")) == ("rtl", "end")
    # The bars are the same in both: growing left to right from 150.
    assert [r.attrib for r in group(rtl, "bars")] == [r.attrib for r in group(ltr, "bars")]


# ---------------------------------------------------------------- colours


def test_bars_dots_segments_and_lines_have_at_least_3_to_1_contrast_against_white():
    svg = svg_of(parse(two_bars(average=0.5, average_label="Average")))
    assert contrast_with_white(group(svg, "bars").get("fill")) >= 3
    assert contrast_with_white(group(svg, "average").find(f"{SVG}path").get("stroke")) >= 3
    interval = svg_of(parse(interval_chart(
        chart_id="i", title="t", description="d", rows=[Interval("a", 3, 2, 4, "3")], minimum=1, maximum=5
    )))
    assert contrast_with_white(group(interval, "dots").get("fill")) >= 3
    assert contrast_with_white(group(interval, "whiskers").get("stroke")) >= 3
    # The answer scale, for every scale length from a yes/no question to a 1-10 scale plus one.
    for count in range(1, 12):
        colours = charts.scale_colours(count)
        assert len(set(colours)) == count
        for colour in colours:
            assert contrast_with_white(colour) >= 3, (count, colour)


# ---------------------------------------------------------------- interval chart


def test_interval_chart_places_dot_whiskers_and_reference_on_the_scale():
    figure = parse(
        interval_chart(
            chart_id="nki",
            title="NKI per provider",
            description="Mean 1-5 with 95 % confidence interval.",
            rows=[
                Interval("Nordljus", 4.0, 3.5, 4.5, "4,0 (3,5–4,5)"),
                Interval("Bro", None, None, None, "too few answers"),
                Interval("Ek", 5.0, None, None, "5,0"),
                Interval("Al", 1.4, 0.2, 2.6, "1,4 (0,2–2,6)"),
            ],
            minimum=1,
            maximum=5,
            reference=4.1,
            reference_label="Average 4,1",
        )
    )
    svg = svg_of(figure)
    dots = list(group(svg, "dots"))
    # x = 150 + (v - 1) / 4 x 240: 4.0 -> 330; 5.0 -> 390; 1.4 -> 150 + 24 = 174.
    assert [d.get("cx") for d in dots] == ["330", "390", "174"]
    # Row middles 26 + 11, (Bro has none), 26 + 44 + 11, 26 + 66 + 11.
    assert [d.get("cy") for d in dots] == ["37", "81", "103"]
    lines = list(group(svg, "whiskers"))
    # Nordljus: 3.5 -> 150 + 150 = 300, 4.5 -> 150 + 210 = 360, with a cap at each end.
    assert (lines[0].get("x1"), lines[0].get("x2")) == ("300", "360")
    assert [(c.get("x1"), c.get("y1"), c.get("y2")) for c in lines[1:3]] == [("300", "32", "42"), ("360", "32", "42")]
    # Ek has no interval; Al's low 0.2 is cut at the scale's start 150: no cap there, one at 2.6 -> 150 + 96 = 246.
    assert [(l.get("x1"), l.get("x2")) for l in lines[3:]] == [("150", "246"), ("246", "246")]
    # The reference 4.1 -> 150 + 3.1 / 4 x 240 = 336; rows end at 26 + 88 = 114.
    assert group(svg, "reference").find(f"{SVG}path").get("d") == "M336 22V114"
    assert texts(group(svg, "notes")) == ["too few answers"]
    assert texts(group(svg, "values")) == ["4,0 (3,5–4,5)", "5,0", "1,4 (0,2–2,6)"]
    assert table_rows(figure) == [
        ["Nordljus", "4,0 (3,5–4,5)"], ["Bro", "too few answers"], ["Ek", "5,0"], ["Al", "1,4 (0,2–2,6)"]
    ]
    assert figure.find("div/table/tfoot/tr/td").text == "Average 4,1"


def test_interval_chart_on_an_index_0_to_100():
    svg = svg_of(parse(interval_chart(
        chart_id="i", title="t", description="d", rows=[Interval("a", 75, 60, 90, "75")], minimum=0, maximum=100
    )))
    # 150 + 0.75 x 240 = 330; 60 -> 150 + 144 = 294; 90 -> 150 + 216 = 366.
    assert group(svg, "dots")[0].get("cx") == "330"
    assert (group(svg, "whiskers")[0].get("x1"), group(svg, "whiskers")[0].get("x2")) == ("294", "366")


# ---------------------------------------------------------------- distribution chart


def scale(*counts):
    options = ["1 Disagree", "2", "3 Agree", "Don't know"]
    return [Segment(option, count) for option, count in zip(options, counts)]


def test_distribution_segments_share_the_bar_and_dont_know_stands_apart_hatched():
    figure = parse(
        distribution_chart(
            chart_id="dist",
            title="Answers per provider",
            description="Share of each answer.",
            rows=[("Nordljus", scale(2, 3, 5, 2)), ("Bro", None), ("Ek", scale(0, 0, 0, 0))],
            hidden_text="too few answers",
            label_heading="Provider",
        )
    )
    svg = svg_of(figure)
    segments = list(group(svg, "segments"))
    # 12 answers share 360 - 12 (the gap) = 348 units: 29 each. 2 -> 58, 3 -> 87, 5 -> 145.
    assert [(s.get("x"), s.get("width")) for s in segments] == [("150", "58"), ("208", "87"), ("295", "145")]
    # Three different scale colours.
    assert len({s.get("fill") for s in segments}) == 3
    # Don't know: after 150 + 290 and the 12-unit gap = 452, 2 x 29 = 58 wide, ending at 510.
    dont_know = group(svg, "dont-know")
    assert [(r.get("x"), r.get("width")) for r in dont_know] == [("452", "58")]
    # Not colour alone: a hatched pattern fill and an outline.
    assert dont_know.get("fill") == "url(#dist-dk)"
    assert dont_know.get("stroke")
    pattern = svg.find(f"{SVG}defs/{SVG}pattern")
    assert pattern.get("id") == "dist-dk"
    # Bro (None) and Ek (no answers at all) show the caller's text instead.
    assert texts(group(svg, "notes")) == ["too few answers", "too few answers"]
    # The legend names every option, "don't know" with the hatching.
    legend = group(svg, "legend")
    assert texts(legend) == ["1 Disagree", "2", "3 Agree", "Don't know"]
    assert legend.findall(f"{SVG}rect")[-1].get("fill") == "url(#dist-dk)"
    # The table: one column per option, the counts, hidden rows spanning them.
    assert [th.text for th in figure.find("div/table/thead/tr")] == ["Provider", "1 Disagree", "2", "3 Agree", "Don't know"]
    assert table_rows(figure) == [
        ["Nordljus", "2", "3", "5", "2"],
        ["Bro", "too few answers"],
        ["Ek", "too few answers"],
    ]
    assert figure.find("div/table/tbody/tr[2]/td").get("colspan") == "4"


def test_distribution_table_prints_the_callers_text_when_given():
    rows = [("A", [Segment("Yes", 3, "3 (75 %)"), Segment("Don't know", 1, "1 (25 %)")])]
    figure = parse(distribution_chart(chart_id="d", title="t", description="d", rows=rows, hidden_text="-"))
    assert table_rows(figure) == [["A", "3 (75 %)", "1 (25 %)"]]
    # 4 answers over 348 units: 87 each; the single scale value gets the blue.
    segment = group(svg_of(figure), "segments")[0]
    assert (segment.get("width"), segment.get("fill")) == ("261", charts.BAR_COLOUR)


def test_a_group_without_answers_is_missing_not_hidden():
    # The new user's finding: a provider with no answers read "0 0 0" in the figures and "not shown" in the
    # distribution beside them. Hidden (None) and empty (all counts 0) rows now say different things.
    rows = [("Nordljus", [Segment("Yes", 3), Segment("Don't know", 1)]),
            ("Bro", None),
            ("Lärkan", [Segment("Yes", 0), Segment("Don't know", 0)])]
    figure = parse(distribution_chart(chart_id="d", title="t", description="d", rows=rows, hidden_text="not shown",
                                      empty_text="missing"))
    assert table_rows(figure) == [["Nordljus", "3", "1"], ["Bro", "not shown"], ["Lärkan", "missing"]]
    assert sorted(text.text for text in group(svg_of(figure), "notes")) == ["missing", "not shown"]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("chart_id", ["", "1st", "two words", 'x"y', "a<b"])
def test_a_chart_id_that_is_no_id_token_is_refused(chart_id):
    with pytest.raises(ValueError):
        bar_chart(chart_id=chart_id, title="t", description="d", bars=[], maximum=1.0)


def test_impossible_scales_and_values_are_refused():
    with pytest.raises(ValueError):
        bar_chart(chart_id="a", title="t", description="d", bars=[], maximum=0.0)
    with pytest.raises(ValueError):
        bar_chart(chart_id="a", title="t", description="d", bars=[Bar("x", math.nan, "?")], maximum=1.0)
    with pytest.raises(ValueError):
        interval_chart(chart_id="a", title="t", description="d", rows=[], minimum=5, maximum=1)
    with pytest.raises(ValueError):
        interval_chart(chart_id="a", title="t", description="d", rows=[], minimum=1, maximum=math.inf)


def test_distribution_rows_must_share_their_answer_options():
    with pytest.raises(ValueError):
        distribution_chart(
            chart_id="a", title="t", description="d", hidden_text="-",
            rows=[("A", scale(1, 1, 1, 1)), ("B", [Segment("Yes", 1), Segment("Don't know", 1)])],
        )
    with pytest.raises(ValueError):
        distribution_chart(chart_id="a", title="t", description="d", hidden_text="-", rows=[("A", [Segment("Only", 1)])])
    with pytest.raises(ValueError):
        distribution_chart(chart_id="a", title="t", description="d", hidden_text="-", rows=[("A", scale(1, -1, 1, 1))])


# ---------------------------------------------------------------- the stylesheet


def test_the_staff_stylesheet_scales_charts_and_prints_them_black_on_white():
    css = STAFF_CSS.read_text()
    assert "svg.chart{" in css and "height:auto" in css
    print_rules = css[css.index("@media print") :]
    assert "svg.chart text{fill:#000}" in print_rules
    assert "overflow:visible" in print_rules
