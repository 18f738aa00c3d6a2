"""Data characteristics of the paper's Tables S2 (Box2Mask samples) and S3 (PropMask tasks), counted from the
per-object slice areas of a full fingerprint pass, so every definition can be recounted without reading data again.

The paper fixes the 100-pixel rule and the 20 mm / 20 slice window but not how tasks are counted, which planes
samples come from, or whether its counts include the five-fold offline augmentation of Box2Mask samples. These are
explicit parameters of ``Definition``; the defaults are: axial plane only, no augmentation factor, tasks counted as
non-overlapping windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from benchmark.data.geometry import PLANE_AXIS, Plane
from benchmark.fingerprint.case import CaseFingerprint
from benchmark.splits import Split, Subset

__all__ = ["TaskCounting", "Definition", "CountRow", "sample_count", "task_count", "characteristics"]


class TaskCounting(str, Enum):
    """How PropMask tasks are counted along one object's slices (slices with area above the minimum).

    WINDOWS: the slices are tiled, from the first, by non-overlapping windows of 2k+1 slices (a guide and k
        slices on each side, k = min(max_slices, floor(window_mm / spacing))); one task per window.
    GUIDES: every slice that has at least one other such slice within k slices is a guide; one task per guide.
    """

    WINDOWS = "windows"
    GUIDES = "guides"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Definition:
    """The counting rules (paper values where the paper states them)."""

    min_area: int = 100
    planes: tuple[Plane, ...] = (Plane.AXIAL,)
    augmentation_factor: int = 1
    window_mm: float = 20.0
    max_slices: int = 20
    task_counting: TaskCounting = TaskCounting.WINDOWS


@dataclass(frozen=True)
class CountRow:
    """One row of Table S2 or S3: a dataset (``object == ""``) or one of its objects."""

    dataset_id: str
    object: str
    all: int
    train: int
    val: int
    test: int


def _spacing_along(plane: Plane, spacing: Sequence[float]) -> float:
    return float(spacing[PLANE_AXIS[plane]])


def sample_count(areas: Sequence[int], definition: Definition) -> int:
    """Box2Mask samples of one object on one plane: slices whose area exceeds the minimum, times augmentation."""
    return int(np.count_nonzero(np.asarray(areas) > definition.min_area)) * definition.augmentation_factor


def task_count(areas: Sequence[int], spacing_mm: float, definition: Definition) -> int:
    """PropMask tasks of one object on one plane (see TaskCounting)."""
    slices = np.flatnonzero(np.asarray(areas) > definition.min_area)
    if slices.size == 0:
        return 0
    half = max(1, min(definition.max_slices, int(definition.window_mm // spacing_mm)))
    if definition.task_counting is TaskCounting.GUIDES:
        gaps = np.diff(slices)
        near_previous = np.concatenate([[False], gaps <= half])
        near_next = np.concatenate([gaps <= half, [False]])
        return int(np.count_nonzero(near_previous | near_next))
    tasks, covered_until = 0, -1
    for index in slices:
        if index > covered_until:
            tasks += 1
            covered_until = int(index) + 2 * half
    return tasks


def characteristics(cases: Sequence[CaseFingerprint], split: Split, object_names: Sequence[str],
                    definition: Definition) -> tuple[tuple[CountRow, ...], tuple[CountRow, ...]]:
    """Tables S2 and S3 rows of one dataset: the dataset row first, then one row per object in card order.

    Args:
        cases: Full-pass fingerprints.
        split: The dataset's split (cases not in it count only in ``all``).
        object_names: The card's objects, in order.
        definition: Counting rules.
    """
    samples: dict[str, dict[Subset | None, int]] = {name: {} for name in object_names}
    tasks: dict[str, dict[Subset | None, int]] = {name: {} for name in object_names}
    for case in cases:
        subset = split.assignments.get(case.case_id)
        for stats in case.objects:
            if stats.name not in samples:
                continue
            for plane in definition.planes:
                areas = stats.slice_areas[plane.value]
                n_samples = sample_count(areas, definition)
                n_tasks = task_count(areas, _spacing_along(plane, case.spacing), definition)
                samples[stats.name][subset] = samples[stats.name].get(subset, 0) + n_samples
                tasks[stats.name][subset] = tasks[stats.name].get(subset, 0) + n_tasks
    return _rows(split.dataset_id, samples), _rows(split.dataset_id, tasks)


def _rows(dataset_id: str, counts: Mapping[str, Mapping[Subset | None, int]]) -> tuple[CountRow, ...]:
    rows = [CountRow(dataset_id, name, sum(by.values()), by.get(Subset.TRAIN, 0), by.get(Subset.VAL, 0),
                     by.get(Subset.TEST, 0)) for name, by in counts.items()]
    total = CountRow(dataset_id, "", sum(r.all for r in rows), sum(r.train for r in rows), sum(r.val for r in rows),
                     sum(r.test for r in rows))
    return (total, *rows)
