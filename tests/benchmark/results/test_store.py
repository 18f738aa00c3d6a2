from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.results import store as store_module
from benchmark.results.export import export_rows, rows_frame
from benchmark.results.rows import ResultRow, RowKey, RowStatus
from benchmark.results.store import ResultStore, RunRecord, StoreError


def _run(run_id: str = "r1", config: str = '{"seed": 0}') -> RunRecord:
    return RunRecord(run_id=run_id, config=config, created_utc="2026-12-02T00:00:00+00:00", suite_version="0.1.0",
                     git_commit="abc", git_dirty=False, seed=0)


def _row(case: str, status: RowStatus = RowStatus.OK, run_id: str = "r1", **values: object) -> ResultRow:
    return ResultRow(run_id=run_id, model="M", setting="default", dataset_id="D1", case_id=case, object_name="liver",
                     status=status.value, **values)  # type: ignore[arg-type]


def test_rows_round_trip_with_every_column(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "s.sqlite") as store, store.start_run(_run()):
        row = _row("c0", dice=0.9, nsd=0.8, hd95_mm=3.5, tp=10, prompt_box="[1, 2, 3, 4]", seconds=0.25,
                   trace='{"rounds": 2}', machine_id="m1")
        store.write(row)
        store.add_machine("m1", {"cpu": "x"})
        assert list(store.rows("r1")) == [row]
        assert store.machines() == {"m1": {"cpu": "x"}} and store.schema_version == 1


def test_columns_read_like_rows_in_key_order(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "s.sqlite") as store, store.start_run(_run()), store.start_run(_run("r2")):
        rows = [_row("c2", dice=0.5), _row("c1", dice=None, seconds=1.5), _row("c0", run_id="r2", dice=0.7)]
        for row in rows:
            store.write(row)
        assert store.columns(["case_id", "dice", "seconds"], "r1") == {"case_id": ["c1", "c2"], "dice": [None, 0.5],
                                                                        "seconds": [1.5, None]}
        assert store.columns(["dice"]) == {"dice": [None, 0.5, 0.7]}  # key order, not the order of writing
        every = store.columns(["run_id", "case_id"])
        assert every == {"run_id": [r.run_id for r in store.rows()], "case_id": [r.case_id for r in store.rows()]}
        with pytest.raises(StoreError, match=r"unknown result column\(s\) \['dice; DROP'\]"):
            store.columns(["dice; DROP"])


def test_rerun_skips_finished_and_skipped_rows_and_failed_ones_unless_retried(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "s.sqlite") as store, store.start_run(_run()):
        store.write(_row("ok"))
        store.write(_row("skip", RowStatus.SKIPPED, skip_reason="small"))
        store.write(_row("bad", RowStatus.FAILED, error_type="ValueError"))
        keys = {k.case_id for k in store.done_keys("r1")}
        assert keys == {"ok", "skip", "bad"}
        assert {k.case_id for k in store.done_keys("r1", retry_failed=True)} == {"ok", "skip"}
        store.write(_row("bad", dice=0.5))  # the retry replaces the failed row
        assert store.counts("r1") == {"ok": 2, "skipped": 1}
        assert RowKey("r1", "M", "default", "D1", "ok", "liver") in store.done_keys("r1")


def test_a_second_writer_of_one_run_is_refused_and_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ResultStore.open(path) as first, first.start_run(_run()):
        with ResultStore.open(path) as second:
            with pytest.raises(StoreError, match=r"run 'r1' of .* is being written by another process \(pid \d+"):
                second.start_run(_run())
            second.start_run(_run("r2")).release()  # another run of the same store is fine
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from benchmark.results.store import ResultStore, RunRecord
        store = ResultStore.open({str(path)!r})
        lock = store.start_run(RunRecord(run_id="r1", config='{{"seed": 0}}', created_utc="t", suite_version="v",
                                         git_commit="", git_dirty=False, seed=0))
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with ResultStore.open(path) as store, pytest.raises(StoreError, match="another process"):
            store.start_run(_run())
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with ResultStore.open(path) as store:
            store.start_run(_run()).release()  # no stale lock after a kill
    finally:
        holder.kill()


def test_rows_written_before_a_kill_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from benchmark.results.rows import ResultRow
        from benchmark.results.store import ResultStore, RunRecord
        store = ResultStore.open({str(path)!r})
        store.start_run(RunRecord(run_id="r1", config="{{}}", created_utc="t", suite_version="v", git_commit="",
                                  git_dirty=False, seed=0))
        for k in range(3):
            store.write(ResultRow(run_id="r1", model="M", setting="default", dataset_id="D1", case_id=f"c{{k}}",
                                  object_name="o", dice=0.5))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], check=False)
    assert result.returncode == -signal.SIGKILL
    with ResultStore.open(path) as store:
        assert [r.case_id for r in store.rows("r1")] == ["c0", "c1", "c2"]


def test_another_configuration_under_the_same_run_name_is_refused(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "s.sqlite") as store:
        store.start_run(_run()).release()
        store.start_run(_run()).release()  # the same configuration resumes
        with pytest.raises(StoreError, match=r"run 'r1' .* another configuration \(differs in: configuration\)"):
            store.start_run(_run(config='{"seed": 1}'))
        with pytest.raises(StoreError, match=r"differs in: seed"):
            store.start_run(_run(config='{"seed": 1}'), config_differs=lambda a, b: ["seed"])


def test_corrupt_foreign_and_future_stores_are_refused(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="corrupt.sqlite is not a results store"):
        ResultStore.open(corrupt)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match=r"tables \['t'\] but no 'meta' table"):
        ResultStore.open(foreign)
    future = tmp_path / "future.sqlite"
    ResultStore.open(future).close()
    with sqlite3.connect(future) as db:
        db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 7; this suite reads version 1"):
        ResultStore.open(future)
    with pytest.raises(StoreError, match="does not exist"):
        ResultStore.open(tmp_path / "none.sqlite", create=False)


def test_migrations_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.sqlite"
    ResultStore.open(path).close()

    def add_column(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE runs ADD COLUMN note TEXT")

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(store_module.MIGRATIONS, 1, add_column)
    with ResultStore.open(path) as store:
        assert store.schema_version == 2
    with sqlite3.connect(path) as db:
        assert "note" in [c[1] for c in db.execute("PRAGMA table_info(runs)")]


def test_export_joins_runs_and_machines(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "s.sqlite") as store, store.start_run(_run()):
        store.add_machine("m1", {"cpu": "Xeon", "torch": "2.13.0"})
        store.write(_row("c0", dice=0.75, machine_id="m1"))
        store.write(_row("c1", RowStatus.FAILED, error_type="ValueError", error_message="bad shape", machine_id="m1"))
        frame = rows_frame(store)
        assert list(frame["case_id"]) == ["c0", "c1"] and frame.loc[0, "machine_cpu"] == "Xeon"
        assert frame.loc[0, "git_commit"] == "abc" and frame.loc[1, "error_message"] == "bad shape"
        csv_path = export_rows(store, tmp_path / "out" / "rows.csv")
        assert csv_path.read_text().splitlines()[0].startswith("run_id,model,setting,dataset_id,case_id")
        parquet = export_rows(store, tmp_path / "rows.parquet", "parquet")
        import pandas as pd

        assert pd.read_parquet(parquet)["dice"].iloc[0] == 0.75
    assert json.loads(_run().config) == {"seed": 0}
