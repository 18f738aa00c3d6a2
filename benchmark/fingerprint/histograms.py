"""Exact statistics of integer-valued intensities from value histograms, mergeable across cases.

A histogram is a pair of arrays (distinct values ascending, counts). Statistics computed from it equal numpy's on the
voxels themselves: the mean and standard deviation (population, ``ddof=0``) up to float rounding, and percentiles
exactly as ``numpy.percentile`` with its default linear interpolation. Merging the histograms of several cases gives
the pooled statistics of all their voxels without keeping the voxels.

For values that are not whole numbers (float images of PET SUV, normalised MR), ``weighted_percentile`` estimates
percentiles from weighted samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Histogram", "histogram", "merge", "mean_std", "percentile", "weighted_percentile"]

#: (distinct values ascending, counts), both 1D of one length.
Histogram = tuple[np.ndarray, np.ndarray]

#: A value range up to this many values is counted with one ``bincount``; wider ranges are sorted.
_BINCOUNT_RANGE = 1 << 22


def histogram(values: np.ndarray) -> Histogram:
    """The histogram of integer (or whole-number float) values.

    Args:
        values: 1D array of whole numbers.

    Returns:
        (values as int64 ascending, counts as int64).
    """
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    as_int = values if np.issubdtype(values.dtype, np.integer) else values.astype(np.int64)
    low, high = int(as_int.min()), int(as_int.max())
    if high - low < _BINCOUNT_RANGE:
        shifted = as_int.astype(np.int64) - low if low != 0 or as_int.dtype.kind != "u" else as_int
        counts = np.bincount(shifted)
        present = np.flatnonzero(counts)
        return present.astype(np.int64) + low, counts[present].astype(np.int64)
    found, counts = np.unique(as_int, return_counts=True)
    return found.astype(np.int64), counts.astype(np.int64)


def merge(histograms: Sequence[Histogram]) -> Histogram:
    """One histogram of the union of several (counts of equal values added)."""
    parts = [h for h in histograms if h[0].size]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    values = np.concatenate([h[0] for h in parts])
    counts = np.concatenate([h[1] for h in parts])
    found, inverse = np.unique(values, return_inverse=True)
    return found, np.bincount(inverse, weights=counts, minlength=found.size).astype(np.int64)


def mean_std(hist: Histogram) -> tuple[float, float]:
    """Mean and population standard deviation of the histogram's voxels (NaN for an empty histogram)."""
    values, counts = hist
    total = int(counts.sum())
    if total == 0:
        return math.nan, math.nan
    as_float = values.astype(np.float64)
    mean = float(np.dot(as_float, counts) / total)
    variance = float(np.dot((as_float - mean) ** 2, counts) / total)
    return mean, math.sqrt(max(variance, 0.0))


def percentile(hist: Histogram, q: float) -> float:
    """The ``q``-th percentile (0..100) of the histogram's voxels, as ``numpy.percentile`` (linear) gives it."""
    values, counts = hist
    total = int(counts.sum())
    if total == 0:
        return math.nan
    cumulative = np.cumsum(counts)
    position = q / 100.0 * (total - 1)
    below = math.floor(position)
    fraction = position - below
    low = float(values[np.searchsorted(cumulative, below, side="right")])
    if fraction == 0:
        return low
    high = float(values[np.searchsorted(cumulative, min(below + 1, total - 1), side="right")])
    # numpy's _lerp, including its form for fractions >= 0.5, so results agree bit for bit
    difference = high - low
    return high - difference * (1 - fraction) if fraction >= 0.5 else low + difference * fraction


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """An estimate of the ``q``-th percentile (0..100) of a population given by weighted samples.

    The smallest sample value whose cumulative weight reaches ``q`` percent of the total weight (the inverted
    distribution function); NaN without samples.
    """
    if values.size == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    target = q / 100.0 * cumulative[-1]
    index = min(int(np.searchsorted(cumulative, target, side="left")), values.size - 1)
    return float(values[order][index])
