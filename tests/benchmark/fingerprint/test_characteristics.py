from __future__ import annotations

import pytest

from benchmark.data.geometry import Plane
from benchmark.fingerprint.case import CaseFingerprint, ObjectStats
from benchmark.fingerprint.characteristics import Definition, TaskCounting, characteristics, sample_count, task_count
from benchmark.splits import Split, Subset


def test_sample_count_uses_the_strict_100_pixel_rule() -> None:
    areas = [0, 100, 101, 250, 99, 101]
    assert sample_count(areas, Definition()) == 3
    assert sample_count(areas, Definition(augmentation_factor=5)) == 15


@pytest.mark.parametrize(
    ("spacing", "counting", "expected"),
    [
        # 2 mm slices: half window = min(20, 20 // 2) = 10 slices, window 21 slices.
        (2.0, TaskCounting.WINDOWS, 2),  # foreground slices 0..29: windows start at 0 and 21
        # 0.5 mm slices: half window = min(20 slices, 40) = 20, window 41 slices: one window covers 0..29.
        (0.5, TaskCounting.WINDOWS, 1),
        (2.0, TaskCounting.GUIDES, 30),
    ],
)
def test_task_count_by_hand(spacing: float, counting: TaskCounting, expected: int) -> None:
    areas = [200] * 30
    assert task_count(areas, spacing, Definition(task_counting=counting)) == expected


def test_guides_need_a_neighbour_within_the_window() -> None:
    # Slices 0 and 50 are foreground, 5 mm apart per slice: half window 4 slices, so neither has a neighbour.
    areas = [0] * 51
    areas[0] = areas[50] = 500
    assert task_count(areas, 5.0, Definition(task_counting=TaskCounting.GUIDES)) == 0
    assert task_count(areas, 5.0, Definition(task_counting=TaskCounting.WINDOWS)) == 2


def _case(case_id: str, axial: tuple[int, ...]) -> CaseFingerprint:
    stats = ObjectStats(name="liver", voxels=sum(axial), volume_mm3=float(sum(axial)), axial_extent_mm=0.0,
                        slice_areas={"axial": axial, "coronal": (), "sagittal": ()})
    return CaseFingerprint(dataset_id="T1", case_id=case_id, shape=(10, 10, len(axial)), spacing=(1.0, 1.0, 2.0),
                           n_channels=1, full=True, objects=(stats,))


def test_counts_split_into_subsets() -> None:
    cases = [_case("a", (150,) * 5), _case("b", (150,) * 3 + (50,)), _case("c", (120,))]
    split = Split("T1", 0, 0.2, "", {"a": Subset.TRAIN, "b": Subset.VAL, "c": Subset.TRAIN})
    samples, tasks = characteristics(cases, split, ["liver", "spleen"], Definition(planes=(Plane.AXIAL,)))
    total, liver, spleen = samples
    assert (liver.all, liver.train, liver.val, liver.test) == (9, 6, 3, 0)
    assert (spleen.all, spleen.train) == (0, 0)
    assert total.all == 9 and total.object == ""
    assert tasks[1].all == 3  # one window per case


@pytest.mark.parametrize("counting", list(TaskCounting))
def test_a_slice_of_exactly_100_pixels_counts_for_neither_samples_nor_tasks(counting: TaskCounting) -> None:
    # The paper's rule is "more than 100 pixels": 100 itself is out, 101 is in, for both tables.
    definition = Definition(task_counting=counting)
    at_rule = [100] * 10
    above = [101] * 10
    assert sample_count(at_rule, definition) == 0 and sample_count(above, definition) == 10
    assert task_count(at_rule, 2.0, definition) == 0
    assert task_count(above, 2.0, definition) == (10 if counting is TaskCounting.GUIDES else 1)


def test_guides_mode_counts_each_slice_with_a_neighbour_in_reach() -> None:
    # 2 mm slices: reach = min(20, 20 // 2) = 10 slices. Slices 0, 5 and 40 exceed 100 pixels; 0 and 5 are within
    # reach of each other, 40 is alone; slice 20 has exactly 100 pixels and is no guide nor a neighbour.
    areas = [0] * 41
    areas[0] = areas[5] = areas[40] = 150
    areas[20] = 100
    assert task_count(areas, 2.0, Definition(task_counting=TaskCounting.GUIDES)) == 2
    assert task_count(areas, 2.0, Definition(task_counting=TaskCounting.WINDOWS)) == 2
