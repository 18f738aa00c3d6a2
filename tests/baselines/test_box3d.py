from __future__ import annotations

import numpy as np
import pytest

from baselines.box3d import require_box3d
from benchmark.data.geometry import Plane
from benchmark.protocol.prompts import Box2D, Box3D, Mask2D


def test_accepts_a_box_inside_the_image_also_touching_its_border() -> None:
    prompt = Box3D((0, 0, 0, 10, 8, 6), 5)
    assert require_box3d("M", prompt, (10, 8, 6)) is prompt


@pytest.mark.parametrize(("prompt", "message"), [
    (Box2D(Plane.AXIAL, 2, (0, 0, 3, 3)), r"M takes prompts of kind \['box3d'\], got 'box2d'"),
    (Mask2D(Plane.AXIAL, 2, np.ones((10, 8), bool)), "got 'mask2d'"),
    (Box3D((2, 1, 1, 11, 4, 3), 2), r"outside the image of shape \(10, 8, 6\)"),
    (Box3D((2, 1, 3, 5, 4, 3), 3), "is empty"),
    (Box3D((2, 1, 1, 5, 4, 3), 4), r"drawn on slice 4, outside the box's z-range \[1, 3\)"),
])
def test_refusals_name_what_was_wrong(prompt: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        require_box3d("M", prompt, (10, 8, 6))
