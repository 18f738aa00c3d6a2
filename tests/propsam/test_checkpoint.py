"""Tests of propsam.checkpoint: round trips, bundles, and every bad-checkpoint error."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from propsam.checkpoint import (
    CheckpointError,
    NetworkKind,
    TrainingMetadata,
    file_sha256,
    load_bundle,
    load_checkpoint,
    load_training_state,
    save_bundle,
    save_checkpoint,
)
from propsam.config import TINY_BOX2MASK, TINY_PROPMASK, Box2MaskConfig
from propsam.networks import Box2Mask, PropMask


class _Touch:
    """Unpickling this object creates ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


@pytest.fixture()
def box2mask_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "b2m.pt"
    save_checkpoint(path, Box2Mask(TINY_BOX2MASK), TINY_BOX2MASK, kind=NetworkKind.BOX2MASK,
                    metadata=TrainingMetadata(epochs=3, samples_per_epoch=8, train_loss=0.5, seed=1, data="blobs"))
    return path


def test_round_trip_keeps_weights_config_and_metadata(box2mask_file: Path) -> None:
    torch.manual_seed(0)
    original = Box2Mask(TINY_BOX2MASK)
    loaded = load_checkpoint(box2mask_file, kind="box2mask")
    assert loaded.kind is NetworkKind.BOX2MASK and loaded.config == TINY_BOX2MASK
    assert loaded.format_version == 1 and not loaded.network.training
    assert loaded.metadata is not None and loaded.metadata.epochs == 3 and loaded.metadata.created_utc
    assert loaded.sha256 == file_sha256(box2mask_file) and len(loaded.sha256) == 64
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(x)[0], original.eval()(x)[0])


def test_training_state_round_trip_with_rng_states(tmp_path: Path) -> None:
    state: dict[str, Any] = {"epoch": 4, "torch_rng": torch.get_rng_state(),
                             "numpy_rng": np.random.default_rng(3).bit_generator.state}
    path = tmp_path / "last.pt"
    save_checkpoint(path, PropMask(TINY_PROPMASK), TINY_PROPMASK, kind=NetworkKind.PROPMASK, training_state=state)
    restored = load_training_state(path)
    assert restored["epoch"] == 4 and restored["numpy_rng"] == state["numpy_rng"]
    assert torch.equal(restored["torch_rng"], state["torch_rng"])
    with pytest.raises(CheckpointError, match="has no 'training_state'"):
        load_training_state(_save_propmask(tmp_path / "p.pt"))


def _save_propmask(path: Path) -> Path:
    save_checkpoint(path, PropMask(TINY_PROPMASK), TINY_PROPMASK, kind=NetworkKind.PROPMASK)
    return path


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_malicious_pickle_is_refused_without_executing(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "evil.pt"
    payload = {"format": "propsam-checkpoint", "state_dict": _Touch(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match=r"evil.pt is not a PropSAM checkpoint: torch.load\(weights_only=True\)"):
        load_checkpoint(path)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Touch(marker)))  # the same object does execute when unpickled normally
    assert marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"])
def test_a_file_that_is_not_a_checkpoint(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="junk.pt is not a PropSAM checkpoint"):
        load_checkpoint(path)


def test_a_tensor_file_without_the_format_key(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(Box2Mask(TINY_BOX2MASK).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"weights.pt is not a PropSAM checkpoint: format None"):
        load_checkpoint(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.pt"):
        load_checkpoint(tmp_path / "nothere.pt")


def test_checkpoint_of_the_other_network(tmp_path: Path, box2mask_file: Path) -> None:
    with pytest.raises(CheckpointError, match="b2m.pt holds a box2mask network, expected a propmask checkpoint"):
        load_checkpoint(box2mask_file, kind=NetworkKind.PROPMASK)


def test_incompatible_configuration(tmp_path: Path, box2mask_file: Path) -> None:
    with pytest.raises(CheckpointError, match="b2m.pt: incompatible configuration: the file holds"):
        load_checkpoint(box2mask_file, config=Box2MaskConfig(channels=(4, 8, 16), input_size=32))
    # Weights that do not fit the stored configuration.
    data = torch.load(box2mask_file, weights_only=True)
    data["config"]["channels"] = [4, 8, 16, 32]
    torch.save(data, tmp_path / "mixed.pt")
    with pytest.raises(CheckpointError, match="mixed.pt: incompatible configuration: its weights do not fit"):
        load_checkpoint(tmp_path / "mixed.pt")
    data["config"] = {"channels": [4, 8], "depth": 3}
    torch.save(data, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match=r"unknown.pt: unknown Box2MaskConfig keys \['depth'\]"):
        load_checkpoint(tmp_path / "unknown.pt")


def test_newer_format_version(tmp_path: Path, box2mask_file: Path) -> None:
    data = torch.load(box2mask_file, weights_only=True)
    data["format_version"] = 99
    torch.save(data, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="future.pt: format_version 99 is not supported"):
        load_checkpoint(tmp_path / "future.pt")


def test_bundle_file_and_folder(tmp_path: Path, box2mask_file: Path) -> None:
    prop_file = _save_propmask(tmp_path / "prop.pt")
    sha = save_bundle(tmp_path / "bundle.pt", box2mask_file, load_checkpoint(prop_file))
    bundle = load_bundle(tmp_path / "bundle.pt")
    assert bundle.sha256 == sha == bundle.box2mask.sha256
    assert isinstance(bundle.box2mask.network, Box2Mask) and isinstance(bundle.propmask.network, PropMask)
    assert bundle.box2mask.metadata is not None and bundle.box2mask.metadata.seed == 1
    with pytest.raises(CheckpointError, match="is a PropSAM bundle"):
        load_checkpoint(tmp_path / "bundle.pt")
    with pytest.raises(CheckpointError, match="is a single box2mask checkpoint, not a PropSAM bundle"):
        load_bundle(box2mask_file)
    with pytest.raises(CheckpointError, match="prop.pt holds a propmask network, expected a box2mask"):
        save_bundle(tmp_path / "bad.pt", prop_file, prop_file)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="lacks"):
        load_bundle(folder)
    (folder / "box2mask.pt").write_bytes(box2mask_file.read_bytes())
    (folder / "propmask.pt").write_bytes(prop_file.read_bytes())
    assert len(load_bundle(folder).sha256) == 64


def test_save_refuses_kind_and_config_that_disagree(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="kind='propmask' but config is a Box2MaskConfig"):
        save_checkpoint(tmp_path / "x.pt", Box2Mask(TINY_BOX2MASK), TINY_BOX2MASK, kind=NetworkKind.PROPMASK)
    assert not (tmp_path / "x.pt").exists()
