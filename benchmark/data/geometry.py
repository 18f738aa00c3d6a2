"""Voxel grids in the canonical orientation, and reading volumes into it.

Canonical orientation (see docs/architecture): RAS+, array axes (x, y, z), z the axial slice axis from inferior to
superior, spacing in mm as (sx, sy, sz). Every volume the suite hands out is on such a grid, so "axial slice k" means
``array[:, :, k]`` everywhere.

NIfTI files are decoded by ``benchmark.data.nifti``, every other format by SimpleITK (NRRD, MetaImage, MHA and DICOM
series); SimpleITK's LPS physical frame and (z, y, x) array order are converted here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.data.nifti import (
    NiftiFile,
    check_length,
    decode_with_itk,
    is_nifti,
    nifti_affine,
    read_nifti_header,
    read_nifti_voxels,
)
from benchmark.errors import GeometryMismatchError, ImageReadError

if TYPE_CHECKING:
    import SimpleITK as sitk

__all__ = [
    "Plane",
    "PLANE_AXIS",
    "slice_of",
    "Geometry",
    "Volume",
    "read_header",
    "read_volume",
    "volume_from_sitk",
    "canonicalize",
    "check_same_grid",
    "AFFINE_TOLERANCE_MM",
]

#: Largest difference, in mm, allowed between two affines (rotation-scaled columns and origin) of "one grid".
AFFINE_TOLERANCE_MM = 1e-3

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


class Plane(str, Enum):
    """A slicing plane of the canonical grid; in-plane axes (u, v): axial (x, y), coronal (x, z), sagittal (y, z)."""

    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"

    def __str__(self) -> str:
        return str(self.value)


#: The array axis a plane's slices are taken along.
PLANE_AXIS: dict[Plane, int] = {Plane.SAGITTAL: 0, Plane.CORONAL: 1, Plane.AXIAL: 2}


def slice_of(volume: np.ndarray, plane: Plane | str, index: int) -> np.ndarray:
    """The 2D slice ``index`` of an (X, Y, Z) volume on ``plane``, with in-plane axes (u, v) as in :class:`Plane`."""
    axis = PLANE_AXIS[Plane(plane)]
    result: np.ndarray = np.take(volume, index, axis=axis)
    return result


@dataclass(frozen=True)
class Geometry:
    """A 3D voxel grid.

    Attributes:
        shape: Number of voxels along (x, y, z).
        spacing: Voxel size in mm along (x, y, z).
        affine: (4, 4) voxel-index to RAS-world (mm) matrix.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    affine: np.ndarray

    def __post_init__(self) -> None:
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise ValueError(f"Geometry affine must have shape (4, 4), got {affine.shape}")
        affine.setflags(write=False)
        object.__setattr__(self, "affine", affine)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Geometry):
            return NotImplemented
        return self.shape == other.shape and np.allclose(self.affine, other.affine, atol=AFFINE_TOLERANCE_MM)

    __hash__ = None  # type: ignore[assignment]  # equality is tolerance-based


@dataclass(frozen=True)
class Volume:
    """Voxel data on a canonical grid.

    Attributes:
        array: (X, Y, Z) for one channel, or (C, X, Y, Z) for a multi-channel file.
        geometry: The grid of the spatial axes.
        source: The file or folder it was read from, for error messages.
    """

    array: np.ndarray
    geometry: Geometry
    source: Path | None = None

    @property
    def n_channels(self) -> int:
        return 1 if self.array.ndim == 3 else int(self.array.shape[0])


def _sitk() -> Any:
    import SimpleITK

    return SimpleITK


def _lps_affine(spacing: tuple[float, ...], direction: tuple[float, ...], origin: tuple[float, ...]) -> np.ndarray:
    """Build the 3D voxel-to-RAS affine from SimpleITK's LPS spacing, direction and origin (first 3 axes)."""
    ndim = int(round(len(direction) ** 0.5))
    matrix = np.asarray(direction, dtype=np.float64).reshape(ndim, ndim)[:3, :3]
    affine = np.eye(4)
    affine[:3, :3] = matrix * np.asarray(spacing[:3], dtype=np.float64)
    affine[:3, 3] = np.asarray(origin[:3], dtype=np.float64)
    return _LPS_TO_RAS @ affine


def _orientation(affine: np.ndarray) -> np.ndarray:
    """nibabel's ``io_orientation`` of an affine: (3, 2) rows of (canonical axis, +1 or -1) per file axis.

    An axis-aligned affine (one non-zero entry per row and column of its 3 x 3 part, most files) is read directly;
    any other goes through nibabel, which finds the closest axes of an oblique grid.
    """
    rows = np.asarray(affine, dtype=np.float64)[:3, :3].tolist()  # plain floats: nine comparisons, no numpy calls
    found = []
    for column in range(3):
        hits = [(row, rows[row][column]) for row in range(3) if rows[row][column] != 0]
        if len(hits) != 1:
            break
        found.append((float(hits[0][0]), 1.0 if hits[0][1] > 0 else -1.0))
    if len(found) == 3 and sorted(axis for axis, _ in found) == [0.0, 1.0, 2.0]:
        return np.array(found)
    import nibabel.orientations as nio

    result: np.ndarray = nio.io_orientation(affine)
    return result


def canonicalize(array: np.ndarray, affine: np.ndarray, source: Path | None = None) -> Volume:
    """Reorient an (X, Y, Z) or (C, X, Y, Z) array with its voxel-to-RAS affine to RAS+.

    Args:
        array: Voxel data, spatial axes in the order the affine's columns describe.
        affine: (4, 4) voxel-index to RAS-world matrix.
        source: Where the data came from, kept for messages.

    Returns:
        A Volume whose array axes run along +R, +A, +S.
    """
    import nibabel.orientations as nio

    spatial_shape = array.shape[-3:]
    ornt = _orientation(affine)
    channels_last = np.moveaxis(array, 0, -1) if array.ndim == 4 else array
    reoriented = nio.apply_orientation(channels_last, ornt)
    if array.ndim == 4:
        reoriented = np.moveaxis(reoriented, -1, 0)
    new_affine = affine @ nio.inv_ornt_aff(ornt, spatial_shape)
    # One sequential copy in the source's memory order (an axis-reversing C-order copy costs 10x more); axial slices
    # of the result are contiguous.
    return Volume(reoriented.copy(order="K"), _geometry(new_affine, reoriented.shape[-3:]), source)


def _geometry(affine: np.ndarray, shape: tuple[int, ...]) -> Geometry:
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    return Geometry(
        shape=(int(shape[0]), int(shape[1]), int(shape[2])),
        spacing=(float(spacing[0]), float(spacing[1]), float(spacing[2])),
        affine=affine,
    )


def volume_from_sitk(image: sitk.Image, source: Path | None = None) -> Volume:
    """Convert a 3D (or 4D multi-channel) SimpleITK image to a canonical Volume.

    A 4D scalar image is read as channels along its fourth axis (MSD's multi-modal files).
    """
    sitk_mod = _sitk()
    dim = image.GetDimension()
    if dim not in (3, 4) or image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(
            f"{source}: expected a 3D image or a 4D multi-channel image of scalar voxels, "
            f"got {dim}D with {image.GetNumberOfComponentsPerPixel()} components per voxel"
        )
    data = sitk_mod.GetArrayViewFromImage(image)  # (z, y, x) or (c, z, y, x), no copy; canonicalize copies once
    array = data.transpose(2, 1, 0) if dim == 3 else data.transpose(0, 3, 2, 1)
    affine = _lps_affine(image.GetSpacing(), image.GetDirection(), image.GetOrigin())
    return canonicalize(array, affine, source)


def _file_reader(path: Path) -> Any:
    """A SimpleITK reader for ``path``; NIfTI files name their IO directly, which skips ITK's probe of every format."""
    reader = _sitk().ImageFileReader()
    reader.SetFileName(str(path))
    if is_nifti(path):
        reader.SetImageIO("NiftiImageIO")
    return reader


def _require_file(path: Path) -> None:
    if not Path(path).exists():
        raise ImageReadError(f"{path}: file not found (a broken link means annexed content that is not present)")


def read_volume(path: Path) -> Volume:
    """Read one image file (NIfTI, NRRD, MetaImage, MHA or any format SimpleITK decodes) into the canonical orientation.

    NIfTI files are read by ``benchmark.data.nifti`` (NaN and infinite voxels are kept as they are; ITK would turn
    them into 0), other formats by SimpleITK, whose NRRD and MetaImage readers fail on data cut short. Non-finite
    voxels are never altered here: statistics keep them out explicitly (see ``benchmark.fingerprint.case``).

    Raises:
        ImageReadError: The file is missing, truncated, corrupt or not a 3D/4D image.
    """
    path = Path(path)
    _require_file(path)
    nifti = read_nifti_header(path) if is_nifti(path) else None
    if nifti is not None and decode_with_itk(nifti):
        check_length(nifti)
    elif nifti is not None:
        affine = nifti_affine(nifti)
        if affine is None:
            affine, size = _itk_header(path)
            if tuple(size) != nifti.shape:
                raise ImageReadError(f"{path}: ITK reads the header as size {tuple(size)}, the NIfTI header "
                                     f"declares {nifti.shape}; expected one size")
        return _canonical_nifti(nifti, affine)
    try:
        image = _file_reader(path).Execute()
    except RuntimeError as err:
        raise ImageReadError(f"{path}: could not be decoded as a medical image ({_first_line(err)})") from err
    return volume_from_sitk(image, path)


def _canonical_nifti(nifti: NiftiFile, affine: np.ndarray) -> Volume:
    """A NIfTI file's canonical volume. Where the grid needs only flips (no axis permutation: most scans), the voxels
    are decompressed straight into their canonical places; otherwise they are read in file order and reoriented by a
    copy."""
    ornt = _orientation(affine)
    if list(ornt[:, 0]) != [0.0, 1.0, 2.0]:
        voxels = read_nifti_voxels(nifti)
        return canonicalize(voxels if voxels.ndim == 3 else np.moveaxis(voxels, 3, 0), affine, nifti.path)
    flips = [axis for axis in range(3) if ornt[axis, 1] < 0]
    voxels = read_nifti_voxels(nifti, flips=flips)
    new_affine = np.array(affine, dtype=np.float64)  # what nibabel's inv_ornt_aff gives for flips alone
    for axis in flips:
        new_affine[:3, 3] += new_affine[:3, axis] * (nifti.shape[axis] - 1)
        new_affine[:3, axis] *= -1
    return Volume(voxels if voxels.ndim == 3 else np.moveaxis(voxels, 3, 0), _geometry(new_affine, nifti.shape[:3]),
                  nifti.path)


def _itk_header(path: Path) -> tuple[np.ndarray, tuple[int, ...]]:
    """The voxel-to-RAS affine of the first three axes and the size, from ITK's header read."""
    reader = _file_reader(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as err:
        raise ImageReadError(f"{path}: header could not be read ({_first_line(err)})") from err
    size = tuple(reader.GetSize())
    if len(size) not in (3, 4):
        raise ImageReadError(f"{path}: expected a 3D or 4D image, got {len(size)}D of size {size}")
    return _lps_affine(reader.GetSpacing(), reader.GetDirection(), reader.GetOrigin()), size


def read_header(path: Path) -> tuple[Geometry, int]:
    """Read the canonical grid and channel count of an image file without reading its voxels.

    Returns:
        The grid and the number of channels (the size of the 4th axis for 4D files, else 1).
    """
    import nibabel.orientations as nio

    path = Path(path)
    _require_file(path)
    nifti = read_nifti_header(path) if is_nifti(path) else None
    affine = nifti_affine(nifti) if nifti is not None else None
    if nifti is not None and affine is not None:
        size: tuple[int, ...] = nifti.shape
    else:
        affine, size = _itk_header(path)
    if len(size) not in (3, 4):
        raise ImageReadError(f"{path}: expected a 3D or 4D image, got {len(size)}D of size {size}")
    ornt = _orientation(affine)
    new_affine = affine @ nio.inv_ornt_aff(ornt, size[:3])
    shape = [0, 0, 0]
    for axis_in, (axis_out, _) in enumerate(ornt):  # file axis axis_in becomes canonical axis axis_out
        shape[int(axis_out)] = int(size[axis_in])
    return _geometry(new_affine, tuple(shape)), (int(size[3]) if len(size) == 4 else 1)


def check_same_grid(reference: Geometry, other: Geometry, *, what: str, reference_path: Path | None,
                    other_path: Path | None) -> None:
    """Raise if two grids differ in shape or affine (beyond AFFINE_TOLERANCE_MM).

    Args:
        reference: The grid everything must match (usually the image's).
        other: The grid being checked (a label, another channel).
        what: What ``other`` is, for the message (e.g. ``"label 'liver'"``).
        reference_path: File of the reference grid.
        other_path: File of the checked grid.

    Raises:
        GeometryMismatchError: With both files, both shapes and spacings.
    """
    if reference == other:
        return
    raise GeometryMismatchError(
        f"{what} in {other_path} is on a different voxel grid than the image {reference_path}: "
        f"got shape {other.shape}, spacing {_fmt(other.spacing)} mm, origin {_fmt(tuple(other.affine[:3, 3]))}; "
        f"expected shape {reference.shape}, spacing {_fmt(reference.spacing)} mm, "
        f"origin {_fmt(tuple(reference.affine[:3, 3]))} (tolerance {AFFINE_TOLERANCE_MM} mm)"
    )


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    useful = [line for line in lines if "ERROR" in line or "error" in line.lower()]
    return (useful or lines or [type(err).__name__])[-1][:300]
