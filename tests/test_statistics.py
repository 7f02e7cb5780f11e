"""The statistics finished from SQL moments (app/analytics/statistics.py), against figures worked out by hand.

Every expected value below is computed in the comment beside it, with the
t quantiles taken from a printed t table and the p-values from the closed
forms of Student's t distribution for 2 and 4 degrees of freedom:
with x = t**2 / (t**2 + df), the two-sided p = 1 - I_x(1/2, df/2), and the
regularised incomplete beta function is elementary there:
  df = 2: I_x(1/2, 1) = sqrt(x)                  -> p = 1 - sqrt(x)
  df = 4: I_x(1/2, 2) = sqrt(x) * (3 - x) / 2    -> p = 1 - sqrt(x) * (3 - x) / 2
(integrate s**(-1/2) * (1 - s)**(df/2 - 1) from 0 to x, divide by B(1/2, df/2):
B(1/2, 1) = 2, B(1/2, 2) = 4/3).

pytest turns warnings into errors (pyproject.toml), so every case here
also proves that scipy stays silent on it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.analytics.statistics import (
    Comparison,
    Moments,
    Summary,
    compare_each_with_rest,
    confidence_interval,
    holm,
    mean,
    mean_of_available,
    round_half_up,
    standard_deviation,
    summarise,
    welch_p_value,
)

# Welch's samples, values on a 0-100 index scale (scb100 personal scores).
# B = 0, 2, 4, 6, 8: mean 4, squared deviations 16 + 4 + 0 + 4 + 16 = 40, variance 40 / 4 = 10.
B = Moments.of([0, 2, 4, 6, 8])
# A = m-2, m-2, m+4: squared deviations 4 + 4 + 16 = 24, variance 24 / 2 = 12, whatever m.
# Variances of the means: A 12 / 3 = 4, B 10 / 5 = 2, so the standard error is sqrt(6) and
# Welch-Satterthwaite df = (4 + 2)**2 / (4**2 / (3 - 1) + 2**2 / (5 - 1)) = 36 / (8 + 1) = 4 exactly.


# --- Moments ---------------------------------------------------------------------------------------

def test_moments_of_values_are_count_sum_and_sum_of_squares():
    # 1 + 2 + 3 = 6; 1 + 4 + 9 = 14
    assert Moments.of([1, 2, 3]) == Moments(3, 6.0, 14.0)
    assert Moments.of([]) == Moments(0, 0.0, 0.0)


def test_moments_add_to_the_union_and_subtract_back_to_the_part():
    a, b = Moments.of([1, 2, 3]), Moments.of([4, 10])
    # union 1, 2, 3, 4, 10: n 5, sum 20, squares 1 + 4 + 9 + 16 + 100 = 130
    assert a + b == Moments(5, 20.0, 130.0) == Moments.of([1, 2, 3, 4, 10])
    assert (a + b) - b == a
    assert (a + b) - a == b


def test_subtracting_more_values_than_there_are_is_an_error():
    with pytest.raises(ValueError):
        Moments.of([1]) - Moments.of([1, 2])


# --- Mean, standard deviation, confidence interval ------------------------------------------------

def test_mean_and_sample_standard_deviation():
    m = Moments.of([1, 2, 3, 4, 5])
    # mean 15 / 5 = 3; squared deviations 4 + 1 + 0 + 1 + 4 = 10; n - 1 = 4: variance 2.5, sd sqrt(2.5) = 1.5811388
    assert mean(m) == 3.0
    assert standard_deviation(m) == pytest.approx(1.5811388, abs=1e-7)


def test_undefined_figures_are_none():
    assert mean(Moments.of([])) is None
    assert standard_deviation(Moments.of([])) is None
    assert standard_deviation(Moments.of([4])) is None  # one value has no sample spread
    assert confidence_interval(Moments.of([])) is None
    assert confidence_interval(Moments.of([4])) is None


def test_confidence_interval_of_one_to_five():
    # mean 3, sd sqrt(2.5); standard error sqrt(2.5) / sqrt(5) = sqrt(0.5) = 0.70710678
    # t_{0.975, 4} = 2.776445 (t table); half width 2.776445 * 0.70710678 = 1.963243
    # -> (3 - 1.963243, 3 + 1.963243) = (1.036757, 4.963243)
    low, high = confidence_interval(Moments.of([1, 2, 3, 4, 5]))
    assert low == pytest.approx(1.036757, abs=1e-6)
    assert high == pytest.approx(4.963243, abs=1e-6)


def test_confidence_interval_of_two_values_is_honestly_wide():
    # 4, 6: mean 5, variance (1 + 1) / 1 = 2, standard error sqrt(2) / sqrt(2) = 1
    # t_{0.975, 1} = 12.706205 (t table) -> (5 - 12.706205, 5 + 12.706205) = (-7.706205, 17.706205)
    low, high = confidence_interval(Moments.of([4, 6]))
    assert low == pytest.approx(-7.706205, abs=1e-6)
    assert high == pytest.approx(17.706205, abs=1e-6)


def test_confidence_interval_at_another_level():
    # 1..5 at 90 %: t_{0.95, 4} = 2.131847 (t table); half width 2.131847 * 0.70710678 = 1.507443
    low, high = confidence_interval(Moments.of([1, 2, 3, 4, 5]), level=0.90)
    assert (low, high) == (pytest.approx(1.492557, abs=1e-6), pytest.approx(4.507443, abs=1e-6))
    with pytest.raises(ValueError):
        confidence_interval(Moments.of([1, 2]), level=95)


def test_equal_values_give_an_interval_of_zero_width():
    # 4, 4, 4, 4: no spread, sd 0, interval (4, 4) - not None, not a warning
    assert confidence_interval(Moments.of([4, 4, 4, 4])) == (4.0, 4.0)


def test_rounding_noise_in_the_moments_is_no_spread():
    # 4.8 three times: 14.4**2 / 3 and 4.8**2 * 3 differ in the last bits, so the raw formula
    # (sum of squares - sum**2 / n) / (n - 1) gives about 7e-15, not 0; that is rounding, not spread.
    summary = summarise(Moments.of([4.8, 4.8, 4.8]))
    assert summary.sd == 0.0
    assert summary.low == summary.high == summary.mean == pytest.approx(4.8)
    # A tiny negative variance from a subtraction is clamped too (sqrt would fail on it).
    assert standard_deviation(Moments(3, 14.4, 69.12 - 1e-13)) == 0.0


def test_summarise_gives_every_figure_or_none():
    # 1..5 as above: n 5, mean 3, sd 1.5811388, 95 % interval (1.036757, 4.963243)
    summary = summarise(Moments.of([1, 2, 3, 4, 5]))
    assert summary.n == 5 and summary.mean == 3.0
    assert summary.sd == pytest.approx(1.5811388, abs=1e-7)
    assert (summary.low, summary.high) == (pytest.approx(1.036757, abs=1e-6), pytest.approx(4.963243, abs=1e-6))
    assert summarise(Moments.of([3])) == Summary(n=1, mean=3.0, sd=None, low=None, high=None)
    assert summarise(Moments.of([])) == Summary(n=0, mean=None, sd=None, low=None, high=None)


# --- Welch's t test --------------------------------------------------------------------------------

def test_welch_p_value_with_four_degrees_of_freedom():
    # A = 8, 8, 14 (mean 10) against B (mean 4): t = (10 - 4) / sqrt(6) = 2.449490, t**2 = 6, df = 4
    # x = 6 / (6 + 4) = 0.6; p = 1 - sqrt(0.6) * (3 - 0.6) / 2 = 1 - 0.7745967 * 1.2 = 1 - 0.9295160 = 0.0704840
    # (Student's pooled test would say t = 6 / sqrt(64/6 * (1/3 + 1/5)) = 2.5156 with 6 df, p = 0.046:
    # "significant" only because it ignores that the variances and sizes differ.)
    a = Moments.of([8, 8, 14])
    assert welch_p_value(a, B) == pytest.approx(0.0704840, abs=1e-7)
    assert welch_p_value(B, a) == pytest.approx(0.0704840, abs=1e-7)  # two-sided: symmetric


def test_welch_p_value_when_one_group_has_no_spread():
    # 5, 5, 5 (mean 5, variance 0) against 1, 2, 3 (mean 2, variance 1, variance of the mean 1/3)
    # t = 3 / sqrt(1/3) = 3 * sqrt(3) = 5.196152, t**2 = 27; df = (1/3)**2 / ((1/3)**2 / 2) = 2
    # x = 27 / 29; p = 1 - sqrt(27 / 29) = 1 - 0.9649013 = 0.0350987
    assert welch_p_value(Moments.of([5, 5, 5]), Moments.of([1, 2, 3])) == pytest.approx(0.0350987, abs=1e-7)


def test_welch_p_value_of_identical_groups_is_one():
    # same mean, same spread: t = 0, p = 1
    assert welch_p_value(Moments.of([1, 2, 3]), Moments.of([1, 2, 3])) == pytest.approx(1.0)


def test_welch_p_value_is_none_where_the_test_says_nothing():
    assert welch_p_value(Moments.of([5]), B) is None  # one value
    assert welch_p_value(B, Moments.of([])) is None  # no values
    assert welch_p_value(Moments.of([5, 5]), Moments.of([4, 4, 4])) is None  # no spread on either side
    # all 4.8, with rounding noise in both groups' moments: no spread either, not a "difference"
    assert welch_p_value(Moments.of([4.8] * 3), Moments.of([4.8] * 10)) is None


# --- Holm's correction -----------------------------------------------------------------------------

def test_holm_rejects_fewer_than_the_unadjusted_p_values_would():
    # All three are below 0.05, but Holm compares the sorted p-values with 0.05/3, 0.05/2, 0.05/1:
    # 0.01 <= 0.0167 rejected; 0.03 > 0.025 stops, so 0.03 and 0.04 are not rejected.
    # Adjusted: 3 * 0.01 = 0.03; max(0.03, 2 * 0.03) = 0.06; max(0.06, 1 * 0.04) = 0.06.
    result = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert result["a"] == (pytest.approx(0.03), True)
    assert result["b"] == (pytest.approx(0.06), False)
    assert result["c"] == (pytest.approx(0.06), False)
    assert holm({}) == {}


# --- Each group against all the others -------------------------------------------------------------

def test_a_difference_significant_alone_is_not_flagged_after_holm():
    # A = 10, 10, 16 (mean 12) against B (mean 4); with two groups each one's "others" is the other.
    # t = 8 / sqrt(6), t**2 = 64/6 = 10.666667, df = 4; x = 10.666667 / 14.666667 = 8/11 = 0.7272727
    # p = 1 - sqrt(8/11) * (3 - 8/11) / 2 = 1 - 0.8528029 * 1.1363636 = 1 - 0.9690942 = 0.0309058 < 0.05 alone,
    # but Holm over the 2 comparisons: sorted 0.0309058 > 0.05/2 = 0.025: nothing rejected;
    # adjusted 2 * 0.0309058 = 0.0618117 for both.
    result = compare_each_with_rest({"A": Moments.of([10, 10, 16]), "B": B})
    for key in "AB":
        assert result[key].unadjusted_p_value == pytest.approx(0.0309058, abs=1e-7)
        assert result[key].p_value == pytest.approx(0.0618117, abs=1e-7)
        assert result[key].significant is False
        assert result[key].direction == 0


def test_significant_differences_are_flagged_with_their_direction():
    # A = 11, 11, 17 (mean 13) against B (mean 4): t**2 = 81/6 = 13.5, df = 4, x = 13.5 / 17.5 = 0.7714286
    # p = 1 - sqrt(0.7714286) * (3 - 0.7714286) / 2 = 1 - 0.8783100 * 1.1142857 = 1 - 0.9786883 = 0.0213116
    # C has no answers: no p-value, so Holm counts 2 comparisons, not 3:
    # 0.0213116 <= 0.05/2 = 0.025 rejected, adjusted 2 * 0.0213116 = 0.0426233 (with 3 it would be 0.0639 - no flag).
    result = compare_each_with_rest({"A": Moments.of([11, 11, 17]), "B": B, "C": Moments.of([])})
    assert result["A"].p_value == pytest.approx(0.0426233, abs=1e-7)
    assert result["A"].significant is True and result["A"].direction == 1
    assert result["B"].p_value == pytest.approx(0.0426233, abs=1e-7)
    assert result["B"].significant is True and result["B"].direction == -1
    assert result["C"] == Comparison(p_value=None, significant=False, direction=0)


def test_the_others_are_the_union_of_all_the_other_groups():
    # B split in two providers: 0, 4, 8 and 2, 6. A = 10, 10, 16 against their union 0, 2, 4, 6, 8 is
    # the case above: unadjusted p 0.0309058 (had A been left in its own "others", it would differ).
    result = compare_each_with_rest({
        "A": Moments.of([10, 10, 16]), "B1": Moments.of([0, 4, 8]), "B2": Moments.of([2, 6]),
    })
    assert result["A"].unadjusted_p_value == pytest.approx(0.0309058, abs=1e-7)


def test_identical_groups_are_never_flagged():
    # every provider 1, 2, 3: each against the others 1, 2, 3, 1, 2, 3 - same mean 2, t = 0, p = 1
    same = Moments.of([1, 2, 3])
    result = compare_each_with_rest({"A": same, "B": same, "C": same})
    assert all(c.p_value == pytest.approx(1.0) and not c.significant and c.direction == 0 for c in result.values())
    # every answer 5 everywhere: no spread, no test, no flag, no warning
    flat = compare_each_with_rest({"A": Moments.of([5, 5]), "B": Moments.of([5, 5, 5])})
    assert flat == {key: Comparison(p_value=None, significant=False, direction=0) for key in "AB"}


# --- The summary table: rounding and the average row ------------------------------------------------

def test_tabell_1_of_seed_000():
    # NKI per provider 5, 4.8, 5, missing, 5, missing: (5 + 4.8 + 5 + 5) / 4 = 19.8 / 4 = 4.95,
    # shown with one decimal rounded half up: 5.0 (the report prints 5,0; the page formats the Decimal).
    average = mean_of_available([5, 4.8, 5, None, 5, None])
    assert average == 4.95
    assert round_half_up(average, 1) == Decimal("5.0")


def test_mean_of_available_without_values():
    assert mean_of_available([None, None]) is None
    assert mean_of_available([]) is None
    with pytest.raises(ValueError):
        mean_of_available([4.0, float("nan")])


@pytest.mark.parametrize("value, decimals, shown", [
    (4.95, 1, "5.0"),    # Tabell 1; binary 4.95 is 4.9500000000000001776..., the half is judged on 4.95 itself
    (4.85, 1, "4.9"),    # binary 4.85 is 4.8499999999999996447...: round(4.85, 1) gives 4.8; the report says 4.9
    (4.849, 1, "4.8"),   # below the half
    (0.125, 2, "0.13"),  # exact half in binary: banker's rounding (round) gives 0.12
    (2.675, 2, "2.68"),  # binary 2.67499999999999982236431605997495353221893310546875: round gives 2.67
    (5, 1, "5.0"),       # an int keeps its decimals
    (3.0, 0, "3"),
])
def test_round_half_up_as_the_reports_round(value, decimals, shown):
    result = round_half_up(value, decimals)
    assert result == Decimal(shown)
    assert str(result) == shown  # exactly `decimals` places


def test_round_half_up_refuses_what_is_not_a_number():
    with pytest.raises(ValueError):
        round_half_up(float("nan"), 1)
