"""Turning label files into per-object masks: label maps (one value per object) and per-object binary files.

A per-object mask file must be binary: 0 and one other value (1, 255, True). A file that holds more values (a label
map 1..n saved as one structure's mask, a soft mask whose background is 0.01, NaN voxels) is an error of its case
naming the file and the values found, never binarised with ``!= 0``; soft masks are read with the card's declared
threshold (``layout.options.mask_threshold`` of the families that read mask files).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmark.data.cards import ObjectTable
from benchmark.data.case import LabelLayout
from benchmark.data.geometry import Volume, read_volume
from benchmark.errors import CaseLoadError

__all__ = ["LabelMap", "check_label_values", "integer_labels", "binary_mask", "mask_from_values"]


def check_label_values(values: np.ndarray, table: ObjectTable, path: Path | None) -> None:
    """Raise if a label map holds values that are neither background, an object nor ignored on the card.

    Args:
        values: The distinct values found (any integer dtype).
        table: The card's object table for the loaded version.
        path: The label file, for the message.
    """
    allowed = {0} | {int(k) for k in table.objects} | {int(k) for k in table.ignore}
    if values.size:
        # Unsigned label maps cannot hold negative values: one pass (the maximum) usually settles it.
        low = 0 if np.issubdtype(values.dtype, np.unsignedinteger) else int(values.min())
        high = int(values.max())
        if all(v in allowed for v in range(low, high + 1)):  # every possible value is allowed: skip np.unique
            return
    found = {int(v) for v in np.unique(values)}
    unexpected = sorted(found - allowed)
    if unexpected:
        raise CaseLoadError(f"{path}: label values {unexpected} are not on the dataset card (version "
                            f"{table.version!r}); expected values among {sorted(allowed)}")


class LabelMap:
    """One integer label map per case, read once, giving each object's mask by its value.

    Args:
        path: The label-map file.
        table: The card's object table; keys are label values as strings.
        remap: Optional value remapping applied before checking (file value to card value).
        before_read: Called once before the file is read (the reader's fetch of the case's label files).
    """

    def __init__(self, path: Path, table: ObjectTable, remap: dict[int, int] | None = None,
                 before_read: Callable[[], None] | None = None) -> None:
        self.path = path
        self.table = table
        self.remap = remap or {}
        self.before_read = before_read
        self._volume: Volume | None = None

    def volume(self) -> Volume:
        """The label map on its canonical grid, read and value-checked on first call."""
        if self._volume is None:
            if self.before_read is not None:
                self.before_read()
            volume = read_volume(self.path)
            array = np.asarray(volume.array)
            if array.ndim != 3:
                raise CaseLoadError(f"{self.path}: label map must be 3D, got shape {array.shape}")
            array = integer_labels(array, self.path)
            if self.remap:
                remapped = array.copy()
                for source, target in self.remap.items():
                    remapped[array == source] = target
                array = remapped
            check_label_values(array, self.table, self.path)
            self._volume = Volume(array, volume.geometry, self.path)
        return self._volume

    def values(self) -> dict[str, tuple[int, ...]]:
        """Object name to its label values (after remapping), in card order."""
        values: dict[str, list[int]] = {name: [] for name in self.table.names}
        for key, name in self.table.objects.items():
            values[name].append(int(key))
        return {name: tuple(found) for name, found in values.items()}

    def layout(self) -> LabelLayout:
        """The label map with each object's values (``Case.label_map``)."""
        return LabelLayout(self.volume(), self.values())

    def mask(self, name: str) -> Volume:
        """The boolean mask of object ``name``."""
        volume = self.volume()
        values = self.values().get(name)
        if not values:
            raise KeyError(f"{self.path}: object {name!r} is not on the card; objects: {self.table.names}")
        array = volume.array == values[0] if len(values) == 1 else np.isin(volume.array, values)
        return Volume(array, volume.geometry, self.path)


def integer_labels(array: np.ndarray, path: Path | None) -> np.ndarray:
    """A label array as integers: integer arrays as they are, float arrays holding whole numbers as int32.

    Raises:
        CaseLoadError: NaN or infinite voxels (never read as background), or values that are not whole numbers.
    """
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return array
    finite = np.isfinite(array)
    if not finite.all():
        n_nan = int(np.count_nonzero(np.isnan(array)))
        n_inf = int(array.size - np.count_nonzero(finite) - n_nan)
        raise CaseLoadError(f"{path}: label map holds {n_nan} NaN and {n_inf} infinite voxel(s); expected integer "
                            "labels everywhere (a non-finite voxel is neither background nor an object)")
    rounded = np.rint(array)
    if not np.array_equal(rounded, array):
        odd = np.unique(array[rounded != array])
        raise CaseLoadError(f"{path}: label map holds non-integer values, e.g. {odd[:5].tolist()}; expected integer "
                            "labels")
    result: np.ndarray = rounded.astype(np.int32)
    return result


def mask_from_values(array: np.ndarray, path: Path | None, threshold: float | None = None) -> np.ndarray:
    """The boolean foreground of one object's mask array.

    Args:
        array: The mask file's voxels, any shape.
        path: The file, for messages.
        threshold: For soft masks declared on the card: foreground where the value is at least this. None: the array
            must be binary (0 and at most one other value), and every non-zero voxel is foreground.

    Raises:
        CaseLoadError: A binary mask holds other values (a label map, a soft mask), or NaN voxels, naming the file
            and the values found.
    """
    if array.dtype == np.bool_:
        return np.asarray(array)
    if threshold is not None:
        if array.dtype.kind == "f" and np.isnan(array).any():
            raise CaseLoadError(f"{path}: soft mask holds {int(np.count_nonzero(np.isnan(array)))} NaN voxel(s); "
                                f"expected values to compare with the card's mask_threshold {threshold}")
        return np.asarray(array >= threshold)
    low, high = array.min(), array.max()
    binary = low == high or (low == 0 and np.count_nonzero(array) == np.count_nonzero(array == high)) or (
        high == 0 and np.count_nonzero(array) == np.count_nonzero(array == low))
    if not binary or (array.dtype.kind == "f" and not np.isfinite([low, high]).all()):
        found = np.unique(array)
        shown = ", ".join(f"{v:g}" for v in found[:8].tolist()) + (f", ... ({found.size} values)" if found.size > 8
                                                                   else "")
        raise CaseLoadError(f"{path}: a per-structure mask must be binary (0 and one other value), got values "
                            f"[{shown}]; a label map or soft mask is not binarised silently: declare soft masks with "
                            "'layout.options.mask_threshold' on the card")
    return np.asarray(array != 0)


def binary_mask(path: Path, threshold: float | None = None) -> Volume:
    """Read a per-object mask file: binary (checked) or, with ``threshold``, a soft mask (see ``mask_from_values``).

    Raises:
        CaseLoadError: Not 3D, or not binary (naming the values found).
    """
    volume = read_volume(path)
    if volume.array.ndim != 3:
        raise CaseLoadError(f"{path}: object mask must be 3D, got shape {volume.array.shape}")
    return Volume(mask_from_values(volume.array, path, threshold), volume.geometry, path)
