"""Models for the harness's performance suite, loaded by reference (``tests.perf.harness_models:...``) like plug-ins.

``costly_propsam_2dmask`` is PropSAM-2DMask with the demo-size networks (SMALL at 64 px, the demo weights' shape)
whose answers come from thresholds (tests/propsam/inference/fakes.py): it pays the real networks' price while
following the object as trained weights do, so its time stands for the model time of PropSAM-2DMask on the demo.
``TimedModel`` adds up the wall time of every ``segment`` call (warm-up included), so the harness's overhead is the
rest of the run's time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["costly_propsam_2dmask", "TimedModel", "SEGMENT_SECONDS"]

#: Wall time of every segment call of TimedModel in this process.
SEGMENT_SECONDS: list[float] = []


class TimedModel:
    """Wraps a model and records the wall time of each ``segment`` call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.prompt_kinds = inner.prompt_kinds

    def to(self, device: str) -> TimedModel:
        self.inner.to(device)
        return self

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        start = time.perf_counter()
        try:
            return self.inner.segment(case, prompt)  # type: ignore[no-any-return]
        finally:
            SEGMENT_SECONDS.append(time.perf_counter() - start)


def costly_propsam_2dmask() -> TimedModel:
    import torch

    from propsam.inference.predictor import PropSAMPredictor
    from propsam.models import PropSAM2DMask
    from propsam.training.demo import DEMO_BOX2MASK, DEMO_PROPMASK
    from tests.propsam.inference.fakes import CostlyThresholdBox2Mask, CostlyThresholdPropMask

    torch.set_num_threads(1)
    predictor = PropSAMPredictor(CostlyThresholdBox2Mask(DEMO_BOX2MASK), CostlyThresholdPropMask(DEMO_PROPMASK))
    return TimedModel(PropSAM2DMask(predictor))
