"""The model registry: built-in models by name, and outside models through the entry-point group
``propbench.models``. Factories are imported when a model is loaded, so listing models imports nothing heavy."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from benchmark.errors import BenchmarkError

__all__ = ["ENTRY_POINT_GROUP", "ModelSpec", "BUILTIN_MODELS", "available_models", "load_model"]

ENTRY_POINT_GROUP = "propbench.models"


@dataclass(frozen=True)
class ModelSpec:
    """A model the suite can load: its name, its factory as ``"module:attribute"``, and where it came from."""

    name: str
    factory: str
    origin: str = "built-in"
    needs: str = ""


#: Built-in models. ``needs`` says what a factory requires (PropSAM: a bundle path, ``checkpoint=...``).
BUILTIN_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("PropSAM-2DBox", "propsam.models:PropSAM2DBox", needs="checkpoint (a PropSAM bundle)"),
        ModelSpec("PropSAM-2DMask", "propsam.models:PropSAM2DMask", needs="checkpoint (a PropSAM bundle)"),
        ModelSpec("Naive-Propagation", "baselines.naive:NaivePropagation"),
    )
}


def available_models() -> dict[str, ModelSpec]:
    """Built-in models plus those registered by installed packages (an entry point may not shadow a built-in)."""
    models = dict(BUILTIN_MODELS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in models:
            models[point.name] = ModelSpec(point.name, point.value, origin=f"entry point of {point.dist}")
    return models


def load_model(name: str, **kwargs: Any) -> Any:
    """Build the model ``name`` with its factory's keyword arguments (e.g. ``checkpoint=``).

    Raises:
        BenchmarkError: Unknown name (the message lists the known ones), or the factory's package is missing.
    """
    models = available_models()
    if name not in models:
        raise BenchmarkError(f"unknown model {name!r}; expected one of {sorted(models)}")
    spec = models[name]
    module_name, _, attribute = spec.factory.partition(":")
    try:
        factory: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
    except ImportError as err:
        raise BenchmarkError(f"model {name!r} needs the package of {spec.factory} ({err}); install it, e.g. "
                             f"pip install 'propsam-bench[propsam]'") from err
    if "checkpoint" in kwargs and spec.factory.startswith("propsam."):
        return factory(kwargs.pop("checkpoint"), **kwargs)
    return factory(**kwargs)
