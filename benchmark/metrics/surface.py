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
by NSD and HD95. The nearest surfel is found with a k-d tree over the surfel cubes in mm, and the distance is then
recomputed from the integer index offsets with the arithmetic of ``scipy.ndimage.distance_transform_edt`` (which
``surface-distance`` uses), so both give the same floats.

Empty masks follow the package's policy (``benchmark.metrics``): NSD and HD95 are NaN when both masks are empty;
when exactly one is, NSD is 0 and HD95 is inf. ``surface-distance`` 0.1 defines NSD alike (0/0, NaN with a warning,
when both are empty) and HD95 as inf in all three cases, including both empty, where this module gives NaN; with
numpy >= 2 its HD95 of any empty case, and its distances when one mask is empty, raise AttributeError (``np.Inf``).
"""

from __future__ import annotations

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


def _surfels(padded: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surfel cubes of a padded crop: a boolean map on the cube grid, their (N, 3) indices and (N,) areas in mm^2."""
    codes = _neighbour_codes(padded)
    is_surface = (codes - np.uint8(1)) < 254  # neither 0 nor 255 (0 wraps round to 255)
    index = np.nonzero(is_surface)
    return is_surface, np.stack(index, axis=1), areas[codes[index]]


def _distances_to(query: np.ndarray, target: np.ndarray, target_map: np.ndarray,
                  spacing: tuple[float, float, float]) -> np.ndarray:
    """Distance in mm from each cube of ``query`` (N, 3) to the nearest cube of ``target`` (M, 3).

    ``target_map`` is ``target`` as a boolean map on the cube grid: query cubes on it are at distance 0 and skip
    the search (most of the surface, for a good prediction).
    """
    if target.shape[0] == 0:
        return np.full(query.shape[0], math.inf)
    from scipy.spatial import cKDTree

    distances = np.zeros(query.shape[0])
    away = np.flatnonzero(~target_map[tuple(query.T)])
    if away.size:
        scale = np.asarray(spacing)
        tree = cKDTree(target * scale, balanced_tree=False, compact_nodes=False)
        _, nearest = tree.query(query[away] * scale, workers=-1)
        # The same arithmetic as scipy.ndimage.distance_transform_edt: offsets times spacing, squared, summed over
        # the axes in order, square root; so equal distances are equal floats in both.
        offset = (target[nearest] - query[away]).astype(np.float64) * scale
        squared = offset * offset
        distances[away] = np.sqrt((squared[:, 0] + squared[:, 1]) + squared[:, 2])
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
    pred_map, pred_index, pred_areas = _surfels(prediction, areas)
    ref_map, ref_index, ref_areas = _surfels(reference, areas)
    return SurfaceDistances(
        reference_to_prediction_mm=_distances_to(ref_index, pred_index, pred_map, spacing),
        reference_areas_mm2=ref_areas,
        prediction_to_reference_mm=_distances_to(pred_index, ref_index, ref_map, spacing),
        prediction_areas_mm2=pred_areas)


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
    """Distance of the first surfel (by distance, then area) where the cumulative area share reaches percentile."""
    order = np.lexsort((areas, distances))
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
