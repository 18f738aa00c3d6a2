"""SegVol's mappings as properties on seeded random shapes and boxes (each loop draws a few hundred cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baselines.segvol_geometry import (
    EMPTY_BOX,
    Crop,
    binary_cube,
    box_of,
    foreground_crop,
    foreground_normalize,
    min_max,
    roi_from_logits,
    sliding_windows,
    transpose,
    uncrop,
    window_box,
)

torch = pytest.importorskip("torch")

from baselines.segvol_geometry import box_to_zoom_out, zoom  # noqa: E402

WINDOW = (32, 256, 256)


def _random_box(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, int, int, int, int, int]:
    lows, highs = [], []
    for n in shape:
        a, b = sorted(int(v) for v in rng.integers(0, n + 1, 2))
        lows.append(a)
        highs.append(max(b, a + 1) if a < n else n)
        if lows[-1] == n:
            lows[-1] = n - 1
    return lows[0], lows[1], lows[2], highs[0], highs[1], highs[2]


def test_transpose_swaps_x_and_z_and_is_its_own_inverse() -> None:
    volume = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert transpose(volume).shape == (4, 3, 2) and transpose(volume)[3, 1, 0] == volume[0, 1, 3]
    assert np.array_equal(transpose(transpose(volume)), volume)


def test_foreground_normalisation_and_min_max() -> None:
    rng = np.random.default_rng(0)
    volume = np.concatenate([np.full(1000, -1000.0), rng.normal(40.0, 10.0, 1000)]).reshape(10, 20, 10)
    out = foreground_normalize(volume)
    foreground = volume[volume > volume.mean()]
    low = np.percentile(foreground, 0.05)
    assert out.dtype == np.float32 and out.shape == volume.shape
    assert out.min() == pytest.approx((low - foreground.mean()) / foreground.std(), rel=1e-5)
    assert np.isclose(out[volume > volume.mean()].mean(), 0.0, atol=0.01)
    scaled = min_max(out)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    with pytest.raises(ValueError, match="constant"):
        foreground_normalize(np.full((3, 3, 3), 5.0))


def test_foreground_crop_is_the_box_of_voxels_above_zero() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        shape = tuple(int(v) for v in rng.integers(1, 12, 3))
        volume = np.zeros(shape, np.float32)
        volume[rng.random(shape) < 0.05] = 0.5
        if not volume.any():
            with pytest.raises(ValueError, match="no voxel above"):
                foreground_crop(volume)
            continue
        crop = foreground_crop(volume)
        box = box_of(volume > 0)
        assert crop.start == box[:3] and crop.stop == tuple(v + 1 for v in box[3:])
        assert volume[crop.slices()].sum() == volume.sum()


@pytest.mark.parametrize("mode", ["nearest-exact", "nearest"])
def test_zoom_is_torchs_interpolation(mode: str) -> None:
    rng = np.random.default_rng(2)
    for _ in range(30):
        shape = tuple(int(v) for v in rng.integers(1, 70, 3))
        size = tuple(int(v) for v in rng.integers(1, 70, 3))
        volume = rng.random(shape).astype(np.float32)
        expected = torch.nn.functional.interpolate(torch.from_numpy(volume)[None, None], size=size, mode=mode)
        assert np.array_equal(zoom(volume, size, mode), expected[0, 0].numpy())  # type: ignore[arg-type]


def test_box_maps_into_zoom_out_as_segvols_generate_box_of_the_resized_box() -> None:
    rng = np.random.default_rng(3)
    fallbacks = 0
    for _ in range(300):
        full = tuple(int(v) for v in rng.integers(1, 90, 3))
        crop_box = _random_box(rng, full)
        crop = Crop(crop_box[:3], crop_box[3:])
        box = _random_box(rng, full)
        if any(max(box[a], crop.start[a]) >= min(box[a + 3], crop.stop[a]) for a in range(3)):
            with pytest.raises(ValueError, match="outside the volume's foreground crop"):
                box_to_zoom_out(box, crop, WINDOW, "nearest-exact")
            continue
        size = tuple(int(v) for v in rng.integers(4, 40, 3))
        mapped = box_to_zoom_out(box, crop, size, "nearest-exact")  # type: ignore[arg-type]
        mask = np.zeros(full, bool)
        mask[box[0]:box[3], box[1]:box[4], box[2]:box[5]] = True
        resized = torch.nn.functional.interpolate(torch.from_numpy(mask[crop.slices()]).float()[None, None],
                                                  size=size, mode="nearest-exact")[0, 0].numpy() > 0
        expected = box_of(resized)
        if expected != EMPTY_BOX:
            assert mapped == expected
            assert np.array_equal(binary_cube(mapped, size), resized)  # type: ignore[arg-type]
        else:  # the box is thinner than a zoom-out voxel on some axis: kept as one voxel there
            fallbacks += 1
            assert all(0 <= mapped[a] <= mapped[a + 3] < size[a] for a in range(3))
    assert fallbacks > 0


def test_a_one_slice_box_survives_zoom_out_as_the_nearest_slice() -> None:
    crop = Crop((0, 0, 0), (100, 40, 40))
    for z in range(100):
        mapped = box_to_zoom_out((z, 5, 5, z + 1, 30, 30), crop, WINDOW, "nearest-exact")
        assert mapped[0] == mapped[3] and abs((mapped[0] + 0.5) * 100 / 32 - (z + 0.5)) <= 100 / 32


def _logits2roi(positive: np.ndarray, window: tuple[int, int, int]) -> tuple[int, ...] | None:
    """SegVol's logits2roi_coor restated: inclusive minima and maxima, then slicing [min:max + 1]."""
    found = np.nonzero(positive)
    if found[0].size == 0:
        return None
    out_lo, out_hi = [], []
    for axis in range(3):
        lo, hi = int(found[axis].min()), int(found[axis].max())
        pad = max(0, window[axis] - (hi - lo + 1))
        out_lo.append(max(0, lo - pad // 2))
        out_hi.append(min(positive.shape[axis], hi + pad // 2))
    return tuple(out_lo) + tuple(len(range(positive.shape[a])[out_lo[a]:out_hi[a] + 1]) + out_lo[a]
                                  for a in range(3))


def test_zoom_in_region_is_segvols_logits2roi_coor() -> None:
    rng = np.random.default_rng(4)
    window = (8, 16, 16)
    for _ in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 40, 3))
        positive = np.zeros(shape, bool)
        box = _random_box(rng, shape)
        positive[box[0]:box[3], box[1]:box[4], box[2]:box[5]] = rng.random() < 0.9
        roi = roi_from_logits(positive, window)
        expected = _logits2roi(positive, window)
        assert (roi is None and expected is None) or (roi is not None and roi.start + roi.stop == expected)
        if roi is not None:
            assert positive[roi.slices()].sum() == positive.sum()


def _dense_patch_starts(size: int, window: int, overlap: float) -> list[int]:
    """MONAI's dense_patch_slices on one axis, restated."""
    interval = window if window == size else max(int(window * (1 - overlap)), 1)
    count = 1
    for d in range(int(math.ceil(size / interval))):
        if d * interval + window >= size:
            count = d + 1
            break
    return [min(i * interval, size - window) for i in range(count)]


def test_sliding_windows_cover_the_padded_region_like_monai() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 700, 3))
        windows = sliding_windows(shape, WINDOW, 0.5)  # type: ignore[arg-type]
        padded = tuple(max(s, w) for s, w in zip(shape, WINDOW, strict=True))
        assert windows.padded_shape == padded
        assert all(b + a + s == p for b, a, s, p in zip(windows.pad_before, windows.pad_after, shape, padded,
                                                         strict=True))
        assert all(abs(b - a) <= 1 and b <= a for b, a in zip(windows.pad_before, windows.pad_after, strict=True))
        per_axis = [_dense_patch_starts(p, w, 0.5) for p, w in zip(padded, WINDOW, strict=True)]
        assert sorted(windows.starts) == sorted((a, b, c) for a in per_axis[0] for b in per_axis[1]
                                                for c in per_axis[2])
        covered = np.zeros(padded, bool) if np.prod(padded) < 3e6 else None
        if covered is not None:
            for start in windows.starts:
                covered[tuple(slice(s, s + n) for s, n in zip(start, WINDOW, strict=True))] = True
            assert covered.all()


def test_window_boxes_follow_the_released_code() -> None:
    cube = np.zeros((6, 20, 24), bool)
    cube[1:4, 5:9, 10:20] = True
    windows = sliding_windows(cube.shape, (8, 32, 32))
    assert len(windows.starts) == 1 and windows.pad_before == (1, 6, 4)
    assert window_box(windows, windows.starts[0], cube, cube, align_single_window=False) == (1, 5, 10, 3, 8, 19)
    assert window_box(windows, windows.starts[0], cube, cube, align_single_window=True) == (2, 11, 14, 4, 14, 23)
    positive = np.zeros((40, 20, 20), bool)
    positive[10:30, 2:5, 3:9] = True
    several = sliding_windows(positive.shape, (8, 32, 32))
    boxes = {start: window_box(several, start, cube, positive, align_single_window=False)
             for start in several.starts}
    assert len(boxes) > 1
    for start, box in boxes.items():  # the zoom-out prediction inside each window, in window coordinates
        padded = np.pad(positive, list(zip(several.pad_before, several.pad_after, strict=True)))
        assert box == box_of(padded[start[0]:start[0] + 8, start[1]:start[1] + 32, start[2]:start[2] + 32])
    assert EMPTY_BOX in boxes.values()


def test_uncrop_puts_the_crop_back_on_the_case_grid() -> None:
    rng = np.random.default_rng(6)
    for _ in range(50):
        xyz = tuple(int(v) for v in rng.integers(1, 20, 3))
        mask_xyz = rng.random(xyz) < 0.3
        dhw = transpose(mask_xyz)
        if not dhw.any():
            continue
        box = box_of(dhw)
        crop = Crop(box[:3], tuple(v + 1 for v in box[3:]))  # type: ignore[arg-type]
        assert np.array_equal(uncrop(dhw[crop.slices()], crop, dhw.shape), mask_xyz)
