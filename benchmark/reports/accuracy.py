"""Table S5 (Dice per dataset and object for every model, the paper's value beside ours) and its NSD and HD95
versions, from the default setting's accuracy rows.

Layout: one row per dataset (the mean of its objects' means, as the paper prints its dataset rows) followed by its
object rows; per model the mean and n, then, for a model the paper has and for Dice, the paper's value and ours minus
the paper's. External datasets carry the paper's ``*``. HD95 adds per model the count of infinite values (an object
missed entirely or a prediction wholly false positive), which are never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.captions import EMPTY_MASK_NOTE, caption_notes, n_note
from benchmark.reports.cells import EMPTY_CELL, CellStats, mean_of_means, metric_cells
from benchmark.reports.paper import (
    PAPER_MODEL_NAMES,
    difference,
    match_object,
    matches,
    model_order,
    paper_model,
    paper_number,
    read_rows,
)
from benchmark.reports.source import ReportData
from benchmark.reports.tables import Cell, Table

__all__ = ["AccuracyMetric", "MetricSpec", "METRICS", "S5_FILE", "table_accuracy", "table_s5", "NOT_IN_PAPER"]

S5_FILE = "table_s5_dice.csv"
#: What people's formats print where the paper has no value.
NOT_IN_PAPER = "n/p"


class AccuracyMetric(str, Enum):
    DICE = "dice"
    NSD = "nsd"
    HD95 = "hd95"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is shown: its stored column, name, file stem, number format and whether the paper has it."""

    column: str
    label: str
    stem: str
    title: str
    number_format: str
    in_paper: bool


METRICS = {
    AccuracyMetric.DICE: MetricSpec("dice", "Dice", "table_s5_dice", "Table S5: Dice per dataset and object, with "
                                    "the paper's values", ".3f", True),
    AccuracyMetric.NSD: MetricSpec("nsd", "NSD", "table_s5_nsd", "Table S5 (NSD): normalised surface Dice per "
                                   "dataset and object", ".3f", False),
    AccuracyMetric.HD95: MetricSpec("hd95_mm", "HD95", "table_s5_hd95", "Table S5 (HD95): 95th-percentile Hausdorff "
                                    "distance per dataset and object, mm", ".2f", False),
}


def _columns(models: list[str], spec: MetricSpec) -> list[str]:
    columns = ["id", "dataset", "object", "external"]
    for model in models:
        columns += [model, f"{model} n"]
        if spec.column == "hd95_mm":
            columns.append(f"{model} inf")
        if spec.in_paper and paper_model(model) is not None:
            columns += [f"{model} paper", f"{model} diff"]
    return columns


def _cells(stats: CellStats, model: str, spec: MetricSpec, paper_row: dict[str, str] | None) -> list[Cell]:
    cells: list[Cell] = [stats.mean, stats.n]
    if spec.column == "hd95_mm":
        cells.append(stats.n_infinite)
    column = paper_model(model)
    if spec.in_paper and column is not None:
        reported = paper_number(paper_row.get(column)) if paper_row is not None else None
        cells += [reported, difference(stats.mean, reported)]
    return cells


def table_accuracy(data: ReportData, metric: AccuracyMetric | str = AccuracyMetric.DICE) -> Table:
    """Table S5 of ``metric`` (Dice, NSD or HD95) from the default setting's accuracy rows (module docstring)."""
    spec = METRICS[AccuracyMetric(metric)]
    frame = data.accuracy.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    models = model_order(list(frame["model"].unique()))
    cells = metric_cells(frame, spec.column, ("dataset_id", "object_name", "model"))
    paper_rows = read_rows(S5_FILE) if spec.in_paper else []
    rows: list[tuple[Cell, ...]] = []
    for info in data.ordered(frame["dataset_id"].unique(), S5_FILE):
        objects = sorted({o for d, o, _ in cells if d == info.dataset_id}, key=str.lower)
        reported = list(matches(info.card, paper_rows)) if info.card is not None else []
        dataset_paper = next((r for r in reported if not r.get("object")), None)
        line: list[Cell] = [info.dataset_id, info.label, None, info.external]
        for model in models:
            merged = mean_of_means(cells.get((info.dataset_id, o, model), EMPTY_CELL) for o in objects)
            line += _cells(merged, model, spec, dataset_paper)
        rows.append(tuple(line))
        object_rows = [r for r in reported if r.get("object")]
        for name in objects:
            paper_row = match_object(name, object_rows)
            line = [info.dataset_id, info.label, name, info.external]
            for model in models:
                line += _cells(cells.get((info.dataset_id, name, model), EMPTY_CELL), model, spec, paper_row)
            rows.append(tuple(line))
    columns = _columns(models, spec)
    notes = [*caption_notes(data, data.accuracy, frame, what=f"default setting, {spec.label}"), n_note(spec.label)]
    notes += _metric_notes(cells, models, spec, data)
    fmt = spec.number_format
    formats = tuple((c, fmt) for c in columns if c in models or c.endswith((" paper", " diff")))
    placeholders = (("object", "all objects"), *((c, NOT_IN_PAPER) for c in columns if c.endswith(" paper")),
                    *((c, "-") for c in models))
    return Table(spec.title, tuple(columns), tuple(rows), tuple(notes), formats=formats,
                 placeholders=tuple(placeholders))


def _metric_notes(cells: dict[tuple[str, ...], CellStats], models: list[str], spec: MetricSpec,
                  data: ReportData) -> list[str]:
    notes = ["* external dataset: every case is evaluated (the paper's external validation); other datasets: their "
             "validation cases."]
    if spec.in_paper:
        compared = [f"{m} with the paper's {PAPER_MODEL_NAMES[c]}" for m in models if (c := paper_model(m))]
        lacking = [m for m in models if paper_model(m) is None]
        notes.append(f"Paper values: PropSAM supplementary Table S5; diff = ours - paper; {NOT_IN_PAPER}: the paper "
                     f"prints no value for this dataset, object and model. Compared: {', '.join(compared) or 'none'}."
                     + (f" Not in the paper (no paper columns): {', '.join(lacking)}." if lacking else ""))
    if spec.column != "dice":
        notes.append(EMPTY_MASK_NOTE)
    for model in models:
        members = [c for (_, _, m), c in cells.items() if m == model]
        undefined, infinite = sum(c.n_undefined for c in members), sum(c.n_infinite for c in members)
        if undefined:
            notes.append(f"{model}: {undefined} ok object(s) without a {spec.label} (not defined: both masks empty); "
                         f"not in n.")
        if infinite and spec.column != "hd95_mm":
            notes.append(f"{model}: {infinite} ok object(s) with an infinite {spec.label}, an invalid value; left out "
                         f"of the means and of n.")
    other = sorted(set(data.accuracy.frame["model"]) - set(models))
    if other:
        notes.append(f"Models with rows in other settings only (not in this table): {', '.join(other)}.")
    return notes


def table_s5(data: ReportData) -> Table:
    """Table S5: Dice per dataset and object with the paper's values (:func:`table_accuracy` of Dice)."""
    return table_accuracy(data, AccuracyMetric.DICE)
