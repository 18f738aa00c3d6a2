"""Demo weights through the registry: trained once, cached by data version, budget and seed (real DataLad home).

The trainer here is a plug-in trainer of this test module, which records what it was given; the PropSAM trainer
behind the built-in specs is exercised by tests/propsam/training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmark.errors import BenchmarkError
from benchmark.home.data_home import DataHome
from benchmark.models.registry import ModelSpec
from benchmark.training.demo_weights import demo_weights
from tests.cards import card
from tests.synthetic import labelled_phantom, write_nifti

CALLS: list[dict[str, Any]] = []


def record_trainer(cases_train: Sequence[Any], cases_val: Sequence[Any], out_dir: Path, *, budget_s: float) -> Path:
    CALLS.append({"train": [c.case_id for c in cases_train], "val": [c.case_id for c in cases_val],
                  "budget_s": budget_s})
    path = Path(out_dir) / "weights.json"
    path.write_text(json.dumps(CALLS[-1]))
    return path


SPEC = ModelSpec(name="Recorder", factory="baselines.naive:NaivePropagation",
                 demo_trainer="tests.benchmark.training.test_demo_weights:record_trainer")


def test_trained_once_then_cached(git_identity: Path, tmp_path: Path) -> None:
    source = tmp_path / "download"
    for k in range(6):
        image, label = labelled_phantom((12, 10, 6), seed=k)
        write_nifti(source / "imagesTr" / f"c{k}.nii.gz", image)
        write_nifti(source / "labelsTr" / f"c{k}.nii.gz", label)
    home = DataHome(tmp_path / "data-home")
    dataset = card({"1": "liver", "2": "spleen"})
    home.install(dataset, source)
    CALLS.clear()
    first = demo_weights(SPEC, home, [dataset], tmp_path / "cache", budget_s=5)
    again = demo_weights(SPEC, home, [dataset], tmp_path / "cache", budget_s=5)
    assert first == again and len(CALLS) == 1 and first.name == "weights.json"
    assert sorted(CALLS[0]["train"] + CALLS[0]["val"]) == [f"T1/c{k}" for k in range(6)] and CALLS[0]["val"]
    demo_weights(SPEC, home, [dataset], tmp_path / "cache", budget_s=10)
    assert len(CALLS) == 2 and not list((tmp_path / "cache" / "demo-weights").glob(".*partial"))


def test_model_without_demo_trainer(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="no demo trainer"):
        demo_weights(ModelSpec(name="N", factory="baselines.naive:NaivePropagation"), DataHome(tmp_path), [], tmp_path,
                     budget_s=1)
