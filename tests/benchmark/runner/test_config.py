from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.protocol.prompts import PromptKind
from benchmark.protocol.settings import Setting
from benchmark.protocol.simulation import BoxJitter, SliceRule
from benchmark.runner.config import (
    EvalSubset,
    RunConfig,
    config_from_mapping,
    identity,
    identity_differences,
    load_config,
    merged_identity,
)

SAMPLE = """
run = "paper"
datasets = ["D1", "D3"]
subset = "all"
settings = ["default", "thickness"]
seed = 7
workers = 2
tolerance_mm = 1.0

[protocol]
rule = "middle"
jitter = "tight"
min_area = 50
thicknesses_mm = [10, 20]

[models."PropSAM-2DBox"]
checkpoint = "weights/propsam.pt"
search = "coarse"

[models."MedSAM-3DBox"]
checkpoint = "weights/medsam_vit_b.pth"
prompt = "box3d"
ct_window = [40, 400]
"""


def test_a_full_configuration(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(SAMPLE)
    config = load_config(path)
    assert (config.run, config.datasets, config.subset, config.seed, config.workers) == (
        "paper", ("D1", "D3"), EvalSubset.ALL, 7, 2)
    assert config.settings == (Setting.DEFAULT, Setting.THICKNESS) and config.thicknesses_mm == (10.0, 20.0)
    assert config.protocol.rule is SliceRule.MIDDLE and config.protocol.jitter is BoxJitter.TIGHT
    assert config.protocol.min_area == 50 and config.protocol.seed == 7
    box, medsam = config.models
    assert box.checkpoint == "weights/propsam.pt" and dict(box.kwargs) == {"search": "coarse"}
    assert medsam.prompt is PromptKind.BOX_3D and dict(medsam.kwargs) == {"ct_window": [40, 400]}


def test_defaults_and_command_line_overrides() -> None:
    config = load_config(None)
    assert config == RunConfig() and config.subset is EvalSubset.EVAL and config.seed == 0
    changed = config.with_overrides(seed=3, models=("Box-Fill",), datasets=(), device=None, settings=("thickness",))
    assert changed.seed == 3 and changed.protocol.seed == 3 and changed.settings == (Setting.THICKNESS,)
    assert [m.name for m in changed.models] == ["Box-Fill"] and changed.datasets == ()


@pytest.mark.parametrize(("data", "message"), [
    ({"sed": 1}, r"unknown key\(s\) \['sed'\]"),
    ({"subset": "holdout"}, "'holdout' is not one of"),
    ({"seed": -1}, "key 'seed': invalid value -1"),
    ({"workers": 1.5}, "key 'workers': invalid value 1.5"),
    ({"protocol": {"rule": "widest"}}, "rule: 'widest' is not one of"),
    ({"protocol": {"window": 3}}, r"unknown key\(s\) \['protocol.window'\]"),
    ({"models": {"X": 3}}, r"\[models.'X'\] must be a table"),
    ({"models": {"X": {"prompt": "point"}}}, "models.X.prompt: 'point' is not one of"),
    ({"models": "X"}, "'models' must be a list of names or tables"),
])
def test_bad_values_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(BenchmarkError, match=message):
        config_from_mapping(data, "run.toml")


def test_not_toml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("run = [unclosed\n")
    with pytest.raises(BenchmarkError, match="run.toml is not valid TOML"):
        load_config(path)


def test_identity_allows_growth_and_names_contradictions() -> None:
    base = config_from_mapping({"models": {"A": {}}})
    stored = json.dumps(identity(base, {"D1": "c1"}))
    grown = json.dumps(identity(config_from_mapping({"models": {"A": {}, "B": {"x": 1}}}), {"D1": "c1", "D2": "c2"}))
    assert identity_differences(stored, grown) == []
    merged = json.loads(merged_identity(stored, json.dumps(identity(config_from_mapping({"models": {"B": {}}}),
                                                                     {"D2": "c2"}))))
    assert set(merged["models"]) == {"A", "B"} and merged["data_versions"] == {"D1": "c1", "D2": "c2"}
    other = json.dumps(identity(config_from_mapping({"seed": 1, "models": {"A": {"k": 2}}}), {"D1": "c9"}))
    assert identity_differences(stored, other) == ["seed", "models.A", "data_versions.D1"]


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[3] / "configs").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_configurations_load(path: Path) -> None:
    config = load_config(path)
    assert config.run and config.settings
