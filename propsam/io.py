"""Files for ``propsam segment``: an image read onto the canonical RAS grid, a 2D mask prompt, the mask written back.

Indices on the command line (``--box``, ``--slice``) refer to the **canonical RAS grid**: the image as nibabel's
``as_closest_canonical`` reorients it, array axes (x, y, z) running towards Right, Anterior, Superior. Axial slice
k is ``canonical[:, :, k]`` with in-plane axes (x, y); coronal ``canonical[:, k, :]`` (x, z); sagittal
``canonical[k, :, :]`` (y, z). The CLI prints that grid's shape. The output mask is written on the input's own voxel
grid (its shape, voxel order and affine), so it overlays the input in any viewer.

A 2D mask prompt (``--mask``) is a file of the prompt slice's (U, V) shape on that grid: a 2D NIfTI ((U, V) or
(U, V, 1)), a PNG (row r, column c is pixel (u = r, v = c)) or a ``.npy`` array; non-zero is foreground. A 3D NIfTI
mask on the input's own grid is accepted too: it is reoriented like the image and its one non-empty slice on the
plane is the prompt (``--slice`` may then be left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from propsam.inference.planes import Plane, normal_axis, parse_plane, slice_of, slice_shape

if TYPE_CHECKING:
    from propsam.inference.predictor import SegmentationResult

__all__ = ["CanonicalImage", "read_image", "to_source_grid", "write_mask", "read_mask_prompt", "segment_file"]

_RAS = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])


@dataclass(frozen=True, eq=False)
class CanonicalImage:
    """One channel of an image file, on the canonical RAS grid, with what is needed to map masks back.

    Attributes:
        path: The file.
        array: (X, Y, Z) float32 intensities on the canonical grid.
        spacing: Voxel size (sx, sy, sz) in mm on the canonical grid.
        affine: (4, 4) voxel-to-RAS affine of the canonical grid.
        source_affine: (4, 4) affine of the file's own grid.
        source_shape: Spatial shape of the file's own grid.
        source_axcodes: Orientation of the file's axes, e.g. ("L", "P", "S").
        n_channels: Channels in the file (4D files hold channels on the last axis).
    """

    path: Path
    array: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    source_affine: np.ndarray
    source_shape: tuple[int, int, int]
    source_axcodes: tuple[str, str, str]
    n_channels: int
    source_header: Any = None

    def describe(self) -> str:
        """One line for users: the canonical grid on which indices are given."""
        x, y, z = self.array.shape
        sx, sy, sz = self.spacing
        return (f"{self.path.name}: canonical RAS grid (X, Y, Z) = ({x}, {y}, {z}), spacing ({sx:.3g}, {sy:.3g}, "
                f"{sz:.3g}) mm; file orientation {''.join(self.source_axcodes)}, file shape {self.source_shape}. "
                "Box and slice indices refer to the canonical grid.")


def _nib() -> Any:
    import nibabel

    return nibabel


def _load(path: Path, what: str) -> Any:
    nib = _nib()
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no such file {str(path)!r}")
    try:
        return nib.load(str(path))
    except Exception as err:  # nibabel raises several types for files it cannot decode
        raise ValueError(f"{what}: {str(path)!r} is not an image nibabel can read (NIfTI expected): {err}") from err


def read_image(path: str | Path, *, channel: int = 0) -> CanonicalImage:
    """Read one channel of an image file (NIfTI) onto the canonical RAS grid.

    Args:
        path: The image; 3D, or 4D with channels on the last axis.
        channel: Channel of a 4D file.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Not decodable, not 3D or 4D, or ``channel`` out of range.
    """
    nib = _nib()
    path = Path(path)
    image = _load(path, "IMAGE")
    shape = tuple(int(s) for s in image.shape)
    if len(shape) < 3:
        raise ValueError(f"IMAGE {str(path)!r}: expected a 3D image (or 4D with channels last), got {len(shape)}D "
                         f"with shape {shape}")
    n_channels = int(np.prod(shape[3:], dtype=np.int64))
    if not 0 <= channel < n_channels:
        raise ValueError(f"--channel {channel} is out of range for {str(path)!r} with {n_channels} channel(s); "
                         f"expected 0 <= channel < {n_channels}")
    canonical = nib.as_closest_canonical(image)
    data = np.asarray(canonical.dataobj, dtype=np.float32)
    array = data.reshape(data.shape[:3] + (n_channels,))[..., channel]
    affine = np.asarray(canonical.affine, dtype=np.float64)
    spacing = tuple(float(s) for s in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))
    return CanonicalImage(path=path, array=np.ascontiguousarray(array), spacing=(spacing[0], spacing[1], spacing[2]),
                          affine=affine, source_affine=np.asarray(image.affine, dtype=np.float64),
                          source_shape=(shape[0], shape[1], shape[2]),
                          source_axcodes=tuple(nib.aff2axcodes(image.affine)),  # type: ignore[arg-type]
                          n_channels=n_channels, source_header=getattr(image, "header", None))


def to_source_grid(array: np.ndarray, image: CanonicalImage) -> np.ndarray:
    """Map an (X, Y, Z) array from the canonical grid back onto the file's own voxel grid (axes and flips)."""
    import nibabel.orientations as nio

    transform = nio.ornt_transform(_RAS, nio.io_orientation(image.source_affine))
    return np.ascontiguousarray(nio.apply_orientation(array, transform))


def write_mask(path: str | Path, mask: np.ndarray, image: CanonicalImage) -> Path:
    """Write a canonical (X, Y, Z) mask as uint8 NIfTI on the input image's own grid and affine.

    Raises:
        ValueError: ``mask`` does not have the canonical grid's shape.
    """
    nib = _nib()
    if mask.shape != image.array.shape:
        raise ValueError(f"write_mask: mask shape {mask.shape} does not match the canonical grid "
                         f"{image.array.shape} of {str(image.path)!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = nib.Nifti1Image(to_source_grid(mask.astype(np.uint8), image), image.source_affine)
    header = image.source_header
    if isinstance(header, nib.Nifti1Header):  # keep the file's qform/sform codes and units
        out.set_qform(image.source_affine, code=int(header["qform_code"]) or 1)
        out.set_sform(image.source_affine, code=int(header["sform_code"]) or 1)
        out.header.set_xyzt_units(*header.get_xyzt_units())
    out.set_data_dtype(np.uint8)
    nib.save(out, str(path))
    return path


def _read_2d(path: Path) -> np.ndarray:
    suffix = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".png":
        from PIL import Image

        with Image.open(path) as png:
            array = np.asarray(png)
        return array if array.ndim == 2 else array[..., :3].max(axis=-1)
    if path.suffix.lower() == ".npy":
        return np.asarray(np.load(path, allow_pickle=False))
    if suffix.endswith((".nii", ".nii.gz")):
        return np.asarray(_load(path, "--mask").dataobj)
    raise ValueError(f"--mask {str(path)!r}: unsupported file type; expected .nii, .nii.gz, .png or .npy")


def read_mask_prompt(path: str | Path, image: CanonicalImage, plane: Plane | str,
                     slice_index: int | None) -> tuple[int, np.ndarray]:
    """Read a 2D mask prompt for ``image`` (see the module docstring for the accepted files).

    Returns:
        (slice index, (U, V) mask); non-zero is foreground. Emptiness is checked by the predictor.

    Raises:
        FileNotFoundError: No such file.
        ValueError: A shape that matches neither the slice nor the image, a missing ``--slice`` for a 2D file, or
            a 3D mask without exactly one non-empty slice on the plane.
    """
    path, plane = Path(path), parse_plane(plane, argument="--plane")
    if not path.is_file():
        raise FileNotFoundError(f"--mask: no such file {str(path)!r}")
    array = _read_2d(path)
    expected = slice_shape(image.array.shape, plane)
    if array.ndim == 3 and tuple(array.shape) == image.source_shape:
        canonical = _to_canonical(array, image)
        return _slice_of_3d(canonical, plane, slice_index, path)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.shape != expected:
        hint = " (it looks transposed: rows must be u, columns v)" if array.shape == expected[::-1] else ""
        raise ValueError(f"--mask {str(path)!r}: shape {array.shape} does not match a {plane.value} slice of the "
                         f"canonical grid; expected (U, V) = {expected}{hint}, or a 3D mask of the image's shape "
                         f"{image.source_shape}")
    if slice_index is None:
        raise ValueError(f"--slice is required with a 2D --mask ({str(path)!r}); expected the index of the "
                         f"{plane.value} slice the mask belongs to")
    return slice_index, array


def _to_canonical(array: np.ndarray, image: CanonicalImage) -> np.ndarray:
    import nibabel.orientations as nio

    return np.asarray(nio.apply_orientation(array, nio.io_orientation(image.source_affine)))


def _slice_of_3d(mask: np.ndarray, plane: Plane, slice_index: int | None, path: Path) -> tuple[int, np.ndarray]:
    axis = normal_axis(plane)
    nonempty = np.nonzero((mask != 0).any(axis=tuple(a for a in range(3) if a != axis)))[0].tolist()
    if slice_index is None:
        if len(nonempty) != 1:
            raise ValueError(f"--mask {str(path)!r}: a 3D mask needs exactly one non-empty {plane.value} slice "
                             f"when --slice is not given; found {len(nonempty)} ({nonempty[:10]})")
        slice_index = int(nonempty[0])
    if not 0 <= slice_index < mask.shape[axis]:
        raise ValueError(f"--slice {slice_index} is outside the canonical grid; expected 0 <= slice < "
                         f"{mask.shape[axis]} on the {plane.value} plane")
    return slice_index, np.asarray(slice_of(mask, plane, slice_index))


def segment_file(image: str | Path, out: str | Path, *, checkpoint: str | Path,
                 box: tuple[int, int, int, int] | None = None, mask: str | Path | None = None,
                 slice_index: int | None = None, plane: Plane | str = Plane.AXIAL, channel: int = 0,
                 **settings: Any) -> SegmentationResult:
    """What ``propsam segment`` does, as a Python call: read, segment, write the mask on the input's grid.

    Args:
        image: Image file (NIfTI).
        out: Output mask file (NIfTI, uint8).
        checkpoint: PropSAM bundle (see :mod:`propsam.checkpoint`).
        box: Half-open (u0, v0, u1, v1) on the canonical grid's slice; exactly one of ``box`` and ``mask``.
        mask: A 2D mask prompt file.
        slice_index: The prompt slice on the canonical grid (optional only for a 3D mask file).
        plane: "axial", "coronal" or "sagittal".
        channel: Channel of a 4D image.
        **settings: :class:`~propsam.inference.predictor.PropSAMPredictor` settings (device, precision, ...).

    Returns:
        The segmentation on the canonical grid (``result.mask``); the file holds it on the input's grid.

    Raises:
        ValueError: Neither or both prompts, a box without ``slice_index``, and everything the readers and the
            predictor reject.
    """
    from propsam.inference.predictor import PropSAMPredictor

    if (box is None) == (mask is None):
        raise ValueError("segment_file: give exactly one prompt, box=(u0, v0, u1, v1) or mask=PATH; got "
                         f"box={box!r}, mask={mask!r}")
    loaded = read_image(image, channel=channel)
    plane = parse_plane(plane, argument="plane")
    predictor = PropSAMPredictor.from_bundle(checkpoint, channel=channel, **settings)
    if box is not None:
        if slice_index is None:
            raise ValueError("segment_file: a box prompt needs slice_index (the --slice of the CLI); got None")
        result = predictor.segment_from_box(loaded.array, loaded.spacing, plane, slice_index, box)
    else:
        index, mask2d = read_mask_prompt(mask, loaded, plane, slice_index)  # type: ignore[arg-type]
        result = predictor.segment_from_mask(loaded.array, loaded.spacing, plane, index, mask2d)
    write_mask(out, result.mask, loaded)
    return result
