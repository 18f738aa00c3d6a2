"""A run killed with SIGKILL partway (a real subprocess) resumes: finished rows kept, none duplicated, the rest
completed, and the export equal to an uninterrupted run's."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from benchmark.cli.main import main
from benchmark.results.export import rows_frame
from benchmark.results.store import ResultStore
from tests.benchmark.runner.test_run import comparable

MODELS = ["tests.benchmark.runner.doubles:Slow", "Naive-Propagation"]


def _args(home: SimpleNamespace, store: Path) -> list[str]:
    return ["run", "--home", str(home.home.path), "--cards", str(home.cards), "--datasets", "U1", "--subset", "all",
            "--store", str(store), "--models", *MODELS]


def _rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _export(store: Path):  # type: ignore[no-untyped-def]
    with ResultStore.open(store, create=False) as opened:
        frame = comparable(rows_frame(opened))
    return frame.sort_values(["model", "case_id", "object_name"]).reset_index(drop=True)


def test_sigkill_then_rerun_completes_without_duplicates(small_home: SimpleNamespace, tmp_path: Path) -> None:
    reference = tmp_path / "reference.sqlite"
    assert main(_args(small_home, reference)) == 0
    store = tmp_path / "killed.sqlite"
    script = f"import sys; from benchmark.cli.main import main; sys.exit(main({_args(small_home, store)!r}))"
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _rows(store) < 8 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the run finished before it could be killed"
    kept = _rows(store)
    assert 8 <= kept < _rows(reference)
    assert main(_args(small_home, store)) == 0  # no stale lock, resumes
    with ResultStore.open(store) as opened:
        keys = [row.key for row in opened.rows()]
    assert len(keys) == len(set(keys)) == _rows(reference)
    assert _export(store).equals(_export(reference))
