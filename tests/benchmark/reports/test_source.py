from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmark.reports.source import ReportError, load_report_data, natural_key
from benchmark.results.store import ResultStore
from tests.benchmark.reports.stores import report_data, row, run_record, write_store


def test_an_empty_store_is_refused_with_the_command_to_fill_it(tmp_path: Path) -> None:
    path = write_store(tmp_path / "empty.sqlite", [])
    with ResultStore.open(path, create=False) as store, pytest.raises(ReportError, match="holds no runs") as err:
        load_report_data(store)
    assert "propbench run --store" in str(err.value) and str(path) in str(err.value)


def test_runs_without_rows_and_unknown_runs_are_refused(tmp_path: Path) -> None:
    path = write_store(tmp_path / "s.sqlite", [(run_record("a"), []),
                                              (run_record("b"), [row("M", "D1", "c", "o", run="b")])])
    with pytest.raises(ReportError, match=r"run\(s\) a hold no rows"):
        report_data(path, runs=["a"])
    with pytest.raises(ReportError, match="--run zz: no such run .* runs: a, b"):
        report_data(path, runs=["zz"])
    assert len(report_data(path, runs=["b"]).accuracy.frame) == 1


def test_rows_read_as_a_frame_with_nan_for_null_metrics(tmp_path: Path) -> None:
    path = write_store(tmp_path / "s.sqlite", [(run_record(), [row("M", "D1", "c1", "o", None, hd95=math.inf),
                                                              row("M", "D1", "c2", "o", 0.25)])])
    frame = report_data(path).accuracy.frame
    assert frame["dice"].isna().tolist() == [True, False] and frame["hd95_mm"].iloc[0] == math.inf
    assert frame["mask_path"].tolist() == [None, None]  # text columns keep None, whatever pandas' string default


def test_accuracy_uses_eval_runs_and_timing_the_all_case_runs(tmp_path: Path) -> None:
    eval_rows = [row("M", "D1", "c1", "o", 0.5, run="eval")]
    all_rows = [row("M", "D1", c, "o", 0.9, run="all", subset=s) for c, s in (("c1", "val"), ("c2", "train"))]
    path = write_store(tmp_path / "s.sqlite", [(run_record("eval"), eval_rows),
                                              (run_record("all", subset="all", created="2026-02-01T00:00"), all_rows)])
    data = report_data(path)
    assert data.accuracy.frame["run_id"].tolist() == ["eval"]
    assert sorted(data.timing.frame["case_id"]) == ["c1", "c2"] and set(data.timing.frame["run_id"]) == {"all"}
    assert "all-case run(s) all serve the timing tables only" in data.accuracy.note


def test_an_all_case_run_alone_gives_its_evaluation_cases_to_accuracy(tmp_path: Path) -> None:
    rows = [row("M", "D1", c, "o", 0.9, subset=s) for c, s in (("c1", "val"), ("c2", "train"), ("c3", "test"))]
    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(subset="all"), rows)]))
    assert sorted(data.accuracy.frame["case_id"]) == ["c1", "c3"] and len(data.timing.frame) == 3
    assert "training cases are left out" in data.accuracy.note


def test_timing_falls_back_to_the_evaluation_cases_and_says_so(tmp_path: Path) -> None:
    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(), [row("M", "D1", "c1", "o")])]))
    assert len(data.timing.frame) == 1 and "cover the evaluation cases only" in data.timing.note


def test_a_row_repeated_in_a_later_run_keeps_the_latest(tmp_path: Path) -> None:
    path = write_store(tmp_path / "s.sqlite", [
        (run_record("old", created="2026-01-01T00:00"), [row("M", "D1", "c1", "o", 0.1, run="old")]),
        (run_record("new", created="2026-03-01T00:00"), [row("M", "D1", "c1", "o", 0.7, run="new"),
                                                         row("M", "D1", "c2", "o", 0.3, run="new")])])
    selection = report_data(path).accuracy
    assert selection.duplicates_dropped == 1
    assert dict(zip(selection.frame["case_id"], selection.frame["dice"], strict=True)) == {"c1": 0.7, "c2": 0.3}


def test_datasets_keep_their_cards_and_unknown_ids_their_id(tmp_path: Path) -> None:
    path = write_store(tmp_path / "s.sqlite", [(run_record(), [row("M", "D2", "c", "o"), row("M", "X9", "c", "o")])])
    data = report_data(path)
    assert data.dataset("D2").label == "*Adrenal-ACC-Ki67-Seg" and data.dataset("D2").external
    assert data.dataset("X9").label == "X9" and data.dataset("X9").card is None
    assert [i.dataset_id for i in data.ordered(["X9", "D2"], "table_s5_dice.csv")] == ["D2", "X9"]


def test_natural_order_of_ids() -> None:
    assert sorted(["D10", "D2", "DEMO-TS", "D1"], key=natural_key) == ["D1", "D2", "D10", "DEMO-TS"]
