"""The results layer: suppression that subtraction cannot undo, and figures worked out by hand.

Expected values are stated by hand in each test (the arithmetic in a
comment), never computed with the code under test. The attacker in
`recoverable` is written here from the published numbers only.
"""

from __future__ import annotations

from datetime import date
from itertools import combinations

import pytest

from app.analytics.results import HIDDEN, TOTAL, SelectionRefused, result_table
from app.analytics.scope import Breakdown, Filter, Selection
from app.analytics.suppression import Line, hidden_cells, period_lines
from app.db import db_session

from .results_fixtures import add, build_results_world

K = 5
BY_PROVIDER = Breakdown("provider")


# --- the counting rule on its own ------------------------------------------------------------

@pytest.mark.parametrize(("bro", "hidden"), [
    (4, {"Bro", "Nordljus"}),   # the issue's example: 4 hidden, so 6 must go too (total 10 is shown)
    (5, set()),                 # exactly k: shown
    (6, set()),
])
def test_one_small_cell_takes_a_second_with_it(bro, hidden):
    assert hidden_cells({"Nordljus": 6, "Bro": bro}, K) == hidden


def test_the_complement_is_the_smallest_shown_cell_and_enough_to_make_k():
    # Bro 1 and Ås 2 are hidden (primary), 1 + 2 = 3 < 5 together: the smallest shown, Ek 4... is
    # itself primary; so Bro 1, Ås 2, Ek 4 are hidden (7 >= 5, three cells) and Nordljus 50 stays.
    assert hidden_cells({"Nordljus": 50, "Bro": 1, "Ås": 2, "Ek": 4}, K) == {"Bro", "Ås", "Ek"}
    # One small cell (2) among 9, 7, 30: the smallest shown, 7, goes with it.
    assert hidden_cells({"A": 30, "B": 9, "C": 7, "D": 2}, K) == {"C", "D"}


def test_zero_answers_hide_nothing_and_a_total_below_k_constrains_nothing():
    assert hidden_cells({"A": 0, "B": 9}, K) == set()
    # Total 3 < k: the table's total is not published, so no complement is needed beyond primary.
    assert hidden_cells({"A": 1, "B": 2}, K) == {"A", "B"}


def test_months_are_protected_within_their_tertial_and_year():
    # March (3) is hidden. Were only the table total a line, the smallest shown month overall -
    # September, 6 - would be its complement, and Jan + Feb + Mar + Apr (a tertial, published by the
    # tertial table) minus the shown January, February and April would give March. Within the
    # first tertial the smallest shown month is April (7).
    months = {date(2027, 1, 1): 10, date(2027, 2, 1): 9, date(2027, 3, 1): 3, date(2027, 4, 1): 7,
              date(2027, 9, 1): 6}
    hidden = hidden_cells(months, K, period_lines(months))
    assert date(2027, 3, 1) in hidden and date(2027, 4, 1) in hidden
    assert date(2027, 9, 1) not in hidden


def test_a_line_with_one_hidden_member_gets_a_second():
    lines = [Line(frozenset({"a", "b"})), Line(frozenset({"c", "d"}))]
    # a (2) hidden; in line {a, b} b (20) must go too; {c, d} untouched; table total: a + b = 22 >= 5, two cells.
    assert hidden_cells({"a": 2, "b": 20, "c": 8, "d": 9}, K, lines) == {"a", "b"}


# --- the attacker ------------------------------------------------------------------------------

def recoverable(total_n, total_mean, shown: list[tuple[int, float]], k=K):
    """What subtraction gives: (n, mean) of everything not shown, from published figures only."""
    n = total_n - sum(count for count, _mean in shown)
    if n == 0:
        return None
    return n, (total_n * total_mean - sum(count * mean for count, mean in shown)) / n


def assert_no_hidden_group_recoverable(table, true_counts: dict):
    """Subtract every shown row from the total, per column: what remains must hold >= 2 hidden groups and >= k answers."""
    hidden = [row.key for row in table.rows if row.responses is HIDDEN]
    shown = [row for row in table.rows if row.responses is not HIDDEN]
    if hidden:
        assert len(hidden) >= 2, f"one hidden group is the total minus the shown ones: {hidden}"
        assert sum(true_counts[key] for key in hidden) >= table.k
    for row in table.rows:
        if row.nki is HIDDEN:
            assert row.nki is HIDDEN and row.responses is HIDDEN or sum(
                1 for other in table.rows if other.nki is HIDDEN) >= 2
    left = recoverable(table.total.nki.n, table.total.nki.mean,
                       [(row.nki.n, row.nki.mean) for row in shown if row.nki not in (HIDDEN, None)])
    if left is not None:
        assert left[0] >= table.k


def provider_table(app, world, selection=None, breakdown=BY_PROVIDER, compare=False):
    with app.app_context():
        return result_table(db_session, selection or Selection(tuple(world.campaigns.values())), breakdown, K,
                            compare=compare)


def row_of(table, key):
    return next(row for row in table.rows if row.key == key)


@pytest.mark.parametrize("bro", [4, 5, 6])
def test_the_issues_subtraction_attack_at_4_5_and_6(app, bro):
    # Bro: `bro` answers of 1; Nordljus: 6 answers of 5. At 4 the page showed Bro hidden, Nordljus
    # 5.0 (n 6) and the total 3.4 (n 10): (3.4 x 10 - 5.0 x 6) / 4 = 1.0 gave Bro away.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=6)
    add(app, world, "Bro Coachning", {"a": 1, "b": 1}, times=bro)
    table = provider_table(app, world)
    nordljus, bro_row = row_of(table, world.providers["Nordljus AB"]), row_of(table, world.providers["Bro Coachning"])
    if bro == 4:
        for row in (nordljus, bro_row):
            assert (row.responses, row.nki) == (HIDDEN, HIDDEN)
            assert (row.complete, row.partial) == (None, None)  # no group is split (the total is)
            assert all(figures is HIDDEN for figures in row.questions.values())
        # The total stays: (6 x 5 + 4 x 1) / 10 = 3.4 from ten answers.
        assert (table.total.responses, table.total.nki.mean) == (10, pytest.approx(3.4))
    else:
        # Bro's mean is 1.0 from exactly `bro` answers, shown from 5 on.
        assert (bro_row.responses, bro_row.nki.n, bro_row.nki.mean) == (bro, bro, pytest.approx(1.0))
        assert nordljus.nki.mean == pytest.approx(5.0)
    assert_no_hidden_group_recoverable(table, {world.providers["Nordljus AB"]: 6, world.providers["Bro Coachning"]: bro})


def test_a_question_answered_by_fewer_than_k_is_hidden_with_a_complement(app):
    # Both providers have 8 responses; yes/no question y was answered by 3 at Bro and 8 at Nordljus:
    # y is hidden for Bro (primary) and for Nordljus (total y: 11 - 8 = 3 would be Bro's); a shows for both.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "y": 1}, times=8)
    add(app, world, "Bro Coachning", {"a": 2, "y": 0}, times=3)
    add(app, world, "Bro Coachning", {"a": 2}, times=5)
    table = provider_table(app, world)
    for name in ("Nordljus AB", "Bro Coachning"):
        row = row_of(table, world.providers[name])
        assert row.questions["y"] is HIDDEN
        assert row.questions["a"] is not HIDDEN
    assert row_of(table, world.providers["Bro Coachning"]).questions["a"].summary.mean == pytest.approx(2.0)


def test_a_filter_whose_complement_is_small_is_refused(app):
    # 12 women and 3 men at Nordljus: "women" would leave out 3 (total 15 - 12): refused; "men" is 3: refused.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "gender": "woman"}, times=12)
    add(app, world, "Nordljus AB", {"a": 2, "gender": "man"}, times=3)
    gender = Breakdown("background", "gender")
    for choice, reason in (("woman", "complement"), ("man", "too_few")):
        selection = Selection(tuple(world.campaigns.values()), (Filter(gender, choice),))
        with pytest.raises(SelectionRefused) as refused:
            provider_table(app, world, selection)
        assert refused.value.reason == reason


def test_a_filtered_cell_is_hidden_when_its_complement_in_the_same_group_is_small(app):
    # Women: Nordljus 10, Bro 10. Men: Nordljus 2, Bro 10. The "women" table would show Nordljus 10,
    # and the unfiltered table Nordljus 12: 12 - 10 = 2 men. So Nordljus is hidden among women,
    # and Bro with it (secondary: women's total 20 is shown).
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5, "gender": "woman"}, times=10)
    add(app, world, "Bro Coachning", {"a": 3, "gender": "woman"}, times=10)
    add(app, world, "Nordljus AB", {"a": 1, "gender": "man"}, times=2)
    add(app, world, "Bro Coachning", {"a": 3, "gender": "man"}, times=10)
    selection = Selection(tuple(world.campaigns.values()), (Filter(Breakdown("background", "gender"), "woman"),))
    table = provider_table(app, world, selection)
    assert row_of(table, world.providers["Nordljus AB"]).responses is HIDDEN
    assert row_of(table, world.providers["Bro Coachning"]).responses is HIDDEN
    assert table.total.responses == 20


def test_breakdowns_by_every_dimension_hide_small_groups(app):
    # 9 answers in Swedish (a = 4), 3 in Arabic (a = 2), 6 in Tigrinya (a = 5); months March (12) and May (6).
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4}, language="sv", times=9)
    add(app, world, "Nordljus AB", {"a": 2}, language="ar", times=3, month=date(2027, 5, 1))
    add(app, world, "Nordljus AB", {"a": 5}, language="ti", times=3, channel="qr")
    add(app, world, "Bro Coachning", {"a": 5}, language="ti", times=3, channel="paper", month=date(2027, 5, 1))
    by_language = provider_table(app, world, breakdown=Breakdown("language"))
    # ar (3) hidden; the smallest shown, ti (6), goes with it. And sv (9): every sms answer is Swedish or
    # Arabic (ti came by QR and paper), so sms (12, shown by channel) less a shown sv would be ar's 3.
    assert [row_of(by_language, key).responses for key in ("ar", "sv", "ti")] == [HIDDEN] * 3
    by_tertial = provider_table(app, world, breakdown=Breakdown("tertial"))
    # Tertial 1 (March): 9 + 3 = 12, mean (36 + 15) / 12 = 4.25; tertial 2 (May): 3 + 3 = 6, (6 + 15) / 6 = 3.5.
    assert row_of(by_tertial, (2027, 1)).nki.mean == pytest.approx(4.25)
    assert row_of(by_tertial, (2027, 2)).nki.mean == pytest.approx(3.5)
    by_channel = provider_table(app, world, breakdown=Breakdown("channel"))
    # sms 12, qr 3, paper 3: qr and paper hidden (6 together); sms shown.
    assert row_of(by_channel, "sms").responses == 12
    assert row_of(by_channel, "qr").responses is HIDDEN and row_of(by_channel, "paper").responses is HIDDEN


def test_question_figures_by_hand(app):
    # a: 1, 2, 3, 4, 5 and a don't know -> n 5, mean 3, sd sqrt(2.5) = 1.5811,
    # t(0.975, 4) = 2.776445 -> 3 -+ 2.776445 x 1.5811 / sqrt 5 = 3 -+ 1.9632; positive (>= 4): 2 of 5 = 0.4.
    # y: yes, yes, no, yes, (none), yes -> n 5, share yes 4/5 = 0.8.
    world = build_results_world(app)
    for a, y in ((1, 1), (2, 1), (3, 0), (4, 1), (5, None)):
        add(app, world, "Nordljus AB", {"a": a, **({"y": y} if y is not None else {})})
    add(app, world, "Nordljus AB", {"a": "dk", "y": 1})
    table = provider_table(app, world)
    a = table.total.questions["a"]
    assert (a.n, a.dont_know, a.share_positive) == (5, 1, pytest.approx(0.4))
    assert a.distribution == ((1, 1), (2, 1), (3, 1), (4, 1), (5, 1))
    assert (a.summary.mean, a.summary.sd) == (pytest.approx(3.0), pytest.approx(1.58114, abs=1e-5))
    assert (a.summary.low, a.summary.high) == (pytest.approx(1.03678, abs=1e-4), pytest.approx(4.96322, abs=1e-4))
    y = table.total.questions["y"]
    assert (y.n, y.share_positive, y.distribution) == (5, pytest.approx(0.8), ((1, 4), (0, 1)))


def test_a_total_made_of_fewer_than_k_answers_is_hidden_too(app):
    # Eight responses; yes/no y answered by 4 of them: y's total is the figure of 4 people, hidden;
    # a, answered by all 8, is shown.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "y": 1}, times=4)
    add(app, world, "Nordljus AB", {"a": 4}, times=4)
    table = provider_table(app, world)
    assert table.total.questions["y"] is HIDDEN
    assert table.total.questions["a"].n == 8
    # Index question b answered by 4: hidden in the total, and with it the NKI and a (they hide together).
    add(app, world, "Nordljus AB", {"a": 4, "b": 2}, times=4)
    table = provider_table(app, world)
    assert (table.total.questions["b"], table.total.nki, table.total.questions["a"]) == (HIDDEN,) * 3


def test_a_filter_shows_nothing_its_parent_table_hides(app):
    # The new user's leak: Vägval (11) is hidden in the table by provider as the complement of Lärkan (3);
    # filtered to Vägval alone, its total would have given 11 back, and the total minus the shown ones
    # Lärkan's 3. Filtered to Lärkan or to Vägval, the selection is refused; Nordljus (20) is shown.
    world = build_results_world(app, providers=("Nordljus AB", "Vägval", "Lärkan"))
    add(app, world, "Nordljus AB", {"a": 5}, times=20)
    add(app, world, "Vägval", {"a": 3}, times=11)
    add(app, world, "Lärkan", {"a": 1}, times=3)
    campaigns = tuple(world.campaigns.values())
    whole = provider_table(app, world)
    assert row_of(whole, world.providers["Vägval"]).responses is HIDDEN
    for name in ("Vägval", "Lärkan"):
        selection = Selection(campaigns, (Filter(BY_PROVIDER, world.providers[name]),))
        with pytest.raises(SelectionRefused):
            provider_table(app, world, selection, breakdown=Breakdown("programme"))
    nordljus = Selection(campaigns, (Filter(BY_PROVIDER, world.providers["Nordljus AB"]),))
    assert provider_table(app, world, nordljus, breakdown=Breakdown("programme")).total.responses == 20


def test_nki_conventions_of_the_issue(app):
    # The issue's example (one respondent answers one item with 5, another six items with 1: 3.0, 1.57
    # or 1.33) has two respondents, below k; the same contrast with ten (five of them answering only
    # some of the index questions: fewer would hide the NKI, docs/analytics.md "Partly scored"):
    # respondents 1..5 answer a = 5 only, 6..10 a = 1 and b = 1. Respondents' scores 5 x 5, 1 x 5 -> mean
    # 30 / 10 = 3.0 (pooled answers would give (25 + 10) / 15 = 2.333; the mean of the item means a
    # (25 + 5) / 10 = 3.0 and b 1: 2.0).
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5}, times=5)
    add(app, world, "Nordljus AB", {"a": 1, "b": 1}, times=5)
    table = provider_table(app, world)
    assert (table.total.nki.n, table.total.nki.mean) == (10, pytest.approx(3.0))


def test_each_provider_is_compared_with_all_others_and_flagged_only_when_significant(app):
    # Nordljus 10 x 5 and 10 x 4 (mean 4.5), Bro 10 x 2 and 10 x 1 (mean 1.5), Ek 10 x 3 and 10 x 4 (3.5):
    # each against the other two pooled (n 20 vs 40); Nordljus and Bro differ far beyond any
    # correction, so both are flagged (+1 and -1).
    world = build_results_world(app, providers=("Nordljus AB", "Bro Coachning", "Ek AB"))
    for name, values in (("Nordljus AB", (5, 4)), ("Bro Coachning", (2, 1)), ("Ek AB", (3, 4))):
        for value in values:
            add(app, world, name, {"a": value, "b": value}, times=10)
    table = provider_table(app, world, compare=True)
    assert row_of(table, world.providers["Nordljus AB"]).comparison.direction == 1
    assert row_of(table, world.providers["Bro Coachning"]).comparison.direction == -1


def test_total_row_key_and_merged_group(app):
    # 6 responses whose provider was merged (NULL) and 6 at Nordljus: the merged group is a row of its own,
    # last; Bro, in the campaign without an answer, has a row with nothing to show.
    world = build_results_world(app)
    add(app, world, None, {"a": 3}, times=6)
    add(app, world, "Nordljus AB", {"a": 5}, times=6)
    table = provider_table(app, world)
    assert [row.key for row in table.rows] == [world.providers["Nordljus AB"], world.providers["Bro Coachning"], None]
    assert (row_of(table, world.providers["Bro Coachning"]).responses,
            row_of(table, world.providers["Bro Coachning"]).nki) == (0, None)
    assert table.total.key == TOTAL and table.total.responses == 12


@pytest.mark.parametrize("sizes", list(combinations([1, 2, 4, 5, 6, 9], 3)))
def test_no_hidden_provider_can_be_recovered_for_any_mix_of_sizes(sizes):
    # Every three-provider table built from these sizes: the hidden cells never number one, and
    # together always hold at least k answers when the total is published.
    counts = dict(zip("ABC", sizes))
    hidden = hidden_cells(counts, K)
    if sum(sizes) >= K and hidden:
        assert len(hidden) >= 2 and sum(counts[key] for key in hidden) >= K
    assert {key for key, n in counts.items() if n < K} <= hidden


# --- as shown ----------------------------------------------------------------------------------

def test_tabell_1_of_seed_000(app):
    # Six providers: NKI 5, 4.8, 5, missing (no answers), 5, missing. 4.8 from 5, 5, 5, 5, 4.
    # The bottom row: (5 + 4.8 + 5 + 5) / 4 = 4.95, rounded half up as the report rounds: 5,0.
    from app.analytics.presentation import Labels, summary_table

    names = ("P1", "P2", "P3", "P4", "P5", "P6")
    world = build_results_world(app, providers=names)
    for name in ("P1", "P3", "P5"):
        add(app, world, name, {"a": 5, "b": 5}, times=5)
    add(app, world, "P2", {"a": 5, "b": 5}, times=4)
    add(app, world, "P2", {"a": 4, "b": 4})
    table = provider_table(app, world)
    with app.test_request_context("/"):
        shown = summary_table(table, Labels(db_session, table.definition, "sv"))
    nki = {row[0]: row[1] for row in shown.rows}
    from decimal import Decimal
    assert [nki[name] for name in names] == [Decimal("5.0"), Decimal("4.8"), Decimal("5.0"), None,
                                             Decimal("5.0"), None]
    assert shown.row_keys[-2] == "mean" and shown.rows[-2][1] == Decimal("5.0")
    assert shown.rows[-2][4] is None  # no "answers behind" a mean of means


def test_asking_for_fewer_questions_changes_nothing_in_those_asked_for(app):
    # b hidden at Bro (3 answers) and with it at Nordljus; asking for b alone or for nothing keeps that,
    # and without questions the NKI and counts are the same as with all of them.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 4, "b": 4}, times=8)
    add(app, world, "Bro Coachning", {"a": 2, "b": 1}, times=3)
    add(app, world, "Bro Coachning", {"a": 2}, times=5)
    with app.app_context():
        campaigns = Selection(tuple(world.campaigns.values()))
        everything = result_table(db_session, campaigns, BY_PROVIDER, K)
        only_b = result_table(db_session, campaigns, BY_PROVIDER, K, questions=["b"])
        none = result_table(db_session, campaigns, BY_PROVIDER, K, questions=())
    assert [row.questions["b"] for row in only_b.rows] == [row.questions["b"] for row in everything.rows]
    assert all(row.questions["b"] is HIDDEN for row in only_b.rows if row.responses)
    assert [(row.responses, row.nki) for row in none.rows] == [(row.responses, row.nki) for row in everything.rows]
    assert none.rows[0].questions == {}



def test_the_nki_and_its_questions_hide_together(app):
    # The breaker's case: question b is hidden at Bro (3 answers) and at Ek as its complement; with everyone
    # answering a and b, Ek's NKI = (a + b) / 2 would give Ek's b back as 2 x NKI - a, and Bro's from the total.
    # So Ek's NKI and a are hidden too, and Bro's; Nordljus keeps everything.
    world = build_results_world(app, providers=("Nordljus AB", "Bro Coachning", "Ek AB"))
    add(app, world, "Nordljus AB", {"a": 5, "b": 5}, times=20)
    add(app, world, "Bro Coachning", {"a": 4, "b": 2}, times=3)
    add(app, world, "Bro Coachning", {"a": 4}, times=7)
    add(app, world, "Ek AB", {"a": 3, "b": 3}, times=8)
    table = provider_table(app, world)
    for name in ("Bro Coachning", "Ek AB"):
        row = row_of(table, world.providers[name])
        assert row.questions["b"] is HIDDEN and row.nki is HIDDEN and row.questions["a"] is HIDDEN, name
    nordljus = row_of(table, world.providers["Nordljus AB"])
    assert nordljus.nki.mean == pytest.approx(5.0) and nordljus.questions["b"].n == 20
    # The overview asks for no question: the NKI is hidden all the same.
    with app.app_context():
        overview = result_table(db_session, Selection(tuple(world.campaigns.values())), BY_PROVIDER, K, questions=())
    assert row_of(overview, world.providers["Ek AB"]).nki is HIDDEN


def test_confidence_intervals_stay_on_the_scale(app):
    # The breaker's case: y yes 4 of 5 -> share 0.8, sd sqrt(0.2) = 0.4472, t(0.975, 4) = 2.776445:
    # 0.8 -+ 2.776445 x 0.4472 / sqrt 5 = 0.8 -+ 0.5553 -> 0.2447 .. 1.3553, cut to 1.
    # a: 5, 5, 5, 5, 3 -> mean 4.6, sd sqrt(0.8) = 0.8944, half width 1.1106 -> 3.4894 .. 5.7106, cut to 5.
    world = build_results_world(app)
    add(app, world, "Nordljus AB", {"a": 5, "y": 1}, times=4)
    add(app, world, "Nordljus AB", {"a": 3, "y": 0})
    table = provider_table(app, world)
    y, nki = table.total.questions["y"].summary, table.total.nki
    assert (y.low, y.high) == (pytest.approx(0.2447, abs=1e-4), 1)
    assert (nki.low, nki.high) == (pytest.approx(3.4894, abs=1e-4), 5)


@pytest.mark.parametrize("query", ["month=0000-01", "tertial=0000-1", "year=0000"])
def test_year_zero_is_a_parameter_error(app, query):
    from app.analytics.access import ParameterError, parse_breakdown, parse_value
    from app.campaigns.models import Campaign

    world = build_results_world(app)
    name, raw = query.split("=")
    with app.test_request_context("/"):
        definition = db_session.get(Campaign, world.campaigns["2027"]).survey_version.definition
        with pytest.raises(ParameterError):
            parse_value(parse_breakdown(name, definition), raw, definition)
