"""Segmentation metrics: pure functions on boolean masks and a voxel spacing in mm, raw counts kept beside each score.

The harness calls ``evaluate_segmentation(prediction, reference, spacing=..., tolerance_mm=2.0)`` once per object
and stores every field of the ``SegmentationMetrics`` it returns. Masks must be boolean (X, Y, Z) arrays of one shape;
nothing is thresholded here. ``spacing`` has no default (no silent 1 mm voxel). Modules: ``dice`` (Dice),
``surface`` (NSD and HD95, as defined by Nikolov et al. 2021 and the ``surface-distance`` package), ``surfels``
(surface element areas), ``crop`` (the bounding box every metric works on), ``inputs`` (checks and errors),
``evaluate`` (the entry point).

Empty-mask policy, the same in every metric:

=====================================  ======  ======  ======
prediction / reference                  Dice    NSD     HD95
=====================================  ======  ======  ======
both empty                              NaN     NaN     NaN
reference empty, prediction not         0.0     0.0     inf
prediction empty, reference not         0.0     0.0     inf
=====================================  ======  ======  ======

* Both empty: there is nothing to find and nothing was found; no score is defined (as nnU-Net's evaluation for
  Dice). Aggregations skip NaN.
* Exactly one empty: the object was missed entirely, or everything predicted is a false positive. That is the worst
  result, not a missing one: NaN would drop the failure from the means and flatter the model. Dice and NSD are 0
  (their denominators are positive and nothing overlaps), and HD95 is inf, the distance to an empty surface. A mean
  of HD95 over objects with an inf is inf, so reports use medians or count these cases apart; the raw counts
  (``n_reference``, ``n_prediction``) tell which case a row is, so a report may apply another convention (a
  maximal distance, say) without recomputing.
"""

from __future__ import annotations

from benchmark.metrics.dice import DiceResult, compute_dice
from benchmark.metrics.evaluate import SegmentationMetrics, evaluate_segmentation
from benchmark.metrics.inputs import MaskTypeError, MetricInputError
from benchmark.metrics.surface import (
    DEFAULT_TOLERANCE_MM,
    SurfaceDistances,
    SurfaceMetrics,
    compute_surface_distances,
    compute_surface_metrics,
    normalized_surface_dice,
    robust_hausdorff,
)

__all__ = [
    "DEFAULT_TOLERANCE_MM",
    "DiceResult",
    "MaskTypeError",
    "MetricInputError",
    "SegmentationMetrics",
    "SurfaceDistances",
    "SurfaceMetrics",
    "compute_dice",
    "compute_surface_distances",
    "compute_surface_metrics",
    "evaluate_segmentation",
    "normalized_surface_dice",
    "robust_hausdorff",
]
