"""benchmark/stats.py: p-values equal scipy's on the same numbers, Holm against hand-computed values and statsmodels,
the seeded bootstrap, NaN handling and too-small samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from benchmark.stats import (
    MIN_SAMPLE_SIZE,
    WilcoxonTest,
    bootstrap_mean_ci,
    holm,
    pairwise_tests,
    rank_sum_test,
    signed_rank_test,
    summarize,
)

RNG = np.random.default_rng(20240825)
# Two samples of 20 (inference times, s), and a third shifted one.
A = RNG.gamma(2.0, 2.0, size=20)
B = RNG.gamma(2.0, 2.6, size=20)
C = A + RNG.normal(0.8, 0.5, size=20)


def test_summary_matches_numpy() -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    summary = summarize(values)
    assert (summary.n, summary.n_missing) == (8, 0)
    assert summary.median == 3.5
    assert (summary.q1, summary.q3) == (1.75, 5.25)  # linear interpolation (numpy's default, type 7)
    assert summary.iqr == 3.5 and summary.mean == pytest.approx(31 / 8)


def test_summary_drops_and_counts_nan() -> None:
    summary = summarize([2.0, math.nan, 4.0, math.nan])
    assert (summary.n, summary.n_missing, summary.median, summary.mean) == (2, 2, 3.0, 3.0)
    empty = summarize([math.nan])
    assert (empty.n, empty.n_missing) == (0, 1) and math.isnan(empty.median) and math.isnan(empty.iqr)


@pytest.mark.parametrize("bad, message", [
    ([1.0, math.inf], "infinite value at index 1"),
    ([[1.0, 2.0]], r"1-D sequence of numbers, got shape \(1, 2\)"),
    (["a", 1.0], "expected a sequence of numbers"),
])
def test_bad_values_are_named(bad: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize(bad)  # type: ignore[arg-type]


def test_rank_sum_equals_scipy() -> None:
    result = rank_sum_test(A, B)
    expected = scipy.stats.ranksums(A, B)
    assert result.test is WilcoxonTest.RANK_SUM
    assert result.statistic == expected.statistic and result.p_value == expected.pvalue
    assert (result.n_a, result.n_b, result.n_missing, result.reason) == (20, 20, 0, "")


def test_rank_sum_drops_nan_on_each_side() -> None:
    a = np.concatenate([A, [math.nan]])
    b = np.concatenate([[math.nan, math.nan], B[:15]])
    result = rank_sum_test(a, b)
    assert result.p_value == scipy.stats.ranksums(A, B[:15]).pvalue
    assert (result.n_a, result.n_b, result.n_missing) == (20, 15, 3)


def test_signed_rank_equals_scipy() -> None:
    result = signed_rank_test(A, C)
    expected = scipy.stats.wilcoxon(A, C)
    assert result.test is WilcoxonTest.SIGNED_RANK
    assert result.statistic == expected.statistic and result.p_value == expected.pvalue
    assert (result.n_a, result.n_zero, result.n_missing) == (20, 0, 0)


def test_signed_rank_discards_zero_differences_and_incomplete_pairs() -> None:
    a = np.array([1.2, 2.3, 4.0, 0.5, 3.1, -0.7, 2.2, 1.1, 7.0, math.nan, 2.0])
    b = np.array([0.1, 0.2, 4.0, 0.0, 1.0, 0.3, 0.9, 0.4, 7.0, 1.0, math.nan])
    result = signed_rank_test(a, b)
    kept = np.array([0, 1, 3, 4, 5, 6, 7])
    expected = scipy.stats.wilcoxon(a[kept], b[kept])
    assert (result.statistic, result.p_value) == (expected.statistic, expected.pvalue)
    assert (result.n_a, result.n_b, result.n_zero, result.n_missing) == (9, 9, 2, 2)
    # scipy's own zero_method="wilcox" on the complete pairs discards the same zeros
    assert result.statistic == scipy.stats.wilcoxon(a[:9], b[:9], zero_method="wilcox").statistic


def test_zero_differences_are_dropped_before_scipy_chooses_its_method() -> None:
    # 17 distinct non-zero differences and 3 zeros: on the non-zero differences scipy's "auto" is the exact test;
    # handed the zeros, it would switch to the normal approximation (a different p-value).
    rng = np.random.default_rng(2)
    a, b = rng.normal(1, 1, 20).round(2), rng.normal(0.5, 1, 20).round(2)
    b[[3, 8, 15]] = a[[3, 8, 15]]
    kept = a != b
    exact = scipy.stats.wilcoxon(a[kept], b[kept], method="exact")
    assert exact.pvalue != scipy.stats.wilcoxon(a, b).pvalue
    result = signed_rank_test(a, b)
    assert (result.statistic, result.p_value, result.n_zero) == (exact.statistic, exact.pvalue, 3)


def test_too_few_values_give_nan_with_a_reason() -> None:
    small = rank_sum_test(A[:MIN_SAMPLE_SIZE - 1], B)
    assert math.isnan(small.p_value) and math.isnan(small.statistic)
    assert small.reason == f"{MIN_SAMPLE_SIZE - 1} and 20 values; the test needs at least 6 per side"
    assert not math.isnan(rank_sum_test(A[:MIN_SAMPLE_SIZE], B).p_value)
    # five non-zero differences out of seven complete pairs
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    b = [0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 7.0]
    paired = signed_rank_test(a, b)
    assert math.isnan(paired.p_value) and paired.n_zero == 2
    assert paired.reason == "7 complete pair(s), 5 non-zero difference(s); the test needs at least 6 non-zero " \
                            "differences"
    lowered = signed_rank_test(a, b, min_n=5)
    assert lowered.p_value == scipy.stats.wilcoxon(a[:5], b[:5]).pvalue == 0.0625


def test_all_zero_differences_and_empty_samples_do_not_crash() -> None:
    same = signed_rank_test(A, A)
    assert math.isnan(same.p_value) and same.n_zero == 20
    assert "every difference is zero" in same.reason
    empty = signed_rank_test([], [])
    assert math.isnan(empty.p_value) and empty.n_a == 0
    assert math.isnan(rank_sum_test([], [math.nan]).p_value)


def test_paired_lengths_must_agree_and_min_n_is_checked() -> None:
    with pytest.raises(ValueError, match=r"got lengths 20 \(a\) and 19 \(b\)"):
        signed_rank_test(A, B[:19])
    with pytest.raises(ValueError, match="argument min_n: expected an integer of at least 1, got 0"):
        rank_sum_test(A, B, min_n=0)


def test_holm_hand_computed() -> None:
    # sorted: 0.01 (x4) = 0.04; 0.02 (x3) = 0.06; 0.03 (x2) = 0.06; 0.5 (x1) = 0.5
    assert holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx((0.06, 0.04, 0.5, 0.06))


def test_holm_enforces_monotonicity_and_caps_at_one() -> None:
    # 0.01 (x3) = 0.03; 0.012 (x2) = 0.024 -> raised to 0.03; 0.6 (x1) = 0.6
    assert holm([0.012, 0.01, 0.6]) == pytest.approx((0.03, 0.03, 0.6))
    # 0.3 (x3) = 0.9; 0.4 (x2) = 0.8 -> 0.9; 0.45 -> 0.9; the cap: 0.5 (x3) = 1.5 -> 1
    assert holm([0.4, 0.3, 0.45]) == pytest.approx((0.9, 0.9, 0.9))
    assert holm([0.5, 0.6, 0.7]) == (1.0, 1.0, 1.0)


def test_holm_leaves_nan_outside_the_family() -> None:
    adjusted = holm([0.01, math.nan, 0.02])
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.02) and math.isnan(adjusted[1])
    assert holm([]) == ()
    with pytest.raises(ValueError, match=r"expected p-values in \[0, 1\]"):
        holm([0.5, 1.5])


def test_holm_equals_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p_values = np.concatenate([RNG.uniform(0, 0.05, 6), RNG.uniform(0, 1, 9), [1.0, 0.0]])
    _, expected, _, _ = multitest.multipletests(p_values, method="holm")
    assert holm(p_values) == pytest.approx(tuple(expected), rel=1e-12, abs=0)


def test_pairwise_family_is_holm_adjusted() -> None:
    groups = {"MedSAM": A, "SegVol": B, "PropSAM-2DBox": C}
    comparisons = pairwise_tests(groups, test="rank-sum")
    assert [(c.group_a, c.group_b) for c in comparisons] == [("MedSAM", "SegVol"), ("MedSAM", "PropSAM-2DBox"),
                                                             ("SegVol", "PropSAM-2DBox")]
    raw = [scipy.stats.ranksums(A, B).pvalue, scipy.stats.ranksums(A, C).pvalue, scipy.stats.ranksums(B, C).pvalue]
    assert [c.p_value for c in comparisons] == raw
    assert [c.p_adjusted for c in comparisons] == list(holm(raw))
    assert all(c.test is WilcoxonTest.RANK_SUM and (c.n_a, c.n_b) == (20, 20) for c in comparisons)
    paired = pairwise_tests(groups, test=WilcoxonTest.SIGNED_RANK)
    assert paired[1].statistic == scipy.stats.wilcoxon(A, C).statistic


def test_pairwise_skips_uncomputable_tests_in_the_family() -> None:
    short = np.full(20, math.nan)
    short[:3] = [1.0, 2.0, 3.0]
    comparisons = pairwise_tests({"a": A, "b": C, "c": short}, test="signed-rank")
    assert math.isnan(comparisons[1].p_adjusted) and math.isnan(comparisons[2].p_adjusted)
    assert comparisons[0].p_adjusted == comparisons[0].p_value  # a family of one


def test_pairwise_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least two groups, got"):
        pairwise_tests({"a": A}, test="rank-sum")
    with pytest.raises(ValueError, match="argument test: 't-test'"):
        pairwise_tests({"a": A, "b": B}, test="t-test")
    with pytest.raises(ValueError, match=r"got lengths \{'a': 20, 'b': 5\}"):
        pairwise_tests({"a": A, "b": B[:5]}, test="signed-rank")


def test_bootstrap_is_reproducible_for_one_seed() -> None:
    first = bootstrap_mean_ci(A, seed=3)
    assert first == bootstrap_mean_ci(A, seed=3)
    assert first != bootstrap_mean_ci(A, seed=4)
    assert first.low < first.mean < first.high
    assert (first.resamples, first.confidence, first.n, first.reason) == (10_000, 0.95, 20, "")


def test_bootstrap_covers_the_true_mean_of_a_large_sample() -> None:
    values = np.random.default_rng(7).normal(10.0, 2.0, size=4000)
    interval = bootstrap_mean_ci(values, seed=0, resamples=2000)
    assert interval.low < 10.0 < interval.high
    half_width = 1.96 * 2.0 / math.sqrt(4000)  # the normal-theory half width
    assert interval.high - interval.low == pytest.approx(2 * half_width, rel=0.1)
    reference = scipy.stats.bootstrap((values,), np.mean, n_resamples=2000, method="percentile",
                                      random_state=np.random.default_rng(1)).confidence_interval
    assert interval.low == pytest.approx(reference.low, abs=0.02)
    assert interval.high == pytest.approx(reference.high, abs=0.02)


def test_bootstrap_interval_widens_with_the_confidence() -> None:
    narrow = bootstrap_mean_ci(A, seed=1, confidence=0.5, resamples=400)
    wide = bootstrap_mean_ci(A, seed=1, confidence=0.99, resamples=400)
    assert narrow.resamples == 400
    assert wide.low < narrow.low < narrow.mean < narrow.high < wide.high


def test_bootstrap_nan_and_tiny_samples() -> None:
    interval = bootstrap_mean_ci([1.0, math.nan, 3.0, 5.0], seed=0, resamples=500)
    assert (interval.n, interval.n_missing, interval.mean) == (3, 1, 3.0)
    one = bootstrap_mean_ci([4.0, math.nan], seed=0)
    assert one.mean == 4.0 and math.isnan(one.low) and "1 value(s)" in one.reason
    none = bootstrap_mean_ci([], seed=0)
    assert math.isnan(none.mean) and none.n == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"confidence": 1.0}, "argument confidence"),
    ({"confidence": 0.0}, "argument confidence"),
    ({"resamples": 0}, "argument resamples"),
])
def test_bootstrap_bad_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_mean_ci(A, seed=0, **kwargs)  # type: ignore[arg-type]
