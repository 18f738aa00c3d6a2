from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.metrics.inputs import (
    MaskTypeError,
    MetricInputError,
    check_mask,
    check_masks,
    check_spacing,
    check_tolerance,
)


def test_boolean_masks_pass_unchanged() -> None:
    mask = np.zeros((2, 3, 4), bool)
    assert check_mask("prediction", mask) is mask
    pred, ref = check_masks(mask, mask, ndim=3)
    assert pred is mask and ref is mask


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
def test_non_boolean_mask(dtype: type) -> None:
    with pytest.raises(MaskTypeError, match=rf"reference has dtype {np.dtype(dtype)}, expected bool"):
        check_mask("reference", np.zeros((2, 2, 2), dtype))


def test_not_an_array() -> None:
    with pytest.raises(MaskTypeError, match="prediction is a list, expected bool numpy array"):
        check_mask("prediction", [[True]])


def test_wrong_number_of_axes_names_the_argument() -> None:
    with pytest.raises(MetricInputError, match=r"reference has shape \(4, 4\) \(2D\), expected a 3D array"):
        check_masks(np.zeros((4, 4, 1), bool), np.zeros((4, 4), bool), ndim=3)


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (0.0, 1.0, 1.0), (1.0, -0.5, 1.0),
                                     (1.0, 1.0, math.nan), (math.inf, 1.0, 1.0), ("a", 1.0, 1.0), 1.5, None])
def test_bad_spacing(spacing: Any) -> None:
    with pytest.raises(MetricInputError, match=r"spacing is .*expected three .*voxel sizes in mm \(sx, sy, sz\)"):
        check_spacing(spacing)


def test_spacing_from_numpy() -> None:
    assert check_spacing(np.array([0.8, 0.8, 2.5], np.float32)) == pytest.approx((0.8, 0.8, 2.5))


@pytest.mark.parametrize("tolerance", [-0.1, math.nan, math.inf, "two", None])
def test_bad_tolerance(tolerance: Any) -> None:
    with pytest.raises(MetricInputError, match=r"tolerance_mm is .*, expected a .*distance in mm >= 0"):
        check_tolerance(tolerance)


def test_errors_belong_to_the_suite_and_to_the_builtin_kinds() -> None:
    assert issubclass(MaskTypeError, TypeError) and issubclass(MaskTypeError, BenchmarkError)
    assert issubclass(MetricInputError, ValueError) and issubclass(MetricInputError, BenchmarkError)
    assert check_tolerance(0) == 0.0
