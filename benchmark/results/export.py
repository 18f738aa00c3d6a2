"""Rows as a pandas DataFrame (the runs' code versions and the machines joined in), written as CSV or Parquet."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import BenchmarkError
from benchmark.results.rows import ROW_COLUMNS
from benchmark.results.store import ResultStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExportFormat", "rows_frame", "export_rows"]


class ExportFormat(str, Enum):
    CSV = "csv"
    PARQUET = "parquet"

    def __str__(self) -> str:
        return str(self.value)


def rows_frame(store: ResultStore, run_id: str | None = None) -> pd.DataFrame:
    """One line per row, with ``suite_version``, ``git_commit``, ``git_dirty``, ``seed`` of its run and
    ``machine_*`` columns of its machine (host, cpu, gpu, torch, ...)."""
    import pandas as pd

    frame = pd.DataFrame([asdict(r) for r in store.rows(run_id)], columns=list(ROW_COLUMNS))
    runs = pd.DataFrame([{"run_id": r.run_id, "suite_version": r.suite_version, "git_commit": r.git_commit,
                          "git_dirty": r.git_dirty, "seed": r.seed} for r in store.runs()],
                        columns=["run_id", "suite_version", "git_commit", "git_dirty", "seed"])
    machines = pd.DataFrame([{"machine_id": mid, **{f"machine_{k}": v for k, v in info.items()}}
                             for mid, info in store.machines().items()])
    frame = frame.merge(runs, on="run_id", how="left")
    if not machines.empty:
        frame = frame.merge(machines, on="machine_id", how="left")
    return frame


def export_rows(store: ResultStore, out: Path, fmt: ExportFormat | str = ExportFormat.CSV,
                run_id: str | None = None) -> Path:
    """Write the rows (of one run, or all) to ``out``.

    Raises:
        BenchmarkError: Parquet without pyarrow (the message says what to install), or an unknown format.
    """
    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        raise BenchmarkError(f"unknown export format {fmt!r}; expected one of {[f.value for f in ExportFormat]}") \
            from None
    frame = rows_frame(store, run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    if chosen is ExportFormat.CSV:
        frame.to_csv(out, index=False)
        return out
    try:
        frame.to_parquet(out, index=False)
    except ImportError as err:
        raise BenchmarkError(f"writing {out} as Parquet needs pyarrow ({err}); pip install pyarrow, or export "
                             f"--format csv") from err
    return out
