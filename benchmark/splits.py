"""Train/validation/test splits by case, seeded and stable.

Internal datasets: each case goes to validation when a seeded BLAKE2b hash of (seed, dataset ID, case ID), read as a
number in [0, 1), falls below the validation fraction (default 0.2), else to training. A case's assignment depends
on nothing but its own ID, so adding or removing cases never moves the others. One exception keeps tiny datasets
usable: when no case of an internal dataset with at least two cases falls below the fraction, the case with the
smallest hash goes to validation. External datasets (the paper's ``*``): every case is test.

Splits are written as versioned JSON files (``schema_version``, the data version they were made from, the method).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.errors import BenchmarkError

__all__ = ["Subset", "Split", "make_split", "SPLIT_SCHEMA_VERSION", "SPLIT_METHOD"]

SPLIT_SCHEMA_VERSION = 1
SPLIT_METHOD = "blake2b-threshold"


class Subset(str, Enum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Split:
    """Case-to-subset assignment of one dataset."""

    dataset_id: str
    seed: int
    validation_fraction: float
    data_version: str
    assignments: Mapping[str, Subset]

    def cases(self, subset: Subset | str) -> tuple[str, ...]:
        wanted = Subset(subset)
        return tuple(sorted(c for c, s in self.assignments.items() if s is wanted))

    def subset_of(self, case_id: str) -> Subset:
        try:
            return self.assignments[case_id]
        except KeyError:
            raise KeyError(f"case {case_id!r} is not in the split of {self.dataset_id}") from None

    def to_json(self) -> dict[str, object]:
        return {
            "schema_version": SPLIT_SCHEMA_VERSION,
            "method": SPLIT_METHOD,
            "dataset_id": self.dataset_id,
            "seed": self.seed,
            "validation_fraction": self.validation_fraction,
            "data_version": self.data_version,
            **{subset.value: list(self.cases(subset)) for subset in Subset},
        }

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Split:
        """Read a split file.

        Raises:
            BenchmarkError: Unknown schema version or method, or a case listed twice.
        """
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("schema_version") != SPLIT_SCHEMA_VERSION or data.get("method") != SPLIT_METHOD:
            raise BenchmarkError(f"{path}: split schema_version {data.get('schema_version')!r} / method "
                                 f"{data.get('method')!r}; expected {SPLIT_SCHEMA_VERSION} / {SPLIT_METHOD!r}")
        assignments: dict[str, Subset] = {}
        for subset in Subset:
            for case_id in data.get(subset.value, []):
                if case_id in assignments:
                    raise BenchmarkError(f"{path}: case {case_id!r} is listed in both "
                                         f"{assignments[case_id].value} and {subset.value}")
                assignments[case_id] = subset
        return cls(data["dataset_id"], data["seed"], data["validation_fraction"], data["data_version"], assignments)


def _unit_hash(seed: int, dataset_id: str, case_id: str) -> float:
    digest = hashlib.blake2b(f"{seed}\0{dataset_id}\0{case_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def make_split(card: DatasetCard, case_ids: Iterable[str], *, seed: int = 0, validation_fraction: float = 0.2,
               data_version: str = "") -> Split:
    """Assign cases to subsets (see the module docstring for the rule).

    Raises:
        ValueError: ``validation_fraction`` outside [0, 1).
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    ids = sorted(set(case_ids))
    if card.external:
        return Split(card.id, seed, validation_fraction, data_version, {c: Subset.TEST for c in ids})
    scores = {c: _unit_hash(seed, card.id, c) for c in ids}
    assignments = {c: Subset.VAL if scores[c] < validation_fraction else Subset.TRAIN for c in ids}
    if len(ids) >= 2 and validation_fraction > 0 and Subset.VAL not in assignments.values():
        assignments[min(ids, key=scores.__getitem__)] = Subset.VAL
    return Split(card.id, seed, validation_fraction, data_version, assignments)
