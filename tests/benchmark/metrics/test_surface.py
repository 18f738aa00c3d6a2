"""NSD and HD95 against the reference implementation (``surface-distance``), closed forms, and the empty-mask policy.

Agreement is to rounding, not merely within the usual bounds (1e-6 for NSD, one voxel diagonal for HD95): both
implementations give the same per-surfel distances, so NSD agrees to 1e-12 and HD95 to 1e-12 relative.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from benchmark.metrics.inputs import MetricInputError
from benchmark.metrics.surface import (
    SurfaceDistances,
    compute_surface_distances,
    compute_surface_metrics,
    normalized_surface_dice,
    robust_hausdorff,
)

Pair = tuple[np.ndarray, np.ndarray]


# ---- random shape pairs ------------------------------------------------------------------------------------------

def _shape(rng: np.random.Generator, low: int = 12, high: int = 28) -> tuple[int, int, int]:
    x, y, z = rng.integers(low, high, size=3)
    return int(x), int(y), int(z)


def _ellipsoid(shape: tuple[int, ...], center: np.ndarray, radii: np.ndarray) -> np.ndarray:
    grid = np.indices(shape, dtype=float)
    return np.asarray(sum(((grid[i] - center[i]) / radii[i]) ** 2 for i in range(3)) <= 1.0, dtype=bool)


def _box(shape: tuple[int, ...], start: np.ndarray, size: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, bool)
    lo = np.clip(start, 0, shape)
    hi = np.clip(start + np.maximum(size, 1), 0, shape)
    mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    return mask


def _ellipsoids(rng: np.random.Generator) -> Pair:
    # Two ellipsoids, overlapping or apart.
    shape = _shape(rng)
    centre = np.array(shape) / 2
    radii = rng.uniform(2.0, 7.0, 3)
    reference = _ellipsoid(shape, centre + rng.uniform(-2, 2, 3), radii)
    prediction = _ellipsoid(shape, centre + rng.uniform(-4, 4, 3), radii * rng.uniform(0.6, 1.4, 3))
    return prediction, reference


def _shifted_boxes(rng: np.random.Generator) -> Pair:
    shape = _shape(rng)
    size = rng.integers(3, 9, 3)
    start = (np.array(shape) - size) // 2
    reference = _box(shape, start, size)
    prediction = _box(shape, start + rng.integers(-3, 4, 3), size + rng.integers(-2, 3, 3))
    return prediction, reference


def _blobs(rng: np.random.Generator) -> Pair:
    # Smoothed noise cut at a level: several components, holes, irregular surfaces.
    shape = _shape(rng)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=2.0)
    other = noise + 0.5 * ndimage.gaussian_filter(rng.standard_normal(shape), sigma=1.5)
    level = float(rng.uniform(0.0, 0.1))
    return other > level, noise > level


def _small(rng: np.random.Generator) -> Pair:
    # One to a few voxels each: the single-corner and two-corner surfels dominate.
    shape = _shape(rng, 6, 12)
    reference = np.zeros(shape, bool)
    prediction = np.zeros(shape, bool)
    for mask in (reference, prediction):
        for _ in range(int(rng.integers(1, 4))):
            point = tuple(int(rng.integers(2, n - 2)) for n in shape)
            mask[point] = True
            if rng.random() < 0.5:
                axis = int(rng.integers(3))
                neighbour = list(point)
                neighbour[axis] += 1
                mask[tuple(neighbour)] = True
    return prediction, reference


def _thin(rng: np.random.Generator) -> Pair:
    # A one-voxel sheet or line, and a shifted or tilted copy.
    shape = _shape(rng)
    grid = np.indices(shape, dtype=float)
    normal = rng.normal(size=3)
    normal /= np.linalg.norm(normal)
    offset = float(np.dot(normal, np.array(shape) / 2))
    reference = np.abs(np.tensordot(normal, grid, axes=1) - offset) <= 0.5
    tilted = normal + rng.normal(scale=0.1, size=3)
    tilted /= np.linalg.norm(tilted)
    prediction = np.abs(np.tensordot(tilted, grid, axes=1) - offset - rng.uniform(-2, 2)) <= 0.5
    if rng.random() < 0.5:  # lines instead of sheets
        axis = int(rng.integers(3))
        keep = np.zeros(shape, bool)
        index: list[Any] = [slice(None)] * 3
        index[axis] = slice(shape[axis] // 2, shape[axis] // 2 + 1)
        keep[tuple(index)] = True
        reference, prediction = reference & keep, prediction & keep
    return prediction, reference


def _border(rng: np.random.Generator) -> Pair:
    # Objects cut by the array's faces, edges or corners.
    shape = _shape(rng)
    centre = np.array([rng.choice([0, n - 1]) if rng.random() < 0.7 else n / 2 for n in shape], dtype=float)
    radii = rng.uniform(3.0, 8.0, 3)
    reference = _ellipsoid(shape, centre, radii)
    moved = np.clip(centre + rng.uniform(-3, 3, 3), 0, np.array(shape) - 1)  # the centre stays in the array
    prediction = _ellipsoid(shape, moved, radii * rng.uniform(0.7, 1.3, 3))
    if rng.random() < 0.5:
        prediction = _box(shape, np.zeros(3, int), rng.integers(2, 10, 3))
    return prediction, reference


KINDS: dict[str, Callable[[np.random.Generator], Pair]] = {
    "ellipsoids": _ellipsoids, "shifted_boxes": _shifted_boxes, "blobs": _blobs, "small": _small, "thin": _thin,
    "border": _border}
#: 66 seeded pairs: 11 of each kind.
CASES = [(kind, seed) for seed in range(11) for kind in KINDS]


def _reference_metrics(prediction: np.ndarray, reference: np.ndarray, spacing: tuple[float, float, float],
                       tolerance_mm: float) -> tuple[float, float, dict[str, np.ndarray]]:
    metrics = pytest.importorskip("surface_distance.metrics",
                                  reason="surface-distance (test dependency group) is not installed")
    with warnings.catch_warnings():  # it imports correlate and the EDT from deprecated scipy namespaces
        warnings.simplefilter("ignore", DeprecationWarning)
        distances = metrics.compute_surface_distances(reference, prediction, spacing)
    nsd = metrics.compute_surface_dice_at_tolerance(distances, tolerance_mm)
    hd95 = metrics.compute_robust_hausdorff(distances, 95)
    return float(nsd), float(hd95), distances


@pytest.mark.parametrize(("kind", "seed"), CASES, ids=[f"{kind}-{seed}" for kind, seed in CASES])
def test_agrees_with_surface_distance(kind: str, seed: int) -> None:
    rng = np.random.default_rng([seed, list(KINDS).index(kind)])
    prediction, reference = KINDS[kind](rng)
    if not (prediction.any() and reference.any()):
        pytest.fail(f"generator {kind} made an empty mask for seed {seed}")  # empty cases are tested apart
    sx, sy, sz = (float(s) for s in rng.uniform(0.3, 3.0, 3))
    spacing = (sx, sy, sz)
    tolerance = float(rng.uniform(0.5, 4.0))
    expected_nsd, expected_hd95, expected = _reference_metrics(prediction, reference, spacing, tolerance)

    distances = compute_surface_distances(prediction, reference, spacing=spacing)
    # Per surfel, in the package's order (by distance, then area): the same distances in both directions.
    for ours, areas, theirs, their_areas in (
            (distances.reference_to_prediction_mm, distances.reference_areas_mm2,
             expected["distances_gt_to_pred"], expected["surfel_areas_gt"]),
            (distances.prediction_to_reference_mm, distances.prediction_areas_mm2,
             expected["distances_pred_to_gt"], expected["surfel_areas_pred"])):
        order = np.lexsort((areas, ours))
        np.testing.assert_allclose(ours[order], theirs, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(areas[order], their_areas, rtol=1e-12, atol=0)
    result = compute_surface_metrics(prediction, reference, spacing=spacing, tolerance_mm=tolerance)
    assert result.nsd == pytest.approx(expected_nsd, abs=1e-12)
    assert result.hd95_mm == pytest.approx(expected_hd95, rel=1e-12)
    assert result.reference_surface_mm2 == pytest.approx(float(np.sum(expected["surfel_areas_gt"])), rel=1e-12)


# ---- closed forms ------------------------------------------------------------------------------------------------

def _edge(length: float, a: float, b: float) -> float:
    """Surfel of two corners along an edge: ``length`` long, half the (a, b) face diagonal wide."""
    return length * math.hypot(a, b) / 2


def _box_area(size: tuple[int, int, int], s: tuple[float, float, float]) -> float:
    """Surface area of a box of ``size`` voxels.

    Cube positions along axis n run 0..size[n]: 2 on the box's faces, size[n] - 1 inside. Face cubes are flat
    rectangles, edge cubes two-corner strips, corner cubes one-corner triangles (see test_surfels).
    """
    (l0, l1, l2), (s0, s1, s2) = size, s
    corner = math.hypot(s1 * s2, s0 * s2, s0 * s1) / 8
    total = (2 * (l1 - 1) * (l2 - 1) * s1 * s2 + 2 * (l0 - 1) * (l2 - 1) * s0 * s2
             + 2 * (l0 - 1) * (l1 - 1) * s0 * s1 + 4 * (l0 - 1) * _edge(s0, s1, s2)
             + 4 * (l1 - 1) * _edge(s1, s0, s2) + 4 * (l2 - 1) * _edge(s2, s0, s1) + 8 * corner)
    return total


def _shared_area(size: tuple[int, int, int], s: tuple[float, float, float], shift: int) -> float:
    """Area of the reference surfels that are also surfels of the box shifted by ``shift`` (< size[0]) along 0.

    They are the cubes on the side faces (y or z on the box's faces) with x from ``shift`` to ``size[0]``: x inside
    the reference box for ``shift`` <= x < size[0], on its far face for x = size[0].
    """
    (l0, l1, l2), (s0, s1, s2) = size, s
    ring_inside = 2 * (l2 - 1) * s0 * s2 + 2 * (l1 - 1) * s0 * s1 + 4 * _edge(s0, s1, s2)
    ring_on_face = 2 * (l2 - 1) * _edge(s2, s0, s1) + 2 * (l1 - 1) * _edge(s1, s0, s2) + 4 * math.hypot(
        s1 * s2, s0 * s2, s0 * s1) / 8
    return (l0 - shift) * ring_inside + ring_on_face


#: Box of (4, 9, 7) voxels: the faces across the shift hold well over 5% of the surface, so HD95 is the shift.
BOX = (4, 9, 7)
SPACING = (0.7, 1.3, 2.9)


def _shifted_box_pair(axis: int, shift: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """The box and its copy shifted by ``shift`` voxels along ``axis`` (built along axis 0, then moved)."""
    reference = np.zeros((BOX[0] + shift + 4, BOX[1] + 4, BOX[2] + 4), bool)
    prediction = np.zeros_like(reference)
    reference[2:2 + BOX[0], 2:2 + BOX[1], 2:2 + BOX[2]] = True
    prediction[2 + shift:2 + shift + BOX[0], 2:2 + BOX[1], 2:2 + BOX[2]] = True
    spacing = [SPACING[1], SPACING[2]]
    spacing.insert(axis, SPACING[0])
    return np.moveaxis(prediction, 0, axis), np.moveaxis(reference, 0, axis), (spacing[0], spacing[1], spacing[2])


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("shift", [1, 2, 3])
def test_box_shifted_along_one_axis(axis: int, shift: int) -> None:
    prediction, reference, spacing = _shifted_box_pair(axis, shift)
    distances = compute_surface_distances(prediction, reference, spacing=spacing)
    # The farthest surfels (the faces across the shift) are exactly ``shift`` voxels of SPACING[0] away.
    assert robust_hausdorff(distances) == pytest.approx(shift * SPACING[0], rel=1e-12)
    assert robust_hausdorff(distances, percentile=100) == pytest.approx(shift * SPACING[0], rel=1e-12)
    # Tolerance at or above the shift: every surfel is close.
    assert normalized_surface_dice(distances, tolerance_mm=shift * SPACING[0]) == 1.0
    # Tolerance below the smallest voxel size: only the surfels both surfaces share are close (by symmetry the
    # prediction shares as much area as the reference does).
    area = _box_area(BOX, SPACING)
    assert distances.reference_surface_mm2 == pytest.approx(area, rel=1e-12)
    assert distances.prediction_surface_mm2 == pytest.approx(area, rel=1e-12)
    expected = _shared_area(BOX, SPACING, shift) / area
    assert normalized_surface_dice(distances, tolerance_mm=0.5 * min(SPACING)) == pytest.approx(expected, rel=1e-12)


def test_identical_masks() -> None:
    prediction, reference, spacing = _shifted_box_pair(0, 0)
    result = compute_surface_metrics(prediction, reference, spacing=spacing, tolerance_mm=0.0)
    assert (result.nsd, result.hd95_mm) == (1.0, 0.0)
    assert result.reference_surface_mm2 == result.prediction_surface_mm2 > 0


def _distances(ref_mm: list[float], ref_areas: list[float], pred_mm: list[float],
               pred_areas: list[float]) -> SurfaceDistances:
    return SurfaceDistances(reference_to_prediction_mm=np.array(ref_mm), reference_areas_mm2=np.array(ref_areas),
                            prediction_to_reference_mm=np.array(pred_mm), prediction_areas_mm2=np.array(pred_areas))


def test_nsd_weights_surfels_by_area() -> None:
    distances = _distances([0.0, 3.0], [1.0, 3.0], [1.0, 5.0], [2.0, 2.0])
    # Close at 2 mm: the reference surfel of area 1 and the predicted one of area 2, out of 8 mm^2.
    assert normalized_surface_dice(distances, tolerance_mm=2.0) == 3 / 8
    assert normalized_surface_dice(distances, tolerance_mm=3.0) == 6 / 8  # at the tolerance counts as close
    assert normalized_surface_dice(distances, tolerance_mm=0.0) == 1 / 8


def test_hd95_is_the_first_distance_where_the_area_share_reaches_95_percent() -> None:
    # One direction: 96% of the area at 0 mm, so its 95th percentile is 0 (unweighted, it would be 10 mm).
    assert robust_hausdorff(_distances([10.0, 0.0], [0.04, 0.96], [0.0], [1.0])) == 0.0
    # Exactly 95% at 1 mm: reached there, as surface-distance's searchsorted finds it.
    assert robust_hausdorff(_distances([1.0, 4.0], [0.95, 0.05], [0.0], [1.0])) == 1.0
    # The larger of the two directions, whichever it is.
    assert robust_hausdorff(_distances([0.0], [1.0], [2.0, 7.0], [0.5, 0.5])) == 7.0
    assert robust_hausdorff(_distances([2.0, 7.0], [0.5, 0.5], [0.0], [1.0])) == 7.0


def test_the_directions_are_not_swapped() -> None:
    # A small box inside a large one: every small-box surfel is far from the large surface and vice versa, but the
    # large box's surface is bigger, so NSD and the per-direction distances tell the directions apart.
    reference = np.zeros((20, 20, 20), bool)
    reference[2:18, 2:18, 2:18] = True
    prediction = np.zeros_like(reference)
    prediction[9:11, 9:11, 9:11] = True
    distances = compute_surface_distances(prediction, reference, spacing=(1.0, 1.0, 1.0))
    assert distances.prediction_areas_mm2.sum() < distances.reference_areas_mm2.sum()
    # The small box's surfels are 6 to 7 voxels from the large surface; the large box's are up to 13 from the small.
    assert distances.prediction_to_reference_mm.max() == pytest.approx(7.0)
    assert distances.reference_to_prediction_mm.max() > 10


# ---- empty masks -------------------------------------------------------------------------------------------------

def _masks(which: str) -> Pair:
    empty = np.zeros((8, 8, 8), bool)
    some = empty.copy()
    some[2:5, 3:6, 1:4] = True
    return {"both": (empty, empty), "reference": (some, empty), "prediction": (empty, some)}[which]


def test_both_empty_is_not_defined() -> None:
    prediction, reference = _masks("both")
    result = compute_surface_metrics(prediction, reference, spacing=(1.0, 2.0, 3.0))
    assert math.isnan(result.nsd) and math.isnan(result.hd95_mm)
    assert (result.reference_surface_mm2, result.prediction_surface_mm2) == (0.0, 0.0)


@pytest.mark.parametrize("empty", ["reference", "prediction"])
def test_one_empty_is_the_worst_score(empty: str) -> None:
    prediction, reference = _masks(empty)
    distances = compute_surface_distances(prediction, reference, spacing=(1.0, 2.0, 3.0))
    result = compute_surface_metrics(prediction, reference, spacing=(1.0, 2.0, 3.0))
    assert result.nsd == 0.0 and result.hd95_mm == math.inf
    present = distances.prediction_to_reference_mm if empty == "reference" else distances.reference_to_prediction_mm
    assert present.size > 0 and np.isinf(present).all()


@pytest.mark.parametrize("which", ["both", "reference", "prediction"])
def test_empty_cases_versus_surface_distance(which: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # surface-distance 0.1 uses np.Inf, gone in numpy 2; restored here to compare with its intended behaviour.
    monkeypatch.setattr(np, "Inf", np.inf, raising=False)
    prediction, reference = _masks(which)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its 0/0 when both are empty
        their_nsd, their_hd95, _ = _reference_metrics(prediction, reference, (1.0, 2.0, 3.0), 2.0)
    result = compute_surface_metrics(prediction, reference, spacing=(1.0, 2.0, 3.0))
    assert np.isnan(their_nsd) if which == "both" else their_nsd == result.nsd == 0.0
    assert their_hd95 == math.inf  # always inf there; NaN here when both are empty (documented difference)
    assert math.isnan(result.hd95_mm) if which == "both" else result.hd95_mm == math.inf


def test_percentile_out_of_range() -> None:
    distances = compute_surface_distances(*_masks("reference"), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(MetricInputError, match="percentile is 101, expected a number within"):
        robust_hausdorff(distances, percentile=101)


@pytest.mark.parametrize("kind", ["ellipsoids", "blobs", "border"])
def test_lookups_and_tree_search_agree(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default settles near surfels by look-ups; with a single offset nearly everything goes to the k-d tree.
    import benchmark.metrics.surface as surface

    rng = np.random.default_rng([99, list(KINDS).index(kind)])
    prediction, reference = KINDS[kind](rng)
    spacing = (0.6, 1.7, 2.3)
    default = compute_surface_distances(prediction, reference, spacing=spacing)
    reach_mm = float(surface._short_offsets(spacing)[1].max())  # farthest surfel settled by a look-up
    monkeypatch.setattr(surface, "_NEAR_OFFSETS", 1)
    surface._short_offsets.cache_clear()
    try:
        tree_only = compute_surface_distances(prediction, reference, spacing=spacing)
    finally:
        surface._short_offsets.cache_clear()
    np.testing.assert_allclose(tree_only.reference_to_prediction_mm, default.reference_to_prediction_mm, rtol=1e-12)
    np.testing.assert_allclose(tree_only.prediction_to_reference_mm, default.prediction_to_reference_mm, rtol=1e-12)
    for distances in (default.reference_to_prediction_mm, default.prediction_to_reference_mm):
        assert ((distances > 0) & (distances <= reach_mm)).any()  # settled by look-ups by default
        assert (distances > reach_mm).any()  # left to the tree either way
