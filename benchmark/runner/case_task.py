"""The work unit of a run: one case, every present object, every (model, setting point) job not done yet.

:func:`run_case` is a module-level function of a picklable :class:`CaseTask`, so the local runner and Dask workers
run the same code: the worker rebuilds the reader from its spec, reads the case once, draws each object's prompts
once per setting (or takes them from a replayed manifest), calls each model (loaded once per process), validates
its output, computes the metrics and returns small rows. Nothing here raises for a bad model, case or object: each
becomes a failed or skipped row with the reason, and the rest goes on.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from benchmark.data.case import Case, CaseEntry
from benchmark.data.dataset import ReaderSpec
from benchmark.metrics.evaluate import evaluate_segmentation
from benchmark.protocol.manifest import ManifestEntry
from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, SkippedObject, simulate_object
from benchmark.protocol.prompts import Prompt, PromptKind
from benchmark.protocol.settings import SettingPoint
from benchmark.results.provenance import machine_id, machine_info, utc_now
from benchmark.results.rows import ResultRow, RowKey, RowStatus
from benchmark.runner.jobs import ModelJob
from benchmark.runner.masks import save_mask
from benchmark.runner.model_cache import LoadedModel, ModelLoadError, get_model
from benchmark.runner.timing import timed_call

__all__ = ["CASE_OBJECT", "CaseTask", "CaseOutcome", "Emit", "PredictionError", "run_case", "check_prediction",
           "base_row", "failed_row"]

log = logging.getLogger(__name__)

#: ``object_name`` of the row recording a case that could not be read at all.
CASE_OBJECT = "(case)"


class PredictionError(ValueError):
    """A model returned something that is not a boolean mask on the case's grid."""


@dataclass(frozen=True, kw_only=True)
class CaseTask:
    """One case and the jobs to run on it (see the module docstring).

    Attributes:
        run_id: The run.
        reader: Rebuilds the dataset's reader.
        entry: The case.
        subset: The case's split subset.
        jobs: (model, setting point) jobs.
        done: Keys of rows already in the store (not run again).
        options: The prompt protocol.
        tolerance_mm: NSD tolerance.
        device: Device the models run on.
        save_masks: Folder for predicted masks, or None.
        replay: The case's prompts from a manifest (None: drawn here).
        objects: Only these objects (empty: every present object).
    """

    run_id: str
    reader: ReaderSpec
    entry: CaseEntry
    subset: str
    jobs: tuple[ModelJob, ...]
    done: frozenset[RowKey]
    options: ProtocolOptions
    tolerance_mm: float
    device: str
    save_masks: str | None = None
    replay: tuple[ManifestEntry, ...] | None = None
    objects: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseOutcome:
    """The rows of one case, the objects present in it (None when it could not be read), and the machine."""

    rows: tuple[ResultRow, ...]
    objects: tuple[str, ...] | None
    machine_id: str
    machine: dict[str, Any]


_MACHINE: dict[bool, tuple[str, dict[str, Any]]] = {}


def _machine() -> tuple[str, dict[str, Any]]:
    torch_loaded = "torch" in sys.modules  # the description gains torch and GPU details once a model loads torch
    if torch_loaded not in _MACHINE:
        info = machine_info()
        _MACHINE[torch_loaded] = (machine_id(info), info)
    return _MACHINE[torch_loaded]


def check_prediction(prediction: Any, shape: tuple[int, int, int], model: str) -> np.ndarray:
    """``prediction`` if it is a boolean numpy array of ``shape``.

    Raises:
        PredictionError: Another type, a non-boolean dtype (NaN named), or another shape.
    """
    if not isinstance(prediction, np.ndarray):
        raise PredictionError(f"{model} returned {type(prediction).__name__}; expected a numpy bool array of shape "
                              f"{shape}")
    if prediction.dtype != np.bool_:
        nan = " holding NaN" if prediction.dtype.kind == "f" and np.isnan(prediction).any() else ""
        raise PredictionError(f"{model} returned dtype {prediction.dtype}{nan}; expected bool (the harness never "
                              f"thresholds a model's output)")
    if prediction.shape != shape:
        raise PredictionError(f"{model} returned a mask of shape {prediction.shape}; expected the case grid {shape}")
    return prediction


#: Receives each finished row with the description of the machine it ran on.
Emit = Callable[[ResultRow, dict[str, Any]], None]


def run_case(task: CaseTask, emit: Emit | None = None) -> CaseOutcome:
    """Run every job of ``task`` on every present object of its case; ``emit`` receives each row when finished."""
    rows: list[ResultRow] = []

    def keep(row: ResultRow) -> None:
        mid, info = _machine()
        rows.append(replace(row, machine_id=mid))
        if emit is not None:
            emit(rows[-1], info)

    try:
        case = task.reader.open().open_case(task.entry)
        names = task.objects or case.objects
        masks = {name: case.mask(name) for name in sorted(names) if name in case.objects}
        masks = {name: mask for name, mask in masks.items() if mask.any()}
    except Exception as err:  # a case that cannot be read is one failed row per job; the run goes on
        for job in task.jobs:
            key = _key(task, job, CASE_OBJECT)
            if key not in task.done:
                keep(failed_row(base_row(task, job, CASE_OBJECT), err))
        mid, info = _machine()
        return CaseOutcome(tuple(rows), None, mid, info)
    try:
        prompts = _PromptSource(task)
        for name, mask in masks.items():
            for job in task.jobs:
                if _key(task, job, name) not in task.done:
                    keep(_object_row(task, job, case, name, mask, prompts.get(name, mask, job.point)))
    finally:
        case.release()
    mid, info = _machine()
    # With an object filter the present objects are not all known: the case is not recorded as complete.
    return CaseOutcome(tuple(rows), None if task.objects else tuple(masks), mid, info)


class _PromptSource:
    """Each object's prompts, drawn once per prompt key, or looked up in the replayed manifest."""

    def __init__(self, task: CaseTask) -> None:
        self.task = task
        self.drawn: dict[ObjectKey, ObjectPrompts | SkippedObject | str] = {}
        self.replay: Mapping[ObjectKey, ManifestEntry] | None = (
            None if task.replay is None else {e.key: e for e in task.replay})

    def get(self, name: str, mask: np.ndarray, point: SettingPoint) -> ObjectPrompts | SkippedObject | str:
        """The prompts, the skip, or (a str) why a replayed manifest has none."""
        entry = self.task.entry
        key = ObjectKey(self.task.reader.card.id, entry.case_id, name, point.prompt_key)
        if key not in self.drawn:
            if self.replay is None:
                self.drawn[key] = simulate_object(mask, key, point, self.task.options)
            elif key in self.replay:
                self.drawn[key] = self.replay[key].prompts
            else:
                self.drawn[key] = f"the replayed prompt manifest has no prompt for {key}"
        return self.drawn[key]


def _key(task: CaseTask, job: ModelJob, object_name: str) -> RowKey:
    return RowKey(task.run_id, job.model, job.point.key, task.reader.card.id, task.entry.case_id, object_name)


def base_row(task: CaseTask, job: ModelJob, object_name: str) -> ResultRow:
    """A row of ``job`` on one object of the task's case, with everything known before the model runs."""
    key = _key(task, job, object_name)
    return ResultRow(run_id=key.run_id, model=key.model, setting=key.setting, dataset_id=key.dataset_id,
                     case_id=key.case_id, object_name=key.object_name, subset=task.subset,
                     data_version=task.reader.data_version, guide_rule=task.options.rule.value,
                     box_jitter=task.options.jitter.value, tolerance_mm=task.tolerance_mm,
                     model_protocol=job.spec.protocol, weights=job.weights.value,
                     model_kwargs=json.dumps(dict(job.kwargs), sort_keys=True, default=str), device=task.device,
                     started_utc=utc_now())


def failed_row(row: ResultRow, err: BaseException) -> ResultRow:
    """``row`` as failed by ``err`` (type, message and traceback recorded)."""
    return replace(row, status=RowStatus.FAILED.value, error_type=type(err).__name__, error_message=str(err),
                   traceback="".join(traceback.format_exception(err)), ended_utc=utc_now())


def _skipped(row: ResultRow, reason: str) -> ResultRow:
    return replace(row, status=RowStatus.SKIPPED.value, skip_reason=reason, ended_utc=utc_now())


def _with_prompt(row: ResultRow, prompt: Prompt) -> ResultRow:
    box = getattr(prompt, "box", None)
    return replace(row, prompt_kind=prompt.kind.value, prompt_plane=prompt.plane.value,
                   prompt_slice=prompt.slice_index, prompt_box=None if box is None else json.dumps(list(box)),
                   prompt_leaks=",".join(prompt.leaks))


def _prompt_kind(job: ModelJob, loaded: LoadedModel) -> PromptKind | str:
    """The kind the model receives, or (a str) why it cannot receive the run's kind."""
    if job.prompt_kind is None:
        kinds = [k for k in PromptKind if k.value in loaded.accepted]
        return kinds[0] if kinds else f"{job.model} declares no prompt kind the suite knows ({sorted(loaded.accepted)})"
    if job.prompt_kind.value not in loaded.accepted:
        return (f"{job.model} does not take {job.prompt_kind.value!r} prompts (it takes "
                f"{sorted(loaded.accepted)}); set `prompt` in its [models] table")
    return job.prompt_kind


def _object_row(task: CaseTask, job: ModelJob, case: Case, name: str, mask: np.ndarray,
                prompts: ObjectPrompts | SkippedObject | str) -> ResultRow:
    row = base_row(task, job, name)
    if isinstance(prompts, str):
        return failed_row(row, LookupError(prompts))
    if isinstance(prompts, SkippedObject):
        return _skipped(row, prompts.reason)
    try:
        loaded = get_model(job, task.device)
    except ModelLoadError as err:
        return failed_row(row, err)
    row = replace(row, checkpoint_sha256=loaded.checkpoint_sha256)
    kind = _prompt_kind(job, loaded)
    if not isinstance(kind, PromptKind):  # PromptKind is a str too: test for the kind, not for the reason
        return _skipped(row, kind)
    prompt = prompts.for_kind(kind, with_extent=job.spec.receives_extent)
    row = _with_prompt(row, prompt)
    try:
        if kind.value not in loaded.warmed:  # one untimed warm-up call per model instance and process
            loaded.model.segment(case, prompt)
            loaded.warmed.add(kind.value)
        output, cost = timed_call(loaded.model.segment, case, prompt)
        prediction = check_prediction(output, case.spatial_shape, job.model)
        metrics = evaluate_segmentation(prediction, mask, spacing=case.spacing, tolerance_mm=task.tolerance_mm)
    except Exception as err:  # a failing model, output or metric is a failed row with its traceback
        return failed_row(row, err)
    trace = getattr(loaded.model, "last_trace", None)
    mask_path = None
    if task.save_masks is not None:
        mask_path = str(save_mask(prediction, case, task.save_masks, row.key))
    values: dict[str, Any] = metrics.as_dict()
    return replace(row, **values, seconds=cost.seconds, peak_rss_mb=cost.peak_rss_mb,
                   peak_gpu_mb=cost.peak_gpu_mb, trace=None if trace is None else json.dumps(dict(trace), default=str),
                   mask_path=mask_path, ended_utc=utc_now())

