"""Phantom training cases for the training tests: noisy volumes with one ellipsoid object each."""

from __future__ import annotations

import numpy as np

from propsam.training import TrainingCase
from tests.synthetic import blob


def phantom_case(seed: int, shape: tuple[int, int, int] = (40, 40, 16),
                 spacing: tuple[float, float, float] = (1.0, 1.0, 2.5)) -> TrainingCase:
    """An (X, Y, Z) noisy image with a bright ellipsoid "obj" whose centre moves with the seed."""
    rng = np.random.default_rng(seed)
    centre = (shape[0] / 2 + rng.uniform(-4, 4), shape[1] / 2 + rng.uniform(-4, 4), shape[2] / 2)
    mask = blob(shape, centre, (shape[0] / 4.5, shape[1] / 5.5, shape[2] / 2.7))
    image = rng.normal(0.0, 10.0, shape) + 100.0 * mask
    return TrainingCase(case_id=f"phantom{seed}", image=image, masks={"obj": mask}, spacing=spacing)
