"""Speed of the segmentation metrics on a liver-sized pair in a 512 x 512 x 300 CT grid, against surface-distance.

Run with ``nox -s perf`` (or ``pytest tests/perf --benchmark-enable --benchmark-only``); skipped otherwise. Both
sides run on one core (the k-d tree queries use one worker), so the ratio is a cost per core.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from benchmark.metrics import compute_surface_metrics, evaluate_segmentation

if TYPE_CHECKING:
    from tests.perf.conftest import PerfRecorder

__all__: list[str] = []

#: (X, Y, Z) of the grid, and its voxel size in mm (abdominal CT).
SHAPE = (512, 512, 300)
SPACING = (0.8, 0.8, 2.5)
TOLERANCE_MM = 2.0
#: Largest accepted time of NSD + HD95 over surface-distance's time for the same two numbers (5x faster).
SURFACE_OVER_REFERENCE_TARGET = 0.2


@dataclass(frozen=True)
class OrganPair:
    """A reference ellipsoid of liver size (about 2.1 l) and a prediction shifted and reshaped by a few mm."""

    prediction: np.ndarray
    reference: np.ndarray


def _ellipsoid(centre_mm: tuple[float, float, float], radii_mm: tuple[float, float, float]) -> np.ndarray:
    axes = [(np.arange(n) * s - c) / r for n, s, c, r in zip(SHAPE, SPACING, centre_mm, radii_mm, strict=True)]
    in_plane = axes[1][:, None] ** 2 + axes[2][None, :] ** 2  # (Y, Z); one x-slice at a time: no (X, Y, Z) floats
    mask = np.zeros(SHAPE, dtype=bool)
    for x, term in enumerate(axes[0] ** 2):
        np.less_equal(in_plane, 1.0 - term, out=mask[x])
    return mask


@pytest.fixture(scope="module")
def organ_pair() -> OrganPair:
    reference = _ellipsoid((200.0, 190.0, 370.0), (95.0, 75.0, 70.0))
    prediction = _ellipsoid((204.0, 187.0, 374.0), (92.0, 78.0, 66.0))
    return OrganPair(prediction, reference)


def _surface_distance() -> Any:
    return pytest.importorskip("surface_distance.metrics",
                               reason="surface-distance (test dependency group) is not installed")


def _reference_nsd_hd95(pair: OrganPair) -> tuple[float, float]:
    """NSD and HD95 the way benchmarks compute them with surface-distance (reference first)."""
    metrics = _surface_distance()
    with warnings.catch_warnings():  # deprecated scipy namespaces
        warnings.simplefilter("ignore", DeprecationWarning)
        distances = metrics.compute_surface_distances(pair.reference, pair.prediction, SPACING)
    return (float(metrics.compute_surface_dice_at_tolerance(distances, TOLERANCE_MM)),
            float(metrics.compute_robust_hausdorff(distances, 95)))


def test_nsd_hd95_against_surface_distance(organ_pair: OrganPair, perf: PerfRecorder) -> None:
    _surface_distance()
    ours = compute_surface_metrics(organ_pair.prediction, organ_pair.reference, spacing=SPACING,
                                   tolerance_mm=TOLERANCE_MM)
    nsd, hd95 = _reference_nsd_hd95(organ_pair)
    assert ours.nsd == pytest.approx(nsd, abs=1e-12) and ours.hd95_mm == pytest.approx(hd95, rel=1e-12)

    timing = perf.side_by_side(
        lambda: compute_surface_metrics(organ_pair.prediction, organ_pair.reference, spacing=SPACING,
                                        tolerance_mm=TOLERANCE_MM),
        lambda: _reference_nsd_hd95(organ_pair), rounds=5, warmup_rounds=1)

    perf.info(what=f"compute_surface_metrics (subject) vs surface-distance 0.1 compute_surface_distances + "
                   f"compute_surface_dice_at_tolerance + compute_robust_hausdorff(95) (baseline), {SHAPE} voxels "
                   f"of {SPACING} mm",
              reference_ml=float(organ_pair.reference.sum() * np.prod(SPACING) / 1e3),
              prediction_ml=float(organ_pair.prediction.sum() * np.prod(SPACING) / 1e3),
              surfels=ours.n_reference_surfels + ours.n_prediction_surfels, nsd=ours.nsd, hd95_mm=ours.hd95_mm,
              speedup=1 / timing.ratio)
    perf.target("surface_over_reference", timing.ratio, SURFACE_OVER_REFERENCE_TARGET,
                "NSD + HD95 time over surface-distance's for the same pair (target: 5x faster)")


def test_evaluate_segmentation(organ_pair: OrganPair, perf: PerfRecorder) -> None:
    """The whole per-object entry point (checks, crop, Dice, NSD, HD95, volumes) on the same pair."""
    result = evaluate_segmentation(organ_pair.prediction, organ_pair.reference, spacing=SPACING,
                                   tolerance_mm=TOLERANCE_MM)
    assert 0.8 < result.dice < 1.0 and 0.0 < result.nsd < 1.0

    median = perf.run(lambda: evaluate_segmentation(organ_pair.prediction, organ_pair.reference, spacing=SPACING,
                                                    tolerance_mm=TOLERANCE_MM), rounds=5, warmup_rounds=1)

    perf.info(what=f"evaluate_segmentation on {SHAPE} voxels of {SPACING} mm (liver-sized ellipsoids)",
              dice=result.dice, nsd=result.nsd, hd95_mm=result.hd95_mm, voxels_per_s=float(np.prod(SHAPE)) / median)
