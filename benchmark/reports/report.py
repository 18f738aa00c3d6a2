"""The whole report from a results store: every table (CSV, Markdown, LaTeX), every figure (PNG, PDF) and one
static HTML page (``propbench report``).

Files written under the output folder (``reports/`` by default)::

    table_s5_dice.{csv,md,tex}             Table S5, Dice, the paper's values beside ours
    table_s5_nsd.{csv,md,tex}              its NSD version
    table_s5_hd95.{csv,md,tex}             its HD95 version
    table_s6_inference_time.{csv,md,tex}   Table S6, seconds per volume, fastest bold, second underlined
    table_s7_wilcoxon.{csv,md,tex}         Table S7, rank-sum tests of times (per-dataset means, per volume), Holm
    table_s8_slice_deviation.{csv,md,tex}  Table S8 with changes against 0 %
    table_s9_thickness.{csv,md,tex}        Table S9 with changes against 20 mm
    table_dice_paired_tests.{csv,md,tex}   signed-rank tests of per-object Dice between models per dataset, Holm
    table_dice_bootstrap_ci.{csv,md,tex}   seeded bootstrap 95 % intervals of mean Dice per dataset and model
    figures/<figure>.{png,pdf}             Figures S9, S10, Dice distributions, inference times, qualitative panels
                                           (one per dataset with saved masks), training loss curves
    index.html                             every table, figure and caption; "how this was produced"

Tables S2 to S4 (``propbench datasets characteristics`` and ``fingerprint``) are shown on the page when their CSV
and Markdown files are already in the output folder.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmark.data.case import Case, CaseEntry
from benchmark.data.catalog import Catalog
from benchmark.data.readers.base import LayoutReader
from benchmark.home.data_home import DataHome
from benchmark.reports.ablations import (
    SLICE_DEVIATION,
    THICKNESS,
    AblationValues,
    ablation_values,
    table_ablation,
)
from benchmark.reports.accuracy import METRICS, AccuracyMetric, table_accuracy
from benchmark.reports.figures.distributions import plot_dice_distributions, plot_inference_times
from benchmark.reports.figures.fluctuation import plot_fluctuation
from benchmark.reports.figures.plotting import Figure
from benchmark.reports.figures.qualitative import CaseOpener, plot_qualitative
from benchmark.reports.figures.training import plot_training_curves
from benchmark.reports.html import Provenance, TableEntry, write_page
from benchmark.reports.intervals import DEFAULT_RESAMPLES, table_dice_intervals
from benchmark.reports.paired_tests import table_paired_dice
from benchmark.reports.source import ReportData, load_report_data
from benchmark.reports.tables import Cell, Table, write_table
from benchmark.reports.timing import table_s6
from benchmark.reports.timing_tests import table_s7
from benchmark.results.store import ResultStore

__all__ = ["ReportResult", "EXISTING_TABLES", "build_tables", "build_figures", "write_report", "report_from_store",
           "home_case_opener", "installed_versions", "checkpoint_folders", "read_existing_table"]

#: Tables other commands write into the same folder, shown on the page when present (stem, command).
EXISTING_TABLES = (("table_s2_box2mask_samples", "propbench datasets characteristics"),
                   ("table_s3_propmask_tasks", "propbench datasets characteristics"),
                   ("table_s4_fingerprints", "propbench datasets fingerprint"))


@dataclass(frozen=True)
class ReportResult:
    """What a report wrote.

    Attributes:
        out_dir: The output folder.
        page: The HTML page.
        files: Every file written (tables, figures, the page).
        tables: (stem, table) of every results table, in page order.
        figures: Every figure, drawn or skipped.
    """

    out_dir: Path
    page: Path
    files: tuple[Path, ...]
    tables: tuple[tuple[str, Table], ...]
    figures: tuple[Figure, ...]


def build_tables(data: ReportData, *, seed: int = 0, resamples: int = DEFAULT_RESAMPLES,
                 ablations: Sequence[AblationValues] | None = None) -> list[tuple[str, Table]]:
    """Every results table of the report, with its file stem, in page order (``ablations``: the cells of Tables S8
    and S9 when already computed)."""
    tables = [(METRICS[m].stem, table_accuracy(data, m)) for m in AccuracyMetric]
    tables += [("table_s6_inference_time", table_s6(data)), ("table_s7_wilcoxon", table_s7(data))]
    values = ablations if ablations is not None else [ablation_values(data, a) for a in (SLICE_DEVIATION, THICKNESS)]
    tables += [(v.ablation.stem, table_ablation(v)) for v in values]
    tables += [("table_dice_paired_tests", table_paired_dice(data)),
               ("table_dice_bootstrap_ci", table_dice_intervals(data, seed=seed, resamples=resamples))]
    return tables


def build_figures(data: ReportData, out_dir: Path, *, open_case: CaseOpener | None = None,
                  training_dirs: Sequence[Path] = (), ablations: Sequence[AblationValues] | None = None
                  ) -> list[Figure]:
    """Every figure of the report, written under ``out_dir/figures`` (skipped ones carry their reason)."""
    values = ablations if ablations is not None else [ablation_values(data, a) for a in (SLICE_DEVIATION, THICKNESS)]
    figures = [plot_fluctuation(v, out_dir) for v in values]
    figures += [plot_dice_distributions(data, out_dir), plot_inference_times(data, out_dir)]
    figures += plot_qualitative(data, out_dir, open_case)
    figures.append(plot_training_curves(list(training_dirs), out_dir))
    return figures


def read_existing_table(out_dir: Path, stem: str, command: str) -> TableEntry | None:
    """A table another command wrote (``<stem>.csv`` with its ``.md`` for the title and notes), or None."""
    path, markdown = out_dir / f"{stem}.csv", out_dir / f"{stem}.md"
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    if not lines:
        return None
    text = markdown.read_text(encoding="utf-8").splitlines() if markdown.is_file() else []
    title = next((line[4:] for line in text if line.startswith("### ")), stem)
    notes = tuple(line[2:] for line in text if line.startswith("- ")) + (f"Written by '{command}'.",)
    width = len(lines[0])
    rows: tuple[tuple[Cell, ...], ...] = tuple(tuple(r) for r in lines[1:] if len(r) == width)
    files = tuple(p for p in (path, markdown, out_dir / f"{stem}.tex") if p.is_file())
    return TableEntry(stem, Table(title, tuple(lines[0]), rows, notes), files)


def checkpoint_folders(data: ReportData) -> list[Path]:
    """Folders of the checkpoints the runs used that exist here (a training run's ``curves.csv`` lies there)."""
    folders = []
    for run in data.runs:
        for entry in run.models.values():
            checkpoint = entry.get("checkpoint") if isinstance(entry, dict) else None
            if checkpoint and Path(str(checkpoint)).is_file():
                folders.append(Path(str(checkpoint)).parent)
    return list(dict.fromkeys(folders))


def write_report(data: ReportData, out_dir: Path, *, open_case: CaseOpener | None = None,
                 training_dirs: Sequence[Path] = (), seed: int = 0, resamples: int = DEFAULT_RESAMPLES,
                 command: str = "propbench report") -> ReportResult:
    """Write every table, figure and the page of ``data`` under ``out_dir`` (module docstring)."""
    out_dir = Path(out_dir)
    ablations = [ablation_values(data, a) for a in (SLICE_DEVIATION, THICKNESS)]
    tables = build_tables(data, seed=seed, resamples=resamples, ablations=ablations)
    entries = [entry for stem, command_name in EXISTING_TABLES
               if (entry := read_existing_table(out_dir, stem, command_name)) is not None]
    files: list[Path] = []
    for stem, table in tables:
        written = write_table(table, out_dir, stem)
        files += written
        entries.append(TableEntry(stem, table, written))
    figures = build_figures(data, out_dir, open_case=open_case,
                            training_dirs=[*training_dirs, *checkpoint_folders(data)], ablations=ablations)
    files += [p for f in figures for p in (f.png, f.pdf) if p is not None]
    provenance = Provenance(command=command, store=data.store_path, schema_version=data.schema_version,
                            runs=data.runs, machines=data.machines, total_rows=data.total_rows)
    page = write_page(entries, figures, provenance, out_dir)
    return ReportResult(out_dir, page, (*files, page), tuple(tables), tuple(figures))


def installed_versions(home: DataHome, dataset_ids: Sequence[str]) -> dict[str, str]:
    """The installed data version (DataLad commit) of each of ``dataset_ids`` installed in ``home``."""
    return {d: home.commit(d) for d in dataset_ids if home.is_installed(d)}


def home_case_opener(home: DataHome, catalog: Catalog) -> Callable[[str, str], Case]:
    """Opens a case through the data home (its reader, the case's files fetched on demand)."""
    readers: dict[str, tuple[LayoutReader, dict[str, CaseEntry]]] = {}

    def open_case(dataset_id: str, case_id: str) -> Case:
        if dataset_id not in readers:
            reader = home.open_reader(catalog.get(dataset_id))
            readers[dataset_id] = (reader, {e.case_id: e for e in reader.discover().entries})
        reader, entries = readers[dataset_id]
        if case_id not in entries:
            raise KeyError(f"case {case_id!r} is not in the installed dataset {dataset_id}")
        entry = entries[case_id]
        reader.fetch(entry.files)
        return reader.open_case(entry)

    return open_case


def report_from_store(store_path: Path, out_dir: Path, *, runs: Sequence[str] | None = None,
                      catalog: Catalog | None = None, home: DataHome | None = None,
                      training_dirs: Sequence[Path] = (), seed: int = 0, resamples: int = DEFAULT_RESAMPLES,
                      command: str = "propbench report") -> ReportResult:
    """Open the store (never creating it), read it once, and write the report.

    Args:
        store_path: The results store.
        out_dir: The output folder.
        runs: Runs to report (default: every run).
        catalog: Dataset cards (names, external marks, the paper's values).
        home: The data home: installed data versions are compared with the rows', and qualitative panels read
            images from it (None: neither).
        training_dirs: PropSAM training run folders (loss curves).
        seed: Seed of the bootstrap intervals.
        resamples: Bootstrap resamples per interval.
        command: The command line, for the page.

    Raises:
        StoreError: The store is missing, not a results store, or of another schema version.
        ReportError: No runs, no rows, or an unknown run.
    """
    with ResultStore.open(store_path, create=False) as store:
        data = load_report_data(store, runs=runs, catalog=catalog)
    if home is not None:
        data = replace(data, installed_versions=installed_versions(home, list(data.datasets)))
    opener = home_case_opener(home, catalog) if home is not None and catalog is not None else None
    return write_report(data, out_dir, open_case=opener, training_dirs=training_dirs, seed=seed,
                        resamples=resamples, command=command)

