"""The model registry: built-in models by name, outside models through the entry-point group ``propbench.models``,
and any ``package.module:factory`` named on the command line. Factories are imported when a model is loaded, so
listing models imports nothing heavy; the harness reaches every model through here and never imports one.

A spec says what the runner needs to know before loading a model: the prompt kinds it accepts (the first is the one
the harness gives it), whether it receives the object's true extent (a declared leak: naive propagation only), the
settings it can sweep (``window_mm`` for the thickness ablation), the protocol text tables print, and what it needs
to run (a checkpoint, packages), from which ``propbench models list`` derives each model's status.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError
from benchmark.protocol.prompts import PromptKind

__all__ = ["ENTRY_POINT_GROUP", "ModelSpec", "ModelStatus", "StatusReport", "BUILTIN_MODELS", "available_models",
           "get_spec", "spec_from_reference", "resolve", "load_model", "model_status"]

ENTRY_POINT_GROUP = "propbench.models"


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A model the suite can load.

    Attributes:
        name: The model's name in tables.
        factory: ``"module:attribute"`` building the model: ``factory(checkpoint, **kwargs)`` for models with
            weights, ``factory(**kwargs)`` otherwise.
        origin: ``"built-in"``, the distribution of the entry point, or ``"command line"``.
        prompt_kinds: Prompt kinds accepted, in order of preference; empty: ask the loaded model (plug-ins).
        receives_extent: The 2D mask prompt carries the object's true extent (a leak tables declare).
        sweeps: Factory keyword arguments a setting may vary (``"window_mm"``: the thickness ablation).
        protocol: What the model receives and does with it, printed in table captions.
        needs_checkpoint: The factory needs a checkpoint (or demo weights).
        checkpoint_hint: What that checkpoint is, for messages.
        packages: Import names the factory needs, for the status and the install hint.
        extra: The ``propsam-bench`` extra that installs them.
        demo_trainer: ``"module:attribute"`` of a demo trainer (benchmark.training.demo_weights): an object with
            ``key()`` (every setting that changes its weights, for the cache key) and ``__call__(cases_train,
            cases_val, out_dir) -> Path`` training demo weights on the demo collection for a fixed number of steps;
            empty when the model needs no training.
    """

    name: str
    factory: str
    origin: str = "built-in"
    prompt_kinds: tuple[PromptKind, ...] = ()
    receives_extent: bool = False
    sweeps: tuple[str, ...] = ()
    protocol: str = ""
    needs_checkpoint: bool = False
    checkpoint_hint: str = ""
    packages: tuple[str, ...] = ()
    extra: str = ""
    demo_trainer: str = ""


class ModelStatus(str, Enum):
    READY = "ready"
    DEMO_WEIGHTS = "demo weights"
    CHECKPOINT_MISSING = "checkpoint missing"
    PACKAGE_MISSING = "package missing"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class StatusReport:
    """Whether a model can run now, and what to do when it cannot."""

    status: ModelStatus
    detail: str = ""

    @property
    def runnable(self) -> bool:
        return self.status in (ModelStatus.READY, ModelStatus.DEMO_WEIGHTS)


def _propsam(name: str, factory: str, kind: PromptKind, protocol: str) -> ModelSpec:
    return ModelSpec(name=name, factory=factory, prompt_kinds=(kind,), sweeps=("window_mm",), protocol=protocol,
                     needs_checkpoint=True, checkpoint_hint="a PropSAM bundle (propsam.checkpoint; `propsam train`)",
                     packages=("torch",), extra="propsam", demo_trainer="propsam.training.demo:DEMO_TRAINER")


#: Built-in models.
BUILTIN_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _propsam("PropSAM-2DBox", "propsam.models:PropSAM2DBox", PromptKind.BOX_2D,
                 "one 2D box on the guide slice; Box2Mask gives the guide mask, PropMask propagates it in a "
                 "thickness window"),
        _propsam("PropSAM-2DMask", "propsam.models:PropSAM2DMask", PromptKind.MASK_2D,
                 "the guide slice's 2D mask; PropMask propagates it in a thickness window"),
        ModelSpec(name="Naive-Propagation", factory="baselines.naive:NaivePropagation",
                  prompt_kinds=(PromptKind.MASK_2D,), receives_extent=True,
                  protocol="the guide slice's 2D mask copied to every slice of the object's true extent "
                           "(leaks the extent)"),
        ModelSpec(name="Box-Fill", factory="baselines.box_fill:BoxFill", prompt_kinds=(PromptKind.BOX_3D,),
                  protocol="the 3D box's transverse box filled on every slice of its z-range (leaks the z-extent)"),
        ModelSpec(name="MedSAM-3DBox", factory="baselines.medsam:medsam_3dbox", prompt_kinds=(PromptKind.BOX_3D,),
                  protocol="the 3D box's transverse box given to MedSAM on every axial slice of its z-range, MedSAM's "
                           "2D preprocessing per slice (leaks the z-extent)",
                  needs_checkpoint=True, checkpoint_hint="MedSAM's medsam_vit_b.pth (github.com/bowang-lab/MedSAM)",
                  packages=("torch", "transformers"), extra="medsam"),
        ModelSpec(name="MedSAM-Propagate", factory="baselines.medsam:medsam_propagate",
                  prompt_kinds=(PromptKind.BOX_3D,),
                  protocol="the 3D box's transverse box on its own slice, then each next slice prompted with the box "
                           "of the previous slice's mask, up to the ends of the box's z-range (MedSAM's 3D routine; "
                           "leaks the z-extent)",
                  needs_checkpoint=True, checkpoint_hint="MedSAM's medsam_vit_b.pth (github.com/bowang-lab/MedSAM)",
                  packages=("torch", "transformers"), extra="medsam"),
        ModelSpec(name="SegVol", factory="baselines.segvol:segvol", prompt_kinds=(PromptKind.BOX_3D,),
                  protocol="the 3D box as SegVol's box prompt, SegVol's zoom-out then zoom-in inference on its own "
                           "preprocessing (leaks the z-extent)",
                  needs_checkpoint=True,
                  checkpoint_hint="a local copy of the released BAAI/SegVol model folder (config.json, "
                                  "model_segvol_single.py, pytorch_model.bin), with trust_remote_code = true",
                  packages=("torch", "transformers", "monai", "einops"), extra="segvol"),
    )
}


def available_models() -> dict[str, ModelSpec]:
    """Built-in models plus those registered by installed packages (an entry point may not shadow a built-in)."""
    models = dict(BUILTIN_MODELS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in models:
            models[point.name] = ModelSpec(name=point.name, factory=point.value,
                                           origin=f"entry point of {point.dist}")
    return models


def resolve(reference: str, *, what: str, extra: str = "") -> Any:
    """Import ``"module:attribute"``.

    Raises:
        BenchmarkError: Not of that form, the module cannot be imported (with an install hint) or lacks the attribute.
    """
    module_name, colon, attribute = reference.partition(":")
    if not (module_name and colon and attribute):
        raise BenchmarkError(f"{what}: {reference!r} is not of the form 'package.module:attribute'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except ImportError as err:
        hint = f"pip install 'propsam-bench[{extra}]'" if extra else f"pip install the package providing {module_name}"
        raise BenchmarkError(f"{what} needs {reference} ({err}); {hint}") from err
    except AttributeError:
        raise BenchmarkError(f"{what}: {module_name} has no attribute {attribute!r}") from None


def get_spec(name: str) -> ModelSpec:
    """The spec of model ``name``: a registered name, or ``package.module:factory`` (see spec_from_reference).

    Raises:
        BenchmarkError: Unknown name; the message lists the known ones.
    """
    models = available_models()
    if name in models:
        return models[name]
    if ":" in name:
        return spec_from_reference(name)
    raise BenchmarkError(f"unknown model {name!r}; expected one of {sorted(models)} or 'package.module:factory'")


def spec_from_reference(reference: str) -> ModelSpec:
    """The spec of an unregistered model named by its factory; its prompt kinds come from the loaded model."""
    return ModelSpec(name=reference, factory=reference, origin="command line")


def load_model(name: str | ModelSpec, checkpoint: str | None = None, **kwargs: Any) -> Any:
    """Build a model: ``factory(checkpoint, **kwargs)`` when a checkpoint is given, else ``factory(**kwargs)``.

    Raises:
        BenchmarkError: Unknown name (the message lists the known ones), or the factory's package is missing.
    """
    spec = name if isinstance(name, ModelSpec) else get_spec(name)
    factory: Callable[..., Any] = resolve(spec.factory, what=f"model {spec.name!r}", extra=spec.extra)
    return factory(checkpoint, **kwargs) if checkpoint is not None else factory(**kwargs)


def model_status(spec: ModelSpec, checkpoint: str | Path | None = None, *,
                 kwargs: Mapping[str, Any] | None = None, demo_available: bool = False) -> StatusReport:
    """Whether ``spec`` can run with ``checkpoint`` (or demo weights, or the ``random_weights`` keyword).

    Args:
        spec: The model.
        checkpoint: The configured checkpoint, if any.
        kwargs: The configured factory keyword arguments.
        demo_available: Demo weights can be trained or are cached (the demo collection is installed).
    """
    missing = [name for name in spec.packages if importlib.util.find_spec(name) is None]
    if missing:
        hint = f"pip install 'propsam-bench[{spec.extra}]'" if spec.extra else f"install {', '.join(missing)}"
        return StatusReport(ModelStatus.PACKAGE_MISSING, f"needs the package(s) {missing}: {hint}")
    if not spec.needs_checkpoint or (kwargs or {}).get("random_weights"):
        return StatusReport(ModelStatus.READY)
    if checkpoint is not None:
        if Path(checkpoint).exists():
            return StatusReport(ModelStatus.READY, f"checkpoint {checkpoint}")
        return StatusReport(ModelStatus.CHECKPOINT_MISSING, f"the configured checkpoint {checkpoint} does not exist; "
                                                            f"expected {spec.checkpoint_hint}")
    if spec.demo_trainer and demo_available:
        return StatusReport(ModelStatus.DEMO_WEIGHTS, "demo weights trained on the demo collection")
    return StatusReport(ModelStatus.CHECKPOINT_MISSING,
                        f"no checkpoint configured; expected {spec.checkpoint_hint} as `checkpoint` in the run "
                        f"config's [models.\"{spec.name}\"] table")
