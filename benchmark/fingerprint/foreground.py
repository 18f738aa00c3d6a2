"""One pass over a case's labels: each object's voxel count and slice areas, and the foreground's voxel values.

The foreground is the union of the case's objects (label values on the card's ``ignore`` list are not objects). A
label map is scanned once for all objects: its non-zero voxels are found in memory order, slab by slab (bounded
memory), their values mapped to objects through a lookup table, and every count and area comes from ``bincount`` over
those voxels alone. Per-object mask files (and DICOM-SEG or PNG masks) are scanned one mask at a time the same way.
Both paths give the same numbers as counting each mask along each axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ForegroundScan", "scan_label_map", "scan_masks"]

#: Voxels of one slab: bounds the memory of the coordinate arrays (about 30 bytes per foreground voxel of a slab).
SLAB_VOXELS = 1 << 24


@dataclass(frozen=True)
class ForegroundScan:
    """What one scan found.

    Attributes:
        counts: (K,) foreground voxels per object, in the order of the names given.
        areas: Per array axis (0: x, 1: y, 2: z), a (K, N_axis) array of each object's voxels per slice across that
            axis (axis 2 holds the axial slice areas).
        values: Per image channel, the values of the foreground voxels (the union of objects), 1D, the image's dtype.
    """

    counts: np.ndarray
    areas: tuple[np.ndarray, np.ndarray, np.ndarray]
    values: tuple[np.ndarray, ...]


def _slabs(array: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int]]:
    """``array`` transposed so that it is C-contiguous (no copy when it is contiguous in any axis order), and the
    original axis of each axis of the result."""
    order = tuple(int(a) for a in np.argsort(array.strides, kind="stable")[::-1])
    view = array.transpose(order)
    if not view.flags.c_contiguous:
        view = np.ascontiguousarray(view)
    return view, (order[0], order[1], order[2])


def _lookup(lut: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Object index of each label value (-1 for none): ``lut`` indexed directly where the value range allows it."""
    if found.dtype in (np.uint8, np.uint16) and lut.size <= np.iinfo(found.dtype).max + 1:
        full = np.full(np.iinfo(found.dtype).max + 1, -1, np.int64)
        full[: lut.size] = lut
        direct: np.ndarray = full[found]
        return direct
    objects = np.full(found.size, -1, np.int64)
    inside = (found >= 0) & (found < lut.size)
    objects[inside] = lut[found[inside]]
    return objects


def _scan(array: np.ndarray, lut: np.ndarray | None, fixed: int, n_objects: int,
          image: np.ndarray | None) -> tuple[np.ndarray, list[np.ndarray], list[list[np.ndarray]]]:
    """Counts, areas and (optionally) image values over the non-zero voxels of ``array``.

    Args:
        array: (X, Y, Z) integer label map (with ``lut``) or boolean mask (object index ``fixed``).
        lut: Label value to object index, -1 for values that are no object; None for a mask.
        fixed: The object index of a mask.
        n_objects: K.
        image: (C, X, Y, Z) to gather values from, or None.
    """
    shape = array.shape
    counts = np.zeros(n_objects, np.int64)
    areas = [np.zeros(n_objects * n, np.int64) for n in shape]
    values: list[list[np.ndarray]] = [[] for _ in range(image.shape[0] if image is not None else 0)]
    view, order = _slabs(array)
    # Channels laid out in memory like the labels are read by flat index (one take), others by coordinates.
    flat_channels = [image[c].transpose(order).reshape(-1) if image is not None and
                     image[c].transpose(order).flags.c_contiguous else None
                     for c in range(len(values))]
    plane = view.shape[1] * view.shape[2]
    step = max(1, SLAB_VOXELS // max(plane, 1))
    for start in range(0, view.shape[0], step):
        block = view[start:start + step].reshape(-1)
        index = np.flatnonzero(block if block.dtype == np.bool_ else block != 0)
        if lut is not None:
            objects = _lookup(lut, block[index])
            keep = objects >= 0
            if not keep.all():
                index, objects = index[keep], objects[keep]
        else:
            objects = np.full(index.size, fixed, np.int64)
        first, rest = np.divmod(index, plane)
        second, third = np.divmod(rest, view.shape[2])
        coords: list[np.ndarray] = [np.empty(0, np.int64)] * 3
        coords[order[0]], coords[order[1]], coords[order[2]] = first + start, second, third
        counts += np.bincount(objects, minlength=n_objects)
        for axis, n in enumerate(shape):
            areas[axis] += np.bincount(objects * n + coords[axis], minlength=n_objects * n)
        for channel, flat in enumerate(flat_channels):
            if flat is not None:
                values[channel].append(flat[index + start * plane])
            else:
                values[channel].append(image[channel][coords[0], coords[1], coords[2]])  # type: ignore[index]
    return counts, [a.reshape(n_objects, n) for a, n in zip(areas, shape, strict=True)], values


def _joined(parts: Sequence[np.ndarray], dtype: np.dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def scan_label_map(labels: np.ndarray, values: Mapping[str, Sequence[int]], names: Sequence[str],
                   image: np.ndarray) -> ForegroundScan | None:
    """Scan an (X, Y, Z) integer label map once for every object in ``names``.

    Args:
        labels: The label map on the image grid.
        values: Object name to its label values.
        names: Objects, in the order of the result.
        image: (C, X, Y, Z) image on the same grid.

    Returns:
        The scan, or None when an object uses the value 0 or a negative value (then ``scan_masks`` is used).
    """
    all_values = [v for name in names for v in values.get(name, ())]
    if any(v <= 0 for v in all_values):
        return None
    lut = np.full(max(all_values, default=0) + 1, -1, np.int64)
    for index, name in enumerate(names):
        lut[list(values.get(name, ()))] = index
    counts, areas, gathered = _scan(labels, lut, 0, len(names), image)
    return ForegroundScan(counts, (areas[0], areas[1], areas[2]),
                          tuple(_joined(parts, image.dtype) for parts in gathered))


def scan_masks(masks: Sequence[np.ndarray], image: np.ndarray) -> ForegroundScan:
    """Scan boolean (X, Y, Z) masks, one per object, and the image values of their union."""
    shape = image.shape[1:]
    counts = np.zeros(len(masks), np.int64)
    areas = [np.zeros((len(masks), n), np.int64) for n in shape]
    union = np.zeros(shape, dtype=bool, order="F" if image[0].flags.f_contiguous else "C")
    for index, mask in enumerate(masks):
        mask_counts, mask_areas, _ = _scan(mask, None, 0, 1, None)
        counts[index] = mask_counts[0]
        for axis in range(3):
            areas[axis][index] = mask_areas[axis][0]
        union |= mask
    _, _, gathered = _scan(union, None, 0, 1, image)
    return ForegroundScan(counts, (areas[0], areas[1], areas[2]),
                          tuple(_joined(parts, image.dtype) for parts in gathered))
