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

    Each axis is searched within the range already found for the axes before it, so only the first projection
    reads the whole volume.

    Args:
        mask: Boolean array, any number of axes, C or Fortran order.
    """
    start: list[int] = []
    stop: list[int] = []
    region = mask
    for axis in range(mask.ndim):
        others = tuple(i for i in range(mask.ndim) if i != axis)
        present = np.flatnonzero(region.any(axis=others))
        if present.size == 0:
            return None
        start.append(int(present[0]))
        stop.append(int(present[-1]) + 1)
        index = [slice(None)] * mask.ndim
        index[axis] = slice(start[-1], stop[-1])
        region = region[tuple(index)]
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
