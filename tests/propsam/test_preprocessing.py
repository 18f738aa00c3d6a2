"""Tests of propsam.preprocessing: windows, crop and inverse mapping, percentile normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from propsam.preprocessing import (
    CropWindow,
    box_window,
    crop_resize,
    mask_box,
    normalise,
    paste_back,
    percentile_window,
    to_network_input,
)


def _ramp(shape: tuple[int, int] = (40, 30)) -> np.ndarray:
    u, v = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    return (2.0 * u + 3.0 * v + 1.0).astype(np.float32)  # (U, V), linear: bilinear resampling is exact


def test_box_window_scales_about_the_centre() -> None:
    assert box_window((10, 20, 30, 40)) == CropWindow(10.0, 20.0, 30.0, 40.0)
    assert box_window((10, 20, 30, 40), 1.5) == CropWindow(5.0, 15.0, 35.0, 45.0)
    assert box_window((10, 20, 30, 40), (1.0, 2.0)) == CropWindow(10.0, 10.0, 30.0, 50.0)


@pytest.mark.parametrize("box", [(5, 5, 5, 10), (5, 5, 10, 4)])
def test_box_window_refuses_zero_area(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match=r"box \(u0, v0, u1, v1\) must have u1 > u0"):
        box_window(box)


def test_crop_window_refuses_empty_or_nan() -> None:
    with pytest.raises(ValueError, match="CropWindow needs finite corners"):
        CropWindow(0.0, 0.0, float("nan"), 1.0)


@pytest.mark.parametrize("size", [16, 64])  # downsampling and upsampling
def test_paste_back_inverts_crop_resize_inside_the_window(size: int) -> None:
    image = _ramp()
    window = box_window((5, 4, 25, 20))
    restored = paste_back(crop_resize(image, window, size=size), window, image.shape)
    inside = (slice(6, 24), slice(5, 19))  # pixel centres at least half a grid step inside the window
    np.testing.assert_allclose(restored[inside], image[inside], atol=1e-3)
    assert (restored[:5] == 0).all() and (restored[25:] == 0).all()  # outside the window: no prediction


def test_crop_outside_the_slice_pads_with_the_slice_minimum() -> None:
    image = _ramp((10, 10))
    crop = crop_resize(image, CropWindow(-10.0, -10.0, 10.0, 10.0), size=20)
    assert (crop[:10, :] == image.min()).all() and (crop[:, :10] == image.min()).all()
    np.testing.assert_allclose(crop[10:, 10:], image)  # one output pixel per input pixel


def test_crop_resize_of_a_mask_with_nearest_stays_binary() -> None:
    mask = np.zeros((20, 20), dtype=np.float32)
    mask[5:15, 8:12] = 1
    crop = crop_resize(mask, box_window(mask_box(mask) or (0, 0, 1, 1), 1.25), size=32, order=0)
    assert set(np.unique(crop)) == {0.0, 1.0}


def test_mask_box() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    assert mask_box(mask) is None
    mask[3:7, 10:12] = True
    assert mask_box(mask) == (3, 10, 7, 12)


def test_percentile_window_and_normalise() -> None:
    values = np.arange(1001, dtype=np.float32)
    vmin, vmax = percentile_window(values)
    assert (vmin, vmax) == pytest.approx((5.0, 995.0))
    # Linear interpolation between order statistics, by hand: on (30, 0, 20, 10) the q-th percentile sits at sorted
    # position q / 100 * 3; 0.5th: 0.015 -> 0.15, 99.5th: 2.985 -> 29.85; 25th: 0.75 -> 7.5, 75th: 2.25 -> 22.5.
    # (The "nearest" or "lower" rules would give 0 and 30, or 0 and 20.)
    unsorted = np.array([30.0, 0.0, 20.0, 10.0])
    assert percentile_window(unsorted) == pytest.approx((0.15, 29.85))
    assert percentile_window(unsorted, 25.0, 75.0) == pytest.approx((7.5, 22.5))
    out = normalise(np.array([-100.0, 5.0, 500.0, 995.0, 5000.0]), vmin, vmax)
    np.testing.assert_allclose(out, [-1.0, -1.0, 0.0, 1.0, 1.0], atol=1e-6)
    assert out.dtype == np.float32


def test_normalise_refuses_a_constant_window() -> None:
    with pytest.raises(ValueError, match=r"vmax > vmin, got vmin=3.0, vmax=3.0"):
        normalise(np.ones(4), *percentile_window(np.full(10, 3.0)))


def test_percentile_window_refuses_empty_and_nan() -> None:
    with pytest.raises(ValueError, match="values is empty"):
        percentile_window(np.array([]))
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        percentile_window(np.array([1.0, np.nan]))


def test_to_network_input_replicates_three_channels() -> None:
    batch = np.random.default_rng(0).normal(size=(2, 8, 8)).astype(np.float32)
    tensor = to_network_input(batch)
    assert tensor.shape == (2, 3, 8, 8) and tensor.dtype == torch.float32
    assert torch.equal(tensor[:, 0], tensor[:, 2]) and torch.equal(tensor[:, 1], torch.from_numpy(batch))
    with pytest.raises(ValueError, match=r"to_network_input batch must be \(N, size, size\)"):
        to_network_input(batch[0])
