"""Speed of the whole report (every table, figure and the HTML page) from a results store of 100,000 rows: a full
paper study (44 datasets, four models in the default setting, PropSAM at the eight ablation points).

Run with ``nox -s perf`` (or ``pytest tests/perf/test_reports_perf.py --benchmark-enable``); skipped otherwise.
Target: under 30 s on 2 cores, for the report rendered in a warm process and for a cold ``propbench report``
(interpreter start and imports included). Wall and CPU seconds are both recorded: on a shared machine the wall time
also measures the other processes.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from benchmark.data.catalog import load_catalog
from benchmark.reports.report import ReportResult, report_from_store
from tests.perf.reports_store import write_synthetic_store

if TYPE_CHECKING:
    from tests.perf.conftest import PerfRecorder

__all__: list[str] = []

ROWS = 100_000
#: The issue's target, seconds.
REPORT_TARGET_S = 30.0


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic store (about 30 s to write, once)."""
    return write_synthetic_store(tmp_path_factory.mktemp("reports-perf") / "results.sqlite", ROWS)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_report_of_100000_rows(perf: PerfRecorder, big_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    catalog = load_catalog()
    results: list[ReportResult] = []
    cpu: list[float] = []

    def render() -> None:
        start = time.process_time()
        results.append(report_from_store(big_store, out, catalog=catalog))
        cpu.append(time.process_time() - start)

    median = perf.run(render, rounds=2, warmup_rounds=0, setup=lambda: shutil.rmtree(out, ignore_errors=True))
    result = results[-1]
    s5 = dict(result.tables)["table_s5_dice"]
    assert len({r[0] for r in s5.rows}) == 44 and s5.notes[0].startswith("Rows used (default setting, Dice): 20000 ")
    assert result.page.is_file() and len([f for f in result.figures if f.png is not None]) == 4

    cold = tmp_path / "cold"
    before, start = _children_cpu_s(), time.perf_counter()
    command = [sys.executable, "-c", "from benchmark.cli.main import main_entry; main_entry()", "report", "--store",
               str(big_store), "--out", str(cold), "--home", str(tmp_path / "no-home")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    cold_s, cold_cpu_s = time.perf_counter() - start, _children_cpu_s() - before
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"report: {cold / 'index.html'}"
    perf.info(what=f"whole report from a store of {ROWS} rows (9 tables, 4 figures, the page)", rows=ROWS,
              warm_median_s=median, warm_cpu_s=min(cpu), cold_cli_s=cold_s, cold_cli_cpu_s=cold_cpu_s)
    perf.target("report_s", median, REPORT_TARGET_S, f"seconds for the whole report of {ROWS} rows, warm process")
    perf.target("cold_report_s", cold_s, REPORT_TARGET_S, f"seconds of 'propbench report' on {ROWS} rows, cold")
