"""Planes: slice extraction and writing on (X, Y, Z) volumes, names, compatibility with the suite's prompt planes."""

from __future__ import annotations

import numpy as np
import pytest

from propsam.inference.planes import Plane, normal_axis, parse_plane, slice_of, slice_shape, write_slice


@pytest.mark.parametrize(("plane", "expected"), [
    # volume (X, Y, Z) = (4, 5, 6); slice 2
    ("axial", lambda v: v[:, :, 2]),     # (U, V) = (x, y): (4, 5)
    ("coronal", lambda v: v[:, 2, :]),   # (x, z): (4, 6)
    ("sagittal", lambda v: v[2, :, :]),  # (y, z): (5, 6)
])
def test_slice_of_and_write_slice_follow_the_suite_convention(plane: str, expected: object) -> None:
    volume = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    np.testing.assert_array_equal(slice_of(volume, plane, 2), expected(volume))  # type: ignore[operator]
    assert slice_shape(volume.shape, plane) == expected(volume).shape  # type: ignore[operator]
    out = np.zeros((4, 5, 6), dtype=bool)
    write_slice(out, plane, 2, np.ones(slice_shape(volume.shape, plane), dtype=bool))
    assert expected(out).all() and out.sum() == expected(out).size  # type: ignore[operator]


def test_normal_axes() -> None:
    assert [normal_axis(p) for p in ("sagittal", "coronal", "axial")] == [0, 1, 2]


def test_parse_plane_accepts_the_suites_enum_and_case_insensitive_names() -> None:
    from benchmark.data.geometry import PLANE_AXIS
    from benchmark.data.geometry import Plane as SuitePlane

    for suite_plane in SuitePlane:
        assert parse_plane(suite_plane).value == suite_plane.value
        assert normal_axis(suite_plane) == PLANE_AXIS[suite_plane]
    assert parse_plane("Axial") is Plane.AXIAL


def test_unknown_plane_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"--plane: unknown plane 'transverse'; expected one of 'axial'"):
        parse_plane("transverse", argument="--plane")
