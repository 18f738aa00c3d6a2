from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.metrics.surfels import CORNER_OFFSETS, surfel_area_table

SPACING = (0.7, 1.3, 2.9)  # mm, all different so that a swapped axis shows


def _code(*corners: tuple[int, int, int]) -> int:
    return sum(1 << CORNER_OFFSETS.index(corner) for corner in corners)


def test_empty_and_full_cubes_have_no_surface() -> None:
    table = surfel_area_table(SPACING)
    assert table.shape == (256,)
    assert table[0] == 0.0 and table[255] == 0.0
    assert (table[1:255] > 0).all()


def test_flat_pieces_by_hand() -> None:
    sx, sy, sz = SPACING
    table = surfel_area_table(SPACING)
    # One corner: the triangle through three edge midpoints, area |(sy sz, sx sz, sx sy)| / 8.
    assert table[_code((0, 0, 0))] == pytest.approx(math.hypot(sy * sz, sx * sz, sx * sy) / 8, rel=1e-12)
    # Two corners along z: a rectangle sz long and half a face diagonal of the (x, y) face wide.
    assert table[_code((0, 0, 0), (0, 0, 1))] == pytest.approx(sz * math.hypot(sx, sy) / 2, rel=1e-12)
    # Four corners of the face x = 0: a square parallel to it, sy by sz.
    face_x0 = _code((0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1))
    assert table[face_x0] == pytest.approx(sy * sz, rel=1e-12)
    # A corner and its three neighbours: a flat hexagon parallel to the one-corner triangle, six times its area.
    hexagon = _code((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1))
    assert table[hexagon] == pytest.approx(6 * table[_code((0, 0, 0))], rel=1e-12)
    # Two corners on a face diagonal touch only diagonally: two separate triangles.
    diagonal = _code((0, 0, 0), (0, 1, 1))
    assert table[diagonal] == pytest.approx(table[_code((0, 0, 0))] + table[_code((0, 1, 1))], rel=1e-12)


def test_complement_has_the_same_surface() -> None:
    table = surfel_area_table(SPACING)
    np.testing.assert_allclose(table, table[::-1], rtol=1e-12)


def test_isotropic_table_scales_with_the_square_of_the_voxel() -> None:
    np.testing.assert_allclose(surfel_area_table((2.0, 2.0, 2.0)), 4 * surfel_area_table((1.0, 1.0, 1.0)),
                               rtol=1e-12)


def test_whole_table_agrees_with_surface_distance() -> None:
    lookup_tables = pytest.importorskip("surface_distance.lookup_tables",
                                        reason="surface-distance (test dependency group) is not installed")
    rng = np.random.default_rng(7)
    for spacing in [(1.0, 1.0, 1.0), SPACING, *rng.uniform(0.2, 5.0, size=(20, 3))]:
        reference = lookup_tables.create_table_neighbour_code_to_surface_area(spacing)
        np.testing.assert_allclose(surfel_area_table(spacing), reference, rtol=1e-13, atol=0)
