from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.models.protocol import InteractiveModel
from benchmark.models.registry import BUILTIN_MODELS, available_models, get_spec, load_model, resolve


def _tiny_bundle(path: Path) -> Path:
    import torch

    from propsam.checkpoint import save_bundle, save_checkpoint
    from propsam.config import TINY_BOX2MASK, TINY_PROPMASK, NetworkKind
    from propsam.networks import Box2Mask, PropMask

    torch.manual_seed(0)
    save_checkpoint(path.with_suffix(".b2m.pt"), Box2Mask(TINY_BOX2MASK), TINY_BOX2MASK, kind=NetworkKind.BOX2MASK)
    save_checkpoint(path.with_suffix(".pm.pt"), PropMask(TINY_PROPMASK), TINY_PROPMASK, kind=NetworkKind.PROPMASK)
    save_bundle(path, path.with_suffix(".b2m.pt"), path.with_suffix(".pm.pt"))
    return path


def test_builtins_are_listed_without_importing_them() -> None:
    models = available_models()
    assert {"PropSAM-2DBox", "PropSAM-2DMask", "Naive-Propagation"} <= set(models)
    assert models["PropSAM-2DMask"].demo_trainer == "propsam.training.demo:DEMO_TRAINER"
    assert get_spec("Naive-Propagation") is BUILTIN_MODELS["Naive-Propagation"]


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(BenchmarkError, match=r"unknown model 'SAM-9'; expected one of \[.*'PropSAM-2DBox'"):
        load_model("SAM-9")


def test_missing_package_gives_an_install_hint() -> None:
    with pytest.raises(BenchmarkError, match=r"needs no_such_package:Model .*pip install"):
        resolve("no_such_package:Model", what="model 'X'")


def test_loaded_models_satisfy_the_protocol(tmp_path: Path) -> None:
    naive = load_model("Naive-Propagation")
    assert isinstance(naive, InteractiveModel) and naive.prompt_kinds == {"mask2d"}
    bundle = _tiny_bundle(tmp_path / "bundle.pt")
    propsam = load_model("PropSAM-2DMask", str(bundle))
    assert isinstance(propsam, InteractiveModel) and propsam.name == "PropSAM-2DMask"
    assert propsam.checkpoint_sha256 and len(propsam.checkpoint_sha256) == 64
