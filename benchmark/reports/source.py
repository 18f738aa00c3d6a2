"""What a report reads from a results store: the runs, their rows as one frame, the machines and the datasets' cards.

The store is read once (:func:`load_report_data`); every table and figure is a function of the returned
:class:`ReportData`, so a report never touches a model, a metric or an image to build a table.

Which rows a table uses (stated in its caption):

- **Accuracy** (Tables S5, S8, S9, their NSD and HD95 versions, the paired tests, the intervals): the rows of runs
  whose subset is not ``all`` (the paper's Table S5 protocol: validation cases of internal datasets, every case of
  external ones). When every selected run is an ``all`` run, their evaluation cases only (row subset ``val`` or
  ``test``): a model's training cases never enter an accuracy table.
- **Timing** (Tables S6, S7): the rows of ``all`` runs, as the paper times every case; when there is none, the
  accuracy rows, and the caption says that the times cover the evaluation cases only.
- A row key (model, setting, dataset, case, object) present in several runs of one role keeps the row of the latest
  run (by creation time); the others are counted in the caption, never averaged twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.data.cards import DatasetCard
from benchmark.data.catalog import Catalog
from benchmark.errors import BenchmarkError
from benchmark.reports.paper import paper_order
from benchmark.results.rows import KEY_COLUMNS, ResultRow
from benchmark.results.store import ResultStore, RunRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportError", "RunInfo", "DatasetInfo", "Selection", "ReportData", "load_report_data", "read_frame",
           "natural_key", "frame_from_columns", "FRAME_COLUMNS", "NUMERIC_COLUMNS", "ALL_SUBSET", "EVAL_CASE_SUBSETS"]

#: Row columns a report reads (tracebacks, traces and timestamps stay in the store).
FRAME_COLUMNS = ("run_id", "model", "setting", "dataset_id", "case_id", "object_name", "status", "skip_reason",
                 "error_type", "error_message", "subset", "data_version", "prompt_kind", "prompt_plane",
                 "prompt_slice", "prompt_box", "prompt_leaks", "guide_rule", "box_jitter", "dice", "nsd", "hd95_mm",
                 "tolerance_mm", "n_reference", "n_prediction", "seconds", "model_protocol", "weights",
                 "checkpoint_sha256", "machine_id", "device", "mask_path")
#: Columns read as float64 (a NULL, a metric not defined, becomes NaN).
NUMERIC_COLUMNS = ("dice", "nsd", "hd95_mm", "tolerance_mm", "seconds")
#: The run subset of the paper's timing protocol (Table S6 times every case).
ALL_SUBSET = "all"
#: Row subsets of the evaluation cases (validation of internal datasets, test = every case of external ones).
EVAL_CASE_SUBSETS = ("val", "test")
_ROW_KEY = tuple(c for c in KEY_COLUMNS if c != "run_id")


class ReportError(BenchmarkError):
    """A report cannot be built from what it was given (no runs, an unknown run)."""


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """A run of the store and its identity (the ``config`` JSON written by ``propbench run``).

    Attributes:
        record: The stored run.
        config: Its configuration, parsed (empty when it is not JSON; a run written by another tool).
    """

    record: RunRecord
    config: Mapping[str, Any]

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def subset(self) -> str:
        return str(self.config.get("subset", "")) or "unknown"

    @property
    def protocol(self) -> Mapping[str, Any]:
        value = self.config.get("protocol", {})
        return value if isinstance(value, Mapping) else {}

    @property
    def data_versions(self) -> Mapping[str, str]:
        value = self.config.get("data_versions", {})
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    @property
    def skipped_models(self) -> Mapping[str, str]:
        value = self.config.get("skipped_models", {})
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    @property
    def models(self) -> Mapping[str, Any]:
        value = self.config.get("models", {})
        return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset of the rows: its card when the catalog has one (for names, the external mark, the paper's rows)."""

    dataset_id: str
    card: DatasetCard | None

    @property
    def name(self) -> str:
        return self.card.name if self.card is not None else self.dataset_id

    @property
    def external(self) -> bool:
        return self.card.external if self.card is not None else False

    @property
    def label(self) -> str:
        """The name as the paper prints it: external datasets carry a leading ``*``."""
        return ("*" if self.external else "") + self.name


@dataclass(frozen=True, eq=False)
class Selection:
    """The rows of one role (accuracy or timing), and how they were chosen (a caption sentence)."""

    frame: pd.DataFrame
    note: str
    duplicates_dropped: int = 0


@dataclass(frozen=True, eq=False, kw_only=True)
class ReportData:
    """Everything a report renders (see the module docstring).

    Attributes:
        store_path: The store read.
        schema_version: Its schema version.
        runs: The selected runs, oldest first.
        accuracy: Rows of the accuracy tables.
        timing: Rows of the timing tables.
        machines: Machine ID to its description (host, CPU, GPU, torch...).
        datasets: Dataset ID to its card (None for an ID the catalog lacks), for every dataset of the rows.
        installed_versions: Dataset ID to the installed data version (DataLad commit) of every installed dataset;
            None when no data home was consulted.
        total_rows: Rows of the selected runs before selection.
    """

    store_path: Path
    schema_version: int
    runs: tuple[RunInfo, ...]
    accuracy: Selection
    timing: Selection
    machines: Mapping[str, Mapping[str, Any]]
    datasets: Mapping[str, DatasetInfo]
    installed_versions: Mapping[str, str] | None = None
    total_rows: int = 0

    def dataset(self, dataset_id: str) -> DatasetInfo:
        return self.datasets.get(dataset_id, DatasetInfo(dataset_id, None))

    def ordered(self, dataset_ids: Iterable[str], paper_file: str) -> list[DatasetInfo]:
        """The datasets in the row order of a paper table; those it lacks follow in ID order (D2 before D10)."""
        infos = [self.dataset(d) for d in sorted(dict.fromkeys(dataset_ids), key=natural_key)]
        cards = [i.card for i in infos if i.card is not None]
        order = {card.id: k for k, card in enumerate(paper_order(cards, paper_file))}
        return sorted(infos, key=lambda i: (i.card is None, order.get(i.dataset_id, 0), natural_key(i.dataset_id)))


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key ordering the numbers inside a name by value ("D2" before "D10")."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)


def _config(record: RunRecord) -> Mapping[str, Any]:
    try:
        value = json.loads(record.config)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, Mapping) else {}


def frame_from_columns(columns: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """A frame of :data:`FRAME_COLUMNS` from one list of values per column: metrics and seconds as float64 (NaN
    where NULL), the others as Python objects (None where NULL), whatever the pandas version's string default."""
    import pandas as pd

    data = {name: pd.Series(columns[name], dtype="float64" if name in NUMERIC_COLUMNS else object)
            for name in FRAME_COLUMNS}
    return pd.DataFrame(data, columns=list(FRAME_COLUMNS))


def read_frame(rows: Sequence[ResultRow]) -> pd.DataFrame:
    """Rows as a frame (see :func:`frame_from_columns`)."""
    return frame_from_columns({name: [getattr(row, name) for row in rows] for name in FRAME_COLUMNS})


def _latest_only(frame: pd.DataFrame, order: Mapping[str, int]) -> tuple[pd.DataFrame, int]:
    if frame.empty:
        return frame, 0
    ranked = frame.assign(_order=frame["run_id"].map(order)).sort_values("_order", kind="stable")
    kept = ranked.drop_duplicates(subset=list(_ROW_KEY), keep="last").drop(columns="_order")
    return kept.sort_index(), len(frame) - len(kept)


def _select(frame: pd.DataFrame, runs: Sequence[RunInfo]) -> tuple[Selection, Selection]:
    order = {run.run_id: i for i, run in enumerate(runs)}
    all_runs = [r.run_id for r in runs if r.subset == ALL_SUBSET]
    other = [r.run_id for r in runs if r.subset != ALL_SUBSET]
    if other:
        accuracy = frame[frame["run_id"].isin(other)]
        accuracy_note = (f"Accuracy rows: run(s) {', '.join(other)} (subset "
                         f"{', '.join(sorted({r.subset for r in runs if r.run_id in other}))})"
                         + (f"; the all-case run(s) {', '.join(all_runs)} serve the timing tables only." if all_runs
                            else "."))
    else:
        accuracy = frame[frame["run_id"].isin(all_runs) & frame["subset"].isin(EVAL_CASE_SUBSETS)]
        accuracy_note = (f"Accuracy rows: the evaluation cases (validation cases of internal datasets, every case of "
                         f"external ones) of the all-case run(s) {', '.join(all_runs)}; training cases are left out.")
    if all_runs:
        timing = frame[frame["run_id"].isin(all_runs)]
        timing_note = (f"Timing rows: the all-case run(s) {', '.join(all_runs)}, every case timed as in the paper.")
    else:
        timing = accuracy
        timing_note = ("Timing rows: the accuracy rows; no run of subset 'all' is in the store, so these times cover "
                       "the evaluation cases only, where the paper (Table S6) times every case (a run with "
                       "--subset all times them all).")
    accuracy, dropped_accuracy = _latest_only(accuracy, order)
    timing, dropped_timing = _latest_only(timing, order)
    return (Selection(accuracy.reset_index(drop=True), accuracy_note, dropped_accuracy),
            Selection(timing.reset_index(drop=True), timing_note, dropped_timing))


def _runs(store: ResultStore, names: Sequence[str] | None) -> tuple[RunInfo, ...]:
    records = store.runs()
    if not records:
        raise ReportError(f"results store {store.path} holds no runs; expected a store written by 'propbench run' "
                          f"(run 'propbench run --store {store.path}' first)")
    if not names:
        return tuple(RunInfo(record=r, config=_config(r)) for r in records)
    known = {r.run_id: r for r in records}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ReportError(f"--run {', '.join(unknown)}: no such run in {store.path}; runs: {', '.join(known)}")
    return tuple(RunInfo(record=r, config=_config(r)) for r in records if r.run_id in set(names))


def load_report_data(store: ResultStore, *, runs: Sequence[str] | None = None, catalog: Catalog | None = None,
                     installed_versions: Mapping[str, str] | None = None) -> ReportData:
    """Read the selected runs (default: every run) of ``store`` once.

    Args:
        store: An open results store.
        runs: Run names to report; None or empty: every run.
        catalog: Dataset cards, for names, the external mark and the paper's values (None: IDs only).
        installed_versions: Dataset ID to the installed data version of every installed dataset, to compare with
            the rows' versions (None: not checked).

    Raises:
        ReportError: The store holds no runs, the selected runs hold no rows, or a named run is not in the store.
    """
    chosen = _runs(store, runs)
    columns: dict[str, list[Any]] = {name: [] for name in FRAME_COLUMNS}
    for run in chosen:
        for name, values in store.columns(FRAME_COLUMNS, run.run_id).items():
            columns[name] += values
    if not columns["run_id"]:
        raise ReportError(f"results store {store.path}: run(s) {', '.join(r.run_id for r in chosen)} hold no rows; "
                          f"expected rows written by 'propbench run' (was the run stopped before its first case?)")
    frame = frame_from_columns(columns)
    accuracy, timing = _select(frame, chosen)
    known = set(catalog.ids) if catalog is not None else set()
    datasets = {d: DatasetInfo(d, catalog.get(d) if catalog is not None and d in known else None)
                for d in sorted(set(frame["dataset_id"]))}
    return ReportData(store_path=store.path, schema_version=store.schema_version, runs=chosen, accuracy=accuracy,
                      timing=timing, machines=store.machines(), datasets=datasets,
                      installed_versions=None if installed_versions is None else dict(installed_versions),
                      total_rows=len(frame))
