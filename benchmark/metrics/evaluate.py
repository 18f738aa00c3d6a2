"""The one call the harness makes per object: Dice, NSD, HD95 and volumes of a prediction against its reference.

Inputs are checked once, the crop around both masks' bounding boxes is made once, and every metric is computed on
it (``benchmark.metrics.crop``): the cost follows the objects' size, not the volume's. The empty-mask policy is the
package's (``benchmark.metrics``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from benchmark.metrics.crop import bounding_box, padded_crop, union_box
from benchmark.metrics.dice import DiceResult, compute_dice
from benchmark.metrics.inputs import check_masks, check_spacing, check_tolerance
from benchmark.metrics.surface import (
    DEFAULT_TOLERANCE_MM,
    SurfaceDistances,
    summarize_surfaces,
    surface_distances_of_crops,
)

__all__ = ["SegmentationMetrics", "evaluate_segmentation"]


@dataclass(frozen=True, kw_only=True)
class SegmentationMetrics:
    """Every metric of one object, with the raw counts and sizes they come from (plain floats and ints).

    Attributes:
        dice: Dice coefficient in [0, 1]; NaN when both masks are empty, 0 when exactly one is.
        nsd: Normalised surface Dice at ``tolerance_mm``, in [0, 1]; NaN when both are empty, 0 when one is.
        hd95_mm: 95th percentile Hausdorff distance in mm; NaN when both are empty, inf when one is.
        tolerance_mm: NSD tolerance in mm.
        tp: Voxels foreground in both masks.
        fp: Voxels foreground in the prediction only.
        fn: Voxels foreground in the reference only.
        n_reference: Foreground voxels of the reference.
        n_prediction: Foreground voxels of the prediction.
        reference_volume_mm3: Volume of the reference, n_reference times the voxel volume.
        prediction_volume_mm3: Volume of the prediction.
        reference_surface_mm2: Area of the reference surface (sum of its surfel areas).
        prediction_surface_mm2: Area of the predicted surface.
    """

    dice: float
    nsd: float
    hd95_mm: float
    tolerance_mm: float
    tp: int
    fp: int
    fn: int
    n_reference: int
    n_prediction: int
    reference_volume_mm3: float
    prediction_volume_mm3: float
    reference_surface_mm2: float
    prediction_surface_mm2: float

    def as_dict(self) -> dict[str, float | int]:
        """The fields by name, for the results store (NaN and inf stay floats)."""
        return dataclasses.asdict(self)


def evaluate_segmentation(prediction: np.ndarray, reference: np.ndarray, *, spacing: tuple[float, float, float],
                          tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> SegmentationMetrics:
    """Dice, NSD at ``tolerance_mm``, HD95 and volumes of one predicted object.

    Args:
        prediction: Boolean mask, shape (X, Y, Z).
        reference: Boolean mask of the same shape, on the same voxel grid.
        spacing: Voxel size (sx, sy, sz) in mm along (X, Y, Z). Required: there is no default voxel.
        tolerance_mm: NSD tolerance in mm, >= 0.

    Returns:
        The metrics and their raw counts.

    Raises:
        MaskTypeError: A mask is not a boolean numpy array (a ``TypeError``; nothing is thresholded here).
        MetricInputError: Shapes differ or are not 3D; spacing is not three finite positive numbers; tolerance is
            negative or not finite (a ``ValueError``).

    Example:
        >>> box = np.zeros((8, 8, 8), bool); box[2:5, 2:5, 2:5] = True
        >>> evaluate_segmentation(box, box, spacing=(1.0, 1.0, 2.0)).hd95_mm
        0.0
    """
    pred, ref = check_masks(prediction, reference, ndim=3)
    voxel = check_spacing(spacing)
    tolerance = check_tolerance(tolerance_mm)
    box = union_box(bounding_box(pred), bounding_box(ref))
    if box is None:
        return _both_empty(tolerance)
    pred_crop, ref_crop = padded_crop(pred, box), padded_crop(ref, box)
    # Outside the box both masks are background: the voxel counts of the crops are those of the volumes.
    dice = compute_dice(pred_crop, ref_crop)
    return _combine(dice, surface_distances_of_crops(pred_crop, ref_crop, spacing=voxel), voxel, tolerance)


def _combine(dice: DiceResult, distances: SurfaceDistances, spacing: tuple[float, float, float],
             tolerance_mm: float) -> SegmentationMetrics:
    surfaces = summarize_surfaces(distances, tolerance_mm=tolerance_mm)
    voxel_mm3 = spacing[0] * spacing[1] * spacing[2]
    return SegmentationMetrics(
        dice=float(dice.dice), nsd=float(surfaces.nsd), hd95_mm=float(surfaces.hd95_mm), tolerance_mm=tolerance_mm,
        tp=dice.tp, fp=dice.fp, fn=dice.fn, n_reference=dice.n_reference, n_prediction=dice.n_prediction,
        reference_volume_mm3=dice.n_reference * voxel_mm3, prediction_volume_mm3=dice.n_prediction * voxel_mm3,
        reference_surface_mm2=surfaces.reference_surface_mm2, prediction_surface_mm2=surfaces.prediction_surface_mm2)


def _both_empty(tolerance_mm: float) -> SegmentationMetrics:
    return SegmentationMetrics(
        dice=math.nan, nsd=math.nan, hd95_mm=math.nan, tolerance_mm=tolerance_mm, tp=0, fp=0, fn=0,
        n_reference=0, n_prediction=0, reference_volume_mm3=0.0, prediction_volume_mm3=0.0,
        reference_surface_mm2=0.0, prediction_surface_mm2=0.0)
