"""PropSAM inference: Box2Mask's box stage with the normalisation search, PropMask propagation, the predictor."""

from __future__ import annotations

from propsam.inference.box_prompt import (
    COARSE_GRID,
    EXHAUSTIVE_GRID,
    BoxPromptResult,
    BoxPromptSettings,
    CandidateAggregation,
    PercentileGrid,
    SearchStrategy,
    WindowSearch,
)
from propsam.inference.planes import Plane
from propsam.inference.predictor import PropSAMPredictor, SegmentationResult
from propsam.inference.propagation import (
    DirectionTrace,
    PropagationSettings,
    PropagationTrace,
    StageSeconds,
    StopReason,
)
from propsam.inference.runtime import Precision

__all__ = [
    "PropSAMPredictor",
    "SegmentationResult",
    "Plane",
    "Precision",
    "SearchStrategy",
    "CandidateAggregation",
    "PercentileGrid",
    "EXHAUSTIVE_GRID",
    "COARSE_GRID",
    "BoxPromptSettings",
    "BoxPromptResult",
    "WindowSearch",
    "PropagationSettings",
    "PropagationTrace",
    "DirectionTrace",
    "StageSeconds",
    "StopReason",
]
