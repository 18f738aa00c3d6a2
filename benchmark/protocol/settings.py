"""The settings a run evaluates: the default protocol and the paper's two ablations.

- ``default``: prompts on the guide slice of the protocol (benchmark.protocol.simulation).
- ``slice-deviation`` (supplementary Table S8, Figure S9): the guide moved by r times the object's axial extent in
  slices (rounded half up), r in {0.05, 0.10, 0.15, 0.20}, direction drawn at random, then snapped to the nearest
  slice holding foreground. Its 0 point is the default setting itself, so deltas compare identical prompts.
- ``thickness`` (Table S9, Figure S10): the propagation window 10, 20, 30 and 40 mm, for models whose spec declares
  the ``window_mm`` setting; prompts are those of the default setting.

A :class:`SettingPoint` is one value of one setting; its ``key`` (``"default"``, ``"slice-deviation=0.05"``,
``"thickness=30"``) names it in the results store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from benchmark.errors import BenchmarkError

__all__ = ["Setting", "SettingPoint", "DEFAULT_POINT", "DEVIATION_RATIOS", "THICKNESSES_MM", "BASE_THICKNESS_MM",
           "WINDOW_SETTING", "setting_points", "deviation_slices", "parse_point"]

#: The paper's slice-deviation ratios (Table S8).
DEVIATION_RATIOS = (0.05, 0.10, 0.15, 0.20)
#: The paper's propagation thicknesses, mm (Table S9), and the base against which it reports changes.
THICKNESSES_MM = (10.0, 20.0, 30.0, 40.0)
BASE_THICKNESS_MM = 20.0
#: The model keyword argument the thickness setting sweeps.
WINDOW_SETTING = "window_mm"


class Setting(str, Enum):
    DEFAULT = "default"
    SLICE_DEVIATION = "slice-deviation"
    THICKNESS = "thickness"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, order=True)
class SettingPoint:
    """One value of one setting: a deviation ratio, a thickness in mm, or 0 for the default setting."""

    setting: Setting
    value: float = 0.0

    @property
    def key(self) -> str:
        """The point's name in the store and in prompt manifests."""
        return self.setting.value if self.setting is Setting.DEFAULT else f"{self.setting.value}={self.value:g}"

    @property
    def prompt_key(self) -> str:
        """The key prompts are drawn under: thickness points reuse the default setting's prompts."""
        return DEFAULT_POINT.key if self.setting is Setting.THICKNESS else self.key


DEFAULT_POINT = SettingPoint(Setting.DEFAULT)


def setting_points(setting: Setting | str, *, ratios: Sequence[float] = DEVIATION_RATIOS,
                   thicknesses_mm: Sequence[float] = THICKNESSES_MM) -> tuple[SettingPoint, ...]:
    """The points a setting runs (the slice-deviation setting's 0 point is the default setting, not repeated).

    Raises:
        BenchmarkError: Unknown setting, a ratio outside (0, 1], or a thickness that is not positive.
    """
    try:
        chosen = Setting(setting)
    except ValueError:
        raise BenchmarkError(f"unknown setting {setting!r}; expected one of {[s.value for s in Setting]}") from None
    if chosen is Setting.DEFAULT:
        return (DEFAULT_POINT,)
    if chosen is Setting.SLICE_DEVIATION:
        if any(not 0.0 < r <= 1.0 for r in ratios):
            raise BenchmarkError(f"slice-deviation ratios must be in (0, 1], got {list(ratios)}")
        return tuple(SettingPoint(chosen, float(r)) for r in ratios)
    if any(not (math.isfinite(t) and t > 0) for t in thicknesses_mm):
        raise BenchmarkError(f"thicknesses must be positive mm, got {list(thicknesses_mm)}")
    return tuple(SettingPoint(chosen, float(t)) for t in thicknesses_mm)


def deviation_slices(ratio: float, extent_slices: int) -> int:
    """Slices the guide moves for ``ratio`` of an object spanning ``extent_slices`` slices (rounded half up)."""
    return math.floor(ratio * extent_slices + 0.5)


def parse_point(key: str) -> SettingPoint:
    """The point a key names (inverse of :attr:`SettingPoint.key`).

    Raises:
        BenchmarkError: Not a setting key.
    """
    name, _, value = key.partition("=")
    try:
        setting = Setting(name)
        return SettingPoint(setting, float(value) if value else 0.0)
    except ValueError:
        raise BenchmarkError(f"{key!r} is not a setting key; expected 'default', 'slice-deviation=R' or "
                             f"'thickness=MM'") from None
