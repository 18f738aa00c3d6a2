"""SegVol's preprocessing and coordinate mappings, as pure functions on arrays and index tuples.

SegVol's released model folder (``BAAI/SegVol``: ``model_segvol_single.py``, ``SegVolProcessor`` and
``SegVolModel.forward_test``) prepares a volume and maps a 3D box like this; each step is a function here:

1. :func:`foreground_normalize`: voxels above the volume's mean are the foreground; the volume is clipped to their
   0.05 and 99.95 percentiles and z-scored with their mean and standard deviation.
2. :func:`transpose`: axes -1 and -3 swap, so the canonical (X, Y, Z) becomes SegVol's (D, H, W) = (Z, Y, X).
3. :func:`min_max`: to [0, 1].
4. :func:`foreground_crop`: MONAI ``CropForeground`` on the image (the bounding box of voxels above 0, margin 0).
5. :func:`nearest_sources` / :func:`zoom`: the zoom-out view, resized to 32 x 256 x 256 with torch's
   ``nearest-exact`` interpolation (SegVol's ``Resized``); the same index maps map back with ``nearest``.
6. :func:`box_to_zoom_out`: a 3D box as SegVol's box prompt ``[d_min, h_min, w_min, d_max, h_max, w_max]`` (maxima
   inclusive) in zoom-out coordinates: the bounding box of the box's voxels after the same resize (what SegVol's
   ``generate_box`` returns for a label). A box thinner than the zoom-out grid's voxels keeps, on that axis, the
   zoom-out voxel whose source is nearest its centre (where the resize would drop it entirely).
7. :func:`roi_from_logits`: the zoom-in region, SegVol's ``logits2roi_coor``: the zoom-out prediction's bounding box,
   widened on each axis by half the amount it falls short of the window, within the volume.
8. :func:`sliding_windows` and :func:`window_box`: MONAI's sliding windows over that region (window 32 x 256 x 256,
   overlap 0.5, regions smaller than the window padded symmetrically), and the box each window is prompted with.
9. :func:`uncrop`: the cropped (D, H, W) mask pasted into the full transposed grid, then transposed back.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Crop", "Windows", "foreground_normalize", "transpose", "min_max", "foreground_crop", "nearest_sources",
           "zoom", "box_to_zoom_out", "binary_cube", "roi_from_logits", "sliding_windows", "window_box",
           "box_of", "uncrop", "EMPTY_BOX"]

#: SegVol's ``generate_box`` result for an empty label.
EMPTY_BOX = (-1, -1, -1, -1, -1, -1)

Box6 = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class Crop:
    """A half-open region ``[start, stop)`` per axis of a (D, H, W) grid."""

    start: tuple[int, int, int]
    stop: tuple[int, int, int]

    @property
    def shape(self) -> tuple[int, int, int]:
        a, b, c = (hi - lo for lo, hi in zip(self.start, self.stop, strict=True))
        return a, b, c

    def slices(self) -> tuple[slice, slice, slice]:
        a, b, c = (slice(lo, hi) for lo, hi in zip(self.start, self.stop, strict=True))
        return a, b, c


@dataclass(frozen=True)
class Windows:
    """Sliding windows over a region: symmetric padding ``pad_before``/``pad_after`` per axis, window starts in the
    padded region (first axis slowest), and the window size."""

    pad_before: tuple[int, int, int]
    pad_after: tuple[int, int, int]
    starts: tuple[tuple[int, int, int], ...]
    size: tuple[int, int, int]

    @property
    def padded_shape(self) -> tuple[int, int, int]:
        """Never smaller than the window on any axis."""
        starts = np.array(self.starts)
        a, b, c = (int(v) for v in starts.max(axis=0) + np.array(self.size))
        return a, b, c


def foreground_normalize(volume: np.ndarray) -> np.ndarray:
    """Step 1 (float32, same shape).

    Raises:
        ValueError: No voxel lies above the mean (a constant volume).
    """
    values = volume.astype(np.float64)
    foreground = values[values > values.mean()]
    if foreground.size == 0:
        raise ValueError(f"SegVol's foreground normalisation needs voxels above the volume's mean; this volume is "
                         f"constant ({float(values.flat[0])})")
    lower, upper = np.percentile(foreground, [0.05, 99.95])
    scaled = (np.clip(values, lower, upper) - foreground.mean()) / max(float(foreground.std()), 1e-8)
    return np.asarray(scaled, dtype=np.float32)


def transpose(volume: np.ndarray) -> np.ndarray:
    """Step 2: swap the last and third-last axes ((X, Y, Z) <-> (Z, Y, X)); its own inverse."""
    return np.swapaxes(volume, -1, -3)


def min_max(volume: np.ndarray) -> np.ndarray:
    """Step 3: ``(v - min) / max(max - min, 1e-8)``."""
    shifted = volume - volume.min()
    return np.asarray(shifted / max(float(shifted.max()), 1e-8), dtype=np.float32)


def foreground_crop(volume: np.ndarray) -> Crop:
    """Step 4: the bounding box of voxels above 0.

    Raises:
        ValueError: No voxel is above 0.
    """
    axes = [np.flatnonzero(np.any(volume > 0, axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    if any(found.size == 0 for found in axes):
        raise ValueError("SegVol's foreground crop found no voxel above the volume's minimum")
    a, b, c = (int(found[0]) for found in axes)
    d, e, f = (int(found[-1]) + 1 for found in axes)
    return Crop((a, b, c), (d, e, f))


def nearest_sources(size_in: int, size_out: int, mode: str) -> np.ndarray:
    """For each output index, the input index torch's ``F.interpolate`` (``"nearest"`` or ``"nearest-exact"``) reads.

    Computed by torch itself on an index ramp, so float rounding is exactly that of the resize SegVol runs.
    """
    import torch
    import torch.nn.functional as F

    ramp = torch.arange(size_in, dtype=torch.float64)[None, None]
    picked = F.interpolate(ramp, size=size_out, mode=mode)
    return picked[0, 0].round().to(torch.int64).numpy()


def zoom(volume: np.ndarray, size: tuple[int, int, int], mode: str) -> np.ndarray:
    """``volume`` (D, H, W) resized to ``size`` by nearest-neighbour ``mode``."""
    index = [nearest_sources(n, m, mode) for n, m in zip(volume.shape, size, strict=True)]
    return np.asarray(volume[np.ix_(*index)])


def box_to_zoom_out(box: tuple[int, int, int, int, int, int], crop: Crop, size: tuple[int, int, int],
                    mode: str) -> Box6:
    """Step 6: a half-open box ``(d0, h0, w0, d1, h1, w1)`` on the transposed full grid as SegVol's zoom-out box.

    Raises:
        ValueError: The box lies outside the foreground crop on some axis (SegVol would not see the object).
    """
    lows, highs = [], []
    for axis in range(3):
        low = max(box[axis], crop.start[axis]) - crop.start[axis]
        high = min(box[axis + 3], crop.stop[axis]) - crop.start[axis]
        if low >= high:
            raise ValueError(f"SegVol: the box {box} lies outside the volume's foreground crop "
                             f"[{crop.start}, {crop.stop}) on axis {axis} of (D, H, W)")
        sources = nearest_sources(crop.shape[axis], size[axis], mode)
        picked = np.flatnonzero((sources >= low) & (sources < high))
        if picked.size == 0:  # thinner than a zoom-out voxel: the voxel whose source is nearest the box's centre
            picked = np.array([int(np.argmin(np.abs(sources + 0.5 - (low + high) / 2.0)))])
        lows.append(int(picked[0]))
        highs.append(int(picked[-1]))
    return lows[0], lows[1], lows[2], highs[0], highs[1], highs[2]


def binary_cube(box: Box6, shape: tuple[int, int, int]) -> np.ndarray:
    """SegVol's ``build_binary_cube``: True on ``box`` (maxima inclusive) in a grid of ``shape``."""
    cube = np.zeros(shape, dtype=bool)
    if box != EMPTY_BOX:
        cube[box[0]:box[3] + 1, box[1]:box[4] + 1, box[2]:box[5] + 1] = True
    return cube


def box_of(mask: np.ndarray) -> Box6:
    """SegVol's ``generate_box``: the bounding box of ``mask`` (maxima inclusive), EMPTY_BOX when it is empty."""
    found = np.nonzero(mask)
    if found[0].size == 0:
        return EMPTY_BOX
    a, b, c = (int(f.min()) for f in found)
    d, e, f = (int(f.max()) for f in found)
    return a, b, c, d, e, f


def roi_from_logits(positive: np.ndarray, window: tuple[int, int, int]) -> Crop | None:
    """Step 7 on the zoom-out prediction ``positive`` (D, H, W booleans); None when it is empty."""
    box = box_of(positive)
    if box == EMPTY_BOX:
        return None
    start, stop = [], []
    for axis in range(3):
        low, high = box[axis], box[axis + 3]
        padding = max(0, window[axis] - (high - low + 1)) // 2
        start.append(max(0, low - padding))
        stop.append(min(high + padding + 1, positive.shape[axis]))
    return Crop((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))


def _starts(size: int, window: int, overlap: float) -> list[int]:
    """MONAI's ``dense_patch_slices`` on one axis of the padded region."""
    interval = window if window == size else max(int(window * (1 - overlap)), 1)
    count = next(d for d in range(math.ceil(size / interval)) if d * interval + window >= size) + 1
    return [i * interval - max(i * interval + window - size, 0) for i in range(count)]


def sliding_windows(shape: tuple[int, int, int], window: tuple[int, int, int], overlap: float = 0.5) -> Windows:
    """Step 8: MONAI's sliding windows over a region of ``shape``."""
    before, after, padded = [], [], []
    for size, win in zip(shape, window, strict=True):
        missing = max(win - size, 0)
        before.append(missing // 2)
        after.append(missing - missing // 2)
        padded.append(max(size, win))
    per_axis = [_starts(size, win, overlap) for size, win in zip(padded, window, strict=True)]
    starts = tuple((a, b, c) for a, b, c in itertools.product(*per_axis))
    return Windows((before[0], before[1], before[2]), (after[0], after[1], after[2]), starts,
                   (window[0], window[1], window[2]))


def window_box(windows: Windows, start: tuple[int, int, int], cube: np.ndarray, zoom_out_positive: np.ndarray, *,
               align_single_window: bool) -> Box6:
    """The box prompt of the window at ``start`` (padded-region coordinates), in that window's coordinates.

    With several windows it is the box of the zoom-out prediction inside the window (EMPTY_BOX when there is none).
    With one window it is the box of ``cube``, the box prompt upsampled to the region: SegVol's released code takes
    it from the unpadded region, so when the region is padded the box is not shifted by the padding; with
    ``align_single_window`` it is shifted into the padded window.

    Args:
        windows: The region's windows.
        start: One of ``windows.starts``.
        cube: The box prompt on the (unpadded) region.
        zoom_out_positive: The zoom-out prediction on the (unpadded) region.
        align_single_window: Shift a single window's box by the padding.
    """
    if len(windows.starts) == 1:
        box = box_of(cube)
        if align_single_window and box != EMPTY_BOX:
            shift = windows.pad_before * 2
            a, b, c, d, e, f = (v + s for v, s in zip(box, shift, strict=True))
            box = (a, b, c, d, e, f)
        return box
    padded = np.pad(zoom_out_positive, list(zip(windows.pad_before, windows.pad_after, strict=True)))
    region = padded[tuple(slice(s, s + n) for s, n in zip(start, windows.size, strict=True))]
    return box_of(region)


def uncrop(mask: np.ndarray, crop: Crop, full_shape: tuple[int, int, int]) -> np.ndarray:
    """Step 9: a (D, H, W) mask on ``crop`` pasted into a zero grid of ``full_shape`` (D, H, W), returned as
    (X, Y, Z) on the canonical grid."""
    full = np.zeros(full_shape, dtype=bool)
    full[crop.slices()] = mask
    return np.ascontiguousarray(transpose(full))
