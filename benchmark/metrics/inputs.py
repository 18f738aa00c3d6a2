"""Checks of metric inputs: boolean masks of one shape, a voxel spacing in mm, a tolerance in mm.

Masks are never converted: a probability map or an integer label map is refused, because thresholding it here
(MONAI's ``> 0``, or a cast to bool) would hide a missing or wrong threshold in the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.errors import BenchmarkError

__all__ = ["MaskTypeError", "MetricInputError", "check_mask", "check_masks", "check_spacing", "check_tolerance"]


class MaskTypeError(BenchmarkError, TypeError):
    """A mask is not a boolean numpy array (e.g. a probability map, or a uint8 label map)."""


class MetricInputError(BenchmarkError, ValueError):
    """A metric input has the right type but a wrong value: shapes differ, not 3D, bad spacing or tolerance."""


def check_mask(name: str, mask: Any) -> np.ndarray:
    """Return ``mask`` unchanged when it is a boolean numpy array.

    Args:
        name: The argument's name, for the message (``"prediction"``, ``"reference"``).
        mask: The value received.

    Raises:
        MaskTypeError: ``mask`` is not a numpy array, or its dtype is not bool.
    """
    if not isinstance(mask, np.ndarray):
        raise MaskTypeError(f"{name} is a {type(mask).__name__}, expected bool numpy array")
    if mask.dtype != np.bool_:
        raise MaskTypeError(f"{name} has dtype {mask.dtype}, expected bool (threshold or compare the labels first; "
                            "metrics never threshold)")
    return mask


def check_masks(prediction: Any, reference: Any, *, ndim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``prediction`` and ``reference`` are boolean arrays of one shape (and ``ndim`` axes if given).

    Raises:
        MaskTypeError: Either is not a boolean numpy array.
        MetricInputError: The shapes differ, or they do not have ``ndim`` axes.
    """
    pred, ref = check_mask("prediction", prediction), check_mask("reference", reference)
    if ndim is not None:
        for name, mask in (("prediction", pred), ("reference", ref)):
            if mask.ndim != ndim:
                raise MetricInputError(f"{name} has shape {mask.shape} ({mask.ndim}D), expected a {ndim}D array")
    if pred.shape != ref.shape:
        raise MetricInputError(f"prediction has shape {pred.shape}, expected the reference's {ref.shape}")
    return pred, ref


def check_spacing(spacing: Any) -> tuple[float, float, float]:
    """Return ``spacing`` as three floats (mm) when it has three finite positive entries.

    Raises:
        MetricInputError: Not a sequence of three numbers, or an entry is zero, negative, NaN or infinite.
    """
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError) as err:
        raise MetricInputError(f"spacing is {spacing!r}, expected three voxel sizes in mm (sx, sy, sz)") from err
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise MetricInputError(f"spacing is {tuple(spacing) if isinstance(spacing, Sequence) else spacing!r}, "
                               "expected three finite positive voxel sizes in mm (sx, sy, sz)")
    return values[0], values[1], values[2]


def check_tolerance(tolerance_mm: Any) -> float:
    """Return ``tolerance_mm`` as a float when it is a finite number >= 0.

    Raises:
        MetricInputError: Not a number, negative, NaN or infinite.
    """
    try:
        value = float(tolerance_mm)
    except (TypeError, ValueError) as err:
        raise MetricInputError(f"tolerance_mm is {tolerance_mm!r}, expected a distance in mm >= 0") from err
    if not (math.isfinite(value) and value >= 0):
        raise MetricInputError(f"tolerance_mm is {tolerance_mm!r}, expected a finite distance in mm >= 0")
    return value
