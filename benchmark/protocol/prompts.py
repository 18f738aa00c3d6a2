"""Prompt types: small frozen dataclasses in voxel indices of the canonical grid (see docs/architecture).

In-plane axes of each plane, on a canonical (X, Y, Z) volume ``v``:

============  ===============  ==================
plane         slice k          in-plane axes (u, v)
============  ===============  ==================
axial         ``v[:, :, k]``   (x, y)
coronal       ``v[:, k, :]``   (x, z)
sagittal      ``v[k, :, :]``   (y, z)
============  ===============  ==================

Boxes are half-open like numpy slices: ``(u0, v0, u1, v1)`` covers ``u0 <= u < u1`` and ``v0 <= v < v1``.
Every prompt records what it leaks from the ground truth beyond itself (``leaks``), so tables can state it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from benchmark.data.geometry import Plane

__all__ = ["PromptKind", "Box2D", "Mask2D", "Box3D", "Prompt"]


class PromptKind(str, Enum):
    BOX_2D = "box2d"
    MASK_2D = "mask2d"
    BOX_3D = "box3d"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Box2D:
    """A box on one slice. ``box`` is (u0, v0, u1, v1), half-open voxel indices in the plane's (u, v) axes."""

    plane: Plane
    slice_index: int
    box: tuple[int, int, int, int]
    leaks: tuple[str, ...] = ()
    kind: PromptKind = field(default=PromptKind.BOX_2D, init=False)


@dataclass(frozen=True, eq=False)
class Mask2D:
    """A boolean mask of one slice, shape (U, V) of the plane's in-plane axes.

    ``extent``, when set, is the object's true slice range along the plane's normal (half-open); it is ground truth
    beyond the prompt, needed only by baselines such as naive propagation, and ``leaks`` then names it.
    """

    plane: Plane
    slice_index: int
    mask: np.ndarray
    leaks: tuple[str, ...] = ()
    extent: tuple[int, int] | None = None
    kind: PromptKind = field(default=PromptKind.MASK_2D, init=False)


@dataclass(frozen=True)
class Box3D:
    """A box on two planes: a transverse box on one axial slice plus a range of axial slices.

    ``box`` is (x0, y0, z0, x1, y1, z1), half-open voxel indices: (x0, y0, x1, y1) is the transverse box drawn on
    axial slice ``slice_index`` and (z0, z1) the slice range, which comes from the object's true extent and is
    leaked ground truth (``leaks`` names it). MedSAM and SegVol need this prompt; a user draws it as boxes on the
    transverse and the sagittal (or coronal) plane.
    """

    box: tuple[int, int, int, int, int, int]
    slice_index: int
    leaks: tuple[str, ...] = ("z-extent",)
    kind: PromptKind = field(default=PromptKind.BOX_3D, init=False)

    @property
    def plane(self) -> Plane:
        """The plane of the transverse box: always axial."""
        return Plane.AXIAL


Prompt = Box2D | Mask2D | Box3D
