"""The run configuration: a TOML file (``propbench run --config run.toml``) with command-line overrides.

Every key, with its default::

    run = "default"                 # the run's name in the store; a rerun of the same name resumes it
    store = "reports/results.sqlite"
    datasets = []                   # dataset IDs; empty: the installed demo datasets
    subset = "eval"                 # eval (validation cases of internal datasets, all cases of external ones:
                                    # the paper's Table S5), val, test, train or all (Table S6 times all cases)
    settings = ["default"]          # any of default, slice-deviation, thickness
    seed = 0                        # seed of every prompt draw
    split_seed = 0                  # seed of the train/validation split (benchmark.splits; 0 is the suite's split)
    device = "cpu"
    workers = 0                     # 0: this process; N: a Dask LocalCluster of N single-threaded workers
    scheduler = ""                  # address of an existing Dask scheduler (tcp://host:8786)
    save_masks = ""                 # folder for predicted masks (NIfTI), empty: none
    prompts = ""                    # a prompt manifest to replay (propbench prompts export)
    tolerance_mm = 2.0              # NSD tolerance
    max_cases = 0                   # the first N cases (by ID) of each dataset's subset; 0: all
    objects = []                    # only these object names; empty: every object

    [protocol]
    plane = "axial"
    rule = "largest"                # guide slice: largest cross-section, or middle
    jitter = "paper"                # box perturbation: paper (U(1.0, 1.25)) or tight
    min_area = 100                  # prompted objects' guide slice holds more than this many pixels
    deviation_ratios = [0.05, 0.1, 0.15, 0.2]
    thicknesses_mm = [10.0, 20.0, 30.0, 40.0]

    [models."PropSAM-2DMask"]       # one table per model; no table: every registered model
    checkpoint = "path/to/bundle.pt"  # default for models with demo weights: the demo weights
    prompt = "mask2d"               # the prompt kind it receives (default: its spec's first)
    # any other key is a keyword argument of the model's factory, e.g. search = "coarse"

A run's identity (what must match for rows to be comparable, checked when a run resumes) is the protocol, the seeds,
the subset, the tolerance and the device; each model's checkpoint, prompt and keyword arguments, and each dataset's
data version, must also match the rows the run already has. Models, datasets and settings may be added to a run
later.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from benchmark.data.geometry import Plane
from benchmark.errors import BenchmarkError
from benchmark.protocol.object_prompts import ProtocolOptions
from benchmark.protocol.prompts import PromptKind
from benchmark.protocol.settings import DEVIATION_RATIOS, THICKNESSES_MM, Setting
from benchmark.protocol.simulation import BoxJitter, SliceRule
from benchmark.results.store import DEFAULT_STORE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["EvalSubset", "ModelEntry", "RunConfig", "load_config", "config_from_mapping", "identity",
           "identity_differences", "merged_identity", "IDENTITY_KEYS"]


class EvalSubset(str, Enum):
    """Which cases a run evaluates."""

    EVAL = "eval"
    VAL = "val"
    TEST = "test"
    TRAIN = "train"
    ALL = "all"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One model of a run: its registered name (or ``package.module:factory``), checkpoint, prompt kind and factory
    keyword arguments."""

    name: str
    checkpoint: str | None = None
    prompt: PromptKind | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "prompt": None if self.prompt is None else self.prompt.value,
                "kwargs": dict(self.kwargs)}


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """A whole run configuration (see the module docstring for every key)."""

    run: str = "default"
    store: Path = DEFAULT_STORE
    datasets: tuple[str, ...] = ()
    subset: EvalSubset = EvalSubset.EVAL
    settings: tuple[Setting, ...] = (Setting.DEFAULT,)
    split_seed: int = 0
    device: str = "cpu"
    workers: int = 0
    scheduler: str = ""
    save_masks: Path | None = None
    prompts: Path | None = None
    tolerance_mm: float = 2.0
    max_cases: int = 0
    objects: tuple[str, ...] = ()
    protocol: ProtocolOptions = ProtocolOptions()
    deviation_ratios: tuple[float, ...] = DEVIATION_RATIOS
    thicknesses_mm: tuple[float, ...] = THICKNESSES_MM
    models: tuple[ModelEntry, ...] = ()

    @property
    def seed(self) -> int:
        """The run seed: the seed of every prompt draw (held by the protocol options)."""
        return self.protocol.seed

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with the command line's values (None and empty values keep the file's)."""
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        seed = given.pop("seed", None)
        if "models" in given:
            by_name = {m.name: m for m in self.models}
            given["models"] = tuple(by_name.get(n, ModelEntry(name=n)) for n in given["models"])
        config = replace(self, **{k: _coerce(k, v, "the command line") for k, v in given.items()})
        if seed is None:
            return config
        return replace(config, protocol=replace(config.protocol, seed=_coerce("seed", seed, "the command line")))


_TOP = {"run", "store", "datasets", "subset", "settings", "seed", "split_seed", "device", "workers", "scheduler",
        "save_masks", "prompts", "tolerance_mm", "max_cases", "objects", "protocol", "models"}
_PROTOCOL = {"plane", "rule", "jitter", "min_area", "deviation_ratios", "thicknesses_mm"}


def _enum(kind: type[Enum], value: Any, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise BenchmarkError(f"{where}: {value!r} is not one of {[m.value for m in kind]}") from None


def _coerce(name: str, value: Any, where: str) -> Any:
    """A top-level value in its field's type (the message names ``where`` and the key)."""
    at = f"{where}, key {name!r}"
    try:
        if name in ("store", "save_masks", "prompts"):
            return Path(value) if value else None if name != "store" else DEFAULT_STORE
        if name in ("datasets", "objects"):
            if isinstance(value, str):
                raise ValueError
            return tuple(str(v) for v in value)
        if name == "subset":
            return _enum(EvalSubset, value, at)
        if name == "settings":
            return tuple(_enum(Setting, v, at) for v in value)
        if name in ("seed", "split_seed", "workers", "max_cases"):
            if isinstance(value, bool) or int(value) != value or int(value) < 0:
                raise ValueError
            return int(value)
        if name == "tolerance_mm":
            if isinstance(value, bool) or float(value) < 0:
                raise ValueError
            return float(value)
        if name == "models" and all(isinstance(m, ModelEntry) for m in value):
            return tuple(value)
        return str(value)
    except (TypeError, ValueError):
        raise BenchmarkError(f"{at}: invalid value {value!r}") from None


def _model_entry(name: str, table: Any, where: str) -> ModelEntry:
    if not isinstance(table, Mapping):
        raise BenchmarkError(f"{where}: [models.{name!r}] must be a table, got {table!r}")
    kwargs = dict(table)
    checkpoint = kwargs.pop("checkpoint", None)
    prompt = kwargs.pop("prompt", None)
    return ModelEntry(name=name, checkpoint=None if checkpoint in (None, "") else str(checkpoint),
                      prompt=None if prompt is None else _enum(PromptKind, prompt, f"{where}, models.{name}.prompt"),
                      kwargs=kwargs)


def _protocol(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise BenchmarkError(f"{where}: [protocol] must be a table")
    unknown = sorted(set(table) - _PROTOCOL)
    if unknown:
        raise BenchmarkError(f"{where}: unknown key(s) {['protocol.' + k for k in unknown]}; expected "
                             f"{sorted(_PROTOCOL)}")
    at = f"{where}, [protocol]"
    options = ProtocolOptions(plane=_enum(Plane, table.get("plane", "axial"), f"{at} plane"),
                              rule=_enum(SliceRule, table.get("rule", "largest"), f"{at} rule"),
                              jitter=_enum(BoxJitter, table.get("jitter", "paper"), f"{at} jitter"),
                              min_area=int(table.get("min_area", 100)))
    values: dict[str, Any] = {"protocol": options}
    for key in ("deviation_ratios", "thicknesses_mm"):
        if key in table:
            values[key] = tuple(float(v) for v in table[key])
    return values


def config_from_mapping(data: Mapping[str, Any], where: str = "run configuration") -> RunConfig:
    """A RunConfig from parsed TOML (unknown keys are errors naming ``where``)."""
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise BenchmarkError(f"{where}: unknown key(s) {unknown}; expected {sorted(_TOP)}")
    values: dict[str, Any] = {k: _coerce(k, v, where) for k, v in data.items()
                               if k not in ("protocol", "models", "seed")}
    values.update(_protocol(data.get("protocol", {}), where))
    values["protocol"] = replace(values["protocol"], seed=_coerce("seed", data.get("seed", 0), where))
    models = data.get("models", {})
    if isinstance(models, list):
        values["models"] = tuple(ModelEntry(name=str(n)) for n in models)
    elif isinstance(models, Mapping):
        values["models"] = tuple(_model_entry(str(n), t, where) for n, t in models.items())
    else:
        raise BenchmarkError(f"{where}: 'models' must be a list of names or tables [models.NAME], got {models!r}")
    return RunConfig(**values)


def load_config(path: Path | None) -> RunConfig:
    """The configuration in ``path`` (defaults when None).

    Raises:
        BenchmarkError: The file is missing, not TOML, or has an unknown key or a bad value (named).
    """
    if path is None:
        return RunConfig()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise BenchmarkError(f"run configuration {path} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise BenchmarkError(f"run configuration {path} is not valid TOML: {err}") from err
    return config_from_mapping(data, str(path))


#: Keys of the run identity that must be equal when a run resumes.
IDENTITY_KEYS = ("protocol", "seed", "split_seed", "subset", "tolerance_mm", "device")
#: Keys holding one entry per model or dataset: entries may be added, shared entries must be equal.
GROWING_KEYS = ("models", "data_versions")


def identity(config: RunConfig, data_versions: Mapping[str, str]) -> dict[str, Any]:
    """What a run's rows depend on, as JSON-ready values (the execution settings are left out)."""
    return {"protocol": {"plane": config.protocol.plane.value, "rule": config.protocol.rule.value,
                         "jitter": config.protocol.jitter.value, "min_area": config.protocol.min_area},
            "seed": config.seed, "split_seed": config.split_seed, "subset": config.subset.value,
            "tolerance_mm": config.tolerance_mm, "device": config.device,
            "models": {m.name: m.as_json() for m in config.models}, "data_versions": dict(data_versions)}


def identity_differences(stored: str, new: str) -> list[str]:
    """Keys of ``new`` that contradict ``stored`` (both run configurations as JSON, see :func:`identity`)."""
    old, now = json.loads(stored), json.loads(new)
    differs = [k for k in IDENTITY_KEYS if old.get(k) != now.get(k)]
    for group in GROWING_KEYS:
        before, after = old.get(group, {}), now.get(group, {})
        differs += [f"{group}.{n}" for n in sorted(set(before) & set(after)) if before[n] != after[n]]
    return differs


def merged_identity(stored: str, new: str) -> str:
    """``new`` with the models and data versions of ``stored`` kept (after :func:`identity_differences`)."""
    old, now = json.loads(stored), json.loads(new)
    merged = {**old, **now, **{g: {**old.get(g, {}), **now.get(g, {})} for g in GROWING_KEYS}}
    return json.dumps(merged, sort_keys=True)
