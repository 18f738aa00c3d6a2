"""The bounding box of two masks and the crop around it: what every metric works on instead of the whole volume.

Outside the union of both masks' bounding boxes both masks are background, so voxel counts are the same on the
crop, and so are surfaces once the crop keeps one voxel of background on every side (the 2 x 2 x 2 cubes that
straddle the box's faces hold surface too). The margin is added as zero padding, so an object touching the array's
border is treated as if the volume went on with background, and its face on the border counts as surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BoundingBox", "bounding_box", "union_box", "padded_crop"]


@dataclass(frozen=True)
class BoundingBox:
    """Half-open voxel index ranges ``start[i] <= index < stop[i]`` along each axis.

    Attributes:
        start: First index inside the box, per axis.
        stop: One past the last index inside the box, per axis.
    """

    start: tuple[int, ...]
    stop: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.start, self.stop, strict=True))

    @property
    def slices(self) -> tuple[slice, ...]:
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop, strict=True))


def bounding_box(mask: np.ndarray) -> BoundingBox | None:
    """The smallest box holding every foreground voxel of ``mask``, or None when it is empty.

    Two passes in memory order whatever the array's layout: the range along the slowest-varying axis (reducing
    contiguous blocks), then, within that slab, one projection onto the other axes, from which their ranges follow.

    Args:
        mask: Boolean array of two or more axes, C or Fortran order, or a view.
    """
    outer = int(np.argmax([abs(stride) for stride in mask.strides]))
    others = tuple(axis for axis in range(mask.ndim) if axis != outer)
    present = np.flatnonzero(mask.any(axis=others))
    if present.size == 0:
        return None
    start, stop = [0] * mask.ndim, [0] * mask.ndim
    start[outer], stop[outer] = int(present[0]), int(present[-1]) + 1
    slab: list[slice] = [slice(None)] * mask.ndim
    slab[outer] = slice(start[outer], stop[outer])
    projection = np.asarray(mask[tuple(slab)].any(axis=outer))  # the slab's foreground seen along the outer axis
    for position, axis in enumerate(others):
        along = np.flatnonzero(projection.any(axis=tuple(i for i in range(projection.ndim) if i != position)))
        start[axis], stop[axis] = int(along[0]), int(along[-1]) + 1
    return BoundingBox(tuple(start), tuple(stop))


def union_box(first: BoundingBox | None, second: BoundingBox | None) -> BoundingBox | None:
    """The smallest box holding both boxes (None when both are None)."""
    if first is None or second is None:
        return second if first is None else first
    return BoundingBox(tuple(map(min, first.start, second.start)), tuple(map(max, first.stop, second.stop)))


def padded_crop(mask: np.ndarray, box: BoundingBox, margin: int = 1) -> np.ndarray:
    """The part of ``mask`` inside ``box``, with ``margin`` voxels of background added on every side.

    Args:
        mask: Boolean array.
        box: Region to keep, within ``mask``'s shape.
        margin: Voxels of background around the box.

    Returns:
        A new C-ordered boolean array of shape ``box.shape`` plus ``2 * margin`` along every axis.
    """
    out = np.zeros(tuple(n + 2 * margin for n in box.shape), dtype=bool)
    out[tuple(slice(margin, margin + n) for n in box.shape)] = mask[box.slices]
    return out
