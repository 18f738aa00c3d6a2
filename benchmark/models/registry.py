"""The model registry: built-in models by name, and outside models through the entry-point group
``propbench.models``. Factories are imported when a model is loaded, so listing models imports nothing heavy."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from benchmark.errors import BenchmarkError

__all__ = ["ENTRY_POINT_GROUP", "ModelSpec", "BUILTIN_MODELS", "available_models", "get_spec", "resolve", "load_model"]

ENTRY_POINT_GROUP = "propbench.models"


@dataclass(frozen=True)
class ModelSpec:
    """A model the suite can load.

    Attributes:
        name: The model's name in tables.
        factory: ``"module:attribute"`` building the model (keyword arguments from the caller).
        origin: ``"built-in"`` or the distribution of the entry point.
        needs: What the factory requires, for listings.
        demo_trainer: ``"module:attribute"`` of a function ``(cases_train, cases_val, out_dir, *, budget_s) -> Path``
            that trains demo weights on the demo collection and returns the checkpoint the factory takes as
            ``checkpoint``; empty when the model needs no training.
    """

    name: str
    factory: str
    origin: str = "built-in"
    needs: str = ""
    demo_trainer: str = ""


_PROPSAM_DEMO = "propsam.training.demo:train_demo_weights"

#: Built-in models. ``needs`` says what a factory requires (PropSAM: a bundle path, ``checkpoint=...``).
BUILTIN_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("PropSAM-2DBox", "propsam.models:PropSAM2DBox", needs="checkpoint (a PropSAM bundle)",
                  demo_trainer=_PROPSAM_DEMO),
        ModelSpec("PropSAM-2DMask", "propsam.models:PropSAM2DMask", needs="checkpoint (a PropSAM bundle)",
                  demo_trainer=_PROPSAM_DEMO),
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


def resolve(reference: str, *, what: str) -> Any:
    """Import ``"module:attribute"``.

    Raises:
        BenchmarkError: The module cannot be imported (with an install hint) or lacks the attribute.
    """
    module_name, _, attribute = reference.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except ImportError as err:
        raise BenchmarkError(f"{what} needs {reference} ({err}); install it, e.g. "
                             f"pip install 'propsam-bench[propsam]'") from err
    except AttributeError:
        raise BenchmarkError(f"{what}: {module_name} has no attribute {attribute!r}") from None


def get_spec(name: str) -> ModelSpec:
    """The spec of model ``name``.

    Raises:
        BenchmarkError: Unknown name; the message lists the known ones.
    """
    models = available_models()
    if name not in models:
        raise BenchmarkError(f"unknown model {name!r}; expected one of {sorted(models)}")
    return models[name]


def load_model(name: str, checkpoint: str | None = None, **kwargs: Any) -> Any:
    """Build the model ``name``: ``factory(checkpoint, **kwargs)`` when a checkpoint is given (factories of models
    with weights take it as their first argument), else ``factory(**kwargs)``.

    Raises:
        BenchmarkError: Unknown name (the message lists the known ones), or the factory's package is missing.
    """
    spec = get_spec(name)
    factory: Callable[..., Any] = resolve(spec.factory, what=f"model {name!r}")
    return factory(checkpoint, **kwargs) if checkpoint is not None else factory(**kwargs)
