from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.models.conformance import check_conformance, synthetic_case
from benchmark.models.registry import BUILTIN_MODELS, load_model
from tests.benchmark.models.test_registry import _tiny_bundle


class _Good:
    """Copies the 3D box, as box-fill does, through the real baseline."""

    name = "good"
    prompt_kinds = frozenset({"box3d"})

    def __init__(self) -> None:
        self.inner = load_model("Box-Fill")

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return self.inner.segment(case, prompt)  # type: ignore[no-any-return]


class _Floats(_Good):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return super().segment(case, prompt).astype(np.float32)


class _OtherGrid(_Good):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return super().segment(case, prompt)[:, :, :-1]


class _Random(_Good):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return np.random.default_rng().random(case.image.shape[1:]) > 0.5


class _Mutating(_Good):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        case.image[0, 0, 0, 0] += 1.0
        return super().segment(case, prompt)


class _AcceptsAnything(_Good):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        return np.zeros(case.image.shape[1:], bool)


class _VagueRefusal(_Good):
    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        if str(prompt.kind) != "box3d":
            raise ValueError("no")
        return super().segment(case, prompt)


def test_a_conforming_model_passes_every_check() -> None:
    report = check_conformance(_Good())
    assert report.ok, report.summary()
    names = [c.name for c in report.checks]
    assert "box3d: deterministic" in names and "mask2d: refused (not accepted)" in names


@pytest.mark.parametrize(("model", "failing"), [
    (_Floats(), "box3d: returns a bool numpy array"),
    (_OtherGrid(), "box3d: mask on the case grid"),
    (_Random(), "box3d: deterministic"),
    (_Mutating(), "box3d: leaves case and prompt unchanged"),
    (_AcceptsAnything(), "box2d: refused (not accepted)"),
    (_VagueRefusal(), "mask2d: refused (not accepted)"),
])
def test_each_broken_contract_is_named(model: Any, failing: str) -> None:
    report = check_conformance(model)
    assert not report.ok
    assert failing in [c.name for c in report.checks if not c.passed], report.summary()
    assert "does NOT conform" in report.summary()


def test_a_model_that_raises_fails_with_the_error() -> None:
    class Broken(_Good):
        def segment(self, case: Any, prompt: Any) -> np.ndarray:
            raise RuntimeError("out of memory")

    report = check_conformance(Broken())
    failed = {c.name: c.detail for c in report.checks if not c.passed}
    assert failed["box3d: segment runs"] == "RuntimeError: out of memory"


def test_synthetic_case_is_anisotropic_and_holds_one_object() -> None:
    case = synthetic_case()
    assert case.image.shape == (1, 56, 48, 20) and case.spacing == (0.9, 1.1, 2.5) and case.mask.dtype == np.bool_
    assert case.image[0][case.mask].mean() > case.image[0][~case.mask].mean() + 100


@pytest.mark.parametrize("name", ["Naive-Propagation", "Box-Fill"])
def test_builtin_baselines_conform(name: str) -> None:
    spec = BUILTIN_MODELS[name]
    report = check_conformance(load_model(spec), receives_extent=spec.receives_extent)
    assert report.ok, report.summary()


@pytest.mark.parametrize("name", ["PropSAM-2DBox", "PropSAM-2DMask"])
def test_propsam_conforms(tmp_path: Path, name: str) -> None:
    # Random tiny networks: conformance does not depend on weight values.
    model = load_model(name, str(_tiny_bundle(tmp_path / "bundle.pt")), search="coarse")
    report = check_conformance(model)
    assert report.ok, report.summary()
