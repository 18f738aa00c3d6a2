from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.metrics.dice import DiceResult, compute_dice
from benchmark.metrics.inputs import MaskTypeError, MetricInputError


def test_shifted_block_by_hand() -> None:
    # Two 4 x 4 x 4 blocks (64 voxels) shifted by one voxel along x overlap in 3 x 4 x 4 = 48 voxels.
    a = np.zeros((10, 10, 10), bool)
    b = np.zeros_like(a)
    a[2:6, 2:6, 2:6] = True
    b[3:7, 2:6, 2:6] = True
    result = compute_dice(a, b)
    assert (result.tp, result.fp, result.fn) == (48, 16, 16)
    assert (result.n_prediction, result.n_reference) == (64, 64)
    assert result.dice == pytest.approx(96 / 128)


def test_counts_follow_the_argument_order() -> None:
    prediction = np.zeros((4, 4), bool)   # 2D slices are accepted (the model check compares slices)
    reference = np.zeros((4, 4), bool)
    prediction[0, :3] = True
    reference[0, :1] = True
    result = compute_dice(prediction, reference)
    assert (result.tp, result.fp, result.fn, result.n_prediction, result.n_reference) == (1, 2, 0, 3, 1)


def test_both_empty_is_nan_and_one_empty_is_zero() -> None:
    empty = np.zeros((3, 3, 3), bool)
    full = np.ones((3, 3, 3), bool)
    assert math.isnan(compute_dice(empty, empty).dice)
    assert compute_dice(empty, full).dice == 0.0
    assert compute_dice(full, empty).dice == 0.0


def test_shape_mismatch() -> None:
    with pytest.raises(MetricInputError, match=r"\(2, 2, 2\), expected the reference's \(3, 3, 3\)"):
        compute_dice(np.zeros((2, 2, 2), bool), np.zeros((3, 3, 3), bool))


@pytest.mark.parametrize(("argument", "dtype"), [("prediction", np.float32), ("prediction", np.uint8),
                                                 ("reference", np.float64), ("reference", np.int16)])
def test_non_boolean_masks_are_refused_not_thresholded(argument: str, dtype: type) -> None:
    # A probability map (0.4 everywhere would be all True at > 0) or a label map must be thresholded by the caller.
    good = np.ones((3, 3, 3), bool)
    bad = np.full((3, 3, 3), 0.4 if np.issubdtype(dtype, np.floating) else 2, dtype=dtype)
    arguments = {"prediction": good, "reference": good, argument: bad}
    with pytest.raises(TypeError, match=rf"{argument} has dtype {np.dtype(dtype)}, expected bool") as info:
        compute_dice(arguments["prediction"], arguments["reference"])
    assert isinstance(info.value, MaskTypeError) and isinstance(info.value, BenchmarkError)


def test_non_array_is_refused() -> None:
    with pytest.raises(TypeError, match="prediction is a list, expected bool numpy array"):
        compute_dice([[True]], np.ones((1, 1), bool))  # type: ignore[arg-type]


def test_result_is_frozen_and_keyword_only() -> None:
    result = compute_dice(np.ones((2, 2), bool), np.ones((2, 2), bool))
    assert dataclasses.asdict(result) == {"dice": 1.0, "tp": 4, "fp": 0, "fn": 0, "n_reference": 4,
                                          "n_prediction": 4}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.dice = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        DiceResult(1.0, 4, 0, 0, 4, 4)  # type: ignore[misc]
