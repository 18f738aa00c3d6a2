"""Models loaded once per process: the local runner's process, or each Dask worker process.

A model that fails to load is remembered as failed, so every later object of that model fails fast with the same
message instead of loading again. Each instance is warmed up with one untimed call before its first timed one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from benchmark.models.registry import load_model
from benchmark.runner.jobs import ModelJob

__all__ = ["LoadedModel", "ModelLoadError", "get_model", "clear_models"]

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A model could not be built; every row of it fails with this message."""


@dataclass
class LoadedModel:
    """A model instance on its device, with what the harness reads of it."""

    model: Any
    accepted: frozenset[str]
    checkpoint_sha256: str | None
    warmed: set[str] = field(default_factory=set)


_MODELS: dict[tuple[str, str], LoadedModel | ModelLoadError] = {}


def get_model(job: ModelJob, device: str) -> LoadedModel:
    """The loaded model of ``job`` on ``device`` (built on first use in this process).

    Raises:
        ModelLoadError: Building it failed (now or earlier in this process).
    """
    key = (job.load_key, device)
    cached = _MODELS.get(key)
    if cached is None:
        cached = _load(job, device)
        _MODELS[key] = cached
    if isinstance(cached, ModelLoadError):
        raise cached
    return cached


def _load(job: ModelJob, device: str) -> LoadedModel | ModelLoadError:
    try:
        model = load_model(job.spec, job.checkpoint, **dict(job.kwargs))
        moved = model.to(device)
        model = moved if moved is not None else model
    except Exception as err:  # any failure of third-party model code must become a recorded row, not a crash
        log.warning("model %s could not be loaded: %s", job.model, err)
        return ModelLoadError(f"loading {job.model} failed: {type(err).__name__}: {err}")
    accepted = frozenset(str(getattr(k, "value", k)) for k in getattr(model, "prompt_kinds", ()))
    sha = getattr(model, "checkpoint_sha256", None)
    return LoadedModel(model=model, accepted=accepted, checkpoint_sha256=None if sha is None else str(sha))


def clear_models() -> None:
    """Forget every loaded model of this process (tests, and the end of a local run)."""
    _MODELS.clear()
