"""A model check: run one model with simulated prompts on the cases of a split subset and compare it, object by
object, with naive propagation (the guide mask copied over the object's true extent).

This is the quick answer to "does this model (or checkpoint) work at all on this data": Dice per object, its mean,
and the same on objects whose cross-section changes along the propagation axis, where naive propagation fails.

Cross-section change of an object: 1 minus the mean 2D Dice between the guide slice's mask and each slice's mask
over the object's extent; objects with a change of at least ``CHANGING`` count as changing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from benchmark.data.geometry import Plane, slice_of
from benchmark.data.readers.base import LayoutReader
from benchmark.errors import BenchmarkError, CaseError
from benchmark.metrics.dice import compute_dice
from benchmark.models.registry import load_model
from benchmark.protocol.prompts import Prompt
from benchmark.protocol.simulation import SliceRule, box2d_prompt, mask2d_prompt, object_extent
from benchmark.splits import Subset, make_split

__all__ = ["CHANGING", "CheckPrompt", "CheckRow", "CheckSummary", "cross_section_change", "check_model", "summarize"]

#: Cross-section change from which an object counts as changing.
CHANGING = 0.2


class CheckPrompt(str, Enum):
    MASK_2D = "mask2d"
    BOX_2D = "box2d"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class CheckRow:
    """One object of one case."""

    dataset_id: str
    case_id: str
    object: str
    slice_index: int
    dice: float
    naive_dice: float
    cross_section_change: float
    seconds: float


@dataclass(frozen=True)
class CheckSummary:
    """Means over rows (NaN Dice skipped), overall and on changing objects."""

    model: str
    n_objects: int
    mean_dice: float
    mean_naive_dice: float
    n_changing: int
    changing_mean_dice: float
    changing_mean_naive_dice: float
    n_errors: int


def cross_section_change(mask: np.ndarray, plane: Plane, guide: int) -> float:
    """1 minus the mean 2D Dice between slice ``guide`` and each slice of the object's extent along ``plane``."""
    start, stop = object_extent(mask, plane)
    reference = slice_of(mask, plane, guide)
    dices = [compute_dice(reference, slice_of(mask, plane, k)).dice for k in range(start, stop)]
    return 1.0 - float(np.mean(dices))


def check_model(model: Any, readers: Sequence[LayoutReader], *, subset: Subset | str = Subset.VAL,
                prompt: CheckPrompt | str = CheckPrompt.MASK_2D, plane: Plane | str = Plane.AXIAL,
                rule: SliceRule | str = SliceRule.MIDDLE, seed: int = 0,
                ) -> tuple[tuple[CheckRow, ...], tuple[CaseError, ...]]:
    """Segment every object of every case of ``subset`` with ``model`` from one simulated prompt.

    Args:
        model: Any model of the protocol (benchmark.models.protocol) accepting ``prompt``'s kind.
        readers: Opened readers of the datasets.
        subset: Split subset whose cases are used.
        prompt: Prompt kind simulated from the ground truth.
        plane: Plane of the prompt.
        rule: Slice the prompt sits on.
        seed: Split seed.

    Returns:
        One row per object present in a case, and one error per case or object that failed.
    """
    plane, kind = Plane(plane), CheckPrompt(prompt)
    naive = load_model("Naive-Propagation")  # through the registry, like every model
    rows: list[CheckRow] = []
    errors: list[CaseError] = []
    for reader in readers:
        discovery = reader.discover()
        errors.extend(discovery.errors)
        split = make_split(reader.card, [e.case_id for e in discovery.entries], seed=seed)
        wanted = set(split.cases(Subset(subset)))
        for entry in (e for e in discovery.entries if e.case_id in wanted):
            try:
                case = reader.open_case(entry)
                masks = {name: mask for name, mask in case.masks().items() if mask.any()}
            except (BenchmarkError, OSError, ValueError) as err:
                errors.append(CaseError(dataset_id=reader.card.id, case_id=entry.case_id, path=None, message=str(err)))
                continue
            for name, mask in masks.items():
                try:
                    rows.append(_one(model, naive, case, name, mask, kind, plane, SliceRule(rule)))
                except (BenchmarkError, ValueError, RuntimeError) as err:
                    errors.append(CaseError(dataset_id=reader.card.id, case_id=entry.case_id, path=None,
                                             message=f"object {name!r}: {err}"))
            case.release()
    return tuple(rows), tuple(errors)


def _one(model: Any, naive: Any, case: Any, name: str, mask: np.ndarray, kind: CheckPrompt,
         plane: Plane, rule: SliceRule) -> CheckRow:
    guide = mask2d_prompt(mask, plane, rule, with_extent=True)
    prompt: Prompt = guide if kind is CheckPrompt.MASK_2D else box2d_prompt(mask, plane, rule)
    started = time.perf_counter()
    predicted = np.asarray(model.segment(case, prompt), dtype=bool)
    seconds = time.perf_counter() - started
    return CheckRow(case.dataset_id, case.case_id, name, guide.slice_index, compute_dice(predicted, mask).dice,
                    compute_dice(naive.segment(case, guide), mask).dice,
                    cross_section_change(mask, plane, guide.slice_index), seconds)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def summarize(model_name: str, rows: Sequence[CheckRow], errors: Sequence[CaseError]) -> CheckSummary:
    """Means over all rows and over rows of changing objects."""
    changing = [r for r in rows if r.cross_section_change >= CHANGING]
    return CheckSummary(model_name, len(rows), _mean([r.dice for r in rows]), _mean([r.naive_dice for r in rows]),
                        len(changing), _mean([r.dice for r in changing]), _mean([r.naive_dice for r in changing]),
                        len(errors))


