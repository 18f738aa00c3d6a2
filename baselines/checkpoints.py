"""Reading the weights of comparator models safely: tensors only, never code, and errors that say where to look.

A ``.pth``/``.bin``/``.pt`` file is read with ``torch.load(..., weights_only=True)`` on the CPU, so a pickle that
would build other objects (and could run code) is refused instead of executed; a ``.safetensors`` file holds tensors
only by construction. Both give a flat ``{name: tensor}`` mapping that the adapter then checks key by key against
its architecture before anything is loaded (no partial loads).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchmarkError

if TYPE_CHECKING:
    import torch

__all__ = ["CheckpointError", "CheckpointNotFoundError", "UnsafeCheckpointError", "file_sha256",
           "read_state_dict", "require_file"]


class CheckpointError(BenchmarkError, ValueError):
    """A weights file cannot be used: not a state dict, or not of the expected architecture."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The configured weights file (or model folder) does not exist."""


class UnsafeCheckpointError(CheckpointError):
    """A pickle that holds more than tensors (it could run code when loaded): refused."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(err: Exception) -> str:
    """The informative line of torch's long weights-only error."""
    text = str(err)
    marker = "WeightsUnpickler error:"
    detail = text.split(marker, 1)[1] if marker in text else text
    return next((line.strip() for line in detail.splitlines() if line.strip()), type(err).__name__)


def require_file(path: str | os.PathLike[str], *, what: str, hint: str) -> Path:
    """``path`` as a Path when it is an existing file.

    Raises:
        CheckpointNotFoundError: It does not exist or is a folder; the message says what was expected and ``hint``
            where to get it.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        state = "is a folder" if file.is_dir() else "does not exist"
        raise CheckpointNotFoundError(f"{what}: {file} {state}; expected {hint}")
    return file


def read_state_dict(path: str | os.PathLike[str], *, what: str, hint: str,
                    wrapper_keys: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """The ``{name: tensor}`` mapping stored in ``path``, read on the CPU without running any code.

    Args:
        path: A ``.safetensors`` file, or a torch pickle (``.pth``, ``.pt``, ``.bin``).
        what: Who reads it, for messages (e.g. ``"MedSAM checkpoint"``).
        hint: What the file should be and where to get it, for messages.
        wrapper_keys: Keys of a top-level dict that may wrap the state dict (training checkpoints such as
            ``{"model": state_dict, "epoch": ...}``); the first one present is unwrapped.

    Raises:
        CheckpointNotFoundError: The file does not exist.
        UnsafeCheckpointError: The pickle holds objects other than tensors and plain containers.
        CheckpointError: The file cannot be read, or is not a mapping of names to tensors.
    """
    import torch

    file = require_file(path, what=what, hint=hint)
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(file), device="cpu")
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"{what}: refused to load {file}: torch's weights-only reader rejected it ({_reason(err)}); it holds "
            f"objects other than tensors, whose unpickling could run code, or is no checkpoint at all; expected "
            f"{hint}") from err
    except (OSError, RuntimeError, ValueError, EOFError) as err:
        raise CheckpointError(f"{what}: {file} could not be read as a torch or safetensors file "
                              f"({type(err).__name__}: {err}); expected {hint}") from err
    if isinstance(state, Mapping):
        for key in wrapper_keys:
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not state:
        raise CheckpointError(f"{what}: {file} holds a {type(state).__name__}, not a mapping of names to tensors; "
                              f"expected {hint}")
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{what}: {file} is not a state dict: {len(bad)} entries are not tensors "
                              f"(first: {bad[:3]}); expected {hint}")
    return dict(state)
