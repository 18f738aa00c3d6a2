from __future__ import annotations

import pytest

from benchmark.errors import BenchmarkError
from benchmark.protocol.settings import (
    DEFAULT_POINT,
    Setting,
    SettingPoint,
    deviation_slices,
    parse_point,
    setting_points,
)


def test_points_of_each_setting() -> None:
    assert setting_points("default") == (DEFAULT_POINT,)
    assert [p.key for p in setting_points(Setting.SLICE_DEVIATION)] == [
        "slice-deviation=0.05", "slice-deviation=0.1", "slice-deviation=0.15", "slice-deviation=0.2"]
    assert [p.value for p in setting_points("thickness")] == [10.0, 20.0, 30.0, 40.0]


@pytest.mark.parametrize("point", [DEFAULT_POINT, SettingPoint(Setting.SLICE_DEVIATION, 0.15),
                                   SettingPoint(Setting.THICKNESS, 30.0)])
def test_keys_round_trip(point: SettingPoint) -> None:
    assert parse_point(point.key) == point


def test_prompt_keys() -> None:
    assert SettingPoint(Setting.THICKNESS, 10).prompt_key == "default"
    assert SettingPoint(Setting.SLICE_DEVIATION, 0.1).prompt_key == "slice-deviation=0.1"


@pytest.mark.parametrize(("ratio", "extent", "slices"), [(0.05, 10, 1), (0.05, 9, 0), (0.10, 25, 3), (0.2, 31, 6)])
def test_deviation_rounds_half_up(ratio: float, extent: int, slices: int) -> None:
    assert deviation_slices(ratio, extent) == slices


def test_bad_settings_are_named() -> None:
    with pytest.raises(BenchmarkError, match="unknown setting 'thick'"):
        setting_points("thick")
    with pytest.raises(BenchmarkError, match=r"ratios must be in \(0, 1\]"):
        setting_points("slice-deviation", ratios=(0.0, 0.1))
    with pytest.raises(BenchmarkError, match="thicknesses must be positive"):
        setting_points("thickness", thicknesses_mm=(-10.0,))
    with pytest.raises(BenchmarkError, match="not a setting key"):
        parse_point("sideways=3")
