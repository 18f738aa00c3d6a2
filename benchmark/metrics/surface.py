"""Surface metrics in physical units: normalised surface Dice (NSD) at a tolerance in mm, and HD95 in mm.

Definitions follow Nikolov et al. 2021 and DeepMind's ``surface-distance`` package (version 0.1), which most
benchmarks use, and agree with it to rounding (the test suite compares both on random anisotropic shapes):

* The surface of a mask is the set of 2 x 2 x 2 cubes of voxel centres that hold both foreground and background
  (``benchmark.metrics.surfels``); each cube is one surface element ("surfel") with its marching-cubes area in mm^2.
* The distance of a surfel to the other surface is the Euclidean distance in mm, with the voxel spacing applied per
  axis, from its cube to the nearest surfel cube of the other mask.
* NSD at tolerance t is the area of both surfaces lying within t of the other surface, over the area of both:
  ``(sum of ref areas with d <= t + sum of pred areas with d <= t) / (ref area + pred area)``.
* HD95 is the larger of the two directed 95th percentiles, each weighted by surfel area: the distance of the first
  surfel, in order of distance, at which the cumulative area reaches 95% of its surface
  (``compute_robust_hausdorff(distances, 95)``).

Distances are computed once, on the crop around both masks' bounding boxes (``benchmark.metrics.crop``), and shared
by NSD and HD95. A surfel's nearest surfel on the other surface is found by look-ups at the shortest lattice offsets
first (most surfels of a good prediction are settled there), then by a k-d tree search over the other surface's
surfels in mm; its distance is computed from the integer index offset with the arithmetic of
``scipy.ndimage.distance_transform_edt``, which ``surface-distance`` uses, so both give the same floats (up to the
last bit where two offsets of equal length round differently).

Empty masks follow the package's policy (``benchmark.metrics``): NSD and HD95 are NaN when both masks are empty;
when exactly one is, NSD is 0 and HD95 is inf. ``surface-distance`` 0.1 defines NSD alike (0/0, NaN with a warning,
when both are empty) and HD95 as inf in all three cases, including both empty, where this module gives NaN; with
numpy >= 2 its HD95 of any empty case, and its distances when one mask is empty, raise AttributeError (``np.Inf``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from benchmark.metrics.crop import bounding_box, padded_crop, union_box
from benchmark.metrics.inputs import MetricInputError, check_masks, check_spacing, check_tolerance
from benchmark.metrics.surfels import surfel_area_table

__all__ = [
    "DEFAULT_TOLERANCE_MM",
    "HD_PERCENTILE",
    "SurfaceDistances",
    "SurfaceMetrics",
    "compute_surface_distances",
    "surface_distances_of_crops",
    "normalized_surface_dice",
    "robust_hausdorff",
    "summarize_surfaces",
    "compute_surface_metrics",
]

#: NSD tolerance used when none is given, in mm.
DEFAULT_TOLERANCE_MM = 2.0
#: Percentile of the robust Hausdorff distance reported as HD95.
HD_PERCENTILE = 95.0
#: About how many of the shortest lattice offsets are looked up before the k-d tree search, and how far (in voxels
#: along each axis) they may reach. One look-up costs a few ns per cube, a tree query one or two microseconds, so
#: 64 look-ups add at most about a fifth to the cost of a cube they do not settle.
_NEAR_OFFSETS = 64
_NEAR_REACH = 3


@dataclass(frozen=True, kw_only=True)
class SurfaceDistances:
    """Every surfel of both surfaces with its area and its distance to the other surface (unsorted).

    Attributes:
        reference_to_prediction_mm: (R,) distance of each reference surfel to the predicted surface; inf when the
            prediction is empty.
        reference_areas_mm2: (R,) area of each reference surfel.
        prediction_to_reference_mm: (P,) distance of each predicted surfel to the reference surface; inf when the
            reference is empty.
        prediction_areas_mm2: (P,) area of each predicted surfel.
    """

    reference_to_prediction_mm: np.ndarray
    reference_areas_mm2: np.ndarray
    prediction_to_reference_mm: np.ndarray
    prediction_areas_mm2: np.ndarray

    @property
    def reference_surface_mm2(self) -> float:
        return float(np.sum(self.reference_areas_mm2))

    @property
    def prediction_surface_mm2(self) -> float:
        return float(np.sum(self.prediction_areas_mm2))


@dataclass(frozen=True, kw_only=True)
class SurfaceMetrics:
    """NSD and HD95 of one prediction, with the surface sizes they come from.

    Attributes:
        nsd: Normalised surface Dice at ``tolerance_mm``, in [0, 1]; NaN when both masks are empty.
        hd95_mm: 95th percentile Hausdorff distance in mm; NaN when both are empty, inf when one is.
        tolerance_mm: The NSD tolerance in mm.
        reference_surface_mm2: Area of the reference surface.
        prediction_surface_mm2: Area of the predicted surface.
        n_reference_surfels: Surfels of the reference.
        n_prediction_surfels: Surfels of the prediction.
    """

    nsd: float
    hd95_mm: float
    tolerance_mm: float
    reference_surface_mm2: float
    prediction_surface_mm2: float
    n_reference_surfels: int
    n_prediction_surfels: int


def _neighbour_codes(padded: np.ndarray) -> np.ndarray:
    """Code (0-255) of every 2 x 2 x 2 cube of a boolean (A, B, C) crop, shape (A - 1, B - 1, C - 1), uint8.

    Corner ``(a, b, c)`` of a cube adds ``1 << (4a + 2b + c)`` (``surfels.CORNER_OFFSETS``); the sum is built one
    axis at a time (2 bits, then 4, then 8), three passes instead of eight.
    """
    m = padded.view(np.uint8)
    pairs = m[:, :, :-1] + (m[:, :, 1:] << 1)
    quads = pairs[:, :-1] + (pairs[:, 1:] << 2)
    return np.asarray(quads[:-1] + (quads[1:] << 4), dtype=np.uint8)


@dataclass(frozen=True)
class _Surfels:
    """The surfel cubes of one mask on the cube grid of a crop.

    Attributes:
        is_surface: Boolean map of the cube grid, flattened (C order).
        flat: (N,) flat indices of the surfel cubes, ascending.
        index: (N, 3) integer cube indices.
        areas: (N,) surfel areas in mm^2.
        grid_shape: Shape of the cube grid.
    """

    is_surface: np.ndarray
    flat: np.ndarray
    index: np.ndarray
    areas: np.ndarray
    grid_shape: tuple[int, int, int]


def _surfels(padded: np.ndarray, area_table: np.ndarray) -> _Surfels:
    """The surfels of a padded crop (flat indices first: np.nonzero on a 3D map is several times slower)."""
    codes = _neighbour_codes(padded)
    is_surface = ((codes - np.uint8(1)) < 254).ravel()  # neither 0 nor 255 (0 wraps round to 255)
    flat = np.flatnonzero(is_surface)
    index = np.stack(np.unravel_index(flat, codes.shape), axis=1)
    grid = (codes.shape[0], codes.shape[1], codes.shape[2])
    return _Surfels(is_surface, flat, index, area_table[codes.ravel()[flat]], grid)


def _lengths(offsets: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Lengths in mm of integer (N, 3) offsets, with the arithmetic of scipy.ndimage.distance_transform_edt.

    Offsets times spacing, squared, summed over the axes in order, square root: the distances surface-distance
    gets from its distance transforms, to the last bit.
    """
    scaled = offsets.astype(np.float64) * np.asarray(spacing)
    squared = scaled * scaled
    return np.asarray(np.sqrt((squared[:, 0] + squared[:, 1]) + squared[:, 2]))


@functools.lru_cache(maxsize=16)
def _short_offsets(spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The shortest lattice offsets (at most about ``_NEAR_OFFSETS``), sorted by length: (K, 3) ints, (K,) mm.

    They are every offset up to some radius, none left out: an offset outside the box of reach ``_NEAR_REACH``
    is at least ``(_NEAR_REACH + 1) * min(spacing)`` long, and the radius stays below that.
    """
    steps = np.arange(-_NEAR_REACH, _NEAR_REACH + 1)
    offsets = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    lengths = _lengths(offsets, spacing)
    order = np.argsort(lengths, kind="stable")[1:]  # without (0, 0, 0)
    offsets, lengths = offsets[order], lengths[order]
    radius = min(lengths[_NEAR_OFFSETS - 1], (_NEAR_REACH + 1) * min(spacing) * (1 - 1e-9))
    keep = lengths <= radius
    return offsets[keep], lengths[keep]


def _nearby(points: np.ndarray, target: _Surfels, spacing: tuple[float, float, float]) -> np.ndarray:
    """Distance from each cube ``points`` (N, 3) to the nearest target cube when it is one of the shortest offsets
    away, else inf: the offsets are tried shortest first, each as one look-up per cube still pending."""
    offsets, lengths = _short_offsets(spacing)
    reach = _NEAR_REACH
    padded = np.zeros(tuple(n + 2 * reach for n in target.grid_shape), dtype=bool)
    padded[reach:-reach, reach:-reach, reach:-reach] = target.is_surface.reshape(target.grid_shape)
    strides = np.array([padded.shape[1] * padded.shape[2], padded.shape[2], 1])
    lookup = padded.ravel()
    result = np.full(points.shape[0], math.inf)
    pending = np.arange(points.shape[0])
    base = (points + reach) @ strides
    for step, length in zip(offsets @ strides, lengths, strict=True):
        hit = lookup[base + step]
        if hit.any():
            result[pending[hit]] = length
            pending, base = pending[~hit], base[~hit]
            if pending.size == 0:
                break
    return result


def _distances_to(query: _Surfels, target: _Surfels, spacing: tuple[float, float, float]) -> np.ndarray:
    """Distance in mm from each surfel cube of ``query`` to the nearest surfel cube of ``target``.

    Three steps, each for the cubes the one before left: cubes that are target cubes too (distance 0), cubes whose
    nearest target cube is one of the shortest lattice offsets away (look-ups, most of the surface of a good
    prediction), and a k-d tree search over the target cubes in mm for the rest.
    """
    if target.flat.size == 0:
        return np.full(query.flat.size, math.inf)
    distances = np.zeros(query.flat.size)
    away = np.flatnonzero(~target.is_surface[query.flat])
    if away.size:
        distances[away] = _nearby(query.index[away], target, spacing)
        far = away[np.isinf(distances[away])]
        if far.size:
            from scipy.spatial import cKDTree

            scale = np.asarray(spacing)
            tree = cKDTree(target.index * scale, leafsize=32, balanced_tree=False, compact_nodes=False)
            _, nearest = tree.query(query.index[far] * scale)
            distances[far] = _lengths(target.index[nearest] - query.index[far], spacing)
    return distances


def surface_distances_of_crops(prediction: np.ndarray, reference: np.ndarray, *,
                               spacing: tuple[float, float, float]) -> SurfaceDistances:
    """Surface distances of two masks already cropped with one voxel of background on every side.

    Args:
        prediction: Boolean (A, B, C) crop, C-ordered, its outermost voxels background (``crop.padded_crop``).
        reference: Boolean crop of the same shape and box.
        spacing: Checked voxel size (sx, sy, sz) in mm.
    """
    areas = surfel_area_table(spacing)
    pred, ref = _surfels(prediction, areas), _surfels(reference, areas)
    return SurfaceDistances(
        reference_to_prediction_mm=_distances_to(ref, pred, spacing), reference_areas_mm2=ref.areas,
        prediction_to_reference_mm=_distances_to(pred, ref, spacing), prediction_areas_mm2=pred.areas)


def compute_surface_distances(prediction: np.ndarray, reference: np.ndarray, *,
                              spacing: tuple[float, float, float]) -> SurfaceDistances:
    """Distances between the surfaces of two masks, in mm, per surfel.

    Args:
        prediction: Boolean mask, shape (X, Y, Z).
        reference: Boolean mask of the same shape.
        spacing: Voxel size (sx, sy, sz) in mm along (X, Y, Z). Required: there is no default voxel.

    Raises:
        MaskTypeError: A mask is not a boolean numpy array.
        MetricInputError: Shapes differ or are not 3D; spacing is not three finite positive numbers.
    """
    pred, ref = check_masks(prediction, reference, ndim=3)
    voxel = check_spacing(spacing)
    box = union_box(bounding_box(pred), bounding_box(ref))
    if box is None:
        empty = np.zeros(0)
        return SurfaceDistances(reference_to_prediction_mm=empty, reference_areas_mm2=empty,
                                prediction_to_reference_mm=empty, prediction_areas_mm2=empty)
    return surface_distances_of_crops(padded_crop(pred, box), padded_crop(ref, box), spacing=voxel)


def normalized_surface_dice(distances: SurfaceDistances, *, tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> float:
    """Share of both surfaces' area within ``tolerance_mm`` of the other surface, in [0, 1].

    Returns:
        NaN when both surfaces are empty; 0.0 when exactly one is.
    """
    tolerance = check_tolerance(tolerance_mm)
    total = distances.reference_surface_mm2 + distances.prediction_surface_mm2
    if total == 0:
        return math.nan
    close = (np.sum(distances.reference_areas_mm2[distances.reference_to_prediction_mm <= tolerance])
             + np.sum(distances.prediction_areas_mm2[distances.prediction_to_reference_mm <= tolerance]))
    return float(close / total)


def _directed_percentile(distances: np.ndarray, areas: np.ndarray, percentile: float) -> float:
    """Distance of the first surfel, by distance, where the cumulative area share reaches ``percentile``.

    The order within equal distances does not change which distance that is (only the last bit of the running
    sums), so a plain sort of the distances does; surface-distance sorts by (distance, area).
    """
    order = np.argsort(distances, kind="stable")
    cumulative = np.cumsum(areas[order]) / np.sum(areas[order])
    position = int(np.searchsorted(cumulative, percentile / 100.0))
    return float(distances[order[min(position, order.size - 1)]])


def robust_hausdorff(distances: SurfaceDistances, *, percentile: float = HD_PERCENTILE) -> float:
    """The larger of the two directed area-weighted ``percentile``-th percentile distances, in mm.

    Returns:
        NaN when both surfaces are empty; inf when exactly one is.

    Raises:
        MetricInputError: ``percentile`` is not within [0, 100].
    """
    if not 0 <= percentile <= 100:
        raise MetricInputError(f"percentile is {percentile!r}, expected a number within [0, 100]")
    n_ref, n_pred = distances.reference_areas_mm2.size, distances.prediction_areas_mm2.size
    if n_ref == 0 and n_pred == 0:
        return math.nan
    if n_ref == 0 or n_pred == 0:
        return math.inf
    return max(_directed_percentile(distances.reference_to_prediction_mm, distances.reference_areas_mm2, percentile),
               _directed_percentile(distances.prediction_to_reference_mm, distances.prediction_areas_mm2, percentile))


def summarize_surfaces(distances: SurfaceDistances, *, tolerance_mm: float) -> SurfaceMetrics:
    """NSD at ``tolerance_mm`` and HD95 of one set of surface distances."""
    return SurfaceMetrics(
        nsd=normalized_surface_dice(distances, tolerance_mm=tolerance_mm),
        hd95_mm=robust_hausdorff(distances),
        tolerance_mm=float(tolerance_mm),
        reference_surface_mm2=distances.reference_surface_mm2,
        prediction_surface_mm2=distances.prediction_surface_mm2,
        n_reference_surfels=int(distances.reference_areas_mm2.size),
        n_prediction_surfels=int(distances.prediction_areas_mm2.size))


def compute_surface_metrics(prediction: np.ndarray, reference: np.ndarray, *, spacing: tuple[float, float, float],
                            tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> SurfaceMetrics:
    """NSD at ``tolerance_mm`` and HD95 of a prediction, from one computation of the surface distances.

    Args:
        prediction: Boolean mask, shape (X, Y, Z).
        reference: Boolean mask of the same shape.
        spacing: Voxel size (sx, sy, sz) in mm along (X, Y, Z).
        tolerance_mm: NSD tolerance in mm, >= 0.

    Raises:
        MaskTypeError: A mask is not a boolean numpy array.
        MetricInputError: Shapes differ or are not 3D; bad spacing; negative or non-finite tolerance.
    """
    tolerance = check_tolerance(tolerance_mm)
    return summarize_surfaces(compute_surface_distances(prediction, reference, spacing=spacing),
                              tolerance_mm=tolerance)
