"""Dataset-level fingerprint (the paper's Table S4, plus what nnU-Net's fingerprint records) from per-case ones."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.data.cards import DatasetCard
from benchmark.errors import CaseError
from benchmark.fingerprint.case import CaseFingerprint

__all__ = ["Quartiles", "ChannelSummary", "ObjectSummary", "DatasetFingerprint", "summarize"]


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
    """Foreground intensity statistics of one channel over the pooled per-case samples (as nnU-Net does)."""

    channel: str
    mean: float
    std: float
    p00_5: float
    p99_5: float


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
        n_excluded: Cases that failed to load; listed in ``errors``.
        voxels: Voxels per scan (X * Y * Z).
        size_anisotropy: Smallest over largest dimension, per scan.
        spacing_anisotropy: Smallest over largest spacing, per scan.
        object_types: Objects present in at least one case (full pass), else the card's object count.
        spacing: Per-axis spacing in mm, (x, y, z).
        shape: Per-axis size in voxels, (x, y, z).
        absent_objects: Card objects found in no case (full pass only).
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


def summarize(card: DatasetCard, cases: Sequence[CaseFingerprint], errors: Sequence[CaseError], *,
              data_version: str = "", version: str | None = None) -> DatasetFingerprint:
    """Aggregate per-case fingerprints into a dataset fingerprint."""
    full = bool(cases) and all(c.full for c in cases)
    table = card.objects(version)
    objects = tuple(_object_summary(name, cases) for name in table.names) if full else ()
    absent = tuple(o.name for o in objects if o.n_present == 0)
    object_types = sum(1 for o in objects if o.n_present > 0) if full else len(table.names)
    failed_cases = {e.case_id for e in errors if e.case_id}
    return DatasetFingerprint(
        dataset_id=card.id,
        name=card.name,
        modality=str(card.modality),
        data_version=data_version,
        full=full,
        n_scans=len(cases),
        n_excluded=len(failed_cases) + sum(1 for e in errors if not e.case_id),
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
        pooled = np.asarray([s for c in cases if index < len(c.intensities) for s in c.intensities[index].samples])
        if pooled.size == 0:
            summaries.append(ChannelSummary(channel, math.nan, math.nan, math.nan, math.nan))
            continue
        low, high = np.percentile(pooled, [0.5, 99.5])
        summaries.append(ChannelSummary(channel, float(pooled.mean()), float(pooled.std()), float(low), float(high)))
    return tuple(summaries)
