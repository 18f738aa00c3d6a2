"""Reading a case's image channels onto one grid, shared by the readers: channel option checks, stacking,
resampling onto a reference channel, and empty masks on an image's grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from benchmark.data.cards import DatasetCard
from benchmark.data.enums import ObjectEncoding
from benchmark.data.geometry import Volume, check_same_grid, read_header, read_volume, volume_from_sitk
from benchmark.errors import CardError, ImageReadError

__all__ = ["check_channel_options", "read_channels", "resample_onto", "empty_mask"]


def check_channel_options(card: DatasetCard, suffixes: Mapping[str, str], resample_to: str) -> None:
    """Validate ``channel_suffixes`` and ``resample_to`` against the card's channels (shared by F1 and F5).

    Raises:
        CardError: The card is not label-map encoded, the suffix keys are not exactly the card's channels, a suffix
            is empty or repeated, or ``resample_to`` names no channel file.
    """
    if card.encoding is not ObjectEncoding.LABEL_MAP:
        raise CardError(f"{card.path}: key 'encoding' is {str(card.encoding)!r}; layout family "
                        f"{str(card.layout.family)} reads label maps only, expected 'label-map'")
    key = "layout.options.channel_suffixes"
    if suffixes and set(suffixes) != set(card.channels):
        raise CardError(f"{card.path}: key '{key}' names channels {sorted(suffixes)}; expected exactly the card's "
                        f"channels {list(card.channels)}")
    values = list(suffixes.values())
    if any(not v for v in values) or len(set(values)) != len(values):
        raise CardError(f"{card.path}: key '{key}' is {dict(suffixes)}; expected distinct, non-empty suffixes")
    if resample_to and (resample_to not in suffixes):
        raise CardError(f"{card.path}: key 'layout.options.resample_to' is {resample_to!r}; expected one of the "
                        f"channels of '{key}' {sorted(suffixes)} (resampling needs one file per channel)")


def read_channels(paths: Sequence[Path], names: Sequence[str], resample_to: str = "") -> Volume:
    """Read a case's image files and stack them as (C, X, Y, Z) on one canonical grid.

    Args:
        paths: One file per channel in ``names`` order, or one (possibly 4D multi-channel) file.
        names: The card's channel names.
        resample_to: Channel whose grid the others are linearly resampled onto when their grids differ; ``""``:
            a channel on another grid than the first is an error.

    Raises:
        ImageReadError: A file is missing, unreadable or not 3D where one file per channel is expected.
        GeometryMismatchError: Channels on different grids and ``resample_to`` is empty.
    """
    if len(paths) == 1:
        return read_volume(paths[0])
    ref = names.index(resample_to) if resample_to else 0
    reference = _read_3d(paths[ref], names[ref])
    arrays: list[np.ndarray] = []
    for index, (name, path) in enumerate(zip(names, paths, strict=True)):
        if index == ref:
            arrays.append(reference.array)
            continue
        if resample_to and read_header(path)[0] != reference.geometry:
            volume = resample_onto(path, paths[ref])
        else:
            volume = _read_3d(path, name)
            check_same_grid(reference.geometry, volume.geometry, what=f"channel {name!r}",
                            reference_path=paths[ref], other_path=path)
        arrays.append(volume.array)
    return Volume(np.stack(arrays), reference.geometry, paths[0])


def _read_3d(path: Path, name: str) -> Volume:
    volume = read_volume(path)
    if volume.array.ndim != 3:
        raise ImageReadError(f"{path}: channel {name!r} has shape {volume.array.shape}; expected a 3D image "
                             f"(one file per channel)")
    return volume


def resample_onto(path: Path, reference_path: Path) -> Volume:
    """Resample a 3D image onto the grid of another file (SimpleITK linear interpolation, float32).

    Voxels outside the moving image are filled with its minimum (air for CT, 0 for PET).

    Raises:
        ImageReadError: Either file cannot be read, or one is not 3D.
    """
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(reference_path))
    try:
        reader.ReadImageInformation()
        moving = sitk.ReadImage(str(path), sitk.sitkFloat32)
    except RuntimeError as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[-1][:300]
        raise ImageReadError(f"{path} or {reference_path}: could not be read for resampling ({reason})") from err
    if reader.GetDimension() != 3 or moving.GetDimension() != 3:
        raise ImageReadError(f"{path} onto {reference_path}: resampling needs two 3D images, got "
                             f"{moving.GetDimension()}D onto {reader.GetDimension()}D")
    fill = float(sitk.GetArrayViewFromImage(moving).min())
    resampled = sitk.Resample(moving, reader.GetSize(), sitk.Transform(), sitk.sitkLinear, reader.GetOrigin(),
                              reader.GetSpacing(), reader.GetDirection(), fill, sitk.sitkFloat32)
    return volume_from_sitk(resampled, path)


def empty_mask(image_path: Path) -> Volume:
    """An all-False (X, Y, Z) mask on the grid of an image file (for an object or case with no label file)."""
    geometry, _ = read_header(image_path)
    return Volume(np.zeros(geometry.shape, dtype=bool), geometry, image_path)
