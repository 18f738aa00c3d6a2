"""Surface elements ("surfels") of a binary volume, and the area of each one in mm^2.

The surface of a mask is described cube by cube: a cube is a 2 x 2 x 2 neighbourhood of voxel centres, and its
neighbourhood code (0-255) says which of its 8 corners are foreground. A cube whose corners are neither all
background (code 0) nor all foreground (code 255) holds a piece of the surface. Its area is that of the
marching-cubes surface through the midpoints of the cube's edges whose two corners differ, as in Nikolov et al.
2021 ("Clinically applicable segmentation of head and neck anatomy for radiotherapy", the surface Dice paper) and
the ``surface-distance`` package that implements it. This module builds that 256-entry table from the geometry:

* corner ``n`` of a cube sits at offset ``((n >> 2) & 1, (n >> 1) & 1, n & 1)`` along axes (0, 1, 2), so the code
  of a cube is the sum of ``1 << n`` over its foreground corners;
* on each face of the cube the crossed edges are joined in pairs; a face whose foreground corners sit on a diagonal
  (two pairs) joins the edges around each foreground corner, so foreground corners touching only diagonally stay
  apart; a code with more than four foreground corners takes the surface of its complement (the same surface seen
  from the other side), as the original marching cubes tables do;
* the joined edges form closed polygons (3 to 6 vertices); each is cut into triangles, and a polygon that is not
  flat (the pentagon of three corners on one face, the hexagon of a chain of four corners) is cut the way that
  gives the largest area at unit spacing, which is the cut the reference tables use;
* a triangle's area vector ``a`` (half the cross product of two sides, at unit spacing) scales with the voxel size
  ``(sx, sy, sz)`` to ``(a0 sy sz, a1 sx sz, a2 sx sy)``, whose length is the triangle's area in mm^2.

The test suite checks the whole table against ``surface-distance`` for random anisotropic spacings.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

__all__ = ["CORNER_OFFSETS", "surfel_area_table"]

#: Offset along axes (0, 1, 2) of corner ``n`` of a cube: bit 2 of ``n`` is axis 0, bit 1 axis 1, bit 0 axis 2.
CORNER_OFFSETS: tuple[tuple[int, int, int], ...] = tuple(((n >> 2) & 1, (n >> 1) & 1, n & 1) for n in range(8))

_Edge = tuple[int, int]
_Triangle = tuple[_Edge, _Edge, _Edge]

#: The 12 edges of the cube as pairs of corners that differ along one axis.
_EDGES: tuple[_Edge, ...] = tuple((a, b) for a, b in itertools.combinations(range(8), 2) if bin(a ^ b).count("1") == 1)
#: The 6 faces of the cube as the 4 corners sharing one coordinate.
_FACES: tuple[tuple[int, ...], ...] = tuple(
    tuple(n for n in range(8) if CORNER_OFFSETS[n][axis] == side) for axis in range(3) for side in (0, 1))
#: Most triangles any code needs (a hexagon, or four separate corners).
_MAX_TRIANGLES = 4


def _midpoint(edge: _Edge) -> np.ndarray:
    return np.add(CORNER_OFFSETS[edge[0]], CORNER_OFFSETS[edge[1]], dtype=float) / 2


def _area_vector(triangle: _Triangle) -> np.ndarray:
    """Half the cross product of two sides: normal to the triangle, as long as its area (unit spacing)."""
    p, q, r = (_midpoint(edge) for edge in triangle)
    return np.asarray(0.5 * np.cross(q - p, r - p), dtype=float)


def _polygons(code: int) -> list[list[_Edge]]:
    """The closed polygons of ``code`` (at most four foreground corners), each as its edges in cyclic order."""
    inside = [bool(code >> n & 1) for n in range(8)]
    links: dict[_Edge, list[_Edge]] = {}
    for face in _FACES:
        crossed = [e for e in _EDGES if e[0] in face and e[1] in face and inside[e[0]] != inside[e[1]]]
        if len(crossed) == 2:
            pairs = [crossed]
        else:  # none, or four on a face with diagonal foreground corners: join around each foreground corner
            pairs = [[e for e in crossed if n in e] for n in face if inside[n] and crossed]
        for a, b in pairs:
            links.setdefault(a, []).append(b)
            links.setdefault(b, []).append(a)
    polygons: list[list[_Edge]] = []
    seen: set[_Edge] = set()
    for start in links:
        if start in seen:
            continue
        cycle, current = [start], start
        seen.add(start)
        while True:
            following = [e for e in links[current] if e not in seen]
            if not following:
                break
            current = following[0]
            cycle.append(current)
            seen.add(current)
        polygons.append(cycle)
    return polygons


def _triangulations(cycle: Sequence[_Edge]) -> list[list[_Triangle]]:
    """Every way to cut the polygon ``cycle`` into triangles along diagonals (Catalan many: 5 for 5, 14 for 6)."""
    if len(cycle) < 3:
        return [[]]
    first, last = cycle[0], cycle[-1]
    result: list[list[_Triangle]] = []
    for k in range(1, len(cycle) - 1):  # the triangle on side (first, last) has apex cycle[k]
        for left in _triangulations(cycle[:k + 1]):
            for right in _triangulations(cycle[k:]):
                result.append([*left, *right, (first, cycle[k], last)])
    return result


def _largest_cut(cycle: Sequence[_Edge]) -> np.ndarray:
    """Area vectors (k, 3) of the triangulation of ``cycle`` with the largest area at unit spacing."""
    best: np.ndarray | None = None
    best_area = -1.0
    for triangles in _triangulations(cycle):
        vectors = np.array([_area_vector(t) for t in triangles])
        area = float(np.linalg.norm(vectors, axis=1).sum())
        if area > best_area + 1e-12:
            best, best_area = vectors, area
    assert best is not None  # a polygon has at least three vertices
    return best


@functools.cache
def _unit_area_vectors() -> np.ndarray:
    """Absolute area vectors of every code's triangles at unit spacing, shape (256, 4, 3), zero-padded."""
    table = np.zeros((256, _MAX_TRIANGLES, 3))
    for code in range(1, 255):
        # More than four foreground corners: the complement's surface (same triangles, opposite orientation).
        canonical = code if bin(code).count("1") <= 4 else 255 - code
        vectors = np.concatenate([_largest_cut(cycle) for cycle in _polygons(canonical)])
        table[code, :len(vectors)] = np.abs(vectors)
    table.setflags(write=False)
    return table


def surfel_area_table(spacing: Sequence[float]) -> np.ndarray:
    """Area in mm^2 of the surface inside a cube, for each neighbourhood code.

    Args:
        spacing: Voxel size (sx, sy, sz) in mm along axes (0, 1, 2).

    Returns:
        Float64 array of shape (256,); entries 0 and 255 are 0.

    Example:
        >>> float(surfel_area_table((1.0, 1.0, 1.0))[0b00000011])  # two corners along axis 2: a 1 x sqrt(0.5) quad
        0.7071067811865476
    """
    sx, sy, sz = (float(s) for s in spacing)
    scale = np.array([sy * sz, sx * sz, sx * sy])
    return np.asarray(np.linalg.norm(_unit_area_vectors() * scale, axis=2).sum(axis=1), dtype=np.float64)
