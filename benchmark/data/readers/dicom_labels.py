"""The three label back-ends of family F6: DICOM-SEG, NIfTI/NRRD label volumes, PNG slice masks.

Each back-end gives one object's mask as a Volume on the image series' canonical grid (or, for a label volume
read with its own header, on the file's grid, which ``Case`` then checks strictly against the image).

Label arrays without usable geometry (PNG stacks, volumes needing an axis permutation) are brought into the
series' *stack order* (slice, row, column) with slices in a stated order, then put on the series' grid by
``dicom_series.stack_to_volume``; their shape must equal the series' exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from benchmark.data.cards import ObjectTable
from benchmark.data.geometry import Volume, read_volume
from benchmark.data.readers.base import is_hidden
from benchmark.data.readers.dicom_series import DicomSeries, SliceOrder, natural_key, stack_to_volume
from benchmark.data.readers.labels import check_label_values, integer_labels, mask_from_values
from benchmark.data.readers.links import DatasetBounds
from benchmark.errors import CaseLoadError, GeometryMismatchError, ImageReadError

__all__ = ["LabelSource", "SegLabels", "VolumeLabels", "PngLabels", "to_position_order"]


class LabelSource(Protocol):
    """Gives each object's mask, shape (X, Y, Z), for one case."""

    def mask(self, name: str) -> Volume: ...


def to_position_order(stack: np.ndarray, series: DicomSeries, slice_order: SliceOrder, source: Path) -> np.ndarray:
    """Reorder a (S, R, C) stack whose slices follow ``slice_order`` into position order, checking its shape.

    Raises:
        GeometryMismatchError: The stack's shape is not the series' (slices, rows, columns).
    """
    expected = (series.n_slices, series.rows, series.columns)
    if stack.shape != expected:
        raise GeometryMismatchError(
            f"{source}: label array of shape {stack.shape} (after the card's transpose/flip) does not fit the DICOM "
            f"series in {series.folder}: expected (slices, rows, columns) {expected}")
    positioned = np.empty_like(stack)
    positioned[series.order(slice_order)] = stack
    return positioned


class SegLabels:
    """Masks from one DICOM-SEG, its frames mapped to the series' slices by referenced SOPInstanceUID.

    Args:
        path: The SEG file.
        series: The image series the SEG references.
        table: Card objects; keys are SegmentLabels (segments listed under ``ignore`` are skipped).
    """

    def __init__(self, path: Path, series: DicomSeries, table: ObjectTable) -> None:
        self.path = path
        self.series = series
        self.table = table
        self._masks: dict[str, Volume] | None = None

    def mask(self, name: str) -> Volume:
        if self._masks is None:
            self._masks = self._read()
        if name in self._masks:
            return self._masks[name]
        # An object the SEG does not segment in this case (e.g. no tumour) is empty.
        return stack_to_volume(np.zeros((self.series.n_slices, self.series.rows, self.series.columns), dtype=bool),
                               self.series, self.path)

    def _read(self) -> dict[str, Volume]:
        import highdicom as hd

        try:
            seg = hd.seg.segread(self.path)
        except (OSError, ValueError, AttributeError, KeyError) as err:
            raise ImageReadError(f"{self.path}: could not be read as a DICOM-SEG ({err})") from err
        labels = {int(n): str(seg.get_segment_description(n).segment_label).strip() for n in seg.segment_numbers}
        unknown = sorted({label for label in labels.values()} - set(self.table.objects) - set(self.table.ignore))
        if unknown:
            raise CaseLoadError(f"{self.path}: segment label(s) {unknown} are not on the dataset card (version "
                                f"{self.table.version!r}); expected SegmentLabels among {sorted(self.table.objects)} "
                                f"or listed under 'ignore'")
        self._check_references(seg)
        wanted = sorted(n for n, label in labels.items() if label in self.table.objects)
        if not wanted:
            return {}
        try:
            pixels = seg.get_pixels_by_source_instance(
                source_sop_instance_uids=list(self.series.sop_uids), segment_numbers=wanted,
                assert_missing_frames_are_empty=True, rescale_fractional=True)
        except (ValueError, RuntimeError, KeyError) as err:
            raise CaseLoadError(f"{self.path}: frames could not be mapped to the slices of series "
                                f"{self.series.series_uid} in {self.series.folder} ({err})") from err
        fractional = str(seg.segmentation_type.value) == "FRACTIONAL"
        masks: dict[str, Volume] = {}
        for index, number in enumerate(wanted):
            frames = pixels[..., index] >= 0.5 if fractional else pixels[..., index] > 0
            name = self.table.objects[labels[number]]
            previous = masks.get(name)
            volume = stack_to_volume(np.ascontiguousarray(frames), self.series, self.path)
            masks[name] = volume if previous is None else Volume(previous.array | volume.array, volume.geometry,
                                                                 self.path)
        return masks

    def _check_references(self, seg: object) -> None:
        referenced = {str(uid) for _, _, uid in seg.get_source_image_uids()}  # type: ignore[attr-defined]
        outside = sorted(referenced - set(self.series.sop_uids))
        if outside:
            raise CaseLoadError(f"{self.path}: references {len(outside)} source instance(s) not among the "
                                f"{self.series.n_slices} slices of series {self.series.series_uid} in "
                                f"{self.series.folder} (e.g. {outside[0]}); expected every referenced slice present")


class VolumeLabels:
    """Masks from NIfTI/NRRD label files: one label map per case, or one binary file per object.

    Args:
        files: File key to label file (per-file encoding), or ``{"": path}`` for one label map. Objects without a
            file are empty.
        series: The image series (for empty masks and for permuted arrays).
        table: Card objects (label values as keys for a label map, file keys for per-file).
        transpose: Permutation (as ``numpy.transpose``) of the file's stored (i, j, k) array; with ``flip``, when
            either is set the file's header is ignored and the result must be the series' stack (slice, row,
            column) in ``slice_order``.
        flip: Axes flipped after ``transpose``.
        slice_order: Order of the slices of the permuted array.
        binarize: A label map's non-zero values all belong to the card's single object.
        mask_threshold: Per-file masks are soft: foreground where the value is at least this; None: they must be
            binary (see ``labels.mask_from_values``).
    """

    def __init__(self, files: Mapping[str, Path], series: DicomSeries, table: ObjectTable, *,
                 transpose: Sequence[int], flip: Sequence[int], slice_order: SliceOrder, binarize: bool,
                 mask_threshold: float | None = None) -> None:
        self.files = dict(files)
        self.series = series
        self.table = table
        self.transpose = tuple(transpose)
        self.flip = tuple(flip)
        self.slice_order = slice_order
        self.binarize = binarize
        self.mask_threshold = mask_threshold
        self._label_map: Volume | None = None

    def mask(self, name: str) -> Volume:
        keys = [key for key, value in self.table.objects.items() if value == name]
        if "" in self.files:
            volume = self._read_label_map()
            if self.binarize:
                return Volume(volume.array != 0, volume.geometry, volume.source)
            return Volume(np.isin(volume.array, [int(k) for k in keys]), volume.geometry, volume.source)
        path = self.files.get(keys[0]) if keys else None
        if path is None:
            empty = np.zeros((self.series.n_slices, self.series.rows, self.series.columns), dtype=bool)
            return stack_to_volume(empty, self.series, None)
        volume = self._read(path)
        return Volume(mask_from_values(volume.array, path, self.mask_threshold), volume.geometry, path)

    def _read_label_map(self) -> Volume:
        if self._label_map is None:
            path = self.files[""]
            volume = self._read(path)
            array = integer_labels(np.asarray(volume.array), path)
            if not self.binarize:
                check_label_values(array, self.table, path)
            self._label_map = Volume(array, volume.geometry, path)
        return self._label_map

    def _read(self, path: Path) -> Volume:
        if not self.transpose and not self.flip:
            volume = read_volume(path)
        else:
            volume = self._read_permuted(path)
        if volume.array.ndim != 3:
            raise CaseLoadError(f"{path}: label volume must be 3D, got shape {volume.array.shape}")
        return volume

    def _read_permuted(self, path: Path) -> Volume:
        import SimpleITK as sitk

        try:
            image = sitk.ReadImage(str(path))
        except RuntimeError as err:
            raise ImageReadError(f"{path}: could not be decoded as a label volume ({err})") from err
        if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
            raise CaseLoadError(f"{path}: label volume must be 3D with scalar voxels, got {image.GetDimension()}D "
                                f"with {image.GetNumberOfComponentsPerPixel()} component(s)")
        stored = sitk.GetArrayFromImage(image).transpose(2, 1, 0)  # file index order (i, j, k), as nibabel gives
        array = stored.transpose(self.transpose) if self.transpose else stored
        if self.flip:
            array = np.flip(array, axis=self.flip)
        positioned = to_position_order(np.ascontiguousarray(array), self.series, self.slice_order, path)
        return stack_to_volume(positioned, self.series, path)


class PngLabels:
    """Masks from a folder of PNG slice masks (no geometry), one PNG per DICOM slice.

    PNGs are sorted naturally by name, stacked to (N, H, W), transposed/flipped as the card says, and must then be
    the series' stack (slice, row, column) in ``slice_order``.

    Args:
        folder: The PNG folder.
        series: The image series.
        table: Card objects (keys name pixel values or value ranges).
        value_ranges: Card key to inclusive (low, high) pixel values; empty: any non-zero pixel is the single object.
        slice_order: Which DICOM order the sorted PNGs follow.
        transpose: Permutation (as ``numpy.transpose``) of the (N, H, W) stack.
        flip: Axes of the permuted stack to flip.
        bounds: The dataset's bounds: a PNG that is a link leaving them fails the case (default: ``folder``).
    """

    def __init__(self, folder: Path, series: DicomSeries, table: ObjectTable, *,
                 value_ranges: Mapping[str, Sequence[int]], slice_order: SliceOrder, transpose: Sequence[int],
                 flip: Sequence[int], bounds: DatasetBounds | None = None) -> None:
        self.folder = folder
        self.series = series
        self.table = table
        self.value_ranges = {k: (int(v[0]), int(v[1])) for k, v in value_ranges.items()}
        self.slice_order = slice_order
        self.transpose = tuple(transpose)
        self.flip = tuple(flip)
        self.bounds = bounds if bounds is not None else DatasetBounds.of(folder)
        self._values: Volume | None = None

    def mask(self, name: str) -> Volume:
        values = self._read()
        keys = [key for key, value in self.table.objects.items() if value == name]
        if not self.value_ranges:
            return Volume(values.array != 0, values.geometry, self.folder)
        selected = np.zeros(values.array.shape, dtype=bool)
        for key in keys:
            low, high = self.value_ranges[key]
            selected |= (values.array >= low) & (values.array <= high)
        return Volume(selected, values.geometry, self.folder)

    def _read(self) -> Volume:
        if self._values is None:
            stack = self._stack()
            if self.transpose:
                stack = stack.transpose(self.transpose)
            if self.flip:
                stack = np.flip(stack, axis=self.flip)
            self._check_values(stack)
            positioned = to_position_order(np.ascontiguousarray(stack), self.series, self.slice_order, self.folder)
            self._values = stack_to_volume(positioned, self.series, self.folder)
        return self._values

    def _stack(self) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        walk = self.bounds.walk(self.folder)
        if walk.outside:
            raise CaseLoadError(f"{self.folder}: {self.bounds.describe(*walk.outside[0])}")
        files = sorted((p for p in walk.files if p.parent == self.folder and p.suffix.lower() == ".png"
                        and not is_hidden(p.name)), key=lambda p: natural_key(p.name))
        if len(files) != self.series.n_slices:
            raise CaseLoadError(f"{self.folder}: {len(files)} PNG slice mask(s) for a DICOM series of "
                                f"{self.series.n_slices} slices in {self.series.folder}; expected one PNG per slice")
        slices: list[np.ndarray] = []
        for path in files:
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image)
            except (OSError, UnidentifiedImageError) as err:
                raise ImageReadError(f"{path}: could not be decoded as PNG ({err})") from err
            if pixels.ndim == 3:
                if not all(np.array_equal(pixels[..., 0], pixels[..., c]) for c in range(min(3, pixels.shape[2]))):
                    raise CaseLoadError(f"{path}: colour PNG with differing channels; expected a grey-level mask")
                pixels = pixels[..., 0]
            if slices and pixels.shape != slices[0].shape:
                raise CaseLoadError(f"{path}: PNG of shape {pixels.shape}, {files[0].name} has {slices[0].shape}; "
                                    "expected one shape for every slice mask")
            slices.append(pixels)
        return np.stack(slices)

    def _check_values(self, stack: np.ndarray) -> None:
        if not self.value_ranges:
            return
        covered = np.zeros(stack.shape, dtype=bool)
        for low, high in self.value_ranges.values():
            covered |= (stack >= low) & (stack <= high)
        stray = np.unique(stack[(stack != 0) & ~covered])
        if stray.size:
            raise CaseLoadError(f"{self.folder}: PNG pixel values {stray[:10].tolist()} fall in no object's range; "
                                f"expected 0 or values within {self.value_ranges} (option 'png_value_ranges')")
