from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.metrics.dice import compute_dice


def test_shifted_block_by_hand() -> None:
    # Two 4 x 4 x 4 blocks (64 voxels) shifted by one voxel along x overlap in 3 x 4 x 4 = 48 voxels.
    a = np.zeros((10, 10, 10), bool)
    b = np.zeros_like(a)
    a[2:6, 2:6, 2:6] = True
    b[3:7, 2:6, 2:6] = True
    result = compute_dice(a, b)
    assert (result.tp, result.fp, result.fn) == (48, 16, 16)
    assert result.dice == pytest.approx(96 / 128)


def test_both_empty_is_nan_and_one_empty_is_zero() -> None:
    empty = np.zeros((3, 3, 3), bool)
    full = np.ones((3, 3, 3), bool)
    assert math.isnan(compute_dice(empty, empty).dice)
    assert compute_dice(empty, full).dice == 0.0


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"\(2, 2, 2\), expected the reference's \(3, 3, 3\)"):
        compute_dice(np.zeros((2, 2, 2), bool), np.zeros((3, 3, 3), bool))
