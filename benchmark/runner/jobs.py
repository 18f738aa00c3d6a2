"""What a run executes: each model of the run (with its weights and status) in each setting point it takes part in.

A model takes part in the default setting and the slice-deviation setting; in the thickness setting only when its
spec declares the ``window_mm`` setting (the point's thickness becomes that keyword argument). A model that cannot
run (a package or checkpoint missing) is skipped as a whole, with its reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from benchmark.models.registry import ModelSpec, ModelStatus, get_spec, model_status
from benchmark.protocol.prompts import PromptKind
from benchmark.protocol.settings import WINDOW_SETTING, Setting, SettingPoint, setting_points
from benchmark.runner.config import ModelEntry, RunConfig

__all__ = ["Weights", "ModelPlan", "ModelJob", "plan_models", "plan_points", "plan_jobs"]

log = logging.getLogger(__name__)


class Weights(str, Enum):
    """Where a model's weights came from, recorded on every row."""

    CHECKPOINT = "checkpoint"
    DEMO = "demo"
    RANDOM = "random"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, kw_only=True)
class ModelPlan:
    """One model of the run after its status was checked."""

    entry: ModelEntry
    spec: ModelSpec
    checkpoint: str | None
    weights: Weights


@dataclass(frozen=True, kw_only=True)
class ModelJob:
    """One model in one setting point: everything a worker needs to load and call it (picklable).

    Attributes:
        model: The model's name in the store.
        spec: Its registry spec.
        checkpoint: The checkpoint the factory receives, if any.
        weights: Where the weights came from.
        kwargs: Factory keyword arguments as (name, value) pairs, the point's sweep included.
        prompt_kind: The prompt kind it receives (None: the loaded model's first accepted kind).
        point: The setting point.
    """

    model: str
    spec: ModelSpec
    checkpoint: str | None
    weights: Weights
    kwargs: tuple[tuple[str, Any], ...]
    prompt_kind: PromptKind | None
    point: SettingPoint

    @property
    def load_key(self) -> str:
        """Equal for jobs one loaded model instance can serve."""
        return json.dumps([self.spec.factory, self.checkpoint, self.kwargs], sort_keys=True, default=str)


def plan_models(config: RunConfig, *, demo_checkpoint: Callable[[ModelSpec], str | None],
                available: Mapping[str, ModelSpec] | None = None,
                ) -> tuple[tuple[ModelPlan, ...], dict[str, str]]:
    """The runnable models of ``config`` and the reasons of those skipped.

    Args:
        config: The run configuration; without models, every model in ``available`` is tried.
        demo_checkpoint: Gives demo weights of a spec with a demo trainer (None when no demo data is installed).
        available: The registry's models (default: all registered).

    Raises:
        BenchmarkError: A configured model name is unknown.
    """
    from benchmark.models.registry import available_models

    entries = config.models or tuple(ModelEntry(name=n) for n in (available or available_models()))
    plans: list[ModelPlan] = []
    skipped: dict[str, str] = {}
    for entry in entries:
        spec = get_spec(entry.name)
        status = model_status(spec, entry.checkpoint, kwargs=entry.kwargs)
        checkpoint, weights = entry.checkpoint, Weights.CHECKPOINT if entry.checkpoint else Weights.NONE
        if entry.kwargs.get("random_weights"):
            weights = Weights.RANDOM
        elif status.status is ModelStatus.CHECKPOINT_MISSING and entry.checkpoint is None and spec.demo_trainer:
            checkpoint = demo_checkpoint(spec)
            if checkpoint is not None:
                status, weights = model_status(spec, checkpoint), Weights.DEMO
        if not status.runnable:
            skipped[spec.name] = f"{status.status}: {status.detail}"
            log.warning("%s is skipped: %s", spec.name, skipped[spec.name])
            continue
        plans.append(ModelPlan(entry=entry, spec=spec, checkpoint=checkpoint, weights=weights))
    return tuple(plans), skipped


def plan_points(config: RunConfig) -> tuple[SettingPoint, ...]:
    """The setting points of ``config``; the default point joins the slice-deviation setting, whose 0 it is."""
    points: list[SettingPoint] = []
    settings: Sequence[Setting] = config.settings
    if Setting.SLICE_DEVIATION in settings and Setting.DEFAULT not in settings:
        settings = (Setting.DEFAULT, *settings)
    for setting in settings:
        points += setting_points(setting, ratios=config.deviation_ratios, thicknesses_mm=config.thicknesses_mm)
    return tuple(dict.fromkeys(points))


def plan_jobs(models: Sequence[ModelPlan], points: Sequence[SettingPoint]) -> tuple[ModelJob, ...]:
    """Every (model, point) the run executes (thickness points only for models that sweep ``window_mm``)."""
    jobs = []
    for plan in models:
        for point in points:
            kwargs = dict(plan.entry.kwargs)
            if point.setting is Setting.THICKNESS:
                if WINDOW_SETTING not in plan.spec.sweeps:
                    continue
                kwargs[WINDOW_SETTING] = point.value
            jobs.append(ModelJob(model=plan.spec.name, spec=plan.spec, checkpoint=plan.checkpoint,
                                 weights=plan.weights, kwargs=tuple(sorted(kwargs.items())),
                                 prompt_kind=plan.entry.prompt or (plan.spec.prompt_kinds[0]
                                                                   if plan.spec.prompt_kinds else None),
                                 point=point))
    return tuple(jobs)

