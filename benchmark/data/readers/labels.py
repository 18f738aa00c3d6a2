"""Turning label files into per-object masks: label maps (one value per object) and per-object binary files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.cards import ObjectTable
from benchmark.data.geometry import Volume, read_volume
from benchmark.errors import CaseLoadError

__all__ = ["LabelMap", "check_label_values", "binary_mask"]


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
    """

    def __init__(self, path: Path, table: ObjectTable, remap: dict[int, int] | None = None) -> None:
        self.path = path
        self.table = table
        self.remap = remap or {}
        self._volume: Volume | None = None

    def volume(self) -> Volume:
        """The label map on its canonical grid, read and value-checked on first call."""
        if self._volume is None:
            volume = read_volume(self.path)
            array = np.asarray(volume.array)
            if array.ndim != 3:
                raise CaseLoadError(f"{self.path}: label map must be 3D, got shape {array.shape}")
            if not np.issubdtype(array.dtype, np.integer):
                rounded = np.rint(array)
                if not np.array_equal(rounded, array):
                    raise CaseLoadError(f"{self.path}: label map holds non-integer values; expected integer labels")
                array = rounded.astype(np.int32)
            if self.remap:
                remapped = array.copy()
                for source, target in self.remap.items():
                    remapped[array == source] = target
                array = remapped
            check_label_values(array, self.table, self.path)
            self._volume = Volume(array, volume.geometry, self.path)
        return self._volume

    def mask(self, name: str) -> Volume:
        """The boolean mask of object ``name``."""
        volume = self.volume()
        values = [int(k) for k, v in self.table.objects.items() if v == name]
        if not values:
            raise KeyError(f"{self.path}: object {name!r} is not on the card; objects: {self.table.names}")
        array = volume.array == values[0] if len(values) == 1 else np.isin(volume.array, values)
        return Volume(array, volume.geometry, self.path)


def binary_mask(path: Path) -> Volume:
    """Read a per-object mask file; any non-zero voxel is foreground."""
    volume = read_volume(path)
    if volume.array.ndim != 3:
        raise CaseLoadError(f"{path}: object mask must be 3D, got shape {volume.array.shape}")
    return Volume(volume.array != 0, volume.geometry, path)
