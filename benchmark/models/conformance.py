"""The conformance kit: does a model keep the protocol's contract (benchmark.models.protocol)?

On a small synthetic CT-like volume with one ellipsoid object (anisotropic spacing, a grid that is not a cube), for
every prompt kind the model accepts: ``segment`` runs; it returns a numpy array of dtype bool on the case's grid;
a second call gives the same mask; neither the case's image nor the prompt is modified. For every prompt kind it
does not accept: ``segment`` raises an exception whose message names the kind. ``propbench models check NAME``
runs it, and a plug-in's own tests can call :func:`check_conformance`::

    report = check_conformance(MyModel())
    assert report.ok, report.summary()

Whether the mask is a good segmentation is not checked here (a model with random weights conforms too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, simulate_object
from benchmark.protocol.prompts import Prompt, PromptKind
from benchmark.protocol.settings import DEFAULT_POINT

__all__ = ["SyntheticCase", "ConformanceCheck", "ConformanceReport", "synthetic_case", "check_conformance"]


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """A case of the protocol built in code: (1, X, Y, Z) image, spacing in mm, its object's mask."""

    image: np.ndarray
    spacing: tuple[float, float, float]
    mask: np.ndarray
    modality: str = "CT"
    dataset_id: str = "conformance"
    case_id: str = "synthetic"

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return (int(self.image.shape[1]), int(self.image.shape[2]), int(self.image.shape[3]))


def synthetic_case(shape: tuple[int, int, int] = (56, 48, 20), spacing: tuple[float, float, float] = (0.9, 1.1, 2.5),
                   seed: int = 0) -> SyntheticCase:
    """A CT-like volume (HU-like values, noise) holding one ellipsoid "organ" of about 40 x 30 x 25 mm."""
    rng = np.random.default_rng(seed)
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    centre = (shape[0] * 0.45, shape[1] * 0.5, shape[2] * 0.5)
    radii_mm = (20.0, 15.0, 12.5)
    inside = sum(((g - c) * s / r) ** 2 for g, c, s, r in zip(grid, centre, spacing, radii_mm, strict=True)) <= 1.0
    image = rng.normal(-80.0, 20.0, shape).astype(np.float32)
    image[inside] += 140.0
    return SyntheticCase(image[None], spacing, np.asarray(inside, dtype=bool))


@dataclass(frozen=True)
class ConformanceCheck:
    """One check: its name, whether it passed, and what was seen."""

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class ConformanceReport:
    """Every check of one model."""

    model: str
    checks: tuple[ConformanceCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    def summary(self) -> str:
        lines = [f"{self.model}: {'conforms' if self.ok else 'does NOT conform'} "
                 f"({sum(c.passed for c in self.checks)}/{len(self.checks)} checks passed)"]
        lines += [f"  [{'ok' if c.passed else 'FAIL'}] {c.name}" + (f": {c.detail}" if c.detail else "")
                  for c in self.checks]
        return "\n".join(lines)


def _digest(value: Any) -> str:
    """A fingerprint of a case's image or a prompt's fields, to detect in-place changes."""
    parts = [np.ascontiguousarray(v).tobytes() if isinstance(v, np.ndarray) else repr(v).encode()
             for v in (vars(value).values() if hasattr(value, "__dict__") else (value,))]
    return hashlib.blake2b(b"\0".join(parts), digest_size=16).hexdigest()


def _accepted_checks(model: Any, case: SyntheticCase, kind: PromptKind, prompt: Prompt) -> list[ConformanceCheck]:
    label = f"{kind.value}:"
    image_before, prompt_before = _digest(case.image), _digest(prompt)
    try:
        first = model.segment(case, prompt)
        second = model.segment(case, prompt)
    except Exception as err:  # any failure of the model is a failed check, reported with its type
        return [ConformanceCheck(f"{label} segment runs", False, f"{type(err).__name__}: {err}")]
    checks = [ConformanceCheck(f"{label} segment runs", True)]
    is_array = isinstance(first, np.ndarray)
    checks.append(ConformanceCheck(f"{label} returns a bool numpy array", is_array and first.dtype == np.bool_,
                                   f"got {type(first).__name__}" + (f" of dtype {first.dtype}" if is_array else "")))
    shape = getattr(first, "shape", None)
    checks.append(ConformanceCheck(f"{label} mask on the case grid", shape == case.spatial_shape,
                                   f"shape {shape}, case grid {case.spatial_shape}"))
    same = is_array and isinstance(second, np.ndarray) and np.array_equal(first, second)
    checks.append(ConformanceCheck(f"{label} deterministic", bool(same),
                                   "" if same else "two calls on the same case and prompt gave different masks"))
    untouched = _digest(case.image) == image_before and _digest(prompt) == prompt_before
    checks.append(ConformanceCheck(f"{label} leaves case and prompt unchanged", untouched,
                                   "" if untouched else "segment modified the case image or the prompt"))
    return checks


def _refusal_check(model: Any, case: SyntheticCase, kind: PromptKind, prompt: Prompt) -> ConformanceCheck:
    name = f"{kind.value}: refused (not accepted)"
    try:
        model.segment(case, prompt)
    except Exception as err:  # the contract asks for any exception naming the kind
        named = kind.value in str(err)
        return ConformanceCheck(name, named, f"{type(err).__name__}: {err}" if not named else "")
    return ConformanceCheck(name, False, "segment returned a mask for a prompt kind the model does not accept")


def check_conformance(model: Any, *, receives_extent: bool = False,
                      case_factory: Callable[[], SyntheticCase] = synthetic_case) -> ConformanceReport:
    """Check ``model`` against the protocol (see the module docstring).

    Args:
        model: A model object (already loaded and on its device).
        receives_extent: Give 2D masks the object's true extent (naive propagation's declared leak).
        case_factory: Builds the synthetic case.
    """
    name = str(getattr(model, "name", type(model).__name__))
    accepted = {PromptKind(str(k)) for k in getattr(model, "prompt_kinds", ())}
    checks = [ConformanceCheck("declares name and prompt kinds", bool(accepted) and hasattr(model, "segment"),
                               f"prompt_kinds={sorted(k.value for k in accepted)}")]
    case = case_factory()
    prompts = simulate_object(case.mask, ObjectKey(case.dataset_id, case.case_id, "organ", DEFAULT_POINT.key),
                              DEFAULT_POINT, ProtocolOptions(seed=0))
    if not isinstance(prompts, ObjectPrompts):  # the synthetic object is large: this is a bug of the kit
        raise RuntimeError(f"the conformance case's object was not prompted: {prompts.reason}")
    for kind in PromptKind:
        prompt = prompts.for_kind(kind, with_extent=receives_extent)
        if kind in accepted:
            checks += _accepted_checks(model, case, kind, prompt)
        else:
            checks.append(_refusal_check(model, case, kind, prompt))
    return ConformanceReport(name, tuple(checks))
