"""SegVol's released model folder (a local copy of ``BAAI/SegVol``): checked, its code imported only on opt-in.

The folder holds ``config.json`` (whose ``auto_map`` names the code: ``model_segvol_single.SegVolConfig`` and
``model_segvol_single.SegVolModel``), that code (``model_segvol_single.py``), the weights (``model.safetensors`` or
``pytorch_model.bin``, a ``SegVolModel`` state dict) and the CLIP tokenizer files (unused: box prompts need no
text). SegVol's architecture exists only as that code, so running SegVol means running it. It is imported from the
folder by file path, as a private module, when the run config says ``trust_remote_code = true`` for the model, and
refused otherwise; nothing goes through the Hugging Face Hub, and nothing is downloaded. The weights are read as
tensors only (never unpickled into objects) and must match the built network key by key and shape by shape.

The released code was written for transformers 4.18 and MONAI 0.9; the ``[segvol]`` extra pins versions it runs
with here (MONAI 1.3.2, the last to accept its ViT arguments, which needs numpy < 2). A newer transformers no longer
stores the CLIP text encoder's ``position_ids`` buffer, which the released weights still carry: that one tensor is
dropped after checking that it holds exactly the positions 0..n-1 the encoder computes itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from baselines.checkpoints import CheckpointError, CheckpointNotFoundError, file_sha256, read_state_dict
from benchmark.errors import BenchmarkError

if TYPE_CHECKING:
    import torch

__all__ = ["SEGVOL_FOLDER_HINT", "RemoteCodeRefusedError", "SegVolFolder", "LoadedSegVol", "inspect_folder",
           "import_released_code", "load_weights_exactly", "load_segvol"]

SEGVOL_FOLDER_HINT = ("a local copy of the released BAAI/SegVol model folder (config.json, model_segvol_single.py and "
                      "pytorch_model.bin or model.safetensors), set as `checkpoint` in the run config's "
                      "[models.\"SegVol\"] table")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_OBSOLETE_BUFFER = "embeddings.position_ids"


class RemoteCodeRefusedError(BenchmarkError, PermissionError):
    """The model folder's code would run, but the run config does not allow remote code for it."""


@dataclass(frozen=True)
class SegVolFolder:
    """A checked model folder: its code file, the config and model classes ``auto_map`` names, the weights file."""

    root: Path
    code: Path
    config_class: str
    model_class: str
    weights: Path | None
    config: dict[str, Any]


@dataclass(frozen=True)
class LoadedSegVol:
    """The released ``SegVolModel`` (its ``.model`` is the network), where its weights came from, its window size."""

    model: Any
    weights: str
    checkpoint_sha256: str | None
    code_sha256: str
    spatial_size: tuple[int, int, int]


def inspect_folder(folder: str | Path) -> SegVolFolder:
    """Check the folder's layout and config.

    Raises:
        CheckpointNotFoundError: The folder, its config or the code file its ``auto_map`` names is missing.
        CheckpointError: config.json is not JSON or has no ``auto_map`` with AutoConfig and AutoModel.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        state = "is a file" if root.exists() else "does not exist"
        raise CheckpointNotFoundError(f"SegVol: model folder {root} {state}; expected {SEGVOL_FOLDER_HINT}")
    config_path = root / "config.json"
    if not config_path.is_file():
        raise CheckpointNotFoundError(f"SegVol: {config_path} does not exist; expected {SEGVOL_FOLDER_HINT}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"SegVol: {config_path} is not valid JSON ({err})") from err
    auto_map = config.get("auto_map") if isinstance(config, dict) else None
    targets = [auto_map.get(k) if isinstance(auto_map, dict) else None for k in ("AutoConfig", "AutoModel")]
    if not all(isinstance(t, str) and t.count(".") == 1 for t in targets):
        raise CheckpointError(f"SegVol: {config_path} has auto_map {auto_map!r}; expected AutoConfig and AutoModel "
                              f"as 'module.Class', e.g. 'model_segvol_single.SegVolModel'")
    (config_module, config_class), (model_module, model_class) = (str(t).split(".") for t in targets)
    if config_module != model_module:
        raise CheckpointError(f"SegVol: {config_path} maps AutoConfig and AutoModel to two files "
                              f"({config_module}, {model_module}); expected one")
    code = root / f"{model_module}.py"
    if not code.is_file():
        raise CheckpointNotFoundError(f"SegVol: {code} (named by auto_map in {config_path}) does not exist; "
                                      f"expected {SEGVOL_FOLDER_HINT}")
    weights = next((root / name for name in WEIGHT_FILES if (root / name).is_file()), None)
    return SegVolFolder(root, code, config_class, model_class, weights, config)


def import_released_code(folder: SegVolFolder, *, trust_remote_code: bool) -> ModuleType:
    """Import the folder's code file as a private module (never through the Hub), only when allowed.

    Raises:
        RemoteCodeRefusedError: ``trust_remote_code`` is false.
        BenchmarkError: The code cannot be imported (a missing package gives the install hint).
    """
    if not trust_remote_code:
        raise RemoteCodeRefusedError(
            f"SegVol runs the code of its model folder ({folder.code}), and remote code is not allowed for it; if "
            f"you trust that folder, set trust_remote_code = true in the run config's [models.\"SegVol\"] table")
    source = folder.code.read_bytes()
    name = f"_propbench_segvol_{hashlib.sha256(source).hexdigest()[:16]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, folder.code)
    if spec is None or spec.loader is None:
        raise BenchmarkError(f"SegVol: {folder.code} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as err:
        del sys.modules[name]
        raise BenchmarkError(f"SegVol: {folder.code} needs {err.name or err}; pip install 'propsam-bench[segvol]' "
                             f"(the versions its released code runs with)") from err
    except Exception:
        del sys.modules[name]
        raise
    return module


def _drop_obsolete(state: dict[str, torch.Tensor], expected: set[str], source: Path) -> None:
    """Remove CLIP ``position_ids`` buffers that the built network no longer stores, after checking their values."""
    import torch

    for key in [k for k in state if k not in expected and k.endswith(_OBSOLETE_BUFFER)]:
        value = state[key]
        positions = torch.arange(value.shape[-1]).expand_as(value)
        if value.dtype.is_floating_point or not torch.equal(value.to(torch.int64), positions):
            raise CheckpointError(f"SegVol: {source} holds {key} with values other than the positions 0..n-1; "
                                  f"expected the CLIP text encoder's position ids")
        del state[key]


def load_weights_exactly(model: Any, weights: Path) -> str:
    """Load ``weights`` into ``model`` when every tensor matches, else load nothing; returns the file's SHA-256.

    Raises:
        CheckpointError: Names the file and the missing, left-over or differently shaped tensors.
    """
    state = read_state_dict(weights, what="SegVol weights", hint=SEGVOL_FOLDER_HINT)
    expected = model.state_dict()
    _drop_obsolete(state, set(expected), weights)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = [f"{k}: file {tuple(state[k].shape)}, network {tuple(expected[k].shape)}"
              for k in sorted(set(state) & set(expected)) if state[k].shape != expected[k].shape]
    if missing or extra or shapes:
        raise CheckpointError(f"SegVol: {weights} does not fit the network its folder's code builds: "
                              f"{len(missing)} missing (first: {missing[:3]}), {len(extra)} unknown (first: "
                              f"{extra[:3]}), {len(shapes)} of another shape (first: {shapes[:3]}); nothing was "
                              f"loaded (check the [segvol] extra's versions: pip install 'propsam-bench[segvol]')")
    model.load_state_dict(state, strict=True)
    return file_sha256(weights)


def load_segvol(folder: str | Path, *, trust_remote_code: bool, random_weights: bool = False,
                seed: int = 0) -> LoadedSegVol:
    """Build the released ``SegVolModel`` (test mode) from ``folder`` and load its weights (or keep a seeded random
    initialisation when ``random_weights``).

    Raises:
        CheckpointNotFoundError: A file of the layout is missing, the weights included (unless random weights).
        RemoteCodeRefusedError: Remote code is not allowed.
        CheckpointError: The weights do not fit (see load_weights_exactly), or unsafe (UnsafeCheckpointError).
    """
    import torch

    checked = inspect_folder(folder)
    if checked.weights is None and not random_weights:
        raise CheckpointNotFoundError(f"SegVol: {checked.root} holds none of {list(WEIGHT_FILES)}; expected "
                                      f"{SEGVOL_FOLDER_HINT}")
    module = import_released_code(checked, trust_remote_code=trust_remote_code)
    config_class, model_class = getattr(module, checked.config_class), getattr(module, checked.model_class)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config_class(test_mode=True))
    sha = None if random_weights or checked.weights is None else load_weights_exactly(model, checked.weights)
    size = getattr(model.config, "spatial_size", None) or checked.config.get("spatial_size")
    if not (isinstance(size, (list, tuple)) and len(size) == 3 and all(isinstance(v, int) for v in size)):
        raise CheckpointError(f"SegVol: the folder's config gives spatial_size {size!r}; expected three integers "
                              f"such as [32, 256, 256]")
    return LoadedSegVol(model.eval(), "random" if random_weights else "checkpoint", sha,
                        file_sha256(checked.code), (int(size[0]), int(size[1]), int(size[2])))
