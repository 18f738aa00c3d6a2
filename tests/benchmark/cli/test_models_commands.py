from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main


def test_list_json_with_status(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'[models."PropSAM-2DBox"]\ncheckpoint = "{tmp_path / "missing.pt"}"\n')
    assert main(["models", "list", "--json", "--config", str(config)]) == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert models["Naive-Propagation"]["status"] == "ready" and models["Box-Fill"]["prompt_kinds"] == ["box3d"]
    assert models["PropSAM-2DMask"]["status"] == "demo weights"
    assert models["PropSAM-2DBox"]["status"] == "checkpoint missing"
    assert "missing.pt does not exist" in models["PropSAM-2DBox"]["detail"]


def test_check_runs_the_conformance_kit_then_the_dice_check(small_home: SimpleNamespace, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--cards", str(small_home.cards), "--home", str(small_home.home.path)]
    assert main(["models", *where, "check", "Naive-Propagation", "U1", "--subset", "train",
                 "--out", str(tmp_path / "reports"), "--json"]) == 0
    out = capsys.readouterr().out
    assert "Naive-Propagation: conforms (8/8 checks passed)" in out
    summary = json.loads(out[out.index("{"):])
    assert summary["model"] == "Naive-Propagation" and summary["mean_dice"] == summary["mean_naive_dice"]
    assert summary["n_objects"] > 0 and (tmp_path / "reports" / "models" / "Naive-Propagation-train.csv").is_file()


def test_check_fails_a_model_that_breaks_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", "tests.benchmark.runner.doubles:Floats", "--conformance-only"]) == 1
    assert "[FAIL] box3d: returns a bool numpy array: got ndarray of dtype float32" in capsys.readouterr().out
    assert main(["models", "check", "Box-Fill", "--conformance-only"]) == 0


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", "Nope"]) == 2
    assert "unknown model 'Nope'" in capsys.readouterr().err
