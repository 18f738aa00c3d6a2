"""Planes of a canonical (X, Y, Z) volume: taking and writing slices, and the spacing along a plane's normal.

PropSAM follows the suite's convention (PropSAM imports nothing from it; the values are the same strings):

============  ===============  ==================  ============
plane         slice k          in-plane axes (u, v)  normal axis
============  ===============  ==================  ============
axial         ``v[:, :, k]``   (x, y)               2 (z)
coronal       ``v[:, k, :]``   (x, z)               1 (y)
sagittal      ``v[k, :, :]``   (y, z)               0 (x)
============  ===============  ==================  ============

Boxes are half-open ``(u0, v0, u1, v1)`` in the plane's in-plane axes, like numpy slices.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from propsam.options import parse_enum

__all__ = ["Plane", "PLANE_AXIS", "parse_plane", "normal_axis", "slice_of", "write_slice", "slice_shape"]


class Plane(str, Enum):
    """A slicing plane of the canonical grid."""

    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"

    def __str__(self) -> str:
        return str(self.value)


#: The array axis (of an (X, Y, Z) volume) that a plane's slices are taken along.
PLANE_AXIS: dict[Plane, int] = {Plane.SAGITTAL: 0, Plane.CORONAL: 1, Plane.AXIAL: 2}


def parse_plane(plane: Plane | str, *, argument: str = "plane") -> Plane:
    """Turn a plane name (or any str-valued enum member, such as the suite's own ``Plane``) into a :class:`Plane`.

    Raises:
        ValueError: ``plane`` is not one of "axial", "coronal", "sagittal"; the message names ``argument``.
    """
    return parse_enum(Plane, plane, argument=argument, what="plane")


def normal_axis(plane: Plane | str) -> int:
    """The volume axis normal to ``plane`` (0 for sagittal, 1 for coronal, 2 for axial)."""
    return PLANE_AXIS[parse_plane(plane)]


def slice_shape(volume_shape: tuple[int, ...], plane: Plane | str) -> tuple[int, int]:
    """The (U, V) shape of one slice of an (X, Y, Z) volume on ``plane``."""
    axis = normal_axis(plane)
    u, v = (int(n) for i, n in enumerate(volume_shape[:3]) if i != axis)
    return u, v


def slice_of(volume: np.ndarray, plane: Plane | str, index: int) -> np.ndarray:
    """The 2D slice ``index`` of an (X, Y, Z) volume on ``plane``, shape (U, V) (a view, not a copy)."""
    return _view(volume, normal_axis(plane), index)


def _view(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    where: list[int | slice] = [slice(None)] * volume.ndim
    where[axis] = index
    return volume[tuple(where)]


def write_slice(volume: np.ndarray, plane: Plane | str, index: int, values: np.ndarray) -> None:
    """Write a (U, V) array into slice ``index`` of an (X, Y, Z) volume on ``plane``, in place."""
    _view(volume, normal_axis(plane), index)[...] = values
