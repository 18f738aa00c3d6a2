"""Dataset-level fingerprint (the paper's Table S4, plus what nnU-Net's fingerprint records) from per-case ones.

Counts are true: ``n_scans`` cases were read, ``n_excluded`` distinct cases failed (each counted once however many
errors it has), and ``n_problems`` errors concern no single case (a malformed dataset.json entry, a file that names
no case); together they say what a run lost.

Pooled foreground intensity statistics are over every finite foreground voxel of every case. They are exact when each
case kept its value histogram (whole-number values: CT, most MR); otherwise the mean and standard deviation are still
exact (combined from per-case moments) and the percentiles are estimated from ``INTENSITY_SAMPLES`` values per case
drawn with replacement, each weighted by its case's foreground size over the number drawn; ``ChannelSummary.method``
says which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.data.cards import DatasetCard
from benchmark.errors import CaseError
from benchmark.fingerprint.case import INTENSITY_SAMPLES, CaseFingerprint, ChannelIntensity
from benchmark.fingerprint.histograms import mean_std, merge, percentile, weighted_percentile

__all__ = ["EXACT", "Quartiles", "ChannelSummary", "NonFinite", "ObjectSummary", "DatasetFingerprint", "summarize"]

#: ``ChannelSummary.method`` of statistics computed from every voxel.
EXACT = "exact"
#: ``ChannelSummary.method`` where percentiles are estimated from samples.
ESTIMATED = (f"mean and std exact; percentiles estimated from {INTENSITY_SAMPLES} foreground voxels per case drawn "
             "with replacement, weighted by the case's foreground size")


@dataclass(frozen=True)
class Quartiles:
    """Median and interquartile range (q1, q3) of a sample; NaN for an empty sample."""

    median: float
    q1: float
    q3: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Quartiles:
        if len(values) == 0:
            return cls(math.nan, math.nan, math.nan)
        q1, median, q3 = np.percentile(np.asarray(values, dtype=np.float64), [25, 50, 75])
        return cls(float(median), float(q1), float(q3))


@dataclass(frozen=True)
class ChannelSummary:
    """Foreground intensity statistics of one channel, pooled over every finite foreground voxel of every case.

    Attributes:
        channel: The card's channel name.
        mean: Mean (exact).
        std: Population standard deviation (exact).
        p00_5: 0.5th percentile (exact when ``method`` is ``EXACT``).
        p99_5: 99.5th percentile.
        n_voxels: Finite foreground voxels pooled.
        n_nonfinite: NaN and infinite voxels of the channel over all cases, kept out.
        method: ``EXACT``, or how the percentiles were estimated.
    """

    channel: str
    mean: float
    std: float
    p00_5: float
    p99_5: float
    n_voxels: int = 0
    n_nonfinite: int = 0
    method: str = EXACT


@dataclass(frozen=True)
class NonFinite:
    """One case's channel that holds NaN or infinite voxels (kept out of the statistics)."""

    case_id: str
    channel: str
    voxels: int
    foreground: int


@dataclass(frozen=True)
class ObjectSummary:
    """One object over the dataset: in how many cases it is present, its volume and axial extent there."""

    name: str
    n_present: int
    volume_mm3: Quartiles
    axial_extent_mm: Quartiles


@dataclass(frozen=True)
class DatasetFingerprint:
    """Table S4's columns and nnU-Net-style extras for one dataset.

    Attributes:
        n_scans: Cases fingerprinted (excluded cases are not counted).
        n_excluded: Distinct cases that failed to load (each once); listed in ``errors``.
        n_problems: Errors that concern no single case (listed in ``errors`` with an empty case ID).
        voxels: Voxels per scan (X * Y * Z).
        size_anisotropy: Smallest over largest dimension, per scan.
        spacing_anisotropy: Smallest over largest spacing, per scan.
        object_types: Objects present in at least one case (full pass), else the card's object count.
        spacing: Per-axis spacing in mm, (x, y, z).
        shape: Per-axis size in voxels, (x, y, z).
        absent_objects: Card objects found in no case (full pass only).
        nonfinite: Cases whose image holds NaN or infinite voxels, per channel (full pass only).
    """

    dataset_id: str
    name: str
    modality: str
    data_version: str
    full: bool
    n_scans: int
    n_excluded: int
    voxels: Quartiles
    size_anisotropy: Quartiles
    spacing_anisotropy: Quartiles
    object_types: int
    spacing: tuple[Quartiles, Quartiles, Quartiles]
    shape: tuple[Quartiles, Quartiles, Quartiles]
    intensities: tuple[ChannelSummary, ...]
    objects: tuple[ObjectSummary, ...]
    absent_objects: tuple[str, ...]
    errors: tuple[CaseError, ...]
    n_problems: int = 0
    nonfinite: tuple[NonFinite, ...] = ()

    @property
    def n_cases(self) -> int:
        """Cases read or excluded."""
        return self.n_scans + self.n_excluded


def summarize(card: DatasetCard, cases: Sequence[CaseFingerprint], errors: Sequence[CaseError], *,
              data_version: str = "", version: str | None = None) -> DatasetFingerprint:
    """Aggregate per-case fingerprints into a dataset fingerprint."""
    full = bool(cases) and all(c.full for c in cases)
    table = card.objects(version)
    objects = tuple(_object_summary(name, cases) for name in table.names) if full else ()
    absent = tuple(o.name for o in objects if o.n_present == 0)
    object_types = sum(1 for o in objects if o.n_present > 0) if full else len(table.names)
    read = {c.case_id for c in cases}
    failed_cases = {e.case_id for e in errors if e.case_id} - read
    return DatasetFingerprint(
        dataset_id=card.id,
        name=card.name,
        modality=str(card.modality),
        data_version=data_version,
        full=full,
        n_scans=len(cases),
        n_excluded=len(failed_cases),
        n_problems=sum(1 for e in errors if not e.case_id),
        voxels=Quartiles.of([c.voxels for c in cases]),
        size_anisotropy=Quartiles.of([c.size_anisotropy for c in cases]),
        spacing_anisotropy=Quartiles.of([c.spacing_anisotropy for c in cases]),
        object_types=object_types,
        spacing=_per_axis([c.spacing for c in cases]),
        shape=_per_axis([c.shape for c in cases]),
        intensities=_intensities(card.channels, cases) if full else (),
        objects=objects,
        absent_objects=absent,
        errors=tuple(errors),
        nonfinite=tuple(NonFinite(c.case_id, i.channel, i.n_nonfinite, i.n_nonfinite_foreground)
                        for c in cases for i in c.intensities if i.n_nonfinite),
    )


def _per_axis(values: Sequence[Sequence[float]]) -> tuple[Quartiles, Quartiles, Quartiles]:
    return (Quartiles.of([v[0] for v in values]), Quartiles.of([v[1] for v in values]),
            Quartiles.of([v[2] for v in values]))


def _object_summary(name: str, cases: Sequence[CaseFingerprint]) -> ObjectSummary:
    present = [o for c in cases for o in c.objects if o.name == name and o.present]
    return ObjectSummary(name, len(present), Quartiles.of([o.volume_mm3 for o in present]),
                         Quartiles.of([o.axial_extent_mm for o in present]))


def _intensities(channels: Sequence[str], cases: Sequence[CaseFingerprint]) -> tuple[ChannelSummary, ...]:
    summaries = []
    for index, channel in enumerate(channels):
        per_case = [c.intensities[index] for c in cases if index < len(c.intensities)]
        summaries.append(_pooled(channel, per_case))
    return tuple(summaries)


def _pooled(channel: str, per_case: Sequence[ChannelIntensity]) -> ChannelSummary:
    """Pooled statistics of one channel (see the module docstring)."""
    present = [c for c in per_case if c.n_foreground]
    n_voxels = sum(c.n_foreground for c in present)
    n_nonfinite = sum(c.n_nonfinite for c in per_case)
    if not present:
        return ChannelSummary(channel, math.nan, math.nan, math.nan, math.nan, 0, n_nonfinite)
    if all(c.exact for c in present):
        hist = merge([(np.asarray(c.values, np.int64), np.asarray(c.counts, np.int64)) for c in present])
        mean, std = mean_std(hist)
        return ChannelSummary(channel, mean, std, percentile(hist, 0.5), percentile(hist, 99.5), n_voxels,
                              n_nonfinite)
    weights = np.asarray([c.n_foreground for c in present], dtype=np.float64)
    means = np.asarray([c.mean for c in present])
    mean = float(np.dot(weights, means) / n_voxels)
    variance = float(np.dot(weights, np.asarray([c.std for c in present]) ** 2 + (means - mean) ** 2) / n_voxels)
    samples = [np.asarray(c.values if c.exact else c.samples, dtype=np.float64) for c in present]
    sample_weights = [np.asarray(c.counts, np.float64) if c.exact else np.full(len(c.samples), c.n_foreground /
                      max(len(c.samples), 1)) for c in present]
    pooled, pooled_weights = np.concatenate(samples), np.concatenate(sample_weights)
    return ChannelSummary(channel, mean, math.sqrt(max(variance, 0.0)),
                          weighted_percentile(pooled, pooled_weights, 0.5),
                          weighted_percentile(pooled, pooled_weights, 99.5), n_voxels, n_nonfinite, ESTIMATED)
