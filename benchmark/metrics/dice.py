"""The Dice similarity coefficient.

Empty-mask policy (as nnU-Net's evaluation): when prediction and reference are both empty (tp + fp + fn == 0), Dice
is NaN, meaning "not defined", and aggregations skip it; the raw counts are kept so any other policy can be applied
later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DiceResult", "compute_dice"]


@dataclass(frozen=True)
class DiceResult:
    """Dice with the voxel counts it was computed from."""

    dice: float
    tp: int
    fp: int
    fn: int
    n_reference: int
    n_prediction: int


def compute_dice(prediction: np.ndarray, reference: np.ndarray) -> DiceResult:
    """Dice of two boolean masks of one shape, 2 tp / (2 tp + fp + fn).

    Args:
        prediction: Boolean mask, any shape, e.g. (X, Y, Z).
        reference: Boolean mask of the same shape.

    Raises:
        ValueError: The shapes differ.
    """
    if prediction.shape != reference.shape:
        raise ValueError(f"prediction has shape {prediction.shape}, expected the reference's {reference.shape}")
    pred = np.asarray(prediction, dtype=bool)
    ref = np.asarray(reference, dtype=bool)
    tp = int(np.count_nonzero(pred & ref))
    n_pred = int(np.count_nonzero(pred))
    n_ref = int(np.count_nonzero(ref))
    fp, fn = n_pred - tp, n_ref - tp
    denominator = 2 * tp + fp + fn
    dice = math.nan if denominator == 0 else 2 * tp / denominator
    return DiceResult(dice, tp, fp, fn, n_ref, n_pred)
