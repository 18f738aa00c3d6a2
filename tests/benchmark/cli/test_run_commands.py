"""``propbench run``, ``propbench results list|show|export`` and ``propbench prompts export`` through ``main``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main
from benchmark.cli.run_commands import FAILED_ROWS_STATUS


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _where(home: SimpleNamespace) -> list[str]:
    return ["--home", str(home.home.path), "--cards", str(home.cards), "--datasets", "U1"]


def test_run_then_list_show_export(small_home: SimpleNamespace, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "r.sqlite"
    config = tmp_path / "run.toml"
    config.write_text(f'run = "study"\nstore = "{store}"\nsubset = "all"\n'
                      '[protocol]\njitter = "tight"\n[models."Box-Fill"]\n[models."Naive-Propagation"]\n')
    status, out, _ = _call(capsys, "run", "--config", str(config), *_where(small_home))
    assert status == 0
    assert "Box-Fill: 9 done, 6 skipped, 0 failed" in out and "run 'study': 6 case(s) run" in out
    status, out, _ = _call(capsys, "run", "--config", str(config), *_where(small_home))
    assert status == 0 and "0 case(s) run, 6 already done" in out
    status, out, _ = _call(capsys, "results", "--store", str(store), "list")
    assert status == 0 and out.startswith("study: started") and "18 ok, 12 skipped" in out
    status, out, _ = _call(capsys, "results", "--store", str(store), "show", "study")
    assert status == 0 and "Naive-Propagation" in out and "default" in out
    status, out, _ = _call(capsys, "results", "--store", str(store), "export", "--out", str(tmp_path / "rows.csv"))
    with open(tmp_path / "rows.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert status == 0 and len(rows) == 30 and {r["box_jitter"] for r in rows} == {"tight"}


def test_run_summary_as_json_and_failures_exit_non_zero(small_home: SimpleNamespace,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _call(capsys, "run", *_where(small_home), "--subset", "all", "--store", str(tmp_path / "s.sqlite"),
                           "--models", "tests.benchmark.runner.doubles:Raises", "--json")
    summary = json.loads(out)
    assert status == FAILED_ROWS_STATUS and summary["written"]["tests.benchmark.runner.doubles:Raises"]["failed"] == 9


def test_bad_configurations_are_named(small_home: SimpleNamespace, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('sed = 3\n')
    status, _, err = _call(capsys, "run", "--config", str(config), *_where(small_home))
    assert status == 2 and "unknown key(s) ['sed']" in err and str(config) in err
    config.write_text('settings = ["sideways"]\n')
    status, _, err = _call(capsys, "run", "--config", str(config), *_where(small_home))
    assert status == 2 and "'sideways' is not one of ['default', 'slice-deviation', 'thickness']" in err
    status, _, err = _call(capsys, "run", "--config", str(tmp_path / "none.toml"))
    assert status == 2 and "does not exist" in err
    status, _, err = _call(capsys, "results", "--store", str(tmp_path / "none.sqlite"), "list")
    assert status == 2 and "does not exist" in err


def test_prompts_export(small_home: SimpleNamespace, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "prompts.jsonl"
    status, out, _ = _call(capsys, "prompts", "export", *_where(small_home), "--subset", "all", "--out",
                           str(out_file))
    assert status == 0 and "wrote 15 prompt entries" in out
    assert json.loads(out_file.read_text().splitlines()[0])["manifest_schema"] == 1
