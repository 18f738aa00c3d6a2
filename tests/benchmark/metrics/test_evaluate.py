from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from benchmark.metrics import SegmentationMetrics, evaluate_segmentation
from benchmark.metrics.dice import compute_dice
from benchmark.metrics.surface import compute_surface_metrics

SPACING = (0.8, 1.1, 2.5)
FIELDS = ("dice", "nsd", "hd95_mm", "tolerance_mm", "tp", "fp", "fn", "n_reference", "n_prediction",
          "reference_volume_mm3", "prediction_volume_mm3", "reference_surface_mm2", "prediction_surface_mm2")


def _pair() -> tuple[np.ndarray, np.ndarray]:
    # An ellipsoid touching the array's x = 0 face and a shifted, smaller copy; (X, Y, Z) = (30, 24, 16).
    grid = np.indices((30, 24, 16), dtype=float)
    reference = ((grid[0] - 3) / 9) ** 2 + ((grid[1] - 12) / 7) ** 2 + ((grid[2] - 8) / 4) ** 2 <= 1
    prediction = ((grid[0] - 6) / 8) ** 2 + ((grid[1] - 11) / 7) ** 2 + ((grid[2] - 8) / 5) ** 2 <= 1
    return prediction, reference


def test_fields_and_plain_values() -> None:
    prediction, reference = _pair()
    result = evaluate_segmentation(prediction, reference, spacing=SPACING, tolerance_mm=1.5)
    assert tuple(f.name for f in dataclasses.fields(SegmentationMetrics)) == FIELDS
    values = result.as_dict()
    assert values == dataclasses.asdict(result)
    assert all(type(values[name]) is float for name in FIELDS if name not in ("tp", "fp", "fn", "n_reference",
                                                                            "n_prediction"))
    assert all(type(values[name]) is int for name in ("tp", "fp", "fn", "n_reference", "n_prediction"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.dice = 0.0  # type: ignore[misc]


def test_same_values_as_the_metrics_on_the_whole_volume() -> None:
    prediction, reference = _pair()
    result = evaluate_segmentation(prediction, reference, spacing=SPACING, tolerance_mm=1.5)
    dice = compute_dice(prediction, reference)
    surface = compute_surface_metrics(prediction, reference, spacing=SPACING, tolerance_mm=1.5)
    assert (result.dice, result.tp, result.fp, result.fn) == (dice.dice, dice.tp, dice.fp, dice.fn)
    assert (result.n_reference, result.n_prediction) == (int(reference.sum()), int(prediction.sum()))
    assert (result.nsd, result.hd95_mm, result.tolerance_mm) == (surface.nsd, surface.hd95_mm, 1.5)
    assert result.reference_surface_mm2 == surface.reference_surface_mm2
    voxel = 0.8 * 1.1 * 2.5
    assert result.reference_volume_mm3 == pytest.approx(reference.sum() * voxel)
    assert result.prediction_volume_mm3 == pytest.approx(prediction.sum() * voxel)
    assert 0 < result.nsd < 1 and 0 < result.dice < 1 and result.hd95_mm > 0


def test_memory_order_and_views_do_not_matter() -> None:
    prediction, reference = _pair()
    c_order = evaluate_segmentation(prediction, reference, spacing=SPACING)
    fortran = evaluate_segmentation(np.asfortranarray(prediction), np.asfortranarray(reference), spacing=SPACING)
    assert fortran == c_order
    # A reversed view of both masks and spacing along x gives the same numbers.
    flipped = evaluate_segmentation(prediction[::-1], reference[::-1], spacing=SPACING)
    assert flipped.hd95_mm == pytest.approx(c_order.hd95_mm) and flipped.nsd == pytest.approx(c_order.nsd)


def test_default_tolerance_is_two_mm() -> None:
    prediction, reference = _pair()
    assert evaluate_segmentation(prediction, reference, spacing=SPACING).tolerance_mm == 2.0


def test_empty_mask_policy() -> None:
    empty = np.zeros((6, 6, 6), bool)
    some = empty.copy()
    some[1:3, 1:4, 2:5] = True
    both = evaluate_segmentation(empty, empty, spacing=SPACING)
    assert all(math.isnan(v) for v in (both.dice, both.nsd, both.hd95_mm))
    assert (both.tp, both.fp, both.fn, both.reference_volume_mm3, both.reference_surface_mm2) == (0, 0, 0, 0.0, 0.0)
    missed = evaluate_segmentation(empty, some, spacing=SPACING)
    assert (missed.dice, missed.nsd, missed.hd95_mm) == (0.0, 0.0, math.inf)
    assert (missed.fn, missed.n_prediction, missed.prediction_volume_mm3) == (18, 0, 0.0)
    assert missed.reference_volume_mm3 == pytest.approx(18 * 0.8 * 1.1 * 2.5) and missed.reference_surface_mm2 > 0
    hallucinated = evaluate_segmentation(some, empty, spacing=SPACING)
    assert (hallucinated.dice, hallucinated.nsd, hallucinated.hd95_mm, hallucinated.fp) == (0.0, 0.0, math.inf, 18)


# ---- bad inputs: each refused with the argument, the value received and what was expected ------------------------

GOOD = np.zeros((5, 5, 5), bool)


@pytest.mark.parametrize(("prediction", "reference", "error", "message"), [
    (np.zeros((5, 5, 4), bool), GOOD, ValueError, r"prediction has shape \(5, 5, 4\), expected the reference's"),
    (GOOD.astype(np.float32), GOOD, TypeError, "prediction has dtype float32, expected bool"),
    (GOOD, GOOD.astype(np.uint8), TypeError, "reference has dtype uint8, expected bool"),
    (np.zeros((5, 5), bool), np.zeros((5, 5), bool), ValueError, r"prediction has shape \(5, 5\) \(2D\), expected"),
    (np.zeros((5, 5, 5, 1), bool), GOOD, ValueError, r"\(4D\), expected a 3D array"),
    (GOOD.tolist(), GOOD, TypeError, "prediction is a list, expected bool numpy array"),
], ids=["shape-mismatch", "probability-map", "label-map", "2d", "4d", "list"])
def test_bad_masks(prediction: Any, reference: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        evaluate_segmentation(prediction, reference, spacing=SPACING)


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.0, 1.0, 1.0), (1.0, -1.0, 1.0), (1.0, 1.0, math.nan),
                                     (1.0, math.inf, 1.0)],
                         ids=["two-values", "zero", "negative", "nan", "inf"])
def test_bad_spacing(spacing: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=r"spacing is .*, expected three finite positive voxel sizes in mm"):
        evaluate_segmentation(GOOD, GOOD, spacing=spacing)  # type: ignore[arg-type]


def test_spacing_is_required_and_keyword_only() -> None:
    with pytest.raises(TypeError, match="spacing"):
        evaluate_segmentation(GOOD, GOOD)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        evaluate_segmentation(GOOD, GOOD, (1.0, 1.0, 1.0))  # type: ignore[misc]


@pytest.mark.parametrize("tolerance", [-1.0, math.nan, math.inf], ids=["negative", "nan", "inf"])
def test_bad_tolerance(tolerance: float) -> None:
    with pytest.raises(ValueError, match=r"tolerance_mm is .*, expected a finite distance in mm >= 0"):
        evaluate_segmentation(GOOD, GOOD, spacing=SPACING, tolerance_mm=tolerance)
