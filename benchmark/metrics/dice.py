"""The Dice similarity coefficient of two boolean masks.

Empty-mask policy (the package's, see ``benchmark.metrics``; as nnU-Net's evaluation): when prediction and reference
are both empty (tp + fp + fn == 0), Dice is NaN, meaning "not defined", and aggregations skip it; when exactly one
is empty, Dice is 0. The raw counts are kept so any other policy can be applied later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmark.metrics.inputs import check_masks

__all__ = ["DiceResult", "compute_dice"]


@dataclass(frozen=True, kw_only=True)
class DiceResult:
    """Dice with the voxel counts it was computed from.

    Attributes:
        dice: 2 tp / (2 tp + fp + fn), in [0, 1]; NaN when both masks are empty.
        tp: Voxels foreground in both.
        fp: Voxels foreground in the prediction only.
        fn: Voxels foreground in the reference only.
        n_reference: Foreground voxels of the reference (tp + fn).
        n_prediction: Foreground voxels of the prediction (tp + fp).
    """

    dice: float
    tp: int
    fp: int
    fn: int
    n_reference: int
    n_prediction: int


def compute_dice(prediction: np.ndarray, reference: np.ndarray) -> DiceResult:
    """Dice of two boolean masks of one shape, 2 tp / (2 tp + fp + fn).

    Args:
        prediction: Boolean mask, any shape, e.g. (X, Y, Z) or a 2D slice (U, V).
        reference: Boolean mask of the same shape.

    Raises:
        MaskTypeError: A mask is not a boolean numpy array (a probability map or a label map is never
            thresholded here); a ``TypeError``.
        MetricInputError: The shapes differ; a ``ValueError``.
    """
    pred, ref = check_masks(prediction, reference)
    tp = int(np.count_nonzero(pred & ref))
    n_pred = int(np.count_nonzero(pred))
    n_ref = int(np.count_nonzero(ref))
    fp, fn = n_pred - tp, n_ref - tp
    denominator = 2 * tp + fp + fn
    dice = math.nan if denominator == 0 else 2 * tp / denominator
    return DiceResult(dice=dice, tp=tp, fp=fp, fn=fn, n_reference=n_ref, n_prediction=n_pred)
