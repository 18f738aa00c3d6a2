"""Synthetic CT-like and MR-like phantoms: a body with organs, a thin vessel and small lesions (numpy and scipy only).

Every phantom is built on the canonical grid (RAS+, array axes x, y, z; see benchmark.data.geometry) from a numpy
Generator, so one seed gives the same arrays on every machine. Shapes are laid out in coordinates normalised to the
field of view (0 to 1 along each axis), so an object spans a similar number of slices whatever the spacing; the
vessel's and the lesions' in-plane radii are set in voxels, so they stay thin and small on every grid.

Objects (``Structure``), disjoint by construction (later ones are carved out of earlier ones):

* ``liver``: a large organ whose elliptical cross-section grows, shrinks, drifts and turns from slice to slice, with a
  low-frequency wobble of its outline.
* ``kidney``: a bean-shaped organ, the union of ellipsoids along a curved centreline.
* ``vessel``: a tube along z whose centre curves in-plane, with a radius of 1.5 to 2.6 voxels.
* ``lesion``: one or two small ellipsoids surrounded by liver tissue.

CT channels are in HU with Gaussian noise; MR channels are in arbitrary units with a smooth multiplicative bias field
and Rician noise. Both have a mild smooth texture and a slight partial-volume blur.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy import ndimage

from benchmark.data.enums import Modality, _StrEnum

__all__ = ["Structure", "CONTRASTS", "PhantomSpec", "Phantom", "make_phantom"]


class Structure(_StrEnum):
    """The objects every phantom holds, in carving order (a later structure wins where two overlap)."""

    KIDNEY = "kidney"
    LIVER = "liver"
    VESSEL = "vessel"
    LESION = "lesion"


# Tissue classes of the label volume that is rendered into intensities; indices into the CONTRASTS rows.
_AIR, _FAT, _SOFT, _BONE, _LIVER, _KIDNEY, _VESSEL, _LESION = range(8)

#: Mean intensity of each tissue (air, fat, soft tissue, bone, liver, kidney, vessel, lesion) per contrast:
#: HU for ``"CT"`` (portal-venous-like enhancement, hypodense lesions), arbitrary units for the MR contrasts.
CONTRASTS: Mapping[str, tuple[float, ...]] = MappingProxyType({
    "CT": (-1000.0, -100.0, 35.0, 700.0, 95.0, 170.0, 200.0, 35.0),
    "T1": (0.0, 450.0, 225.0, 125.0, 280.0, 200.0, 75.0, 150.0),
    "T2": (0.0, 350.0, 165.0, 75.0, 125.0, 300.0, 425.0, 380.0),
})

_CT_RANGE = (-1024, 3071)
_MR_RANGE = (0, 4095)


@dataclass(frozen=True)
class PhantomSpec:
    """What to build.

    Attributes:
        shape: Voxels along (x, y, z); each at least 16.
        spacing: Voxel size in mm along (x, y, z); the anatomy is laid out per voxel, so spacing only labels it.
        channels: Contrast of each channel, keys of ``CONTRASTS``: ``("CT",)``, or MR contrasts such as
            ``("T1", "T2")`` (the same anatomy rendered in each).
        noise: Standard deviation of the noise, in the channels' units (HU for CT, a.u. for MR).
        bias: MR only: largest relative amplitude of the smooth multiplicative bias field (0.2 means x0.8 to x1.2).

    Raises:
        ValueError: A shape below 16 voxels, a non-positive spacing or noise, an unknown contrast, or CT mixed with
            MR contrasts.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    channels: tuple[str, ...] = ("CT",)
    noise: float = 12.0
    bias: float = 0.2

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 16:
            raise ValueError(f"PhantomSpec.shape must be 3 sizes of at least 16 voxels, got {self.shape}")
        if len(self.spacing) != 3 or min(self.spacing) <= 0:
            raise ValueError(f"PhantomSpec.spacing must be 3 positive sizes in mm, got {self.spacing}")
        unknown = [name for name in self.channels if name not in CONTRASTS]
        if not self.channels or unknown:
            raise ValueError(f"PhantomSpec.channels must name contrasts among {sorted(CONTRASTS)}, "
                             f"got {self.channels}")
        if "CT" in self.channels and len(self.channels) > 1:
            raise ValueError(f"PhantomSpec.channels mixes CT with MR contrasts: {self.channels}; expected ('CT',) "
                             f"or MR contrasts only")
        if self.noise < 0 or not 0 <= self.bias < 1:
            raise ValueError(f"PhantomSpec noise must be >= 0 and bias in [0, 1), got noise={self.noise}, "
                             f"bias={self.bias}")

    @property
    def modality(self) -> Modality:
        return Modality.CT if self.channels == ("CT",) else Modality.MR


@dataclass(frozen=True)
class Phantom:
    """One synthetic scan on the canonical grid; arrays are read-only.

    Attributes:
        channels: One int16 array per channel, shape (X, Y, Z) each: HU for CT, a.u. for MR.
        channel_names: The contrast of each channel (``"CT"``, ``"T1"``, ...).
        masks: Structure name (a ``Structure`` value) to a boolean mask, shape (X, Y, Z); masks are disjoint.
        spacing: Voxel size in mm along (x, y, z).
        modality: CT or MR.
    """

    channels: tuple[np.ndarray, ...]
    channel_names: tuple[str, ...]
    masks: Mapping[str, np.ndarray]
    spacing: tuple[float, float, float]
    modality: Modality

    def __post_init__(self) -> None:
        for array in (*self.channels, *self.masks.values()):
            array.setflags(write=False)
        object.__setattr__(self, "masks", MappingProxyType(dict(self.masks)))

    @property
    def image(self) -> np.ndarray:
        """The first channel, shape (X, Y, Z)."""
        return self.channels[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        x, y, z = self.channels[0].shape
        return (int(x), int(y), int(z))

    def stacked(self) -> np.ndarray:
        """Every channel, shape (C, X, Y, Z)."""
        return np.stack(self.channels)

    def label_map(self, values: Mapping[str, int]) -> np.ndarray:
        """A uint8 label map, shape (X, Y, Z), with ``values[name]`` where ``masks[name]`` holds and 0 elsewhere.

        Raises:
            KeyError: A name in ``values`` is not one of ``masks``.
        """
        label = np.zeros(self.shape, dtype=np.uint8)
        for name, value in values.items():
            if name not in self.masks:
                raise KeyError(f"phantom has no structure {name!r}; structures: {sorted(self.masks)}")
            label[self.masks[name]] = value
        return label


@dataclass(frozen=True)
class _Grid:
    """Cell-centre coordinates normalised to [0, 1], broadcastable: u (X, 1, 1), v (1, Y, 1), w (1, 1, Z)."""

    shape: tuple[int, int, int]
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray


def _grid(shape: tuple[int, int, int]) -> _Grid:
    axes = [((np.arange(n, dtype=np.float32) + 0.5) / n) for n in shape]
    return _Grid(shape, axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :])


def make_phantom(spec: PhantomSpec, rng: np.random.Generator) -> Phantom:
    """Build one phantom.

    Args:
        spec: Shape, spacing, contrasts and noise.
        rng: The only source of randomness; the same generator state gives identical arrays.

    Returns:
        The phantom, with a mask per ``Structure``, each non-empty.
    """
    grid = _grid(spec.shape)
    body, interior, spine = _body(grid, rng)
    kidney = _bean(grid, rng) & interior
    liver = _tapered_organ(grid, rng) & interior & ~kidney
    vessel = _tube(grid, rng) & interior
    kidney &= ~vessel
    liver &= ~vessel
    lesion = _lesions(liver, grid, rng)
    liver &= ~lesion
    masks = {Structure.KIDNEY.value: kidney, Structure.LIVER.value: liver, Structure.VESSEL.value: vessel,
             Structure.LESION.value: lesion}
    tissue = np.full(spec.shape, _AIR, dtype=np.uint8)
    soft = interior & ~_visceral_fat(grid.shape, rng)
    for mask, value in ((body, _FAT), (soft, _SOFT), (spine & ~vessel, _BONE), (kidney, _KIDNEY),
                        (liver, _LIVER), (vessel, _VESSEL), (lesion, _LESION)):
        tissue[mask] = value
    channels = tuple(_render(tissue, body, name, spec, rng) for name in spec.channels)
    sx, sy, sz = (float(s) for s in spec.spacing)
    return Phantom(channels, spec.channels, masks, (sx, sy, sz), spec.modality)


def _body(grid: _Grid, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Body outline (elliptical, breathing slightly along z), its interior inside a fat layer, and a spine."""
    wobble = 1.0 + 0.04 * np.sin(2 * np.pi * grid.w + rng.uniform(0, 2 * np.pi))
    ax, ay = rng.uniform(0.43, 0.47) * wobble, rng.uniform(0.35, 0.39) * wobble
    radius = ((grid.u - 0.5) / ax) ** 2 + ((grid.v - 0.5) / ay) ** 2
    fat = rng.uniform(0.8, 0.88)  # squared-radius threshold of the inner edge of subcutaneous fat
    spine = ((grid.u - 0.5) / 0.07) ** 2 + ((grid.v - 0.27) / 0.06) ** 2 <= 1.0
    return radius <= 1.0, radius <= fat, np.broadcast_to(spine, grid.shape)


def _visceral_fat(shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth patches (about a third of the volume) where fat lies between the organs, so organs have edges."""
    white = rng.standard_normal(shape, dtype=np.float32)
    field = ndimage.gaussian_filter(white, sigma=(4.0, 4.0, 2.0), truncate=2.5)
    fat: np.ndarray = field > np.quantile(field, 0.65)
    return fat


def _tapered_organ(grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """A liver-like organ whose cross-section changes strongly along z.

    Along t in (-1, 1) (the organ's z-extent) the elliptical cross-section is scaled by ``sqrt(1 - |t|^3)`` times a
    linear taper (one end about twice as wide as the other), its centre drifts, its axes turn, and its outline wobbles
    with a low-frequency angular field that also changes with t.
    """
    zc, hz = 0.55 + rng.uniform(-0.03, 0.03), rng.uniform(0.38, 0.42)
    t = (grid.w - zc) / hz
    taper = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.45)
    scale = np.sqrt(np.clip(1.0 - np.abs(t) ** 3, 0.0, None)) * (1.0 + taper * t)
    a = rng.uniform(0.15, 0.18) * scale
    b = rng.uniform(0.11, 0.14) * scale
    cx = 0.64 + rng.uniform(-0.02, 0.02) + 0.05 * t
    cy = 0.55 + rng.uniform(-0.02, 0.02) - 0.04 * t
    theta = rng.uniform(-0.4, 0.4) + 0.5 * t
    dx, dy = grid.u - cx, grid.v - cy
    p = (dx * np.cos(theta) + dy * np.sin(theta)) / np.maximum(a, 1e-6)
    q = (-dx * np.sin(theta) + dy * np.cos(theta)) / np.maximum(b, 1e-6)
    phi = np.arctan2(q, p)
    p1, p2 = rng.uniform(0, 2 * np.pi, size=2)
    outline = 1.0 + 0.1 * np.sin(2 * phi + p1 + 3 * t) + 0.06 * np.sin(3 * phi + p2 - 2 * t)
    inside: np.ndarray = (p**2 + q**2 <= outline**2) & (np.abs(t) < 1.0) & (scale > 0)
    return inside


def _bean(grid: _Grid, rng: np.random.Generator, points: int = 10) -> np.ndarray:
    """A kidney-like organ: the union of ellipsoids along a bent centreline, thickest in the middle."""
    start = np.array([0.30, 0.37, 0.22]) + rng.uniform(-0.02, 0.02, size=3)
    end = np.array([0.27, 0.34, 0.66]) + rng.uniform(-0.02, 0.02, size=3)
    bend = np.array([rng.uniform(-0.07, -0.04), rng.uniform(0.02, 0.05), 0.0])
    r0 = rng.uniform(0.11, 0.125)
    mask = np.zeros(grid.shape, dtype=bool)
    for s in np.linspace(0.0, 1.0, points):
        centre = start + s * (end - start) + np.sin(np.pi * s) * bend
        r = r0 * (0.6 + 0.4 * np.sin(np.pi * s))
        mask |= (((grid.u - centre[0]) / r) ** 2 + ((grid.v - centre[1]) / (0.8 * r)) ** 2
                 + ((grid.w - centre[2]) / (1.3 * r)) ** 2) <= 1.0
    return mask


def _tube(grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """A vessel along z through most slices; its centre curves in-plane, its radius is 1.5 to 2.6 voxels."""
    nx, ny, _ = grid.shape
    freq, phase = rng.uniform(0.6, 1.2), rng.uniform(0, 2 * np.pi)
    cx = nx * (0.45 + 0.05 * np.sin(2 * np.pi * freq * grid.w + phase))
    cy = ny * (0.42 + 0.03 * np.cos(2 * np.pi * freq * grid.w + phase))
    radius = rng.uniform(1.5, 2.6)
    x = np.arange(nx, dtype=np.float32)[:, None, None]
    y = np.arange(ny, dtype=np.float32)[None, :, None]
    z0, z1 = rng.uniform(0.02, 0.1), rng.uniform(0.9, 1.0)
    inside: np.ndarray = ((x - cx) ** 2 + (y - cy) ** 2 <= radius**2) & (grid.w >= z0) & (grid.w <= z1)
    return inside


def _lesions(organ: np.ndarray, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """One or two small ellipsoids (in-plane radius 2.5 to 4 voxels) placed where organ tissue surrounds them."""
    lesion = np.zeros(grid.shape, dtype=bool)
    found = ndimage.find_objects(organ.astype(np.uint8))
    if not found or found[0] is None:
        return lesion
    box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in found[0])  # the work stays in the organ's box
    room, inside = organ[box].copy(), organ[box]
    ix, iy, iz = (np.arange(n).reshape([n if a == axis else 1 for a in range(3)]) for axis, n in enumerate(room.shape))
    for _ in range(int(rng.integers(1, 3))):
        r_xy = rng.uniform(2.5, 4.0)
        r_z = max(1.5, 0.06 * grid.shape[2])
        # Distance to the outside of the free organ tissue, in lesion radii (anisotropic sampling).
        depth = ndimage.distance_transform_edt(room, sampling=(1 / r_xy, 1 / r_xy, 1 / r_z))
        candidates = np.flatnonzero(depth >= min(1.5, float(depth.max())))
        if not room.any() or candidates.size == 0:
            break
        cx, cy, cz = (int(c) for c in np.unravel_index(candidates[rng.integers(candidates.size)], room.shape))
        blob = (((ix - cx) / r_xy) ** 2 + ((iy - cy) / r_xy) ** 2 + ((iz - cz) / r_z) ** 2) <= 1.0
        lesion[box] |= blob & inside
        room &= ~ndimage.binary_dilation(blob, iterations=2)
    return lesion


def _render(tissue: np.ndarray, body: np.ndarray, contrast: str, spec: PhantomSpec,
            rng: np.random.Generator) -> np.ndarray:
    """Intensities of one channel, int16 (X, Y, Z): tissue means, texture, blur, MR bias field, noise."""
    means = np.asarray(CONTRASTS[contrast], dtype=np.float32)
    image = means[tissue]
    white = rng.standard_normal(tissue.shape, dtype=np.float32)
    texture = ndimage.gaussian_filter(white, sigma=(2.0, 2.0, 1.0), truncate=3.0)
    texture /= max(float(texture.std()), 1e-6)
    image += np.where(body, texture * (0.6 * spec.noise), 0.0).astype(np.float32)
    image = ndimage.gaussian_filter(image, sigma=(0.5, 0.5, 0.3))
    if contrast == "CT":
        image += rng.normal(0.0, spec.noise, size=tissue.shape).astype(np.float32)
        low, high = _CT_RANGE
    else:
        image *= _bias_field(tissue.shape, spec.bias, rng)
        real = image + rng.normal(0.0, spec.noise, size=tissue.shape).astype(np.float32)
        imaginary = rng.normal(0.0, spec.noise, size=tissue.shape).astype(np.float32)
        image = np.sqrt(real**2 + imaginary**2)  # magnitude of complex Gaussian noise: Rician
        low, high = _MR_RANGE
    quantised: np.ndarray = np.clip(np.rint(image), low, high).astype(np.int16)
    return quantised


def _bias_field(shape: tuple[int, ...], amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth multiplicative field, shape (X, Y, Z), between 1 - amplitude and 1 + amplitude."""
    grid = _grid((int(shape[0]), int(shape[1]), int(shape[2])))
    field = np.zeros(shape, dtype=np.float32)
    for _ in range(3):
        fx, fy, fz = rng.uniform(0.2, 1.0, size=3)
        field += np.cos(np.pi * (fx * grid.u + fy * grid.v + fz * grid.w) + rng.uniform(0, 2 * np.pi))
    field /= max(float(np.abs(field).max()), 1e-6)
    return (1.0 + amplitude * field).astype(np.float32)
