from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from baselines.naive import NaivePropagation
from benchmark.data.geometry import Plane
from benchmark.models.protocol import InteractiveModel
from benchmark.protocol.simulation import mask2d_prompt
from tests.synthetic import blob


def test_copies_the_guide_over_the_true_extent() -> None:
    mask = blob((20, 20, 12), (10, 10, 6), (5, 5, 4))
    prompt = mask2d_prompt(mask, Plane.AXIAL, with_extent=True)
    case = SimpleNamespace(image=np.zeros((1, 20, 20, 12)), spacing=(1.0, 1.0, 1.0))
    out = NaivePropagation().segment(case, prompt)
    start, stop = prompt.extent or (0, 0)
    assert (start, stop) == (2, 11) and prompt.leaks == ("extent",)
    assert np.array_equal(out[:, :, 5], prompt.mask) and not out[:, :, :start].any() and not out[:, :, stop:].any()
    assert isinstance(NaivePropagation(), InteractiveModel)


def test_needs_the_extent() -> None:
    mask = blob((10, 10, 6), (5, 5, 3), (3, 3, 2))
    case = SimpleNamespace(image=np.zeros((1, 10, 10, 6)), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="extent"):
        NaivePropagation().segment(case, mask2d_prompt(mask))
