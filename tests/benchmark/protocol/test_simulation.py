from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.geometry import Plane
from benchmark.protocol.simulation import SliceRule, box2d_prompt, guide_slice, mask2d_prompt, object_extent


def _cone() -> np.ndarray:
    # Cross-section grows with z: slice k holds a (k+1) x (k+1) square, on slices 2..7.
    mask = np.zeros((12, 12, 10), bool)
    for k in range(2, 8):
        mask[1:k + 2, 1:k + 2, k] = True
    return mask


def test_extent_and_guide_rules() -> None:
    mask = _cone()
    assert object_extent(mask, Plane.AXIAL) == (2, 8)
    assert guide_slice(mask, Plane.AXIAL, SliceRule.MIDDLE) == 4
    assert guide_slice(mask, Plane.AXIAL, SliceRule.LARGEST) == 7
    assert guide_slice(mask, Plane.AXIAL, SliceRule.MIDDLE, deviation=10) == 7  # kept inside the object


def test_box_is_tight_and_half_open() -> None:
    prompt = box2d_prompt(_cone(), Plane.AXIAL)
    assert prompt.slice_index == 4 and prompt.box == (1, 1, 6, 6)


def test_mask_prompt_on_coronal_plane_has_x_z_axes() -> None:
    prompt = mask2d_prompt(_cone(), Plane.CORONAL)
    assert prompt.mask.shape == (12, 10) and prompt.extent is None and prompt.leaks == ()


def test_guide_snaps_to_foreground_between_two_parts() -> None:
    # Two lesions on slices 1-2 and 7-8: the middle of the extent (slice 4) is empty.
    mask = np.zeros((6, 6, 10), bool)
    mask[1:3, 1:3, 1:3] = True
    mask[3:5, 3:5, 7:9] = True
    index = guide_slice(mask, Plane.AXIAL, SliceRule.MIDDLE)
    assert index in (2, 7) and mask[:, :, index].any()
    assert mask2d_prompt(mask).mask.any()


def test_empty_object() -> None:
    with pytest.raises(ValueError, match="empty"):
        mask2d_prompt(np.zeros((4, 4, 4), bool))
