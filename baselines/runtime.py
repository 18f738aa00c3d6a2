"""What the torch-based comparator adapters share at run time: numeric precision, devices, and their settings.

Settings come from the run configuration's ``[models."NAME"]`` table as factory keyword arguments; each adapter
declares the keys it reads, and an unknown key or a value of the wrong type is refused with the key, the value and
what was expected, before anything heavy is built.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchmarkError

if TYPE_CHECKING:
    import torch

__all__ = ["Precision", "SettingsError", "autocast", "check_known", "as_bool", "as_int", "as_window",
           "synchronize"]


class Precision(str, Enum):
    """Numeric precision of a network's forward passes: fp32, or bf16 autocast (CPU and CUDA)."""

    FP32 = "fp32"
    BF16 = "bf16"

    def __str__(self) -> str:
        return str(self.value)


class SettingsError(BenchmarkError, ValueError):
    """A model setting (a key of the run config's model table) is unknown or has a wrong value."""


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on ``device`` (CPU or CUDA) for ``Precision.BF16``; a no-op context for fp32."""
    import torch

    if precision is Precision.FP32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so stage timings measure the work and not its launch."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_known(model: str, settings: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse keys that ``model`` does not read.

    Raises:
        SettingsError: Names the unknown keys and lists the known ones.
    """
    allowed = sorted(known)
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise SettingsError(f"{model}: unknown setting(s) {unknown} in its [models.\"{model}\"] table; "
                            f"expected any of {allowed}")


def as_bool(model: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{model}: setting {key} = {value!r} is not a boolean; expected true or false")
    return value


def as_int(model: str, key: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingsError(f"{model}: setting {key} = {value!r}; expected an integer >= {minimum}")
    return value


def as_window(model: str, key: str, value: Any) -> tuple[float, float]:
    """A CT window ``[level, width]`` in HU (width > 0)."""
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value) and value[1] > 0)
    if not ok:
        raise SettingsError(f"{model}: setting {key} = {value!r}; expected a CT window [level, width] in HU with "
                            f"width > 0, e.g. [40, 400]")
    return float(value[0]), float(value[1])
