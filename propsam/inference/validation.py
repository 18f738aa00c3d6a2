"""Checks of user input to the predictor: every message names the argument, the value received and what was expected.

All checks raise ``ValueError`` (``TypeError`` where the type itself is wrong), before any network runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from propsam.inference.planes import Plane, normal_axis, slice_shape

__all__ = ["check_volume", "check_spacing", "check_slice_index", "check_box", "check_mask"]


def check_volume(volume: object, *, argument: str = "volume") -> np.ndarray:
    """A finite, non-constant (X, Y, Z) volume as float32.

    Raises:
        TypeError: Not an array of numbers.
        ValueError: Not 3D, empty, NaN or infinite values, or one value everywhere.
    """
    array = np.asarray(volume)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{argument}: expected a numeric (X, Y, Z) array, got dtype {array.dtype}")
    if array.ndim != 3:
        hint = " (select one channel first: the models and the CLI take `channel`)" if array.ndim == 4 else ""
        raise ValueError(f"{argument}: expected a 3D (X, Y, Z) image, got {array.ndim}D with shape {array.shape}"
                         f"{hint}")
    if 0 in array.shape:
        raise ValueError(f"{argument}: expected a non-empty (X, Y, Z) image, got shape {array.shape}")
    data = array.astype(np.float32, copy=False)
    finite = np.isfinite(data)
    if not finite.all():
        raise ValueError(f"{argument}: {int(data.size - finite.sum())} of {data.size} voxels are NaN or infinite; "
                         "expected finite intensities")
    if float(data.min()) == float(data.max()):
        raise ValueError(f"{argument}: constant intensities (every voxel is {float(data.min())}); expected an image "
                         "with contrast, normalisation needs v_max > v_min")
    return data


def check_spacing(spacing: object, *, argument: str = "spacing") -> tuple[float, float, float]:
    """Three finite positive voxel sizes in mm.

    Raises:
        ValueError: Not three values, or a value that is not finite and positive.
    """
    try:
        values = tuple(float(s) for s in spacing)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: expected three voxel sizes (sx, sy, sz) in mm, got {spacing!r}") from None
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"{argument}: expected three finite positive voxel sizes (sx, sy, sz) in mm, got {spacing!r}")
    return values[0], values[1], values[2]


def check_slice_index(index: object, volume_shape: tuple[int, ...], plane: Plane, *,
                      argument: str = "slice_index") -> int:
    """A slice index inside the volume along ``plane``'s normal.

    Raises:
        TypeError: Not an integer.
        ValueError: Outside [0, n).
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{argument}: expected an integer slice index, got {index!r} ({type(index).__name__})")
    depth = int(volume_shape[normal_axis(plane)])
    if not 0 <= int(index) < depth:
        raise ValueError(f"{argument}: {plane.value} slice {int(index)} is outside the volume; expected 0 <= index < "
                         f"{depth} (volume shape {tuple(volume_shape)})")
    return int(index)


def check_box(box: object, shape_uv: tuple[int, int], *, argument: str = "box") -> tuple[int, int, int, int]:
    """A half-open (u0, v0, u1, v1) box of positive area inside a (U, V) slice.

    Raises:
        ValueError: Not four integers, zero or negative area, or reaching outside the slice.
    """
    try:
        values = [float(b) for b in box]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: expected four integers (u0, v0, u1, v1), got {box!r}") from None
    if len(values) != 4 or not all(math.isfinite(b) and b == int(b) for b in values):
        raise ValueError(f"{argument}: expected four integers (u0, v0, u1, v1), got {box!r}")
    u0, v0, u1, v1 = (int(b) for b in values)
    if u1 <= u0 or v1 <= v0:
        raise ValueError(f"{argument}: box {(u0, v0, u1, v1)} has zero area; expected u1 > u0 and v1 > v0 "
                         "(half-open voxel indices)")
    big_u, big_v = shape_uv
    if u0 < 0 or v0 < 0 or u1 > big_u or v1 > big_v:
        raise ValueError(f"{argument}: box {(u0, v0, u1, v1)} reaches outside the slice of shape (U, V) = "
                         f"{(big_u, big_v)}; expected 0 <= u0 < u1 <= {big_u} and 0 <= v0 < v1 <= {big_v}")
    return u0, v0, u1, v1


def check_mask(mask: object, volume_shape: Sequence[int], plane: Plane, *, argument: str = "mask") -> np.ndarray:
    """A non-empty (U, V) mask of one slice on ``plane``; non-zero values are foreground.

    Raises:
        ValueError: Wrong shape, non-finite values, or no foreground.
    """
    array = np.asarray(mask)
    expected = slice_shape(tuple(volume_shape), plane)
    if array.shape != expected:
        raise ValueError(f"{argument}: mask of shape {array.shape} does not match a {plane.value} slice; expected "
                         f"(U, V) = {expected} for volume shape {tuple(volume_shape)}")
    if array.dtype != bool and not np.isfinite(array.astype(np.float64)).all():
        raise ValueError(f"{argument}: mask contains NaN or infinite values; expected 0/1 or bool")
    binary = array.astype(bool)
    if not binary.any():
        raise ValueError(f"{argument}: mask is empty; expected at least one foreground pixel on {plane.value} slice")
    return binary
