"""Where a result comes from: the suite's version and git state, the machine, the clock.

Machine descriptions follow asv's and pytest-benchmark's ``machine_info`` and add what those lack for GPU timings:
the GPU, its driver, CUDA and cuDNN versions (read from torch when torch is already imported by a model).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["suite_version", "git_state", "machine_info", "machine_id", "utc_now"]

_REPO = Path(__file__).resolve().parents[2]


def suite_version() -> str:
    try:
        return version("propsam-bench")
    except PackageNotFoundError:
        return "unknown"


def git_state(repo: Path = _REPO) -> tuple[str, bool]:
    """The commit of the suite's checkout and whether it has uncommitted changes (``("", False)`` outside git)."""
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return "", False
    return commit, dirty


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torch_info() -> dict[str, Any]:
    torch = sys.modules.get("torch")  # only when a model imported it: never import torch to describe a machine
    if torch is None:
        return {}
    info: dict[str, Any] = {"torch": str(torch.__version__), "cuda_available": bool(torch.cuda.is_available())}
    if info["cuda_available"]:
        index = torch.cuda.current_device()
        info.update(gpu=torch.cuda.get_device_name(index), gpu_count=torch.cuda.device_count(),
                    cuda=str(torch.version.cuda), cudnn=str(torch.backends.cudnn.version()),
                    gpu_memory_gb=round(torch.cuda.get_device_properties(index).total_memory / 2**30, 1))
    return info


def machine_info() -> dict[str, Any]:
    """Host, OS, Python, CPU model and count, memory, and torch / GPU details when torch is loaded."""
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    return {"host": platform.node(), "os": platform.platform(), "python": platform.python_version(),
            "cpu": _cpu_model(), "cpu_count": os.cpu_count(), "memory_gb": memory_gb, **_torch_info()}


def machine_id(info: dict[str, Any]) -> str:
    """A short stable key of a machine description."""
    return hashlib.blake2b(json.dumps(info, sort_keys=True).encode(), digest_size=8).hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
