"""The statistics of results, finished in Python from moments that SQL computes.

The database gives, per group of values (a question's answers, the
respondents' personal index scores), three moments: the count n, the sum
and the sum of squares (COUNT, SUM, SUM(x*x): the same on SQLite and
PostgreSQL; SQLite has no standard deviation). Everything else is derived
here: mean, sample standard deviation, the t confidence interval, Welch's
t test of one group against all the others, Holm's correction, and the
rounding and averaging of the municipal summary table. No database, no
Flask: pure functions of numbers, in the units of the values given (a
1-5 scale, a 0-100 index, ...). docs/surveys.md, "Statistics", states the
choices and their sources.

A figure that is undefined (a mean of nothing, a standard deviation of
one value, a test between two groups without any spread) is None, never
NaN, and computing it never lets scipy warn: the cases are
caught here before the libraries are called.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

# scipy.stats is imported where it is used, not here: importing it parses ~600 docstrings (1.5-2.5 s
# here), and every process that loads the app - each `flask mixer once`, CLI command and gunicorn
# worker - paid for it, though only results pages use it (once per process).

K = TypeVar("K", bound=Hashable)

#: Variances below this many units of rounding (x n x mean square) are rounding noise, not spread.
_NOISE_ULPS = 4


@dataclass(frozen=True)
class Moments:
    """n values, their sum and sum of squares (from SQL COUNT/SUM/SUM(x*x)).

    `total` and `total_squares` are in the values' unit and its square.
    Moments add (the union of two disjoint groups) and subtract (all
    values minus one group = "all the others"). Raises ValueError for a
    negative count, which only a wrong subtraction can produce.
    """

    #: How many values (a count, >= 0).
    n: int
    #: Their sum.
    total: float
    #: The sum of their squares.
    total_squares: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"a group cannot have {self.n} values")

    def __add__(self, other: Moments) -> Moments:
        """The moments of the union of two disjoint groups."""
        if not isinstance(other, Moments):
            return NotImplemented
        return Moments(self.n + other.n, self.total + other.total, self.total_squares + other.total_squares)

    def __sub__(self, other: Moments) -> Moments:
        """The moments of this group without `other`, a part of it (raises ValueError if `other` has more values)."""
        if not isinstance(other, Moments):
            return NotImplemented
        return Moments(self.n - other.n, self.total - other.total, self.total_squares - other.total_squares)

    @classmethod
    def of(cls, values: Iterable[float]) -> Moments:
        """The moments of the given values (math.fsum: exact sums, rounded once); for tests and small uses."""
        values = list(values)
        return cls(len(values), math.fsum(values), math.fsum(x * x for x in values))


def _none() -> Moments:
    return Moments(0, 0.0, 0.0)


def mean(m: Moments) -> float | None:
    """The arithmetic mean, in the values' unit; None when n == 0."""
    if m.n == 0:
        return None
    return m.total / m.n


def _variance(m: Moments) -> float | None:
    """Sample variance (n - 1 denominator) from the moments; None when n < 2.

    (sum of squares - sum**2 / n) / (n - 1) cancels digits: values that
    are all equal give a tiny negative or positive number instead of 0
    (three times 4.8 gives 7.1e-15). Anything within the rounding error
    of the sums, a few units of rounding per value relative to the mean
    square, is no spread at all and becomes exactly 0; otherwise a
    provider whose every respondent gave 4.8 would get a "significant"
    difference out of noise.
    """
    if m.n < 2:
        return None
    variance = (m.total_squares - m.total * m.total / m.n) / (m.n - 1)
    mean_square = abs(m.total_squares) / m.n
    if variance <= _NOISE_ULPS * m.n * math.ulp(mean_square):
        return 0.0
    return variance


def standard_deviation(m: Moments) -> float | None:
    """The sample standard deviation (n - 1 denominator), in the values' unit; None when n < 2.

    Rounding noise in the moments is clamped to 0 (see `_variance`).
    """
    variance = _variance(m)
    return None if variance is None else math.sqrt(variance)


def confidence_interval(m: Moments, level: float = 0.95) -> tuple[float, float] | None:
    """The confidence interval of the mean, (low, high) in the values' unit; None when n < 2.

    mean +- t_{(1 + level) / 2, n - 1} x sd / sqrt(n), Student's t
    distribution with n - 1 degrees of freedom (scipy.stats.t.ppf).
    `level` is a share, 0-1 exclusive (0.95 for 95 %); ValueError
    otherwise. All values equal gives an interval of zero width.
    """
    if not 0 < level < 1:
        raise ValueError(f"a confidence level is a share between 0 and 1, not {level}")
    centre, sd = mean(m), standard_deviation(m)
    if centre is None or sd is None:
        return None
    half_width = _t_quantile((1 + level) / 2, m.n - 1) * sd / math.sqrt(m.n)
    return centre - half_width, centre + half_width


@functools.lru_cache(maxsize=4096)
def _t_quantile(probability: float, degrees_of_freedom: int) -> float:
    """Student's t quantile (scipy.stats.t.ppf), remembered: a page asks for the same few hundred, ~1 ms each."""
    from scipy.stats import t as student_t

    return float(student_t.ppf(probability, degrees_of_freedom))


@dataclass(frozen=True)
class Summary:
    """One question's or the index's figures, in the values' unit; a figure is None where undefined.

    `n` is a count; `mean` None when n == 0; `sd`, `low` and `high` None when n < 2.
    """

    n: int
    mean: float | None
    #: Sample standard deviation (n - 1 denominator).
    sd: float | None
    #: Confidence interval of the mean (t distribution), lower and upper end.
    low: float | None
    high: float | None


def moments_of(summary: Summary) -> Moments:
    """The moments a Summary was made from: total = n x mean, sum of squares = (n - 1) sd^2 + n x mean^2.

    For comparing figures already shown (a provider's NKI in two
    campaigns). n < 2 gives moments without spread (sd 0); n 0 gives empty moments.
    """
    if not summary.n or summary.mean is None:
        return _none()
    sd = summary.sd or 0.0
    return Moments(summary.n, summary.n * summary.mean, (summary.n - 1) * sd * sd + summary.n * summary.mean ** 2)


def summarise(m: Moments, level: float = 0.95) -> Summary:
    """n, mean, standard deviation and confidence interval at `level` (a share, 0.95 = 95 %) of one group."""
    interval = confidence_interval(m, level)
    low, high = interval if interval is not None else (None, None)
    return Summary(n=m.n, mean=mean(m), sd=standard_deviation(m), low=low, high=high)


def welch_p_value(a: Moments, b: Moments) -> float | None:
    """The two-sided p-value (0-1) of Welch's t test that groups a and b have the same mean.

    Welch (1947), unequal variances, Welch-Satterthwaite degrees of
    freedom: scipy.stats.ttest_ind_from_stats(equal_var=False) from the
    means and sample standard deviations. None when either group has
    fewer than 2 values, or when neither has any spread (the statistic
    is 0/0 or infinite: the test says nothing).
    """
    mean_a, mean_b = mean(a), mean(b)
    sd_a, sd_b = standard_deviation(a), standard_deviation(b)
    if mean_a is None or mean_b is None or sd_a is None or sd_b is None:
        return None
    if sd_a == 0 and sd_b == 0:
        return None
    from scipy.stats import ttest_ind_from_stats

    result = ttest_ind_from_stats(mean_a, sd_a, a.n, mean_b, sd_b, b.n, equal_var=False)
    return float(result.pvalue)


@dataclass(frozen=True)
class Comparison:
    """One group against all the others: Welch's t test, Holm-corrected over the groups compared.

    `p_value` is Holm's adjusted p-value (0-1), the one to set against
    alpha: `significant` is exactly `p_value <= alpha`. None when the
    group could not be tested (see `welch_p_value`); such a group is not
    counted among the comparisons. `direction` is +1 when the group's
    mean is significantly higher than the others', -1 lower, 0 when not
    significant (no flag).
    """

    p_value: float | None
    significant: bool
    direction: int
    #: Welch's p-value before Holm's correction (0-1), for the record; never compare it with alpha.
    unadjusted_p_value: float | None = None


def holm(p_values: Mapping[K, float], alpha: float = 0.05) -> dict[K, tuple[float, bool]]:
    """Holm's step-down correction: per key, (adjusted p-value 0-1, rejected at `alpha`).

    Holm (1979) controls the family-wise error rate at `alpha` over all
    the p-values given, whatever their dependence: sorted ascending, the
    i-th (from 1) is compared with alpha / (m - i + 1) until one fails;
    it and all after it are kept. Adjusted p-values are
    max over j <= i of min(1, (m - j + 1) p_(j)). An empty mapping gives an
    empty dict.

    Written here rather than taken from statsmodels' multipletests, which
    gives the same numbers but runs a full gc.collect() on every Holm call
    (statsmodels 0.15, multitest.py): 0.05-0.5 s per call in a large
    process, more than a whole results page may take.
    """
    ordered = sorted(p_values, key=lambda key: p_values[key])
    m = len(ordered)
    corrected: dict[K, tuple[float, bool]] = {}
    running, rejecting = 0.0, True
    for position, key in enumerate(ordered):
        p = p_values[key]
        running = max(running, min(1.0, (m - position) * p))
        rejecting = rejecting and p <= alpha / (m - position)
        corrected[key] = (running, rejecting)
    return {key: corrected[key] for key in p_values}


def compare_each_with_rest(groups: Mapping[K, Moments], alpha: float = 0.05) -> dict[K, Comparison]:
    """Each group (a provider, say) against the union of all the OTHER groups, flagged only where significant.

    Welch's t test per group (`welch_p_value`), then Holm's correction
    over the groups that have a p-value (`holm`), at `alpha` (0-1).
    Returns a Comparison for every key of `groups`. The "others" are
    summed from the other groups rather than taken as the total minus
    the group: subtracting a large total leaves rounding noise that can
    be larger than a small group's own spread.
    """
    others = {key: sum((other for k, other in groups.items() if k != key), _none()) for key in groups}
    unadjusted = {key: welch_p_value(group, others[key]) for key, group in groups.items()}
    corrected = holm({key: p for key, p in unadjusted.items() if p is not None}, alpha)

    comparisons = {}
    for key, group in groups.items():
        if key not in corrected:
            comparisons[key] = Comparison(p_value=None, significant=False, direction=0)
            continue
        p_value, significant = corrected[key]
        direction = 0
        if significant:
            direction = 1 if mean(group) > mean(others[key]) else -1
        comparisons[key] = Comparison(p_value, significant, direction, unadjusted_p_value=unadjusted[key])
    return comparisons


def round_half_up(value: float, decimals: int) -> Decimal:
    """`value` rounded to `decimals` places, halves away from zero, as the Swedish reports round.

    Goes through the shortest decimal that reads back as the float
    (str(value)), so 4.95 gives 5.0 with one decimal and 2.675 gives
    2.68 with two, although their binary floats lie just below the half;
    neither banker's rounding (Python's round) nor float artefacts.
    Returns a Decimal with exactly `decimals` places, for the page to
    format in the reader's locale. Raises ValueError for NaN or infinity.
    """
    if not math.isfinite(value):
        raise ValueError(f"cannot round {value}")
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def mean_of_available(values: Iterable[float | None]) -> float | None:
    """The unweighted mean of the values that are not None (None = "missing"); None when all are missing.

    The summary table's bottom row: the mean over the providers that have
    a value, each counting once whatever its n (seed 000, Tabell 1:
    5, 4.8, 5, missing, 5, missing -> 4.95). Summed with math.fsum, so
    the result is the float nearest the exact mean. Raises ValueError for
    NaN or infinity (a missing value must be None, not NaN).
    """
    available = [value for value in values if value is not None]
    if any(not math.isfinite(value) for value in available):
        raise ValueError("a missing value must be None, not NaN or infinity")
    if not available:
        return None
    return math.fsum(available) / len(available)
