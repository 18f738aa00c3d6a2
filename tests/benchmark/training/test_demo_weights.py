"""Demo weights through the registry: trained once, cached by data version, trainer settings and seed (real DataLad
home).

The trainer here is a plug-in trainer of this test module, which records what it was given; the PropSAM trainer
behind the built-in specs is exercised by tests/propsam/training.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RecordTrainer:
    """A demo trainer that records its calls; ``epochs`` stands for a setting that changes the weights."""

    epochs: int

    def key(self) -> str:
        return f"epochs={self.epochs}"

    def __call__(self, cases_train: Sequence[Any], cases_val: Sequence[Any], out_dir: Path) -> Path:
        CALLS.append({"train": [c.case_id for c in cases_train], "val": [c.case_id for c in cases_val],
                      "epochs": self.epochs})
        path = Path(out_dir) / "weights.json"
        path.write_text(json.dumps(CALLS[-1]))
        return path


record_trainer = RecordTrainer(epochs=5)
SPEC = ModelSpec(name="Recorder", factory="baselines.naive:NaivePropagation",
                 demo_trainer="tests.benchmark.training.test_demo_weights:record_trainer")


def not_a_trainer(cases_train: Sequence[Any], cases_val: Sequence[Any], out_dir: Path) -> Path:
    raise AssertionError("never called: it has no key()")


def test_trained_once_then_cached(git_identity: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "download"
    for k in range(6):
        image, label = labelled_phantom((12, 10, 6), seed=k)
        write_nifti(source / "imagesTr" / f"c{k}.nii.gz", image)
        write_nifti(source / "labelsTr" / f"c{k}.nii.gz", label)
    home = DataHome(tmp_path / "data-home")
    dataset = card({"1": "liver", "2": "spleen"})
    home.install(dataset, source)
    CALLS.clear()
    first = demo_weights(SPEC, home, [dataset], tmp_path / "cache")
    again = demo_weights(SPEC, home, [dataset], tmp_path / "cache")
    assert first == again and len(CALLS) == 1 and first.name == "weights.json"
    assert sorted(CALLS[0]["train"] + CALLS[0]["val"]) == [f"T1/c{k}" for k in range(6)] and CALLS[0]["val"]
    assert json.loads((first.parent / "demo-weights.json").read_text())["trainer_key"] == "epochs=5"
    # The same trainer with another step budget (new settings, same name and code version): trained again.
    monkeypatch.setattr(sys.modules[__name__], "record_trainer", RecordTrainer(epochs=10))
    other = demo_weights(SPEC, home, [dataset], tmp_path / "cache")
    assert len(CALLS) == 2 and CALLS[1]["epochs"] == 10 and other.parent != first.parent
    demo_weights(SPEC, home, [dataset], tmp_path / "cache", seed=1)
    assert len(CALLS) == 3 and not list((tmp_path / "cache" / "demo-weights").glob(".*partial"))


def test_model_without_demo_trainer(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="no demo trainer"):
        demo_weights(ModelSpec(name="N", factory="baselines.naive:NaivePropagation"), DataHome(tmp_path), [], tmp_path)
    spec = ModelSpec(name="N", factory="baselines.naive:NaivePropagation",
                     demo_trainer="tests.benchmark.training.test_demo_weights:not_a_trainer")
    with pytest.raises(BenchmarkError, match="must be an object with key"):
        demo_weights(spec, DataHome(tmp_path), [], tmp_path)
