"""benchmark/reader_study/manifest.py: the CSV a reader fills in, written and read back, and every bad input."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.reader_study.manifest import (
    PAPER_MODELS,
    VOLUME_COLUMNS,
    check_models,
    manifest_text,
    read_times,
    write_manifest,
)
from benchmark.reader_study.sampling import Assignment, ObjectCandidate, ReaderSample


def make_sample(n: int = 3) -> ReaderSample:
    items = tuple(Assignment(dataset_id="D1", case_id=f"case_{k}", object_name=f"object {k}",
                             data_version="a" * 40,
                             prompts=ObjectCandidate(guide_slice=10 + k, box2d=(1, 2, 30, 40),
                                                     box3d=(1, 2, 5, 30, 40, 15 + k)))
                  for k in range(n))
    return ReaderSample(n=n, seed=0, assignments=items, cases_read=n, cases_total=n, errors=())


def test_columns_and_rows() -> None:
    text = manifest_text(make_sample(2), ("MedSAM", "PropSAM-2DBox"))
    lines = text.split("\n")
    assert lines[0] == ",".join((*VOLUME_COLUMNS, "seconds_MedSAM", "seconds_PropSAM-2DBox"))
    assert lines[1] == "1,D1,case_0,object 0,10,1,2,30,40,1,2,5,30,40,15," + "a" * 40 + ",,"
    assert lines[2].startswith("2,D1,case_1,object 1,11,") and lines[3] == ""
    assert "\r" not in text


def test_default_models_are_the_papers_four() -> None:
    header = manifest_text(make_sample(1)).splitlines()[0].split(",")
    assert header[-4:] == [f"seconds_{m}" for m in ("MedSAM", "SegVol", "PropSAM-2DBox", "PropSAM-2DMask")]
    assert PAPER_MODELS == ("MedSAM", "SegVol", "PropSAM-2DBox", "PropSAM-2DMask")


@pytest.mark.parametrize("models", [(), ("A", "A"), ("A", ""), ("A,B",), (" A",)])
def test_bad_models(models: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="argument models: expected distinct non-empty model names"):
        check_models(models)


def test_write_refuses_to_overwrite_a_manifest(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "sub" / "study.csv", make_sample())
    path.write_text(path.read_text() + "kept\n")
    with pytest.raises(BenchmarkError, match=r"study.csv already exists and may hold a reader's times"):
        write_manifest(path, make_sample())
    assert path.read_text().endswith("kept\n")
    write_manifest(path, make_sample(), overwrite=True)
    assert not path.read_text().endswith("kept\n")


def fill(path: Path, times: dict[str, list[str]]) -> Path:
    """Fill the seconds columns of a written manifest, as a reader would in a spreadsheet."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for column, values in times.items():
        for row, value in zip(rows, values, strict=True):
            row[column] = value
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_read_back_filled_times(tmp_path: Path) -> None:
    path = fill(write_manifest(tmp_path / "m.csv", make_sample(), ("A", "B")),
                {"seconds_A": ["12.5", " 3 ", ""], "seconds_B": ["1e1", "0", "7"]})
    times = read_times(path)
    assert times.models == ("A", "B") and times.path == path
    assert [(v.line, v.dataset_id, v.case_id, v.object_name) for v in times.volumes] == [
        (2, "D1", "case_0", "object 0"), (3, "D1", "case_1", "object 1"), (4, "D1", "case_2", "object 2")]
    assert times.seconds["A"][:2] == (12.5, 3.0) and math.isnan(times.seconds["A"][2])
    assert times.seconds["B"] == (10.0, 0.0, 7.0)


def test_a_spreadsheet_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffdataset,case,object,seconds_A\nD1,c1,liver,4\n".encode())
    assert read_times(path).seconds == {"A": (4.0,)}


@pytest.mark.parametrize("cell", ["abc", "-1", "nan", "inf", "12,5"])
def test_bad_seconds_name_the_line_and_column(tmp_path: Path, cell: str) -> None:
    path = fill(write_manifest(tmp_path / "m.csv", make_sample(), ("A", "B")),
                {"seconds_A": ["1", "2", "3"], "seconds_B": ["1", cell, "3"]})
    expected = f"m.csv, line 3 (D1/case_1): column 'seconds_B' holds {cell!r}; expected an interaction time in " \
               f"seconds (a non-negative number) or an empty cell"
    with pytest.raises(BenchmarkError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_times(path)


@pytest.mark.parametrize("text, message", [
    ("", "empty file, expected a reader-study manifest with a header row"),
    ("dataset,case,seconds_A\nD1,c1,3\n", r"missing: \['object'\]"),
    ("dataset,case,object\nD1,c1,liver\n", "at least one 'seconds_<model>' column"),
    ("dataset,case,object,seconds_A,seconds_A\n", r"repeated: \['seconds_A'\]"),
    ("dataset,case,object,seconds_A\nD1,c1,liver,3,4\n", "line 2: 5 cells; expected 4, one per column"),
    ("dataset,case,object,seconds_A\nD1,c1,liver\n", "line 2: 3 cells; expected 4, one per column"),
    ("dataset,case,object,seconds_A\nD1,c1,liver,3\nD1,c1,liver,4\n",
     "line 3: volume D1/c1 is already listed on line 2; expected each volume once"),
])
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(BenchmarkError, match=message):
        read_times(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"reader-study file .*nope.csv does not exist; expected a manifest "
                                             r"written by 'propbench reader-study sample'"):
        read_times(tmp_path / "nope.csv")
