"""The clock and the memory gauge of one ``segment`` call (the paper's Table S6 clock: one volume, one prompt).

Wall time covers the call alone, with CUDA synchronised before and after when torch is on a GPU. Peak resident
memory of the process during the call: on Linux the kernel's high-water mark is reset before the call
(``/proc/self/clear_refs``) and read after it (``VmHWM``); elsewhere the process's lifetime peak is reported and the
method says so. On CUDA, the peak memory torch allocated during the call.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["CallCost", "timed_call", "MEMORY_METHOD"]

T = TypeVar("T")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _can_reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return _STATUS.is_file()
    except OSError:
        return False


#: How peak memory is measured here: "per-call" (high-water mark reset) or "process lifetime".
MEMORY_METHOD = "per-call" if _can_reset_peak() else "process lifetime"


@dataclass(frozen=True)
class CallCost:
    """Wall time in s, peak process RSS in MB and peak CUDA memory in MB (None without CUDA) of one call."""

    seconds: float
    peak_rss_mb: float
    peak_gpu_mb: float | None


def _peak_rss_mb() -> float:
    if MEMORY_METHOD == "per-call":
        match = re.search(r"VmHWM:\s+(\d+)\s+kB", _STATUS.read_text())
        if match:
            return int(match.group(1)) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


def _cuda() -> Any:
    torch = sys.modules.get("torch")
    return torch.cuda if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized() else None


def timed_call(function: Callable[..., T], *args: Any) -> tuple[T, CallCost]:
    """Call ``function(*args)`` and measure it (see the module docstring)."""
    cuda = _cuda()
    if cuda is not None:
        cuda.synchronize()
        cuda.reset_peak_memory_stats()
    if MEMORY_METHOD == "per-call":
        _CLEAR_REFS.write_text("5")
    started = time.perf_counter()
    result = function(*args)
    cuda = cuda or _cuda()
    if cuda is not None:
        cuda.synchronize()
    seconds = time.perf_counter() - started
    gpu = cuda.max_memory_allocated() / 2**20 if cuda is not None else None
    return result, CallCost(seconds, _peak_rss_mb(), gpu)
