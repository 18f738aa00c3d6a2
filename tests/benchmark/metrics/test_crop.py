from __future__ import annotations

import numpy as np
import pytest

from benchmark.metrics.crop import BoundingBox, bounding_box, padded_crop, union_box


@pytest.mark.parametrize("order", ["C", "F"])
def test_bounding_box_is_half_open_in_either_memory_order(order: str) -> None:
    mask = np.zeros((9, 8, 7), bool, order=order)
    mask[2, 3, 4] = mask[5, 1, 6] = True
    box = bounding_box(mask)
    assert box == BoundingBox((2, 1, 4), (6, 4, 7))
    assert box is not None and box.shape == (4, 3, 3)
    assert mask[box.slices].sum() == 2


def test_empty_mask_has_no_box_and_union_keeps_the_other() -> None:
    assert bounding_box(np.zeros((3, 3, 3), bool)) is None
    box = BoundingBox((1, 1, 1), (2, 2, 2))
    assert union_box(None, None) is None
    assert union_box(box, None) == box and union_box(None, box) == box
    assert union_box(box, BoundingBox((0, 1, 1), (1, 3, 2))) == BoundingBox((0, 1, 1), (2, 3, 2))


def test_padded_crop_adds_background_beyond_the_array_border() -> None:
    mask = np.zeros((4, 4, 4), bool)
    mask[0:2, 3, :] = True  # touches three faces of the array
    box = bounding_box(mask)
    assert box is not None
    crop = padded_crop(mask, box)
    assert crop.shape == (4, 3, 6) and crop.flags.c_contiguous
    assert crop.sum() == mask.sum()
    assert not crop[0].any() and not crop[-1].any() and not crop[:, 0].any() and not crop[:, :, -1].any()
    assert crop[1:-1, 1:-1, 1:-1].all()
