"""PropSAM checkpoints and bundles: a documented, pickle-free-to-load file format.

Checkpoint file (``torch.save`` of a dict; read back with ``torch.load(..., weights_only=True)`` only, so a file
that carries pickled code is refused and never executed)::

    {
        "format": "propsam-checkpoint",
        "format_version": 1,
        "kind": "box2mask" | "propmask",
        "config": {...},               # the network configuration, plain types (Box2MaskConfig/PropMaskConfig.to_dict)
        "state_dict": {name: Tensor},  # the network weights
        "metadata": {...} | None,      # TrainingMetadata.to_dict(): epochs, losses, seed, data, time, versions
        "propsam_version": "0.1.0",
        "training_state": {...},       # optional: optimizer, scheduler, epoch and RNG states, to resume training
    }

Bundle file (what ``propsam segment --checkpoint`` takes): both networks in one file::

    {
        "format": "propsam-bundle",
        "format_version": 1,
        "box2mask": {checkpoint dict without "training_state"},
        "propmask": {checkpoint dict without "training_state"},
        "propsam_version": "0.1.0",
    }

A bundle may also be a folder holding ``box2mask.pt`` and ``propmask.pt`` checkpoint files. The checksum of a
checkpoint or bundle file is the SHA-256 of its bytes; that of a folder bundle is the SHA-256 of
``"<box2mask sha256>:<propmask sha256>"``. Results record it.
"""

from __future__ import annotations

import hashlib
import numbers
import os
import pickle
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from propsam import __version__
from propsam.config import NetworkConfig, NetworkKind, config_from_dict
from propsam.networks import build_network

__all__ = [
    "FORMAT_VERSION",
    "CHECKPOINT_FORMAT",
    "BUNDLE_FORMAT",
    "BUNDLE_MEMBER_FILES",
    "CheckpointError",
    "NetworkKind",
    "TrainingMetadata",
    "LoadedCheckpoint",
    "LoadedBundle",
    "save_checkpoint",
    "load_checkpoint",
    "load_training_state",
    "save_bundle",
    "load_bundle",
    "file_sha256",
]

FORMAT_VERSION = 1
CHECKPOINT_FORMAT = "propsam-checkpoint"
BUNDLE_FORMAT = "propsam-bundle"
#: File names of the two checkpoints in a folder bundle.
BUNDLE_MEMBER_FILES = {NetworkKind.BOX2MASK: "box2mask.pt", NetworkKind.PROPMASK: "propmask.pt"}


class CheckpointError(ValueError):
    """A file is not a PropSAM checkpoint, holds the other network, or does not fit its configuration."""


@dataclass(frozen=True)
class TrainingMetadata:
    """How a checkpoint's weights were trained (all plain types).

    Attributes:
        epochs: Epochs completed.
        samples_per_epoch: Samples (Box2Mask) or tasks (PropMask) per epoch.
        train_loss: Mean training loss of the last epoch.
        val_loss: Latest validation loss, if validated.
        val_dice: Latest validation Dice, if validated.
        seed: Seed of the run.
        data: Free text describing the training data (dataset IDs, split).
        created_utc: ISO 8601 time the checkpoint was written.
        torch_version: torch that trained it.
        notes: Free text (settings that are not in the configuration).
    """

    epochs: int = 0
    samples_per_epoch: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    val_dice: float | None = None
    seed: int | None = None
    data: str = ""
    created_utc: str = ""
    torch_version: str = ""
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only (numpy scalars and str subclasses would not load with weights_only=True)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, bool) or value is None:
                out[key] = value
            elif isinstance(value, numbers.Integral):
                out[key] = int(value)
            elif isinstance(value, numbers.Real):
                out[key] = float(value)
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingMetadata:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})  # newer writers may add keys


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A loaded checkpoint.

    Attributes:
        network: The network, in eval mode, on ``map_location``.
        config: Its configuration.
        kind: Which network it is.
        metadata: Training metadata, if the file has any.
        sha256: Checksum of the file the weights came from (the bundle file for a bundle member).
        format_version: Format version of the file.
        path: The file.
        propsam_version: propsam version that wrote it.
    """

    network: nn.Module
    config: NetworkConfig
    kind: NetworkKind
    metadata: TrainingMetadata | None
    sha256: str
    format_version: int
    path: Path
    propsam_version: str


@dataclass(frozen=True)
class LoadedBundle:
    """Both networks of PropSAM and the checksum that identifies the pair."""

    box2mask: LoadedCheckpoint
    propmask: LoadedCheckpoint
    sha256: str
    path: Path


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _payload(network: nn.Module, config: NetworkConfig, kind: NetworkKind,
             metadata: TrainingMetadata | None) -> dict[str, Any]:
    if config.kind is not kind:
        raise CheckpointError(f"save_checkpoint: kind={kind.value!r} but config is a {type(config).__name__} "
                              f"({config.kind.value}); expected matching kind and configuration")
    net_config = getattr(network, "config", None)
    if net_config is not None and net_config != config:
        raise CheckpointError(f"save_checkpoint: the network was built from {net_config}, not from the config "
                              f"given ({config})")
    if metadata is not None and not metadata.created_utc:
        metadata = TrainingMetadata(**{**metadata.to_dict(), "created_utc": datetime.now(timezone.utc).isoformat(),
                                       "torch_version": metadata.torch_version or str(torch.__version__)})
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind.value,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
        "metadata": None if metadata is None else metadata.to_dict(),
        "propsam_version": __version__,
    }


def _atomic_save(obj: Mapping[str, Any], path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so an interrupted save never leaves a truncated checkpoint.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(dict(obj), tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return file_sha256(path)


def save_checkpoint(path: str | os.PathLike[str], network: nn.Module, config: NetworkConfig, *, kind: NetworkKind,
                    metadata: TrainingMetadata | None = None,
                    training_state: Mapping[str, Any] | None = None) -> str:
    """Write a checkpoint file (format in the module docstring).

    Args:
        path: Destination file (parent folders are created).
        network: The network whose weights to store.
        config: Its configuration.
        kind: Which network it is; must match ``config``.
        metadata: Training metadata; ``created_utc`` and ``torch_version`` are filled in when empty.
        training_state: Optional plain-typed state to resume training (optimizer, scheduler, epoch, RNG).

    Returns:
        SHA-256 of the written file.

    Raises:
        CheckpointError: ``kind`` and ``config`` disagree, or the network was built from another config.
    """
    payload = _payload(network, config, NetworkKind(kind), metadata)
    if training_state is not None:
        payload["training_state"] = dict(training_state)
    return _atomic_save(payload, Path(path))


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, TypeError,
            AttributeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not a PropSAM checkpoint: torch.load(weights_only=True) refused it "
                              f"({_reason(err)}); expected a file written by propsam.checkpoint") from err
    if not isinstance(data, dict) or data.get("format") not in (CHECKPOINT_FORMAT, BUNDLE_FORMAT):
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not a PropSAM checkpoint: format {found!r}; expected "
                              f"{CHECKPOINT_FORMAT!r} or {BUNDLE_FORMAT!r}")
    version = data.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {version!r} is not supported; expected 1..{FORMAT_VERSION} "
                              "(a newer propsam may have written it)")
    return data


def _reason(err: BaseException) -> str:
    """The informative line of a torch.load error (its first lines are generic advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "WeightsUnpickler error" in line or "Unsupported" in line:
            return line
    return lines[0] if lines else type(err).__name__


def _network_from(data: Mapping[str, Any], where: str, *, kind: NetworkKind | None,
                  config: NetworkConfig | None, map_location: Any) -> tuple[nn.Module, NetworkConfig, NetworkKind]:
    try:
        found = NetworkKind(data.get("kind"))
    except ValueError:
        raise CheckpointError(f"{where}: unknown network kind {data.get('kind')!r}; expected 'box2mask' or "
                              "'propmask'") from None
    if kind is not None and found is not NetworkKind(kind):
        raise CheckpointError(f"{where} holds a {found.value} network, expected a {NetworkKind(kind).value} "
                              "checkpoint (the other PropSAM network?)")
    stored = data.get("config")
    if not isinstance(stored, Mapping):
        raise CheckpointError(f"{where}: key 'config' must be a mapping, got {type(stored).__name__}")
    try:
        stored_config = config_from_dict(found, stored, source=where)
    except ValueError as err:
        raise CheckpointError(f"incompatible configuration: {err}") from err
    if config is not None and config != stored_config:
        raise CheckpointError(f"{where}: incompatible configuration: the file holds {stored_config}, "
                              f"expected {config}")
    state = data.get("state_dict")
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{where}: key 'state_dict' must be a mapping, got {type(state).__name__}")
    network = build_network(stored_config)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:400]
        raise CheckpointError(f"{where}: incompatible configuration: its weights do not fit the stored "
                              f"{type(stored_config).__name__} ({detail})") from err
    return network.to(map_location).eval(), stored_config, found


def _loaded(data: Mapping[str, Any], path: Path, sha256: str, *, kind: NetworkKind | None,
            config: NetworkConfig | None, map_location: Any, where: str) -> LoadedCheckpoint:
    network, net_config, found = _network_from(data, where, kind=kind, config=config, map_location=map_location)
    meta = data.get("metadata")
    return LoadedCheckpoint(network=network, config=net_config, kind=found,
                            metadata=TrainingMetadata.from_dict(meta) if isinstance(meta, Mapping) else None,
                            sha256=sha256, format_version=int(data.get("format_version", FORMAT_VERSION)), path=path,
                            propsam_version=str(data.get("propsam_version", "")))


def load_checkpoint(path: str | os.PathLike[str], *, kind: NetworkKind | str | None = None,
                    config: NetworkConfig | None = None, map_location: Any = "cpu") -> LoadedCheckpoint:
    """Load a checkpoint file safely (``weights_only=True``).

    Args:
        path: The checkpoint file.
        kind: The network expected; None accepts either.
        config: The configuration expected; None accepts the stored one.
        map_location: Device of the returned network.

    Raises:
        FileNotFoundError: No such file.
        CheckpointError: Not a checkpoint (including any file with pickled code), a bundle, the other network,
            or an incompatible configuration.
    """
    path = Path(path)
    data = _read(path, map_location)
    if data["format"] == BUNDLE_FORMAT:
        raise CheckpointError(f"{path} is a PropSAM bundle (both networks); use load_bundle, or pass a single "
                              "network's checkpoint")
    return _loaded(data, path, file_sha256(path), kind=None if kind is None else NetworkKind(kind),
                   config=config, map_location=map_location, where=str(path))


def load_training_state(path: str | os.PathLike[str], *, map_location: Any = "cpu") -> dict[str, Any]:
    """The ``training_state`` of a checkpoint written during training.

    Raises:
        CheckpointError: Not a checkpoint, or one without training state.
    """
    data = _read(Path(path), map_location)
    state = data.get("training_state")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} has no 'training_state'; expected a checkpoint written by the training "
                              "loop (last.pt) to resume from")
    return state


def _member(source: LoadedCheckpoint | str | os.PathLike[str], kind: NetworkKind) -> dict[str, Any]:
    if isinstance(source, LoadedCheckpoint):
        if source.kind is not kind:
            raise CheckpointError(f"save_bundle: the {kind.value} slot got a {source.kind.value} checkpoint "
                                  f"({source.path})")
        return _payload(source.network, source.config, kind, source.metadata)
    data = _read(Path(source), "cpu")
    _network_from(data, str(source), kind=kind, config=None, map_location="cpu")  # validates before bundling
    return {k: v for k, v in data.items() if k != "training_state"}


def save_bundle(path: str | os.PathLike[str], box2mask: LoadedCheckpoint | str | os.PathLike[str],
                propmask: LoadedCheckpoint | str | os.PathLike[str]) -> str:
    """Write one file holding both networks (format in the module docstring).

    Args:
        path: Destination file.
        box2mask: A loaded Box2Mask checkpoint, or its file.
        propmask: A loaded PropMask checkpoint, or its file.

    Returns:
        SHA-256 of the written bundle.

    Raises:
        CheckpointError: A member is not a checkpoint of the expected network.
    """
    payload = {
        "format": BUNDLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "box2mask": _member(box2mask, NetworkKind.BOX2MASK),
        "propmask": _member(propmask, NetworkKind.PROPMASK),
        "propsam_version": __version__,
    }
    return _atomic_save(payload, Path(path))


def load_bundle(path: str | os.PathLike[str], *, map_location: Any = "cpu") -> LoadedBundle:
    """Load both networks from a bundle file, or from a folder holding ``box2mask.pt`` and ``propmask.pt``.

    Raises:
        FileNotFoundError: No such file or folder, or a folder without both member files.
        CheckpointError: Not a bundle (a single checkpoint, or any other file), or a member that does not load.
    """
    path = Path(path)
    if path.is_dir():
        files = {kind: path / name for kind, name in BUNDLE_MEMBER_FILES.items()}
        missing = [str(f) for f in files.values() if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"bundle folder {path} lacks {missing}; expected both "
                                    f"{sorted(BUNDLE_MEMBER_FILES.values())}")
        b2m = load_checkpoint(files[NetworkKind.BOX2MASK], kind=NetworkKind.BOX2MASK, map_location=map_location)
        prop = load_checkpoint(files[NetworkKind.PROPMASK], kind=NetworkKind.PROPMASK, map_location=map_location)
        pair = hashlib.sha256(f"{b2m.sha256}:{prop.sha256}".encode()).hexdigest()
        return LoadedBundle(box2mask=b2m, propmask=prop, sha256=pair, path=path)
    data = _read(path, map_location)
    if data["format"] != BUNDLE_FORMAT:
        raise CheckpointError(f"{path} is a single {data.get('kind')} checkpoint, not a PropSAM bundle; expected "
                              f"a file written by save_bundle or a folder with {sorted(BUNDLE_MEMBER_FILES.values())}")
    sha = file_sha256(path)
    members = {}
    for kind in NetworkKind:
        member = data.get(kind.value)
        if not isinstance(member, Mapping):
            raise CheckpointError(f"{path}: bundle key {kind.value!r} must be a checkpoint mapping, got "
                                  f"{type(member).__name__}")
        members[kind] = _loaded(member, path, sha, kind=kind, config=None, map_location=map_location,
                                where=f"{path}[{kind.value}]")
    return LoadedBundle(box2mask=members[NetworkKind.BOX2MASK], propmask=members[NetworkKind.PROPMASK],
                        sha256=sha, path=path)
