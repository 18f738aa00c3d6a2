"""Tables S8 (slice deviation) and S9 (propagation thickness): Dice per dataset, object and model at each point of an
ablation, with the change against the base point in parentheses as the paper prints it, and the paper's values.

- S8: the guide slice moved by 5, 10, 15 and 20 % of the object's extent; the 0 % column is the ``default``
  setting's rows (the same prompts, benchmark.protocol.settings), and changes are against it.
- S9: propagation windows of 10, 20, 30 and 40 mm; changes are against 20 mm (the paper's base).

Only models with rows in the ablation's setting are listed (the paper lists PropSAM's two prompt styles); the
caption names models that were run in the default setting only. Dataset rows are the mean of their objects' means;
changes are differences of the printed means (a point's mean minus the base's), as the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmark.errors import BenchmarkError
from benchmark.protocol.settings import (
    BASE_THICKNESS_MM,
    DEFAULT_POINT,
    DEVIATION_RATIOS,
    THICKNESSES_MM,
    Setting,
    SettingPoint,
    parse_point,
)
from benchmark.reports.captions import caption_notes, n_note
from benchmark.reports.cells import EMPTY_CELL, CellStats, mean_of_means, metric_cells
from benchmark.reports.paper import PAPER_MODEL_NAMES, difference, matches, model_order, paper_model, paper_number
from benchmark.reports.paper import read_rows as read_paper_rows
from benchmark.reports.source import DatasetInfo, ReportData
from benchmark.reports.tables import Cell, Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Ablation", "SLICE_DEVIATION", "THICKNESS", "AblationValues", "ablation_values", "table_ablation",
           "table_s8", "table_s9"]

_PRINTED = "table_s8_s9_printed_deltas.csv"


@dataclass(frozen=True)
class Ablation:
    """One of the paper's ablations: its setting, points, base point and reference table.

    Attributes:
        name: The paper's table ("S8", "S9").
        setting: The store's setting.
        points: The paper's points (ratios for S8, with 0 for the default setting; mm for S9).
        base: The point changes are measured against.
        paper_file: The paper's values (reports/paper).
        paper_column: Its column holding the point (percent for S8, mm for S9).
        title: The table's title.
        stem: Output file stem.
    """

    name: str
    setting: Setting
    points: tuple[float, ...]
    base: float
    paper_file: str
    paper_column: str
    title: str
    stem: str

    def key(self, point: float) -> str:
        """The store's setting key of a point (S8's 0 point is the default setting)."""
        if self.setting is Setting.SLICE_DEVIATION and point == 0:
            return DEFAULT_POINT.key
        return SettingPoint(self.setting, float(point)).key

    def label(self, point: float) -> str:
        return f"{point * 100:g}%" if self.setting is Setting.SLICE_DEVIATION else f"{point:g} mm"

    def paper_point(self, point: float) -> str:
        return f"{point * 100:g}" if self.setting is Setting.SLICE_DEVIATION else f"{point:g}"


SLICE_DEVIATION = Ablation("S8", Setting.SLICE_DEVIATION, (0.0, *DEVIATION_RATIOS), 0.0,
                           "table_s8_slice_deviation.csv", "deviation",
                           "Table S8: Dice under slice deviation of the guide (change against 0 % in parentheses)",
                           "table_s8_slice_deviation")
THICKNESS = Ablation("S9", Setting.THICKNESS, THICKNESSES_MM, BASE_THICKNESS_MM, "table_s9_thickness.csv",
                     "thickness_mm",
                     f"Table S9: Dice per propagation thickness (change against {BASE_THICKNESS_MM:g} mm in "
                     f"parentheses)", "table_s9_thickness")

CellKey = tuple[str, str | None, str, float]


@dataclass(frozen=True, eq=False)
class AblationValues:
    """The cells of one ablation (rows before rendering; Figures S9 and S10 plot them too).

    Attributes:
        ablation: Which ablation.
        points: Its points, the paper's and any other the store holds, in order.
        models: Models with rows in the ablation's setting.
        datasets: Datasets of those rows, in the paper's order.
        objects: Dataset ID to its objects.
        cells: (dataset, object or None for the dataset row, model, point) to the cell.
        rows_used: Store rows in the cells.
        notes: Caption sentences (rows used, models, protocol, versions, models left out).
    """

    ablation: Ablation
    points: tuple[float, ...]
    models: tuple[str, ...]
    datasets: tuple[DatasetInfo, ...]
    objects: Mapping[str, tuple[str, ...]]
    cells: Mapping[CellKey, CellStats]
    rows_used: int
    notes: tuple[str, ...]

    def cell(self, dataset_id: str, obj: str | None, model: str, point: float) -> CellStats:
        return self.cells.get((dataset_id, obj, model, point), EMPTY_CELL)

    def change(self, dataset_id: str, obj: str | None, model: str, point: float) -> float | None:
        """A point's mean minus the base's (None at the base, or when either is missing)."""
        if point == self.ablation.base:
            return None
        base = self.cell(dataset_id, obj, model, self.ablation.base).mean
        return None if base is None else difference(self.cell(dataset_id, obj, model, point).mean, base)


def _points(ablation: Ablation, settings: list[str]) -> tuple[float, ...]:
    present = set()
    for key in settings:
        try:
            point = parse_point(key)
        except BenchmarkError:
            continue
        if point.setting is ablation.setting:
            present.add(point.value)
    return tuple(sorted(set(ablation.points) | present))


def ablation_values(data: ReportData, ablation: Ablation) -> AblationValues:
    """The cells of ``ablation`` from the accuracy rows (module docstring)."""
    frame = data.accuracy.frame
    points = _points(ablation, list(frame["setting"].unique()))
    by_key = {ablation.key(p): p for p in points}
    own = frame[frame["setting"].isin([k for k in by_key if k != DEFAULT_POINT.key])]
    models = tuple(model_order(list(own["model"].unique())))
    used = frame[frame["setting"].isin(list(by_key)) & frame["model"].isin(models)]
    raw = metric_cells(used, "dice", ("dataset_id", "object_name", "model", "setting"))
    found: dict[str, set[str]] = {}
    for dataset_id, obj, _, _ in raw:
        found.setdefault(dataset_id, set()).add(obj)
    objects = {d: tuple(sorted(o, key=str.lower)) for d, o in found.items()}
    cells: dict[CellKey, CellStats] = {}
    for (dataset_id, obj, model, setting), stats in raw.items():
        cells[(dataset_id, obj, model, by_key[setting])] = stats
    for dataset_id, names in objects.items():
        for model in models:
            for point in points:
                cells[(dataset_id, None, model, point)] = mean_of_means(
                    cells.get((dataset_id, o, model, point), EMPTY_CELL) for o in names)
    notes = [*caption_notes(data, data.accuracy, used, what=f"{ablation.setting.value} ablation, Dice"),
             n_note("Dice"), *_model_notes(ablation, frame, models, by_key)]
    return AblationValues(ablation=ablation, points=points, models=models,
                          datasets=tuple(data.ordered(used["dataset_id"].unique(), ablation.paper_file)),
                          objects=objects, cells=cells, rows_used=len(used), notes=tuple(notes))


def _model_notes(ablation: Ablation, frame: pd.DataFrame, models: tuple[str, ...],
                 by_key: dict[str, float]) -> list[str]:
    notes = []
    others = sorted(set(frame["model"]) - set(models))
    if others:
        notes.append(f"Not in this table (no {ablation.setting.value} rows): {', '.join(others)}.")
    for model in models:
        present = set(frame.loc[frame["model"] == model, "setting"])
        missing = [p for k, p in by_key.items() if k not in present]
        if missing:
            text = f"{model}: no rows at {', '.join(ablation.label(p) for p in missing)}"
            notes.append(text + (" (the base point: no changes can be computed)." if ablation.base in missing
                                 else "."))
    if ablation.setting is Setting.SLICE_DEVIATION:
        notes.append("0 %: the default setting's rows (the same prompts: the guide slice itself).")
    else:
        notes.append(f"Base: the rows of setting {ablation.key(ablation.base)}; prompts are the default setting's.")
    return notes


def _paper(ablation: Ablation, info: DatasetInfo, model: str) -> tuple[dict[str, float | None],
                                                                       dict[str, float | None]]:
    """The paper's Dice and printed change per point of one dataset and model (empty when the paper lacks them)."""
    column = paper_model(model)
    if info.card is None or column is None:
        return {}, {}
    name = PAPER_MODEL_NAMES[column].lower()
    values = {r[ablation.paper_column]: paper_number(r.get("dice"))
              for r in matches(info.card, read_paper_rows(ablation.paper_file)) if r.get("model", "").lower() == name}
    printed = {r["setting"]: paper_number(r.get("printed_delta"))
               for r in matches(info.card, read_paper_rows(_PRINTED))
               if r.get("table") == ablation.name and r.get("model", "").lower() == name}
    return values, printed


def table_ablation(values: AblationValues) -> Table:
    """Table S8 or S9 from its cells: per point our Dice (change), n, the paper's Dice (change) and the difference."""
    ablation = values.ablation
    columns = ["id", "dataset", "object", "model"]
    bracketed, formats = [], []
    for point in values.points:
        label = ablation.label(point)
        columns += [label, f"{label} change", f"{label} n", f"{label} paper", f"{label} paper change",
                    f"{label} diff"]
        bracketed += [(label, f"{label} change"), (f"{label} paper", f"{label} paper change")]
        formats += [(c, ".3f") for c in columns[-6:] if not c.endswith(" n")]
    rows: list[tuple[Cell, ...]] = []
    for info in values.datasets:
        for obj in (None, *values.objects.get(info.dataset_id, ())):
            for model in values.models:
                paper, printed = _paper(ablation, info, model) if obj is None else ({}, {})
                line: list[Cell] = [info.dataset_id, info.label, obj, model]
                for point in values.points:
                    cell = values.cell(info.dataset_id, obj, model, point)
                    reported = paper.get(ablation.paper_point(point))
                    line += [cell.mean, values.change(info.dataset_id, obj, model, point), cell.n, reported,
                             printed.get(ablation.paper_point(point)), difference(cell.mean, reported)]
                rows.append(tuple(line))
    notes = [*values.notes,
             f"Paper values: PropSAM supplementary Table {ablation.name} (dataset rows only; the paper has no "
             f"object rows), with the change it prints; diff = ours - paper; n/p: the paper prints no value.",
             "Changes: a point's mean minus the base's mean, both as printed (dataset rows: means of object means)."]
    placeholders = [(c, "n/p") for c in columns if c.endswith(" paper")] + [("object", "all objects")]
    placeholders += [(ablation.label(p), "-") for p in values.points]
    return Table(ablation.title, tuple(columns), tuple(rows), tuple(notes), bracketed=tuple(bracketed),
                 placeholders=tuple(placeholders), formats=tuple(formats))


def table_s8(data: ReportData) -> Table:
    """Table S8: the slice-deviation ablation."""
    return table_ablation(ablation_values(data, SLICE_DEVIATION))


def table_s9(data: ReportData) -> Table:
    """Table S9: the thickness ablation."""
    return table_ablation(ablation_values(data, THICKNESS))
