"""``propbench reader-study sample|analyze`` (benchmark/cli/reader_study_commands.py), run through
``benchmark.cli.main.main`` on a real DataLad data home holding part of the demo collection."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from benchmark.cli.main import main
from benchmark.demo import collection
from benchmark.reader_study.manifest import write_manifest
from tests.benchmark.reader_study.test_manifest import fill, make_sample


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def home(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two demo datasets of three cases each, installed with ``propbench datasets demo``."""
    small = tuple(replace(collection.demo_dataset(dataset_id), cases=3) for dataset_id in ("DEMO-CASE", "DEMO-TS"))
    root = tmp_path_factory.mktemp("reader-cli") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(collection, "DEMO_DATASETS", small)
        assert main(["datasets", "--home", str(root), "demo"]) == 0
    return root


@pytest.mark.slow
def test_sample_the_installed_demo_datasets(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study.csv"
    status, stdout, err = _run(capsys, "reader-study", "sample", "--n", "2", "--seed", "4", "--home", str(home),
                               "--out", str(out))
    assert (status, err) == (0, "")
    assert stdout.startswith(f"wrote {out}: 2 volumes with distinct objects (kidney, liver); read ")
    assert "of 6 volumes (seed 4)" in stdout
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {r["object"] for r in rows} == {"kidney", "liver"}
    assert {r["dataset"] for r in rows} <= {"DEMO-CASE", "DEMO-TS"}
    assert [k for k in rows[0] if k.startswith("seconds_")] == [
        "seconds_MedSAM", "seconds_SegVol", "seconds_PropSAM-2DBox", "seconds_PropSAM-2DMask"]
    assert all(r[k] == "" for r in rows for k in r if k.startswith("seconds_"))
    first = out.read_bytes()
    status, _, _ = _run(capsys, "reader-study", "sample", "--n", "2", "--seed", "4", "--home", str(home),
                        "--out", str(out), "--force", "--datasets", "DEMO-TS", "DEMO-CASE")
    assert status == 0 and out.read_bytes() == first  # same seed, same file, whatever the order of --datasets


@pytest.mark.slow
def test_sample_then_analyze_two_volumes(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study.csv"
    assert main(["reader-study", "sample", "--n", "2", "--home", str(home), "--out", str(out),
                 "--models", "A", "B"]) == 0
    fill(out, {"seconds_A": ["30", "41.5"], "seconds_B": ["12", "9"]})
    capsys.readouterr()
    status, stdout, _ = _run(capsys, "reader-study", "analyze", str(out), "--out", str(tmp_path / "reports"))
    assert status == 0
    assert "  A: 2 timed, median 35.75 s, IQR 5.75 s (q1 32.88, q3 38.62)" in stdout
    assert ("  A vs B: 2 pairs, 2 complete pair(s), 2 non-zero difference(s); the test needs at least 6 non-zero "
            "differences") in stdout


@pytest.mark.slow
@pytest.mark.parametrize("argv, message", [
    (["--n", "3"], "the installed data cannot give 3 volumes with distinct objects: at most 2 volume(s)"),
    (["--datasets", "D99"], "unknown dataset ID 'D99'"),
    (["--datasets", "D1"], "propbench datasets install D1 --from"),
    (["--n", "0"], "argument --n: 0; expected a number of volumes of at least 1"),
    (["--models", "A", "A"], "argument --models: argument models: expected distinct non-empty model names"),
])
def test_sample_errors(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                       message: str) -> None:
    status, stdout, err = _run(capsys, "reader-study", "sample", "--home", str(home), "--out",
                               str(tmp_path / "s.csv"), *argv)
    assert (status, stdout) == (2, "")
    assert message in err
    assert not (tmp_path / "s.csv").exists()


def test_sample_keeps_an_existing_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "filled.csv"
    out.write_text("volume,dataset\n")
    status, _, err = _run(capsys, "reader-study", "sample", "--n", "2", "--home", str(tmp_path / "home"),
                          "--out", str(out))
    assert status == 2 and f"argument --out: {out} already exists and may hold a reader's times" in err
    assert out.read_text() == "volume,dataset\n"


def test_sample_without_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "reader-study", "sample", "--home", str(tmp_path / "empty"), "--out",
                          str(tmp_path / "s.csv"))
    assert status == 2 and "no demo dataset installed" in err and "'propbench datasets demo'" in err


def test_analyze_prints_and_writes_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    slow, fast = rng.uniform(20, 40, 10).round(1), rng.uniform(5, 15, 10).round(1)
    path = fill(write_manifest(tmp_path / "m.csv", make_sample(10), ("MedSAM", "PropSAM-2DBox", "SegVol")),
                {"seconds_MedSAM": [f"{v:g}" for v in slow], "seconds_PropSAM-2DBox": [f"{v:g}" for v in fast]})
    status, stdout, _ = _run(capsys, "reader-study", "analyze", str(path), "--out", str(tmp_path / "rep"))
    assert status == 0
    expected = scipy.stats.wilcoxon(slow, fast)
    assert stdout.splitlines()[0] == f"{path}: 10 volumes"
    assert f"  MedSAM vs PropSAM-2DBox: 10 pairs, p {expected.pvalue:.4g}, Holm {expected.pvalue:.4g}" in stdout
    assert "  not timed: SegVol" in stdout
    folder = tmp_path / "rep" / "reader_study"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{stem}.{ext}" for stem in ("interaction_times", "interaction_wilcoxon") for ext in ("csv", "md", "tex"))
    with open(folder / "interaction_wilcoxon.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["model_a"], row["model_b"], row["pairs"]) == ("MedSAM", "PropSAM-2DBox", "10")
    assert float(row["p_value"]) == expected.pvalue and float(row["statistic"]) == expected.statistic
    with open(folder / "interaction_times.csv", newline="") as handle:
        times = {r["model"]: r for r in csv.DictReader(handle)}
    assert float(times["MedSAM"]["median_s"]) == pytest.approx(float(np.median(slow)))
    assert math.isclose(float(times["PropSAM-2DBox"]["iqr_s"]), float(np.subtract(*np.percentile(fast, [75, 25]))))


@pytest.mark.parametrize("content, message", [
    (None, "does not exist; expected a manifest written by 'propbench reader-study sample'"),
    ("dataset,case,object,seconds_A,seconds_B\nD1,c1,liver,12,x\n",
     "line 2 (D1/c1): column 'seconds_B' holds 'x'; expected an interaction time in seconds"),
    ("dataset,case,object,seconds_A,seconds_B\nD1,c1,liver,12,\n", "times filled in for 1 model(s) (A)"),
])
def test_analyze_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                        message: str) -> None:
    path = tmp_path / "m.csv"
    if content is not None:
        path.write_text(content)
    status, stdout, err = _run(capsys, "reader-study", "analyze", str(path), "--out", str(tmp_path / "rep"))
    assert (status, stdout) == (2, "")
    assert message in err
    assert not (tmp_path / "rep").exists()
