"""Finding, validating and reading DICOM image series (family F6).

A case folder is walked recursively (links inside the dataset followed once, links leaving it refused, loops
detected: ``benchmark.data.readers.links``) and every file's header is read with pydicom (no pixels); files that are
not DICOM are skipped. Image slices are grouped by SeriesInstanceUID; anonymised data may keep the tag but empty it,
and such slices are grouped by what identifies a series without it (StudyInstanceUID, Modality, SeriesNumber,
SeriesDescription, Rows, Columns, ImageOrientationPatient, PixelSpacing), as GDCM and SimpleITK read them (series id
``''``). DICOM-SEG instances are kept apart. A series is
sorted by ImagePositionPatient projected on the slice normal (row cosines x column cosines) and validated: one
orientation, one in-plane grid, no duplicated position, no gantry tilt, and even slice spacing (a distance of a
whole multiple of the spacing is reported as missing slices, any other deviation as uneven spacing). Pixels are
decoded by SimpleITK, which applies RescaleSlope/RescaleIntercept per slice; the grid is set from the validated
headers and converted to the canonical orientation by ``geometry.volume_from_sitk``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.geometry import Volume, volume_from_sitk
from benchmark.data.readers.links import DatasetBounds
from benchmark.errors import CaseLoadError, ImageReadError

__all__ = [
    "SliceOrder",
    "DicomHeader",
    "DicomFolder",
    "DicomSeries",
    "scan_folder",
    "sort_series",
    "read_series",
    "stack_to_volume",
    "natural_key",
    "series_key",
    "choose_seg",
    "choose_series",
    "NON_IMAGE_MODALITIES",
]

#: Modalities whose instances are not slices of an image series (structured reports, RT objects, presentation).
NON_IMAGE_MODALITIES = frozenset({"SEG", "RTSTRUCT", "RTPLAN", "RTDOSE", "RTRECORD", "SR", "PR", "KO", "REG", "DOC"})

_ORIENTATION_TOLERANCE = 1e-4


class SliceOrder(str, Enum):
    """An order of the slices of a series: natural order of file names, InstanceNumber, or position."""

    FILE_NAME = "file-name"
    INSTANCE_NUMBER = "instance-number"
    POSITION = "position"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class DicomHeader:
    """The header fields of one DICOM file that series selection and sorting need.

    Attributes:
        path: The file.
        modality: Modality (``"CT"``, ``"MR"``, ``"SEG"``, ...).
        series_uid: SeriesInstanceUID.
        sop_uid: SOPInstanceUID.
        description: SeriesDescription (``""`` when absent).
        position: ImagePositionPatient in mm (LPS), or None.
        orientation: ImageOrientationPatient (row cosines, column cosines), or None.
        pixel_spacing: PixelSpacing in mm (between rows, between columns), or None.
        rows: Rows.
        columns: Columns.
        instance_number: InstanceNumber (0 when absent).
        frames: NumberOfFrames (1 for single-frame instances).
        referenced_series: SeriesInstanceUIDs a SEG references (ReferencedSeriesSequence).
        study_uid: StudyInstanceUID (``""`` when absent or empty).
        series_number: SeriesNumber (``""`` when absent).
    """

    path: Path
    modality: str
    series_uid: str
    sop_uid: str
    description: str
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    rows: int
    columns: int
    instance_number: int
    frames: int
    referenced_series: tuple[str, ...] = ()
    study_uid: str = ""
    series_number: str = ""


def series_key(header: DicomHeader) -> str:
    """The series a slice belongs to: its SeriesInstanceUID, or, when that is empty (anonymised data), a description
    of the attributes that tell series apart (see the module docstring)."""
    if header.series_uid:
        return header.series_uid
    orientation = tuple(round(v, 4) for v in header.orientation) if header.orientation else None
    spacing = tuple(round(v, 4) for v in header.pixel_spacing) if header.pixel_spacing else None
    return (f"<empty SeriesInstanceUID: study {header.study_uid or '?'}, {header.modality}, series number "
            f"{header.series_number or '?'}, {header.description!r}, {header.rows}x{header.columns}, orientation "
            f"{orientation}, pixel spacing {spacing}>")


@dataclass(frozen=True)
class DicomFolder:
    """What one walk of a folder found.

    Attributes:
        folder: The folder walked.
        series: Series key (``series_key``: the SeriesInstanceUID when set) to the headers of its image slices
            (unsorted).
        segs: Headers of DICOM-SEG instances.
        skipped: Files that are not DICOM or could not be read (broken links included).
        not_images: DICOM files that are not image slices (structured reports, RT objects, no pixel rows).
        loops: Links to folders already walked (not walked again).
    """

    folder: Path
    series: dict[str, list[DicomHeader]]
    segs: tuple[DicomHeader, ...]
    skipped: tuple[Path, ...]
    not_images: tuple[Path, ...] = ()
    loops: tuple[Path, ...] = ()

    def describe(self) -> str:
        """One line per image series: UID, modality, description and slice count (for error messages)."""
        parts = [f"{uid} ({h[0].modality}, {h[0].description!r}, {len(h)} file(s))" for uid, h in self.series.items()]
        return "; ".join(parts) if parts else "none"


@dataclass(frozen=True)
class DicomSeries:
    """A validated image series, slices sorted by increasing position along the slice normal.

    Attributes:
        folder: The folder holding the series' files (for messages).
        series_uid: SeriesInstanceUID.
        modality: Modality.
        description: SeriesDescription.
        files: One file per slice, in position order.
        sop_uids: SOPInstanceUID of each slice, in position order.
        instance_numbers: InstanceNumber of each slice, in position order.
        origin: Position of the first slice's first voxel, mm (LPS).
        direction: (3, 3) matrix, row-major, whose columns are the LPS directions of the column index, the row
            index and the slice index.
        spacing: Voxel size in mm along (column index, row index, slice index).
        rows: Rows per slice.
        columns: Columns per slice.
    """

    folder: Path
    series_uid: str
    modality: str
    description: str
    files: tuple[Path, ...]
    sop_uids: tuple[str, ...]
    instance_numbers: tuple[int, ...]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    spacing: tuple[float, float, float]
    rows: int
    columns: int

    @property
    def n_slices(self) -> int:
        return len(self.files)

    def order(self, slice_order: SliceOrder) -> np.ndarray:
        """Position index of each slice when the slices are listed in ``slice_order``.

        Args:
            slice_order: Position along the normal, InstanceNumber, or natural order of the file names.

        Returns:
            (S,) int array: entry s is the position index of the s-th slice in ``slice_order``.
        """
        if slice_order is SliceOrder.INSTANCE_NUMBER:
            return np.argsort(np.asarray(self.instance_numbers), kind="stable")
        if slice_order is SliceOrder.FILE_NAME:
            return np.asarray(sorted(range(self.n_slices), key=lambda i: natural_key(self.files[i].name)))
        return np.arange(self.n_slices)


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers by value (``img2`` before ``img10``)."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def scan_folder(folder: Path, bounds: DatasetBounds | None = None) -> DicomFolder:
    """Read the headers of every file below ``folder`` (hidden files skipped) and group them by series.

    Args:
        folder: The folder to walk.
        bounds: The dataset's bounds: links whose target leaves them fail the scan (default: ``folder`` itself).

    Raises:
        CaseLoadError: A link below ``folder`` leaves the dataset (named with its target).
        ImageReadError: No file below ``folder`` is a DICOM image slice or SEG; the message counts what was seen.
    """
    import pydicom

    bounds = bounds if bounds is not None else DatasetBounds.of(folder)
    walk = bounds.walk(folder)
    if walk.outside:
        link, target = walk.outside[0]
        raise CaseLoadError(f"{folder}: {len(walk.outside)} link(s) leave the dataset; "
                            f"{bounds.describe(link, target)}")
    series: dict[str, list[DicomHeader]] = {}
    segs: list[DicomHeader] = []
    skipped: list[Path] = []
    not_images: list[Path] = []
    for path in walk.files:
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
        except (pydicom.errors.InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError):
            skipped.append(path)
            continue
        header = _header(path, dataset)
        if header.modality == "SEG":
            segs.append(header)
        elif header.modality not in NON_IMAGE_MODALITIES and header.rows:
            series.setdefault(series_key(header), []).append(header)
        else:
            not_images.append(path)
    if not series and not segs:
        raise ImageReadError(f"{folder}: no DICOM image series found: {_seen(walk.files, skipped, not_images)}; "
                             "expected DICOM slices (broken links mean annexed content that is not present)")
    return DicomFolder(folder, series, tuple(segs), tuple(skipped), tuple(not_images), walk.loops)


def _seen(files: Sequence[Path], skipped: Sequence[Path], not_images: Sequence[Path]) -> str:
    """What a walk saw, for the message of a folder without image slices."""
    if not files:
        return "the folder holds no files"
    parts = [f"{len(files)} file(s) seen"]
    if skipped:
        parts.append(f"{len(skipped)} not readable as DICOM (e.g. {[p.name for p in skipped[:3]]})")
    if not_images:
        parts.append(f"{len(not_images)} DICOM file(s) that are not image slices (no Rows, or modality among "
                     f"{sorted(NON_IMAGE_MODALITIES)}; e.g. {[p.name for p in not_images[:3]]})")
    return ", ".join(parts)


def _floats(dataset: Any, keyword: str) -> tuple[float, ...] | None:
    value = dataset.get(keyword)
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None


def _header(path: Path, dataset: Any) -> DicomHeader:
    position = _floats(dataset, "ImagePositionPatient")
    spacing = _floats(dataset, "PixelSpacing")
    referenced = tuple(str(item.get("SeriesInstanceUID", "")) for item in dataset.get("ReferencedSeriesSequence", []))
    return DicomHeader(
        path=path,
        modality=str(dataset.get("Modality", "")),
        series_uid=str(dataset.get("SeriesInstanceUID", "")),
        sop_uid=str(dataset.get("SOPInstanceUID", "")),
        description=str(dataset.get("SeriesDescription", "")),
        position=(position[0], position[1], position[2]) if position is not None and len(position) == 3 else None,
        orientation=_floats(dataset, "ImageOrientationPatient"),
        pixel_spacing=(spacing[0], spacing[1]) if spacing is not None and len(spacing) == 2 else None,
        rows=int(dataset.get("Rows", 0) or 0),
        columns=int(dataset.get("Columns", 0) or 0),
        instance_number=int(dataset.get("InstanceNumber", 0) or 0),
        frames=int(dataset.get("NumberOfFrames", 1) or 1),
        referenced_series=tuple(r for r in referenced if r),
        study_uid=str(dataset.get("StudyInstanceUID", "") or ""),
        series_number=str(dataset.get("SeriesNumber", "") or ""),
    )


def sort_series(headers: Sequence[DicomHeader], folder: Path, *, tolerance_mm: float) -> DicomSeries:
    """Sort the slices of one series along the slice normal and validate the grid.

    Args:
        headers: The slices of one series (any order).
        folder: Where they were found (the folder walked), for messages when the slices' own folder is unknown.
        tolerance_mm: Largest allowed deviation of a slice distance from the series' spacing, mm.

    Raises:
        CaseLoadError: A multi-frame instance, a missing geometry tag, mixed orientations or in-plane grids, fewer
            than two slices, two slices at one position, gantry tilt, a gap (missing slices) or uneven spacing.
    """
    first = headers[0]
    # Name the folder that holds the slices, which in NBIA trees lies several levels below the case folder.
    folder = Path(os.path.commonpath([str(h.path.parent) for h in headers])) if headers else folder
    where = f"{folder}: series {series_key(first)} ({first.description!r})"
    _check_uniform(headers, where)
    orientation = np.asarray(first.orientation, dtype=np.float64)
    row_cosines, column_cosines = orientation[:3], orientation[3:]
    normal = np.cross(row_cosines, column_cosines)
    positions = np.asarray([h.position for h in headers], dtype=np.float64)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along, positions = along[order], positions[order]
    files = [headers[i].path for i in order]
    if len(headers) < 2:
        raise CaseLoadError(f"{where} has {len(headers)} slice; expected at least 2 slices for a 3D volume")
    in_plane = positions - positions[0] - np.outer(along - along[0], normal)
    if np.abs(in_plane).max() > max(tolerance_mm, 1e-3):
        raise CaseLoadError(f"{where}: slice positions drift by up to {np.abs(in_plane).max():.3g} mm within the "
                            "slice plane (gantry tilt); expected positions along the slice normal only")
    spacing = _slice_spacing(along, files, where, tolerance_mm)
    pixel_spacing = first.pixel_spacing or (1.0, 1.0)
    direction = np.stack([row_cosines, column_cosines, normal], axis=1)
    return DicomSeries(
        folder=folder, series_uid=series_key(first), modality=first.modality, description=first.description,
        files=tuple(files), sop_uids=tuple(headers[i].sop_uid for i in order),
        instance_numbers=tuple(headers[i].instance_number for i in order),
        origin=(float(positions[0][0]), float(positions[0][1]), float(positions[0][2])),
        direction=tuple(float(v) for v in direction.ravel()),
        spacing=(float(pixel_spacing[1]), float(pixel_spacing[0]), spacing),
        rows=first.rows, columns=first.columns,
    )


def _check_uniform(headers: Sequence[DicomHeader], where: str) -> None:
    first = headers[0]
    for header in headers:
        if header.frames != 1:
            raise CaseLoadError(f"{where}: {header.path} is a multi-frame instance ({header.frames} frames); "
                                "expected single-frame slices")
        for tag, value in (("ImagePositionPatient", header.position), ("ImageOrientationPatient", header.orientation),
                           ("PixelSpacing", header.pixel_spacing)):
            if value is None:
                raise CaseLoadError(f"{where}: {header.path} lacks a valid {tag}; expected it on every slice")
        if header.orientation is None or len(header.orientation) != 6:
            raise CaseLoadError(f"{where}: {header.path} has ImageOrientationPatient {header.orientation}; "
                                "expected 6 direction cosines")
        if not np.allclose(header.orientation, first.orientation or (), atol=_ORIENTATION_TOLERANCE):
            raise CaseLoadError(f"{where}: {header.path} has ImageOrientationPatient {header.orientation}, "
                                f"{first.path} has {first.orientation}; expected one orientation per series")
        if (header.rows, header.columns) != (first.rows, first.columns) or not np.allclose(
                header.pixel_spacing or (), first.pixel_spacing or (), atol=1e-4):
            raise CaseLoadError(f"{where}: {header.path} has {header.rows}x{header.columns} pixels of "
                                f"{header.pixel_spacing} mm, {first.path} has {first.rows}x{first.columns} of "
                                f"{first.pixel_spacing} mm; expected one in-plane grid per series")


def _slice_spacing(along: np.ndarray, files: Sequence[Path], where: str, tolerance_mm: float) -> float:
    """The series' slice spacing (median distance), after checking every distance against it."""
    steps = np.diff(along)
    duplicated = np.flatnonzero(steps <= tolerance_mm)
    if duplicated.size:
        i = int(duplicated[0])
        raise CaseLoadError(f"{where}: {files[i].name} and {files[i + 1].name} lie at the same position "
                            f"{along[i]:.4g} mm along the slice normal; expected one slice per position (several "
                            "acquisitions or echoes in one series?)")
    spacing = float(np.median(steps))
    for i, step in enumerate(steps):
        if abs(step - spacing) <= tolerance_mm:
            continue
        multiple = round(step / spacing)
        between = f"between {files[i].name} ({along[i]:.4g} mm) and {files[i + 1].name} ({along[i + 1]:.4g} mm)"
        if multiple >= 2 and abs(step - multiple * spacing) <= tolerance_mm:
            raise CaseLoadError(f"{where} has a gap of {step:.4g} mm {between}, expected spacing {spacing:.4g} mm: "
                                f"{multiple - 1} slice(s) missing")
        raise CaseLoadError(f"{where} has uneven slice spacing: {step:.4g} mm {between}, expected {spacing:.4g} mm "
                            f"(tolerance {tolerance_mm} mm) like the other slices")
    return spacing


def read_series(series: DicomSeries) -> Volume:
    """Decode a validated series (rescale slope and intercept applied) into a canonical (X, Y, Z) Volume.

    Raises:
        ImageReadError: SimpleITK cannot decode the slices (compressed syntax without codec, truncated pixels).
    """
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(p) for p in series.files])
    try:
        image = reader.Execute()
    except RuntimeError as err:
        raise ImageReadError(_undecodable(series, err)) from err
    expected = (series.columns, series.rows, series.n_slices)
    if tuple(image.GetSize()) != expected:
        raise ImageReadError(f"{series.folder}: decoded series {series.series_uid} has size {image.GetSize()}; "
                             f"expected (columns, rows, slices) {expected} from the headers")
    return _with_geometry(image, series)


def _undecodable(series: DicomSeries, err: Exception) -> str:
    """The message of a series that did not decode, naming the slices at fault (each is tried on its own)."""
    import SimpleITK as sitk

    failing: list[tuple[Path, str]] = []
    for path in series.files:
        try:
            sitk.ReadImage(str(path))
        except RuntimeError as slice_err:
            failing.append((path, str(slice_err).strip().splitlines()[-1][:200]))
    reason = str(err).strip().splitlines()[-1][:300]
    if not failing:
        return f"{series.folder}: slices of series {series.series_uid} could not be decoded together ({reason})"
    listed = "; ".join(f"{path.name} ({why})" for path, why in failing[:3])
    return (f"{failing[0][0]}: DICOM slice could not be decoded; {len(failing)} of {series.n_slices} slice(s) of "
            f"series {series.series_uid} in {series.folder} fail: {listed}; expected complete slices (a truncated "
            "download or copy?)")


def stack_to_volume(stack: np.ndarray, series: DicomSeries, source: Path | None) -> Volume:
    """Put a (S, R, C) array in position order (slice, row, column) on the series' grid, canonical (X, Y, Z).

    Boolean stacks come back boolean.
    """
    import SimpleITK as sitk

    expected = (series.n_slices, series.rows, series.columns)
    if stack.shape != expected:
        raise ValueError(f"stack of shape {stack.shape} does not fit series {series.series_uid}: expected "
                         f"(slices, rows, columns) {expected}")
    is_bool = stack.dtype == np.bool_
    image = sitk.GetImageFromArray(stack.astype(np.uint8) if is_bool else stack)
    volume = _with_geometry(image, series, source)
    return Volume(volume.array != 0, volume.geometry, source) if is_bool else volume


def _with_geometry(image: Any, series: DicomSeries, source: Path | None = None) -> Volume:
    image.SetOrigin(series.origin)
    image.SetSpacing(series.spacing)
    image.SetDirection(series.direction)
    return volume_from_sitk(image, source if source is not None else series.folder)


def choose_seg(scan: DicomFolder, description: str) -> DicomHeader:
    """The one DICOM-SEG of a case, filtered by a SeriesDescription regular expression when several exist.

    Raises:
        CaseLoadError: No SEG, or several SEGs left after filtering.
    """
    segs = [h for h in scan.segs if not description or re.search(description, h.description, re.IGNORECASE)]
    if len(segs) == 1:
        return segs[0]
    found = [f"{h.path.name} ({h.description!r})" for h in scan.segs]
    if not segs:
        raise CaseLoadError(f"{scan.folder}: no DICOM-SEG found matching seg_description {description!r}; SEGs "
                            f"found: {found or 'none'}; expected one SEG per case")
    raise CaseLoadError(f"{scan.folder}: {len(segs)} DICOM-SEGs found {found}; expected one: set "
                        "'layout.options.seg_description' to choose, or make each study its own case")


def choose_series(scan: DicomFolder, *, modality: str, description: str, referenced: str = "") -> list[DicomHeader]:
    """The slices of the image series of a case.

    Args:
        scan: What the walk of the case folder found.
        modality: Keep only series of this Modality (empty: any).
        description: Regular expression searched (case-insensitive) in SeriesDescription (empty: any).
        referenced: SeriesInstanceUID a SEG references; when given it alone decides.

    Raises:
        CaseLoadError: The referenced series is absent, or not exactly one series is left after filtering.
    """
    if referenced:
        if referenced not in scan.series:
            raise CaseLoadError(f"{scan.folder}: the DICOM-SEG references series {referenced}, which is not in the "
                                f"folder; image series found: {scan.describe()}")
        return scan.series[referenced]
    left = [uid for uid, headers in scan.series.items()
            if (not modality or headers[0].modality == modality)
            and (not description or re.search(description, headers[0].description, re.IGNORECASE))]
    if len(left) == 1:
        return scan.series[left[0]]
    wanted = f"modality {modality or 'any'!r}, description {description or 'any'!r}"
    if not left:
        raise CaseLoadError(f"{scan.folder}: no image series matches {wanted}; series found: {scan.describe()}")
    raise CaseLoadError(f"{scan.folder}: {len(left)} image series match {wanted}: {scan.describe()}; expected one: "
                        "set 'layout.options.series_modality' or 'series_description' to choose")
