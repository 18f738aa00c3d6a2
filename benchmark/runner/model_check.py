"""A quick model check: the harness's work units run on the cases of one split subset for one model beside naive
propagation, kept in memory instead of a store.

This is the quick answer to "does this model (or checkpoint) work at all on this data": Dice per object, its mean,
and the same on objects whose cross-section changes along the propagation axis, where naive propagation fails.

Cross-section change of an object: 1 minus the mean 2D Dice between the guide slice's mask and each slice's mask
over the object's extent; objects with a change of at least ``CHANGING`` count as changing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.data.case import CaseEntry
from benchmark.data.dataset import reader_spec
from benchmark.data.geometry import Plane, slice_of
from benchmark.data.readers.base import LayoutReader
from benchmark.errors import BenchmarkError, CaseError
from benchmark.metrics.dice import compute_dice
from benchmark.models.registry import get_spec
from benchmark.protocol.object_prompts import ProtocolOptions
from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.protocol.simulation import object_extent
from benchmark.results.rows import ResultRow, RowStatus
from benchmark.runner.case_task import CaseTask, run_case
from benchmark.runner.jobs import ModelJob, Weights
from benchmark.splits import Subset, make_split

__all__ = ["CHANGING", "NAIVE", "CheckRow", "CheckSummary", "cross_section_change", "check_model", "summarize"]

#: Cross-section change from which an object counts as changing.
CHANGING = 0.2
#: The reference model of the check.
NAIVE = "Naive-Propagation"


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
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


def _job(name: str, checkpoint: str | None) -> ModelJob:
    spec = get_spec(name)
    return ModelJob(model=spec.name, spec=spec, checkpoint=checkpoint,
                    weights=Weights.CHECKPOINT if checkpoint else Weights.NONE, kwargs=(),
                    prompt_kind=spec.prompt_kinds[0] if spec.prompt_kinds else None, point=DEFAULT_POINT)


def check_model(name: str, checkpoint: str | None, readers: Sequence[LayoutReader], *,
                subset: Subset | str = Subset.VAL, options: ProtocolOptions | None = None, split_seed: int = 0,
                ) -> tuple[tuple[CheckRow, ...], tuple[CaseError, ...]]:
    """Segment every object of every case of ``subset`` with model ``name`` and with naive propagation.

    Args:
        name: A registered model (or ``package.module:factory``).
        checkpoint: Its checkpoint, if it needs one.
        readers: Opened readers of the datasets.
        subset: Split subset whose cases are used.
        options: The prompt protocol.
        split_seed: Seed of the split.

    Returns:
        One row per prompted object, and one error per case or object that failed or was skipped.
    """
    jobs = (_job(name, checkpoint), _job(NAIVE, None))
    rows: list[CheckRow] = []
    errors: list[CaseError] = []
    for reader in readers:
        discovery = reader.discover()
        errors.extend(discovery.errors)
        split = make_split(reader.card, [e.case_id for e in discovery.entries], seed=split_seed)
        wanted = set(split.cases(Subset(subset)))
        for entry in (e for e in discovery.entries if e.case_id in wanted):
            reader.fetch(entry.files)
            task = CaseTask(run_id="check", reader=reader_spec(reader), entry=entry, subset=str(subset), jobs=jobs,
                            done=frozenset(), options=options or ProtocolOptions(), tolerance_mm=2.0, device="cpu")
            outcome = run_case(task)
            rows += _pair(reader, entry, outcome.rows, jobs[0].model, task.options.plane, errors)
    return tuple(rows), tuple(errors)


def _pair(reader: LayoutReader, entry: CaseEntry, rows: Sequence[ResultRow], model: str, plane: Plane,
          errors: list[CaseError]) -> list[CheckRow]:
    by_object: dict[str, dict[str, ResultRow]] = {}
    for row in rows:
        if row.status != RowStatus.OK.value:
            errors.append(CaseError(dataset_id=row.dataset_id, case_id=row.case_id, path=None,
                                    message=f"{row.model}, object {row.object_name!r}: "
                                            f"{row.error_message or row.skip_reason}"))
            continue
        by_object.setdefault(row.object_name, {})[row.model] = row
    paired = {o: r for o, r in by_object.items() if model in r and NAIVE in r}
    if not paired:
        return []
    try:
        case = reader.open_case(entry)
        masks = case.masks()
    except (BenchmarkError, OSError, ValueError) as err:
        errors.append(CaseError(dataset_id=reader.card.id, case_id=entry.case_id, path=None,
                                message=str(err)))
        return []
    out = []
    for name, pair in sorted(paired.items()):
        ours, naive = pair[model], pair[NAIVE]
        guide = int(ours.prompt_slice or 0)
        out.append(CheckRow(dataset_id=ours.dataset_id, case_id=ours.case_id, object=name, slice_index=guide,
                            dice=_value(ours.dice), naive_dice=_value(naive.dice),
                            cross_section_change=cross_section_change(masks[name], plane, guide),
                            seconds=_value(ours.seconds)))
    case.release()
    return out


def _value(number: float | None) -> float:
    return math.nan if number is None else float(number)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def summarize(model_name: str, rows: Sequence[CheckRow], errors: Sequence[CaseError]) -> CheckSummary:
    """Means over all rows and over rows of changing objects."""
    changing = [r for r in rows if r.cross_section_change >= CHANGING]
    return CheckSummary(model=model_name, n_objects=len(rows), mean_dice=_mean([r.dice for r in rows]),
                        mean_naive_dice=_mean([r.naive_dice for r in rows]), n_changing=len(changing),
                        changing_mean_dice=_mean([r.dice for r in changing]),
                        changing_mean_naive_dice=_mean([r.naive_dice for r in changing]), n_errors=len(errors))
