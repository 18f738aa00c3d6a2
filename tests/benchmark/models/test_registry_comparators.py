"""The comparator entries of the registry: MedSAM's two protocols and SegVol (adapters in baselines/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.models.registry import BUILTIN_MODELS, ModelStatus, load_model, model_status
from benchmark.protocol.prompts import PromptKind
from tests.baselines.segvol_standin import write_folder

COMPARATORS = ("MedSAM-3DBox", "MedSAM-Propagate", "SegVol")


@pytest.mark.parametrize("name", COMPARATORS)
def test_comparators_take_the_3d_box_and_declare_the_z_extent_leak(name: str) -> None:
    spec = BUILTIN_MODELS[name]
    assert spec.prompt_kinds == (PromptKind.BOX_3D,) and "leaks the z-extent" in spec.protocol
    assert spec.needs_checkpoint and spec.checkpoint_hint and spec.extra in ("medsam", "segvol")
    assert spec.origin == "built-in" and not spec.receives_extent


def test_status_without_and_with_weights(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    spec = BUILTIN_MODELS["MedSAM-3DBox"]
    assert model_status(spec).status is ModelStatus.CHECKPOINT_MISSING
    assert "medsam_vit_b.pth" in model_status(spec).detail
    assert model_status(spec, tmp_path / "medsam_vit_b.pth").status is ModelStatus.CHECKPOINT_MISSING
    assert model_status(spec, kwargs={"random_weights": True}).status is ModelStatus.READY
    segvol = BUILTIN_MODELS["SegVol"]
    status = model_status(segvol, write_folder(tmp_path / "SegVol"))
    assert status.status in (ModelStatus.READY, ModelStatus.PACKAGE_MISSING)
    if status.status is ModelStatus.PACKAGE_MISSING:
        assert "pip install 'propsam-bench[segvol]'" in status.detail


def test_the_registry_loads_segvol_from_a_folder_and_refuses_medsam_without_weights(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    model = load_model("SegVol", str(write_folder(tmp_path / "SegVol")), trust_remote_code=True)
    assert model.name == "SegVol" and model.prompt_kinds == {"box3d"} and model.weights == "checkpoint"
    pytest.importorskip("transformers")
    with pytest.raises(ValueError, match="MedSAM-Propagate needs MedSAM's weights"):
        load_model("MedSAM-Propagate")
