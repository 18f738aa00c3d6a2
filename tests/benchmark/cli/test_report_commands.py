"""``propbench report`` through ``main``: a real run on the small data home, then its report; bad stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main
from benchmark.reports.report import EXISTING_TABLES
from tests.benchmark.reports.stores import row, run_record, write_store


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.slow
def test_run_then_report(small_home: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, out = tmp_path / "results.sqlite", tmp_path / "reports"
    where = ["--home", str(small_home.home.path), "--cards", str(small_home.cards)]
    status, _, err = _call(capsys, "run", *where, "--datasets", "U1", "--subset", "all", "--store", str(store),
                           "--models", "Box-Fill", "Naive-Propagation", "--setting", "default", "slice-deviation",
                           "--save-masks", str(tmp_path / "masks"))
    assert status == 0, err
    status, out_text, err = _call(capsys, "report", "--store", str(store), "--out", str(out), *where,
                                  "--resamples", "200")
    assert status == 0, err
    lines = out_text.strip().splitlines()
    assert lines[-1] == f"report: {out / 'index.html'}"
    assert "wrote 9 tables (CSV, Markdown, LaTeX) and 4 figures (PNG, PDF)" in lines[-2], out_text
    assert "figure not drawn: Figure S10" in out_text and "figure not drawn: PropSAM training loss" in out_text
    assert (out / "figures" / "figure_qualitative_U1.png").is_file()
    s5 = (out / "table_s5_dice.md").read_text(encoding="utf-8")
    assert "Every dataset's rows are of its installed data version." in s5
    assert "Naive-Propagation: prompt mask2d" in s5 and "leaks extent" in s5
    assert "the evaluation cases (validation cases of internal datasets" in s5  # an all-case run alone
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "propbench report --store" in page and "--resamples 200" in page


def test_an_empty_store_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = write_store(tmp_path / "empty.sqlite", [])
    status, _, err = _call(capsys, "report", "--store", str(store), "--out", str(tmp_path / "out"),
                           "--home", str(tmp_path / "no-home"))
    assert status == 2 and f"results store {store} holds no runs" in err
    assert not (tmp_path / "out").exists()


def test_a_missing_store_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _call(capsys, "report", "--store", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o"),
                           "--home", str(tmp_path / "no-home"))
    assert status == 2 and "does not exist" in err and not (tmp_path / "none.sqlite").exists()


def test_a_store_of_another_schema_version_is_refused_clearly(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    store = write_store(tmp_path / "s.sqlite", [(run_record(), [row("A", "D1", "c", "liver")])])
    with sqlite3.connect(store) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    status, _, err = _call(capsys, "report", "--store", str(store), "--out", str(tmp_path / "o"),
                           "--home", str(tmp_path / "no-home"))
    assert status == 2 and "has results schema version 99; this suite reads version 1" in err


def test_an_unknown_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = write_store(tmp_path / "s.sqlite", [(run_record(), [row("A", "D1", "c", "liver")])])
    status, out, err = _call(capsys, "report", "--store", str(store), "--out", str(tmp_path / "o"), "--run", "nope",
                             "--home", str(tmp_path / "no-home"))
    assert status == 2 and "--run nope: no such run" in err and "runs: default" in err
    assert "no data home at" in out


def test_the_tables_of_other_commands_are_named() -> None:
    assert [stem for stem, _ in EXISTING_TABLES] == ["table_s2_box2mask_samples", "table_s3_propmask_tasks",
                                                     "table_s4_fingerprints"]
