"""ROI cropping, intensity normalisation and the inverse mapping of predictions (supplementary S1.3.2, S1.4.2).

Coordinates: a 2D slice is an array (U, V) with in-plane axes (u, v). Pixel (i, j) covers the continuous square
[i, i + 1) x [j, j + 1), so a half-open box (u0, v0, u1, v1) of pixel indices is the continuous rectangle of the same
numbers. A :class:`CropWindow` is such a rectangle with float corners; it may reach past the slice, where the crop
is padded with the slice minimum. ``crop_resize`` samples the window on a ``size`` x ``size`` grid whose pixel
centres sit at ``u0 + (i + 0.5) * (u1 - u0) / size``; ``paste_back`` applies the exact inverse affine map, so a
prediction lands on the original pixel centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

__all__ = [
    "CropWindow",
    "box_window",
    "mask_box",
    "crop_resize",
    "paste_back",
    "percentile_window",
    "normalise",
    "normalise_windows",
    "to_network_input",
]


@dataclass(frozen=True)
class CropWindow:
    """A half-open rectangle [u0, u1) x [v0, v1) in continuous pixel coordinates of a slice (U, V).

    Raises:
        ValueError: A corner that is not finite, or an empty rectangle.
    """

    u0: float
    v0: float
    u1: float
    v1: float

    def __post_init__(self) -> None:
        corners = (self.u0, self.v0, self.u1, self.v1)
        if not all(math.isfinite(c) for c in corners) or self.u1 <= self.u0 or self.v1 <= self.v0:
            raise ValueError(f"CropWindow needs finite corners with u1 > u0 and v1 > v0, got {corners}")

    @property
    def width(self) -> float:
        """Extent along u, in pixels."""
        return self.u1 - self.u0

    @property
    def height(self) -> float:
        """Extent along v, in pixels."""
        return self.v1 - self.v0

    @property
    def center(self) -> tuple[float, float]:
        return (self.u0 + self.u1) / 2.0, (self.v0 + self.v1) / 2.0


def box_window(box: tuple[float, float, float, float], scale: float | tuple[float, float] = 1.0) -> CropWindow:
    """The window of a half-open box (u0, v0, u1, v1), scaled about its centre.

    Args:
        box: Half-open box in pixel indices.
        scale: One factor, or (factor along u, factor along v); the paper's training jitter draws 1.0 to 1.25
            (Box2Mask) or 1.0 to 2.0 (PropMask context).

    Raises:
        ValueError: A box of zero or negative area, or a non-positive scale.
    """
    u0, v0, u1, v1 = (float(b) for b in box)
    if isinstance(scale, tuple):
        su, sv = float(scale[0]), float(scale[1])
    else:
        su = sv = float(scale)
    if not (u1 > u0 and v1 > v0):
        raise ValueError(f"box (u0, v0, u1, v1) must have u1 > u0 and v1 > v0, got {tuple(box)}")
    if not (su > 0 and sv > 0):
        raise ValueError(f"box scale must be positive, got {scale}")
    cu, cv = (u0 + u1) / 2.0, (v0 + v1) / 2.0
    hu, hv = (u1 - u0) * su / 2.0, (v1 - v0) * sv / 2.0
    return CropWindow(cu - hu, cv - hv, cu + hu, cv + hv)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The tightest half-open box (u0, v0, u1, v1) around a 2D mask (U, V), or None when it is empty."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask_box needs a 2D mask (U, V), got shape {mask.shape}")
    us, vs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if us.size == 0:
        return None
    return int(us[0]), int(vs[0]), int(us[-1]) + 1, int(vs[-1]) + 1


def _check_slice(name: str, array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty 2D array (U, V), got shape {array.shape}")
    return array


def crop_resize(slice_uv: np.ndarray, window: CropWindow, size: int = 224, order: int = 1) -> np.ndarray:
    """Sample ``window`` of a slice on a ``size`` x ``size`` grid.

    Args:
        slice_uv: (U, V) slice.
        window: The region to crop; parts outside the slice are filled with the slice minimum.
        size: Output side in pixels.
        order: Spline order (0 nearest, for masks; 1 bilinear, for images).

    Returns:
        (size, size) float32.
    """
    data = _check_slice("crop_resize slice_uv", slice_uv).astype(np.float32, copy=False)
    step_u, step_v = window.width / size, window.height / size
    # Output pixel i has its centre at u0 + (i + 0.5) * step; the input pixel index of that point is that minus 0.5.
    offset = (window.u0 + 0.5 * step_u - 0.5, window.v0 + 0.5 * step_v - 0.5)
    out: np.ndarray = ndimage.affine_transform(data, np.array([step_u, step_v]), offset=offset,
                                               output_shape=(size, size), order=order, mode="nearest",
                                               prefilter=order > 1).astype(np.float32, copy=False)
    centres_u = window.u0 + (np.arange(size) + 0.5) * step_u
    centres_v = window.v0 + (np.arange(size) + 0.5) * step_v
    outside = ((centres_u < 0) | (centres_u >= data.shape[0]))[:, None] | \
        ((centres_v < 0) | (centres_v >= data.shape[1]))[None, :]
    if outside.any():
        out[outside] = data.min()
    return out


def paste_back(prob: np.ndarray, window: CropWindow, slice_shape: tuple[int, int]) -> np.ndarray:
    """Map a (size, size) prediction of ``crop_resize(.., window, size)`` back onto the slice grid.

    Args:
        prob: (size, size) probabilities (or logits) on the window grid.
        window: The window the prediction was made on.
        slice_shape: (U, V) of the original slice.

    Returns:
        (U, V) float32; 0 outside the window.
    """
    data = _check_slice("paste_back prob", prob).astype(np.float32, copy=False)
    if data.shape[0] != data.shape[1]:
        raise ValueError(f"paste_back prob must be square (size, size), got shape {data.shape}")
    if len(slice_shape) != 2 or min(slice_shape) < 1:
        raise ValueError(f"paste_back slice_shape must be (U, V) with positive sides, got {slice_shape}")
    size = data.shape[0]
    scale_u, scale_v = size / window.width, size / window.height
    # Slice pixel u has its centre at u + 0.5, which is window-grid coordinate (u + 0.5 - u0) * scale - 0.5.
    offset = ((0.5 - window.u0) * scale_u - 0.5, (0.5 - window.v0) * scale_v - 0.5)
    out: np.ndarray = ndimage.affine_transform(data, np.array([scale_u, scale_v]), offset=offset,
                                   output_shape=tuple(int(s) for s in slice_shape), order=1, mode="nearest",
                                   prefilter=False).astype(np.float32, copy=False)
    centres_u = np.arange(slice_shape[0]) + 0.5
    centres_v = np.arange(slice_shape[1]) + 0.5
    outside = ((centres_u < window.u0) | (centres_u >= window.u1))[:, None] | \
        ((centres_v < window.v0) | (centres_v >= window.v1))[None, :]
    out[outside] = 0.0
    return out


def percentile_window(values: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """The (low, high) percentiles of ``values``: the paper's (v_min, v_max) from the pixels inside a mask.

    Raises:
        ValueError: No values, non-finite values, or percentiles outside 0 <= low < high <= 100.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("percentile_window values is empty; expected the intensities inside a non-empty mask")
    if not np.isfinite(values).all():
        raise ValueError(f"percentile_window values contain {int((~np.isfinite(values)).sum())} NaN or infinite "
                         "entries; expected finite intensities")
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"percentile_window needs 0 <= low < high <= 100, got low={low}, high={high}")
    vmin, vmax = np.percentile(values, [low, high])
    return float(vmin), float(vmax)


def normalise(x: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """The paper's 2 (f(x) - v_min) / (v_max - v_min) - 1 with f clipping to [v_min, v_max]; float32 in [-1, 1].

    Raises:
        ValueError: A constant (v_max <= v_min) or non-finite window.
    """
    if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmax <= vmin:
        raise ValueError(f"normalise needs a finite window with vmax > vmin, got vmin={vmin}, vmax={vmax} "
                         "(constant intensities inside the mask?)")
    x = np.clip(np.asarray(x, dtype=np.float32), vmin, vmax)
    return (2.0 * (x - np.float32(vmin)) / np.float32(vmax - vmin) - 1.0).astype(np.float32, copy=False)


def normalise_windows(x: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """:func:`normalise` of one image under N windows at once.

    Args:
        x: (H, W) intensities.
        windows: (N, 2) rows (v_min, v_max), each with v_max > v_min.

    Returns:
        (N, H, W) float32 in [-1, 1]; row n equals ``normalise(x, *windows[n])``.

    Raises:
        ValueError: Windows not (N, 2), not finite, or empty (v_max <= v_min).
    """
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 2 or windows.shape[1] != 2:
        raise ValueError(f"normalise_windows windows must be (N, 2) rows (v_min, v_max), got shape {windows.shape}")
    if not np.isfinite(windows).all() or (windows[:, 1] <= windows[:, 0]).any():
        raise ValueError("normalise_windows needs finite windows with v_max > v_min; got "
                         f"{windows[~(windows[:, 1] > windows[:, 0])][:3].tolist()} among {len(windows)}")
    lo, hi = (windows[:, k, None, None].astype(np.float32) for k in (0, 1))
    span = (windows[:, 1] - windows[:, 0]).astype(np.float32)[:, None, None]  # as normalise: the float64 difference
    clipped = np.clip(np.asarray(x, dtype=np.float32)[None], lo, hi)
    out: np.ndarray = (2.0 * (clipped - lo) / span - 1.0).astype(np.float32, copy=False)
    return out


def to_network_input(batch: np.ndarray) -> torch.Tensor:
    """Stack normalised crops (N, size, size) into the networks' 3-channel input (N, 3, size, size) float32."""
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 3:
        raise ValueError(f"to_network_input batch must be (N, size, size), got shape {batch.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(batch))
    return tensor[:, None].expand(-1, 3, -1, -1).contiguous()
