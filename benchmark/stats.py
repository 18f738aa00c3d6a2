"""Statistics of the suite: summaries, Wilcoxon tests, Holm's correction and bootstrap intervals.

Every function takes plain sequences of floats and returns a frozen record; scipy.stats does the tests. This is
the one home of statistics: reports (Tables S7 and beyond) and the reader study use these functions and nothing else.

Policies, applied everywhere:

- **Missing values**: NaN means "no value" and is dropped before anything is computed; each record counts what was
  dropped (``n_missing``). Infinite values are refused (``ValueError``): an infinite time or score is a bug upstream.
- **Too few values**: a test needs at least ``min_n`` values per side (rank-sum) or non-zero differences
  (signed-rank), default :data:`MIN_SAMPLE_SIZE` = 6. Below it the test returns a NaN p-value and the reason, never
  an error: with five pairs or fewer no two-sided signed-rank p-value can fall below 0.05 (the smallest exact p is
  2 / 2**n, 0.0625 at n = 5), so such a test cannot tell two models apart; the same floor applies per side to the
  rank-sum test, whose normal approximation is poor below it. Callers may lower ``min_n`` (at least 1).
- **Zero differences** (signed-rank): pairs with equal values are discarded before ranking (Wilcoxon's own
  convention, scipy's ``zero_method="wilcox"``) and counted in ``n_zero``; when every difference is zero the p-value
  is NaN with that reason. scipy then chooses the p-value's method ("auto"): exact for up to 50 differences without
  ties, an exhaustive permutation for up to 13 with ties, the normal approximation otherwise.
- **Holm's correction** runs over the finite p-values of a family; a NaN p-value (a test not computed) is not a
  member of the family and stays NaN.
- **Quartiles** use linear interpolation between order statistics (numpy's default, Hyndman and Fan type 7).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

__all__ = [
    "MIN_SAMPLE_SIZE",
    "Summary",
    "summarize",
    "WilcoxonTest",
    "WilcoxonResult",
    "rank_sum_test",
    "signed_rank_test",
    "holm",
    "PairwiseComparison",
    "pairwise_tests",
    "BootstrapInterval",
    "bootstrap_mean_ci",
]

#: Fewest values per side (rank-sum) or non-zero differences (signed-rank) for which a test reports a p-value.
MIN_SAMPLE_SIZE = 6
#: Resampled values drawn per block by the bootstrap (bounds its memory at about 8 MB of indices).
_BOOTSTRAP_BLOCK = 2**20


def _values(values: Sequence[float], name: str) -> np.ndarray:
    """``values`` as a 1-D float array (NaN kept).

    Raises:
        ValueError: Not a 1-D sequence of numbers, or it holds an infinite value.
    """
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"argument {name}: expected a sequence of numbers, got {values!r:.80}") from err
    if array.ndim != 1:
        raise ValueError(f"argument {name}: expected a 1-D sequence of numbers, got shape {array.shape}")
    if np.isinf(array).any():
        raise ValueError(f"argument {name}: holds an infinite value at index {int(np.flatnonzero(np.isinf(array))[0])}"
                         f"; expected finite numbers (NaN for a missing value)")
    return array


def _check_min_n(min_n: int) -> None:
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ValueError(f"argument min_n: expected an integer of at least 1, got {min_n!r}")


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Location and spread of one sample (NaN statistics when no value is left).

    Attributes:
        n: Values summarised (NaN dropped).
        n_missing: NaN values dropped.
        median: Median.
        q1: First quartile (25th percentile).
        q3: Third quartile (75th percentile).
        iqr: Interquartile range, ``q3 - q1``.
        mean: Arithmetic mean.
    """

    n: int
    n_missing: int
    median: float
    q1: float
    q3: float
    iqr: float
    mean: float


def summarize(values: Sequence[float]) -> Summary:
    """n, median, quartiles, IQR and mean of ``values`` (NaN dropped and counted).

    Raises:
        ValueError: Not a 1-D sequence of numbers, or an infinite value.
    """
    array = _values(values, "values")
    finite = array[~np.isnan(array)]
    missing = int(array.size - finite.size)
    if finite.size == 0:
        nan = math.nan
        return Summary(n=0, n_missing=missing, median=nan, q1=nan, q3=nan, iqr=nan, mean=nan)
    q1, median, q3 = (float(q) for q in np.percentile(finite, [25.0, 50.0, 75.0]))
    return Summary(n=int(finite.size), n_missing=missing, median=median, q1=q1, q3=q3, iqr=q3 - q1,
                   mean=float(np.mean(finite)))


class WilcoxonTest(str, Enum):
    """The two Wilcoxon tests: rank-sum (two independent samples) and signed-rank (paired samples)."""

    RANK_SUM = "rank-sum"
    SIGNED_RANK = "signed-rank"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, kw_only=True)
class WilcoxonResult:
    """One two-sided Wilcoxon test of sample ``a`` against sample ``b``.

    Attributes:
        test: Which test.
        statistic: Rank-sum: scipy's z statistic (positive when ``a`` ranks higher). Signed-rank: scipy's two-sided
            statistic, the smaller of the positive and negative rank sums. NaN when the test was not computed.
        p_value: Two-sided p-value; NaN when the test was not computed (``reason`` says why).
        n_a: Values of ``a`` used (rank-sum), or complete pairs (signed-rank, zero differences included).
        n_b: Values of ``b`` used (rank-sum), or complete pairs (signed-rank, equal to ``n_a``).
        n_missing: NaN values dropped (rank-sum, both sides), or pairs with a NaN on either side (signed-rank).
        n_zero: Signed-rank: complete pairs whose difference is zero, discarded before ranking; 0 for rank-sum.
        reason: Why ``p_value`` is NaN; empty when it was computed.
    """

    test: WilcoxonTest
    statistic: float
    p_value: float
    n_a: int
    n_b: int
    n_missing: int
    n_zero: int = 0
    reason: str = ""


def rank_sum_test(a: Sequence[float], b: Sequence[float], *, min_n: int = MIN_SAMPLE_SIZE) -> WilcoxonResult:
    """Two-sided Wilcoxon rank-sum test of two independent samples (``scipy.stats.ranksums``).

    Args:
        a: First sample (NaN = missing).
        b: Second sample (NaN = missing).
        min_n: Fewest values per side for a p-value (see the module docstring).

    Raises:
        ValueError: A sample is not a 1-D sequence of numbers or holds an infinite value; ``min_n`` below 1.
    """
    from scipy.stats import ranksums

    _check_min_n(min_n)
    first, second = _values(a, "a"), _values(b, "b")
    kept_a, kept_b = first[~np.isnan(first)], second[~np.isnan(second)]
    untested = WilcoxonResult(test=WilcoxonTest.RANK_SUM, statistic=math.nan, p_value=math.nan,
                              n_a=int(kept_a.size), n_b=int(kept_b.size),
                              n_missing=int(first.size - kept_a.size + second.size - kept_b.size))
    if min(kept_a.size, kept_b.size) < min_n:
        return replace(untested, reason=f"{kept_a.size} and {kept_b.size} values; the test needs at least {min_n} "
                                        f"per side")
    result = ranksums(kept_a, kept_b, alternative="two-sided")
    return replace(untested, statistic=float(result.statistic), p_value=float(result.pvalue))


def signed_rank_test(a: Sequence[float], b: Sequence[float], *, min_n: int = MIN_SAMPLE_SIZE) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired samples (``scipy.stats.wilcoxon`` on ``a - b``).

    ``a[i]`` and ``b[i]`` are one pair (the same volume, case or dataset). Pairs with a NaN on either side are
    dropped; zero differences are discarded (see the module docstring).

    Args:
        a: First sample (NaN = missing).
        b: Second sample, the same length (NaN = missing).
        min_n: Fewest non-zero differences for a p-value.

    Raises:
        ValueError: A sample is not a 1-D sequence of numbers or holds an infinite value; the lengths differ;
            ``min_n`` below 1.
    """
    from scipy.stats import wilcoxon

    _check_min_n(min_n)
    first, second = _values(a, "a"), _values(b, "b")
    if first.size != second.size:
        raise ValueError(f"paired samples must have one value per pair; got lengths {first.size} (a) and "
                         f"{second.size} (b)")
    complete = ~(np.isnan(first) | np.isnan(second))
    differences = first[complete] - second[complete]
    nonzero = differences != 0
    n_pairs, n_used = int(complete.sum()), int(nonzero.sum())
    untested = WilcoxonResult(test=WilcoxonTest.SIGNED_RANK, statistic=math.nan, p_value=math.nan, n_a=n_pairs,
                              n_b=n_pairs, n_missing=int(first.size - n_pairs), n_zero=n_pairs - n_used)
    if n_used < min_n:
        what = "every difference is zero" if n_pairs and not n_used else f"{n_used} non-zero difference(s)"
        return replace(untested, reason=f"{n_pairs} complete pair(s), {what}; the test needs at least {min_n} "
                                        f"non-zero differences")
    result = wilcoxon(first[complete][nonzero], second[complete][nonzero], alternative="two-sided")
    return replace(untested, statistic=float(result.statistic), p_value=float(result.pvalue))


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm's step-down adjustment of a family of p-values, in the input order.

    The k-th smallest of m finite p-values becomes ``max_{j <= k} min(1, (m - j + 1) * p_(j))``: scaled by the
    number of hypotheses not yet rejected, made monotone in the sorted order, and capped at 1. NaN entries are
    outside the family and stay NaN.

    Raises:
        ValueError: A p-value outside [0, 1], or not a 1-D sequence of numbers.
    """
    array = _values(p_values, "p_values")
    finite = np.flatnonzero(~np.isnan(array))
    if ((array[finite] < 0) | (array[finite] > 1)).any():
        raise ValueError(f"argument p_values: expected p-values in [0, 1], got {array.tolist()}")
    adjusted = np.full(array.size, math.nan)
    order = finite[np.argsort(array[finite], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * array[order])
    adjusted[order] = np.maximum.accumulate(scaled) if m else scaled
    return tuple(float(p) for p in adjusted)


@dataclass(frozen=True, kw_only=True)
class PairwiseComparison:
    """One test of a pairwise family, with its Holm-adjusted p-value.

    Attributes:
        group_a: Name of the first group (earlier in the input order).
        group_b: Name of the second group.
        result: The test of ``group_a`` against ``group_b``.
        p_adjusted: Holm-adjusted p-value over the family (NaN when the test was not computed).
    """

    group_a: str
    group_b: str
    result: WilcoxonResult
    p_adjusted: float

    @property
    def test(self) -> WilcoxonTest:
        return self.result.test

    @property
    def statistic(self) -> float:
        return self.result.statistic

    @property
    def p_value(self) -> float:
        return self.result.p_value

    @property
    def n_a(self) -> int:
        return self.result.n_a

    @property
    def n_b(self) -> int:
        return self.result.n_b


def pairwise_tests(groups: Mapping[str, Sequence[float]], *, test: WilcoxonTest | str,
                   min_n: int = MIN_SAMPLE_SIZE) -> tuple[PairwiseComparison, ...]:
    """Test every two groups (models) with one Wilcoxon test and adjust the family with Holm's method.

    Pairs come in the order of ``itertools.combinations`` over the groups' order (the upper triangle of Table S7).

    Args:
        groups: Group name to its values. For the signed-rank test all groups have one value per pair (the same
            volumes in the same order; NaN where a group has no value).
        test: ``rank-sum`` (independent samples) or ``signed-rank`` (paired).
        min_n: Passed to each test.

    Raises:
        ValueError: Fewer than two groups, an unknown test, or (signed-rank) groups of different lengths.
    """
    try:
        chosen = WilcoxonTest(test)
    except ValueError:
        raise ValueError(f"argument test: {test!r}; expected one of {[t.value for t in WilcoxonTest]}") from None
    if len(groups) < 2:
        raise ValueError(f"pairwise tests need at least two groups, got {list(groups)}")
    if chosen is WilcoxonTest.SIGNED_RANK:
        lengths = {name: len(values) for name, values in groups.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"paired groups must have one value per pair each; got lengths {lengths}")
    run = rank_sum_test if chosen is WilcoxonTest.RANK_SUM else signed_rank_test
    pairs = list(itertools.combinations(groups, 2))
    results = [run(groups[a], groups[b], min_n=min_n) for a, b in pairs]
    adjusted = holm([r.p_value for r in results])
    return tuple(PairwiseComparison(group_a=a, group_b=b, result=r, p_adjusted=p)
                 for (a, b), r, p in zip(pairs, results, adjusted, strict=True))


@dataclass(frozen=True, kw_only=True)
class BootstrapInterval:
    """A percentile bootstrap confidence interval of the mean.

    Attributes:
        mean: Mean of the values (NaN when none).
        low: Lower bound (NaN with fewer than two values).
        high: Upper bound (NaN with fewer than two values).
        confidence: Confidence level, e.g. 0.95.
        resamples: Bootstrap resamples drawn.
        seed: Seed of the resampling.
        n: Values used (NaN dropped).
        n_missing: NaN values dropped.
        reason: Why the bounds are NaN; empty when they were computed.
    """

    mean: float
    low: float
    high: float
    confidence: float
    resamples: int
    seed: int
    n: int
    n_missing: int
    reason: str = ""


def bootstrap_mean_ci(values: Sequence[float], *, seed: int, confidence: float = 0.95,
                      resamples: int = 10_000) -> BootstrapInterval:
    """Percentile bootstrap confidence interval of the mean, seeded.

    Draws ``resamples`` samples of the values with replacement (``numpy.random.default_rng(seed)``, in blocks whose
    size depends only on the number of values, so one seed gives one interval) and returns the (1 - confidence) / 2
    and (1 + confidence) / 2 quantiles of their means.

    Args:
        values: The sample (NaN = missing, dropped and counted).
        seed: Seed of the resampling.
        confidence: Confidence level in (0, 1).
        resamples: Number of bootstrap resamples (at least 1).

    Raises:
        ValueError: ``confidence`` outside (0, 1), ``resamples`` below 1, or bad values.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"argument confidence: expected a level in (0, 1), got {confidence!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"argument resamples: expected an integer of at least 1, got {resamples!r}")
    array = _values(values, "values")
    finite = array[~np.isnan(array)]
    unbounded = BootstrapInterval(mean=float(finite.mean()) if finite.size else math.nan, low=math.nan,
                                  high=math.nan, confidence=confidence, resamples=resamples, seed=seed,
                                  n=int(finite.size), n_missing=int(array.size - finite.size))
    if finite.size < 2:
        return replace(unbounded, reason=f"{finite.size} value(s); a bootstrap interval needs at least 2")
    rng = np.random.default_rng(seed)
    block = max(1, _BOOTSTRAP_BLOCK // finite.size)
    means = np.empty(resamples)
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        means[start:stop] = finite[rng.integers(0, finite.size, size=(stop - start, finite.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = (float(q) for q in np.quantile(means, [alpha, 1.0 - alpha]))
    return replace(unbounded, low=low, high=high)
