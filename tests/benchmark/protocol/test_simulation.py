from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.geometry import Plane
from benchmark.protocol.simulation import (
    JITTER_RANGE,
    BoxJitter,
    BoxRatios,
    SliceRule,
    box2d_prompt,
    box3d_prompt,
    draw_ratios,
    guide_slice,
    mask2d_prompt,
    object_extent,
    scale_interval,
)


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
    assert guide_slice(mask) == 7  # the largest cross-section is the protocol's default
    assert guide_slice(mask, Plane.AXIAL, SliceRule.MIDDLE, deviation=10) == 7  # kept inside the object


def test_box_is_tight_and_half_open() -> None:
    prompt = box2d_prompt(_cone(), Plane.AXIAL, SliceRule.MIDDLE)
    assert prompt.slice_index == 4 and prompt.box == (1, 1, 6, 6)
    assert box2d_prompt(_cone()).box == (1, 1, 9, 9)  # slice 7


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


@pytest.mark.parametrize(("interval", "ratio", "limit", "expected"), [
    ((10, 20), 1.0, 64, (10, 20)),     # unchanged
    ((10, 20), 1.25, 64, (8, 22)),     # centre 15, half-width 6.25: [8.75, 21.25) widened to whole voxels
    ((10, 20), 1.2, 64, (9, 21)),      # exactly [9, 21)
    ((0, 10), 1.25, 64, (0, 12)),      # clipped at 0
    ((54, 64), 1.25, 64, (52, 64)),    # clipped at the limit
])
def test_scale_interval(interval: tuple[int, int], ratio: float, limit: int, expected: tuple[int, int]) -> None:
    assert scale_interval(*interval, ratio, limit) == expected


def test_ratios_are_three_draws_in_order_from_the_paper_range() -> None:
    ratios = draw_ratios(BoxJitter.PAPER, np.random.default_rng(5))
    expected = np.random.default_rng(5).uniform(*JITTER_RANGE, size=3)
    assert (ratios.u, ratios.v, ratios.z) == tuple(expected)
    assert draw_ratios("tight", None) == BoxRatios(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="needs a random generator"):
        draw_ratios(BoxJitter.PAPER, None)


def test_jittered_box_scales_width_and_height_independently() -> None:
    mask = np.zeros((64, 64, 5), bool)
    mask[20:40, 10:50, 1:4] = True  # 20 x 40 pixels on every slice
    box = box2d_prompt(mask, ratios=BoxRatios(1.2, 1.1, 1.0)).box
    assert box == (18, 8, 42, 52)  # 20 * 1.2 = 24 wide, 40 * 1.1 = 44 high, same centre (30, 30)


def test_box_of_an_object_touching_the_border_is_clipped() -> None:
    mask = np.zeros((16, 16, 4), bool)
    mask[0:6, 10:16, 1:3] = True
    u0, v0, u1, v1 = box2d_prompt(mask, ratios=BoxRatios(1.25, 1.25, 1.0)).box
    assert (u0, v1) == (0, 16) and u1 > 6 and v0 < 10


def test_box3d_adds_the_scaled_z_extent_and_declares_the_leak() -> None:
    mask = np.zeros((32, 32, 40), bool)
    mask[8:16, 8:24, 10:30] = True
    mask[8:20, 8:24, 18] = True  # largest cross-section on slice 18
    prompt = box3d_prompt(mask, ratios=BoxRatios(1.0, 1.0, 1.2))
    assert prompt.box == (8, 8, 8, 20, 24, 32)  # z: [10, 30) scaled by 1.2 about 20 is [8, 32)
    assert prompt.slice_index == 18 and prompt.leaks == ("z-extent",) and prompt.plane is Plane.AXIAL
    assert box3d_prompt(mask).box == (8, 8, 10, 20, 24, 30)
