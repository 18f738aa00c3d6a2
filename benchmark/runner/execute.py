"""Executing case tasks: in this process, or on Dask workers, with one writer committing rows to the store.

Locally, models load once and rows are written as each object finishes. With ``workers`` (a Dask ``LocalCluster``
of single-threaded worker processes) or a scheduler address (an existing cluster; every worker must see the data
home's files at the same path), each worker loads each model once, reads its cases itself and returns small rows;
this process alone writes the store, so a distributed run stays consistent and resumable. A worker that dies takes
only its case's rows with it: they are recorded as failed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import BenchmarkError
from benchmark.results.rows import ResultRow, RowStatus
from benchmark.results.store import ResultStore
from benchmark.runner.case_task import CASE_OBJECT, CaseOutcome, CaseTask, base_row, failed_row, run_case

__all__ = ["StoreWriter", "execute_local", "execute_dask"]

log = logging.getLogger(__name__)


@dataclass
class StoreWriter:
    """The single writer: commits each row and each case's object list, counts rows by model and status."""

    store: ResultStore
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    _machines: set[str] = field(default_factory=set)

    def row(self, row: ResultRow, machine: dict[str, Any]) -> None:
        if row.machine_id is not None and row.machine_id not in self._machines:
            self.store.add_machine(row.machine_id, machine)
            self._machines.add(row.machine_id)
        self.store.write(row)
        by_status = self.counts.setdefault(row.model, {})
        by_status[row.status] = by_status.get(row.status, 0) + 1

    def case(self, task: CaseTask, outcome: CaseOutcome) -> None:
        if outcome.objects is not None:
            self.store.record_case(task.run_id, task.reader.card.id, task.entry.case_id, list(outcome.objects))


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="case", file=sys.stderr, dynamic_ncols=True)


def _advance(bar: Any, task: CaseTask, outcome: CaseOutcome, done: int, total: int) -> None:
    failed = sum(r.status == RowStatus.FAILED.value for r in outcome.rows)
    if bar is not None:
        bar.set_postfix_str(f"{task.reader.card.id}/{task.entry.case_id}", refresh=False)
        bar.update(1)
    else:
        log.info("case %d/%d %s/%s: %d row(s), %d failed", done, total, task.reader.card.id, task.entry.case_id,
                 len(outcome.rows), failed)


def execute_local(tasks: Sequence[CaseTask], writer: StoreWriter, *, progress: bool) -> None:
    """Run the tasks one after another in this process; rows are committed as each object finishes."""
    bar = _progress(len(tasks), progress)
    try:
        for done, task in enumerate(tasks, start=1):
            outcome = run_case(task, emit=writer.row)
            writer.case(task, outcome)
            _advance(bar, task, outcome, done, len(tasks))
    finally:
        if bar is not None:
            bar.close()


def _client(workers: int, scheduler: str) -> tuple[Any, Callable[[], None]]:
    from dask.distributed import Client, LocalCluster  # present: run_benchmark called require_dask first

    if not logging.getLogger().isEnabledFor(logging.INFO):
        # Dask's scheduler logs every connection at INFO; show them with --verbose only.
        logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler:
        client = Client(scheduler)
        return client, client.close
    # One single-threaded process per worker: numpy and torch threads would otherwise oversubscribe the cores.
    threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           env=threads, silence_logs=logging.WARNING)
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


def _lost_case(task: CaseTask, err: BaseException) -> CaseOutcome:
    """Failed rows for a case whose worker died (its finished rows died with it)."""

    rows = tuple(failed_row(base_row(task, job, CASE_OBJECT), err) for job in task.jobs)
    return CaseOutcome(rows, None, "", {})


def require_dask(workers: int, scheduler: str | None) -> None:
    """Fail before any work when a distributed run is asked for and Dask is not installed.

    Raises:
        BenchmarkError: ``dask.distributed`` cannot be imported.
    """
    try:
        import dask.distributed  # noqa: F401
    except ImportError as err:
        asked = f"scheduler = {scheduler!r}" if scheduler else f"workers = {workers}"
        raise BenchmarkError(f"the run config asks for a distributed run ({asked}), which needs Dask: {err}; "
                             "install it with pip install 'propsam-bench[distributed]', or set workers = 0 to run "
                             "in this process") from None


def execute_dask(tasks: Sequence[CaseTask], writer: StoreWriter, *, workers: int, scheduler: str,
                 progress: bool) -> None:
    """Run the tasks on Dask workers; this process writes every row (see the module docstring)."""
    from dask.distributed import as_completed

    client, close = _client(workers, scheduler)
    bar = _progress(len(tasks), progress)
    try:
        futures = {client.submit(run_case, task, pure=False): task for task in tasks}
        for done, future in enumerate(as_completed(futures), start=1):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as err:  # a killed worker or an unpicklable result: the case fails, the run goes on
                outcome = _lost_case(task, err)
            for row in outcome.rows:
                writer.row(row, outcome.machine)
            writer.case(task, outcome)
            _advance(bar, task, outcome, done, len(tasks))
    finally:
        if bar is not None:
            bar.close()
        close()
