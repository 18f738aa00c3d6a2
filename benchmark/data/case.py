"""The Case model: one loaded scan with its channels, its objects' masks (read lazily) and its provenance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.data.geometry import Geometry, Volume, check_same_grid
from benchmark.errors import CaseLoadError

__all__ = ["CaseEntry", "LabelLayout", "Case"]


@dataclass(frozen=True)
class CaseEntry:
    """A case found on disk by a reader's discovery pass, before anything is decoded.

    Attributes:
        case_id: Identifier of the case within its dataset (stable across runs, e.g. ``"liver_0"``).
        image_files: Files or folders holding the image: one per channel in card order, or one multi-channel file,
            or one DICOM series folder.
        label_files: Files or folders holding the labels: one label map, or one file per object or per rater, or a
            folder of PNG slice masks, depending on the layout family.
        meta: Family-specific facts needed to load the case (e.g. ACDC's ``frame``), all strings.
        data_files: Files that headers among the image and label files reference and that hold their voxels
            (MetaImage ``ElementDataFile``, NRRD detached data, the ``.img`` of an Analyze ``.hdr``); found by the
            reader's discovery (``LayoutReader.finish``).
    """

    case_id: str
    image_files: tuple[Path, ...]
    label_files: tuple[Path, ...]
    meta: Mapping[str, str] = field(default_factory=dict)
    data_files: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file the case needs, images first, data files of headers last (for fetching annexed content,
        verifying it and for cache keys)."""
        return self.image_files + self.label_files + self.data_files


@dataclass(frozen=True)
class LabelLayout:
    """One integer label map of a case and the label values of each object (for single-pass statistics).

    Attributes:
        volume: The label map, integer (X, Y, Z), on the case's image grid.
        values: Object name to its label values, for every object of the case.
    """

    volume: Volume
    values: Mapping[str, tuple[int, ...]]


#: Loads the mask of one object, as a Volume on the file's own grid (checked against the image by Case).
MaskLoader = Callable[[str], Volume]


class Case:
    """One scan on the canonical grid (RAS+, axes x, y, z; see benchmark.data.geometry).

    The image is read on first access of ``image``; each object's mask on first access of ``mask(name)``. Every mask
    is checked against the image grid when it is read.

    Attributes:
        dataset_id: Catalog ID, e.g. ``"D19"``.
        case_id: Case identifier within the dataset.
        modality: ``"CT"``, ``"MR"`` or ``"PET-CT"`` (the card's modality).
        channel_names: One name per image channel, in array order.
        objects: Names of the objects this case can have masks for (the card's objects for the loaded version).
        data_version: Commit of the DataLad subdataset the case was read from (``""`` outside a data home).
        entry: What discovery found on disk.
    """

    __slots__ = ("dataset_id", "case_id", "modality", "channel_names", "objects", "data_version", "entry",
                 "_load_image", "_load_mask", "_load_labels", "_labels", "_image", "_geometry", "_masks")

    def __init__(
        self,
        *,
        dataset_id: str,
        entry: CaseEntry,
        modality: str,
        channel_names: tuple[str, ...],
        objects: tuple[str, ...],
        load_image: Callable[[], Volume],
        load_mask: MaskLoader,
        data_version: str = "",
        geometry: Geometry | None = None,
        load_labels: Callable[[], LabelLayout] | None = None,
    ) -> None:
        self.dataset_id = dataset_id
        self.case_id = entry.case_id
        self.entry = entry
        self.modality = modality
        self.channel_names = channel_names
        self.objects = objects
        self.data_version = data_version
        self._load_image = load_image
        self._load_mask = load_mask
        self._load_labels = load_labels
        self._labels: LabelLayout | None = None
        self._image: Volume | None = None
        self._geometry = geometry
        self._masks: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"Case({self.dataset_id}/{self.case_id}, {self.modality}, channels={list(self.channel_names)})"

    @property
    def image_volume(self) -> Volume:
        """The image as a (C, X, Y, Z) Volume, read on first access."""
        if self._image is None:
            volume = self._load_image()
            array = volume.array if volume.array.ndim == 4 else volume.array[np.newaxis]
            if array.shape[0] != len(self.channel_names):
                raise CaseLoadError(
                    f"{volume.source}: image of case {self.case_id!r} has {array.shape[0]} channel(s), "
                    f"expected {len(self.channel_names)} ({', '.join(self.channel_names)}) as the card declares"
                )
            self._image = Volume(array, volume.geometry, volume.source)
            self._geometry = volume.geometry
        return self._image

    @property
    def image(self) -> np.ndarray:
        """Image channels, shape (C, X, Y, Z), the file's own dtype."""
        return self.image_volume.array

    @property
    def geometry(self) -> Geometry:
        """The canonical grid (from the header when the reader supplied it, else from the image)."""
        if self._geometry is None:
            return self.image_volume.geometry
        return self._geometry

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along (x, y, z)."""
        return self.geometry.spacing

    @property
    def affine(self) -> np.ndarray:
        """(4, 4) voxel-index to RAS-world (mm) matrix."""
        return self.geometry.affine

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        """Spatial shape (X, Y, Z)."""
        return self.geometry.shape

    def mask(self, name: str) -> np.ndarray:
        """Boolean mask of one object, shape (X, Y, Z), on the image grid.

        Raises:
            KeyError: ``name`` is not one of ``objects``.
            GeometryMismatchError: The label file is on another grid than the image.
        """
        if name not in self.objects:
            raise KeyError(f"case {self.dataset_id}/{self.case_id} has no object {name!r}; objects: {self.objects}")
        if name not in self._masks:
            volume = self._load_mask(name)
            image_path = self.entry.image_files[0] if self.entry.image_files else None
            check_same_grid(self.geometry, volume.geometry, what=f"label of object {name!r}",
                            reference_path=image_path, other_path=volume.source)
            self._masks[name] = np.asarray(volume.array, dtype=bool)
        return self._masks[name]

    def label_map(self) -> LabelLayout | None:
        """The case's integer label map with each object's values, when its objects come from one (None for
        per-object files, DICOM-SEG and PNG masks); checked against the image grid, read once.

        ``mask(name)`` is ``numpy.isin(label_map().volume.array, values[name])``; statistics over every object use the
        label map in one pass instead of one mask each.
        """
        if self._load_labels is None:
            return None
        if self._labels is None:
            layout = self._load_labels()
            image_path = self.entry.image_files[0] if self.entry.image_files else None
            check_same_grid(self.geometry, layout.volume.geometry, what="label map", reference_path=image_path,
                            other_path=layout.volume.source)
            self._labels = layout
        return self._labels

    def masks(self) -> dict[str, np.ndarray]:
        """Every object's boolean mask, shape (X, Y, Z) each (objects absent from this case are all False)."""
        return {name: self.mask(name) for name in self.objects}

    def release(self) -> None:
        """Drop cached voxels (image and masks) to free memory; they are re-read on next access."""
        self._image = None
        self._labels = None
        self._masks.clear()
