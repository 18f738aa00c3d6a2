from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.fingerprint.histograms import histogram, mean_std, merge, percentile, weighted_percentile

QUANTILES = [0.0, 0.5, 2.5, 25.0, 50.0, 66.6, 75.0, 97.5, 99.5, 100.0]


@pytest.mark.parametrize(("dtype", "low", "high", "size"), [
    (np.int16, -1024, 3071, 10_001),   # CT
    (np.uint8, 0, 255, 7),             # fewer voxels than quantiles need
    (np.uint16, 0, 65535, 5000),       # MR
    (np.int64, -2**40, 2**40, 3000),   # a range too wide for one bincount: sorted instead
])
def test_percentiles_equal_numpys_bit_for_bit(dtype: type, low: int, high: int, size: int) -> None:
    values = np.random.default_rng(size).integers(low, high, size, endpoint=True).astype(dtype)
    hist = histogram(values)
    for q in QUANTILES:
        assert percentile(hist, q) == np.percentile(values, q), q
    mean, std = mean_std(hist)
    assert mean == pytest.approx(values.astype(np.float64).mean()) and std == pytest.approx(values.std())


def test_interpolation_rounds_as_numpy_does_above_one_half() -> None:
    # numpy interpolates from the upper neighbour when the fraction is 0.5 or more; the two forms differ in the last
    # bit for these values (found by search), so only numpy's own form gives the same float.
    values = np.array([-597058356, -538925821, -386815871, -137056262, -66730971, 321716324], dtype=np.int64)
    q = 94.36777652291877
    assert percentile(histogram(values), q) == np.percentile(values, q)


def test_whole_number_floats_count_like_integers() -> None:
    values = np.array([3.0, -2.0, 3.0, 7.0], dtype=np.float32)
    found, counts = histogram(values)
    assert found.tolist() == [-2, 3, 7] and counts.tolist() == [1, 2, 1]


def test_merging_histograms_gives_the_union() -> None:
    rng = np.random.default_rng(3)
    parts = [rng.integers(-50, 50, n).astype(np.int16) for n in (10, 1000, 3)]
    merged = merge([histogram(p) for p in parts])
    union = np.concatenate(parts)
    assert merged[0].tolist() == np.unique(union).tolist() and int(merged[1].sum()) == union.size
    assert percentile(merged, 99.5) == np.percentile(union, 99.5)


def test_empty_histogram_gives_nan() -> None:
    empty = histogram(np.zeros(0, np.int16))
    assert math.isnan(percentile(empty, 50.0)) and all(math.isnan(v) for v in mean_std(empty))
    assert merge([])[0].size == 0


def test_weighted_percentile_counts_weights() -> None:
    values = np.array([1.0, 2.0, 3.0])
    assert weighted_percentile(values, np.array([1.0, 1.0, 1.0]), 50.0) == 2.0
    assert weighted_percentile(values, np.array([10.0, 1.0, 1.0]), 50.0) == 1.0
    assert math.isnan(weighted_percentile(np.zeros(0), np.zeros(0), 50.0))
