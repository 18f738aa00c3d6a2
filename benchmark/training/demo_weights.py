"""Demo weights: a model's demo trainer run on the demo collection's training split, cached by what they depend on.

A demo trainer (``ModelSpec.demo_trainer``) is an object with ``key() -> str``, every setting that changes its
weights (epochs, samples, batch sizes, learning rates, seed, networks), and ``__call__(cases_train, cases_val,
out_dir) -> Path``, a training bounded by steps, never by time. The cache entry's key combines the trainer's name and
key, the package version, the split seed and the data version (DataLad commit) of every demo dataset, so new data,
new code or new settings train again and nothing else does. An entry is written to a
temporary folder and renamed into place when complete, so an interrupted training never leaves a usable-looking
half entry.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Protocol, cast

from benchmark.data.cards import DatasetCard
from benchmark.data.content_keys import combined_key
from benchmark.errors import BenchmarkError
from benchmark.home.data_home import DataHome
from benchmark.models.registry import ModelSpec, resolve
from benchmark.splits import Subset
from benchmark.training.volumes import split_volumes

__all__ = ["demo_weights"]

_DONE = "demo-weights.json"


class DemoTrainer(Protocol):
    """What ``ModelSpec.demo_trainer`` names (see the module docstring)."""

    def key(self) -> str: ...

    def __call__(self, cases_train: Sequence[object], cases_val: Sequence[object], out_dir: Path) -> Path: ...


def _package_version() -> str:
    try:
        return version("propsam-bench")
    except PackageNotFoundError:
        return "unknown"


def demo_weights(spec: ModelSpec, home: DataHome, cards: Sequence[DatasetCard], cache_dir: Path, *,
                 seed: int = 0) -> Path:
    """The checkpoint of ``spec``'s demo trainer on ``cards``' training splits, trained now if not cached.

    Args:
        spec: A model spec with a ``demo_trainer``.
        home: Data home holding the datasets.
        cards: Datasets to train on (the demo collection).
        cache_dir: Root of the cache (entries under ``demo-weights/``).
        seed: Split seed.

    Raises:
        BenchmarkError: The model has no demo trainer, or it is not a demo trainer.
    """
    if not spec.demo_trainer:
        raise BenchmarkError(f"model {spec.name!r} has no demo trainer; it needs no training or brings its weights")
    trainer = _trainer(spec)
    key = combined_key([spec.demo_trainer, trainer.key(), _package_version(), f"seed={seed}",
                        *(f"{card.id}={home.commit(card.id)}" for card in cards)])
    entry = cache_dir / "demo-weights" / key
    done = entry / _DONE
    if done.is_file():
        return entry / str(json.loads(done.read_text(encoding="utf-8"))["checkpoint"])
    partial = entry.with_name(f".{key}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    train = split_volumes(home, cards, Subset.TRAIN, seed=seed)
    val = split_volumes(home, cards, Subset.VAL, seed=seed)
    checkpoint = Path(trainer(train, val, partial))
    (partial / _DONE).write_text(json.dumps({"checkpoint": str(checkpoint.relative_to(partial)),
                                             "trainer": spec.demo_trainer, "datasets": [c.id for c in cards],
                                             "train_cases": len(train), "val_cases": len(val),
                                             "trainer_key": trainer.key(), "seed": seed}, indent=1),
                             encoding="utf-8")
    shutil.rmtree(entry, ignore_errors=True)
    partial.rename(entry)
    return entry / checkpoint.relative_to(partial)


def _trainer(spec: ModelSpec) -> DemoTrainer:
    trainer = resolve(spec.demo_trainer, what=f"demo trainer of {spec.name!r}")
    if not callable(trainer) or not callable(getattr(trainer, "key", None)):
        raise BenchmarkError(f"demo trainer {spec.demo_trainer!r} of {spec.name!r} must be an object with key() "
                             f"and __call__(cases_train, cases_val, out_dir), got {type(trainer).__name__}")
    return cast(DemoTrainer, trainer)
