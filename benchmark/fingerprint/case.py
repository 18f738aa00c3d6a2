"""The fingerprint of one case: its grid from the header, and (in a full pass) per-object statistics and
foreground intensities read from the labels and the image once.

Foreground intensities (the union of the case's objects, per channel) are summarised exactly. Non-finite voxels (NaN,
+-Inf, which some float images hold) are counted per case (``ChannelIntensity.n_nonfinite``) and kept out of every
statistic. Channels whose finite foreground values are whole numbers (CT in HU, most MR) keep their exact value
histogram, so the dataset's pooled statistics are exact too (``benchmark.fingerprint.summary``). Other channels keep
``INTENSITY_SAMPLES`` foreground values drawn with replacement (a fixed number per case, as nnU-Net's fingerprint draws
its 10,000), from which pooled percentiles are estimated.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.case import Case
from benchmark.data.geometry import PLANE_AXIS, Geometry, Plane, read_header
from benchmark.errors import CaseLoadError
from benchmark.fingerprint.foreground import ForegroundScan, scan_label_map, scan_masks
from benchmark.fingerprint.histograms import histogram, mean_std, percentile

__all__ = ["SCHEMA_VERSION", "ObjectStats", "ChannelIntensity", "CaseFingerprint", "fingerprint_case",
           "INTENSITY_SAMPLES"]

#: Version of the cached per-case document; bump it when the fields or their meaning change.
SCHEMA_VERSION = 2
#: Foreground values drawn (with replacement) per case and channel whose values are not whole numbers.
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
    """Foreground intensities of one channel in one case (foreground = union of the case's objects).

    Attributes:
        channel: The card's channel name.
        n_foreground: Finite foreground voxels (the statistics' sample).
        n_nonfinite: NaN and infinite voxels anywhere in the channel, kept out of every statistic.
        n_nonfinite_foreground: Of those, the ones in the foreground.
        mean: Mean of the finite foreground values (NaN without any).
        std: Their population standard deviation.
        p00_5: Their 0.5th percentile (numpy's linear interpolation).
        p99_5: Their 99.5th percentile.
        values: Distinct foreground values, ascending, when they are all whole numbers (else empty).
        counts: Voxels of each of ``values``.
        samples: ``INTENSITY_SAMPLES`` foreground values drawn with replacement when they are not whole numbers.
    """

    channel: str
    n_foreground: int
    n_nonfinite: int = 0
    n_nonfinite_foreground: int = 0
    mean: float
    std: float
    p00_5: float
    p99_5: float
    values: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    samples: tuple[float, ...] = ()

    @property
    def exact(self) -> bool:
        """True when the case's values are kept whole (a histogram), so pooled statistics are exact."""
        return self.n_foreground == 0 or bool(self.values)


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
        intensities = tuple(ChannelIntensity(**{**c, "values": tuple(c["values"]), "counts": tuple(c["counts"]),
                                                "samples": tuple(c["samples"])}) for c in data["intensities"])
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
    scan = _scan(case, image)
    objects = tuple(_object_stats(name, index, scan, geometry.spacing) for index, name in enumerate(case.objects))
    rng = np.random.default_rng([seed, zlib.crc32(case.case_id.encode("utf-8"))])
    intensities = tuple(_intensity(str(name), image[index], scan.values[index], rng)
                        for index, name in enumerate(case.channel_names))
    return CaseFingerprint(dataset_id=case.dataset_id, case_id=case.case_id, shape=geometry.shape,
                           spacing=geometry.spacing, n_channels=image.shape[0], full=True, objects=objects,
                           intensities=intensities)


def _scan(case: Case, image: np.ndarray) -> ForegroundScan:
    """One pass over the label map when the case has one, else over each object's mask."""
    layout = case.label_map()
    if layout is not None:
        scan = scan_label_map(layout.volume.array, layout.values, case.objects, image)
        if scan is not None:
            return scan
    masks = case.masks()
    return scan_masks([masks[name] for name in case.objects], image)


def _object_stats(name: str, index: int, scan: ForegroundScan, spacing: tuple[float, float, float]) -> ObjectStats:
    voxels = int(scan.counts[index])
    areas = {plane.value: tuple(scan.areas[axis][index].tolist()) for plane, axis in PLANE_AXIS.items()}
    axial = np.flatnonzero(scan.areas[PLANE_AXIS[Plane.AXIAL]][index])
    extent = float((axial[-1] - axial[0] + 1) * spacing[2]) if axial.size else 0.0
    return ObjectStats(name=name, voxels=voxels, volume_mm3=voxels * float(np.prod(spacing)), axial_extent_mm=extent,
                       slice_areas=areas)


def _intensity(name: str, channel: np.ndarray, foreground: np.ndarray, rng: np.random.Generator) -> ChannelIntensity:
    """Statistics of one channel's foreground values (exact; non-finite values counted and left out)."""
    n_nonfinite = n_nonfinite_fg = 0
    values = foreground
    if values.dtype.kind == "f":
        n_nonfinite = int(channel.size - np.count_nonzero(np.isfinite(channel)))
        if n_nonfinite:
            finite = np.isfinite(values)
            n_nonfinite_fg = int(values.size - np.count_nonzero(finite))
            values = values[finite]
    if values.size == 0:
        return ChannelIntensity(channel=name, n_foreground=0, mean=math.nan, std=math.nan, p00_5=math.nan,
                                p99_5=math.nan, n_nonfinite=n_nonfinite, n_nonfinite_foreground=n_nonfinite_fg)
    if values.dtype.kind in "iub" or _whole(values):
        hist = histogram(values)
        mean, std = mean_std(hist)
        return ChannelIntensity(channel=name, n_foreground=int(values.size), mean=mean, std=std,
                                p00_5=percentile(hist, 0.5), p99_5=percentile(hist, 99.5),
                                values=tuple(hist[0].tolist()), counts=tuple(hist[1].tolist()),
                                n_nonfinite=n_nonfinite, n_nonfinite_foreground=n_nonfinite_fg)
    as_float = values.astype(np.float64)
    low, high = np.percentile(as_float, [0.5, 99.5])
    picked = rng.choice(as_float, INTENSITY_SAMPLES, replace=True)
    return ChannelIntensity(channel=name, n_foreground=int(values.size), mean=float(as_float.mean()),
                            std=float(as_float.std()), p00_5=float(low), p99_5=float(high),
                            samples=tuple(picked.tolist()), n_nonfinite=n_nonfinite,
                            n_nonfinite_foreground=n_nonfinite_fg)


def _whole(values: np.ndarray) -> bool:
    """True when float values are all whole numbers small enough to count (a CT stored as float)."""
    return bool(np.abs(values).max() < 2**31) and bool(np.array_equal(values, np.rint(values)))
