from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from baselines.box_fill import BoxFill
from benchmark.data.geometry import Plane
from benchmark.protocol.prompts import Box2D, Box3D


def _case(shape: tuple[int, int, int] = (10, 8, 6)) -> SimpleNamespace:
    return SimpleNamespace(image=np.zeros((1, *shape), np.float32), spacing=(1.0, 1.0, 1.0))


def test_fills_the_transverse_box_over_the_z_range() -> None:
    out = BoxFill().segment(_case(), Box3D((2, 1, 1, 5, 4, 3), 2))
    expected = np.zeros((10, 8, 6), bool)
    expected[2:5, 1:4, 1:3] = True
    assert out.dtype == np.bool_ and np.array_equal(out, expected)


def test_refuses_other_prompts_and_bad_boxes() -> None:
    with pytest.raises(ValueError, match=r"takes prompts of kind \['box3d'\], got 'box2d'"):
        BoxFill().segment(_case(), Box2D(Plane.AXIAL, 2, (0, 0, 3, 3)))
    with pytest.raises(ValueError, match="outside the image of shape"):
        BoxFill().segment(_case(), Box3D((2, 1, 1, 11, 4, 3), 2))
    with pytest.raises(ValueError, match="is empty"):
        BoxFill().segment(_case(), Box3D((2, 1, 3, 5, 4, 3), 3))
