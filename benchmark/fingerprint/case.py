"""The fingerprint of one case: its grid from the header, and (in a full pass) per-object statistics and
foreground intensities read from the labels and the image once."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.case import Case
from benchmark.data.geometry import PLANE_AXIS, Geometry, Plane, read_header
from benchmark.errors import CaseLoadError

__all__ = ["SCHEMA_VERSION", "ObjectStats", "ChannelIntensity", "CaseFingerprint", "fingerprint_case",
           "INTENSITY_SAMPLES"]

#: Version of the cached per-case document; bump it when the fields or their meaning change.
SCHEMA_VERSION = 1
#: Foreground voxels sampled per case and channel for the intensity statistics (nnU-Net samples similarly).
INTENSITY_SAMPLES = 2000


@dataclass(frozen=True, kw_only=True)
class ObjectStats:
    """One object in one case.

    Attributes:
        name: Object name from the card.
        voxels: Foreground voxel count.
        volume_mm3: ``voxels`` times the voxel volume.
        axial_extent_mm: Extent along z, (last - first + 1) slices times sz; 0 when absent.
        slice_areas: Foreground pixels per slice on each plane (axial: Z values, coronal: Y, sagittal: X).
    """

    name: str
    voxels: int
    volume_mm3: float
    axial_extent_mm: float
    slice_areas: dict[str, tuple[int, ...]]

    @property
    def present(self) -> bool:
        return self.voxels > 0


@dataclass(frozen=True, kw_only=True)
class ChannelIntensity:
    """Foreground intensities of one channel in one case (foreground = union of the case's objects)."""

    channel: str
    n_foreground: int
    mean: float
    std: float
    p00_5: float
    p99_5: float
    samples: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class CaseFingerprint:
    """Fingerprint of one case. ``objects`` and ``intensities`` are empty after a header-only pass."""

    dataset_id: str
    case_id: str
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    n_channels: int
    full: bool
    objects: tuple[ObjectStats, ...] = ()
    intensities: tuple[ChannelIntensity, ...] = ()

    @property
    def voxels(self) -> int:
        return int(np.prod(self.shape))

    @property
    def size_anisotropy(self) -> float:
        """Smallest over largest dimension (the paper's Table S4 definition)."""
        return min(self.shape) / max(self.shape)

    @property
    def spacing_anisotropy(self) -> float:
        """Smallest over largest spacing (Table S4)."""
        return min(self.spacing) / max(self.spacing)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseFingerprint:
        objects = tuple(ObjectStats(**{**o, "slice_areas": {k: tuple(v) for k, v in o["slice_areas"].items()}})
                        for o in data["objects"])
        intensities = tuple(ChannelIntensity(**{**c, "samples": tuple(c["samples"])}) for c in data["intensities"])
        return cls(dataset_id=data["dataset_id"], case_id=data["case_id"], shape=tuple(data["shape"]),
                   spacing=tuple(data["spacing"]), n_channels=data["n_channels"], full=data["full"],
                   objects=objects, intensities=intensities)


def header_geometry(case: Case, n_card_channels: int) -> tuple[Geometry, int]:
    """The case's grid and channel count, from the first image file's header when it is a file (no voxels read).

    Raises:
        CaseLoadError: Not a 3D image (or 4D with one volume per card channel), or a zero/NaN spacing.
    """
    first = case.entry.image_files[0] if case.entry.image_files else None
    if first is not None and not first.is_dir():
        geometry, n_channels = read_header(first)
        if n_channels > 1 and len(case.entry.image_files) > 1:
            raise CaseLoadError(f"{first}: a 4D image with {n_channels} volumes, expected a 3D image per channel")
        if n_channels == 1:
            n_channels = len(case.entry.image_files)
    else:
        geometry, n_channels = case.geometry, case.image.shape[0]
    if n_channels != n_card_channels:
        raise CaseLoadError(f"{first}: image has {n_channels} channel(s) (a 4D file has one per volume), "
                            f"expected {n_card_channels} as the card declares; a 3D image was expected per channel")
    _check_spacing(geometry, first)
    return geometry, n_channels


def _check_spacing(geometry: Geometry, path: Path | None) -> None:
    if not all(math.isfinite(s) and s > 0 for s in geometry.spacing):
        raise CaseLoadError(f"{path}: header spacing {geometry.spacing} mm has zero, negative or NaN values; "
                            f"expected positive finite spacing")


def fingerprint_case(case: Case, *, full: bool, n_card_channels: int, seed: int = 0) -> CaseFingerprint:
    """Fingerprint one case.

    Args:
        case: An opened case.
        full: Also read labels and image (per-object statistics, foreground intensities).
        n_card_channels: Channels the card declares, checked against the header.
        seed: Seed of the intensity sampling (combined with the case id, so results do not depend on order).
    """
    if not full:
        geometry, n_channels = header_geometry(case, n_card_channels)
        return CaseFingerprint(dataset_id=case.dataset_id, case_id=case.case_id, shape=geometry.shape,
                               spacing=geometry.spacing, n_channels=n_channels, full=False)
    # A full pass decodes the image anyway: its grid is taken from there rather than from a second header read.
    image = case.image  # (C, X, Y, Z); the Case checks the channel count against the card
    geometry = case.geometry
    _check_spacing(geometry, case.entry.image_files[0] if case.entry.image_files else None)
    masks = case.masks()
    objects = tuple(_object_stats(name, mask, geometry.spacing) for name, mask in masks.items())
    foreground = np.zeros_like(image[0], dtype=bool)  # same memory order as the image: fast masked gathers
    for mask in masks.values():
        foreground |= mask
    rng = np.random.default_rng([seed, _stable_int(case.case_id)])
    intensities = tuple(_intensity(str(name), image[index], foreground, rng)
                        for index, name in enumerate(case.channel_names))
    return CaseFingerprint(dataset_id=case.dataset_id, case_id=case.case_id, shape=geometry.shape,
                           spacing=geometry.spacing, n_channels=image.shape[0], full=True, objects=objects,
                           intensities=intensities)


def _object_stats(name: str, mask: np.ndarray, spacing: tuple[float, float, float]) -> ObjectStats:
    voxels = int(mask.sum())
    areas = {plane.value: tuple(int(a) for a in mask.sum(axis=tuple(i for i in range(3) if i != axis)))
             for plane, axis in PLANE_AXIS.items()}
    axial = np.flatnonzero(areas[Plane.AXIAL.value])
    extent = float((axial[-1] - axial[0] + 1) * spacing[2]) if axial.size else 0.0
    return ObjectStats(name=name, voxels=voxels, volume_mm3=voxels * float(np.prod(spacing)), axial_extent_mm=extent,
                       slice_areas=areas)


def _intensity(name: str, channel: np.ndarray, foreground: np.ndarray, rng: np.random.Generator) -> ChannelIntensity:
    values = channel[foreground].astype(np.float64)
    if values.size == 0:
        return ChannelIntensity(channel=name, n_foreground=0, mean=math.nan, std=math.nan, p00_5=math.nan,
                                p99_5=math.nan, samples=())
    picked = values if values.size <= INTENSITY_SAMPLES else rng.choice(values, INTENSITY_SAMPLES, replace=False)
    low, high = np.percentile(values, [0.5, 99.5])
    return ChannelIntensity(channel=name, n_foreground=int(values.size), mean=float(values.mean()),
                            std=float(values.std()), p00_5=float(low), p99_5=float(high),
                            samples=tuple(float(v) for v in picked))


def _stable_int(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))
