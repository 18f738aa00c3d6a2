from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.reports.paper import matches, name_keys
from benchmark.reports.tables import Table, format_cell, to_latex, to_markdown, write_table
from tests.cards import card


def test_format_cell() -> None:
    assert format_cell(None) == "" and format_cell(float("nan")) == ""
    assert format_cell(12) == "12" and format_cell(0.20123) == "0.2012" and format_cell(2.7001e7) == "2.7001e+07"


def test_row_length_checked() -> None:
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        Table("t", ("a", "b"), (("x",),))


def test_write_all_formats(tmp_path: Path) -> None:
    table = Table("T & S", ("id", "value"), (("D1", 1.5), ("D_2", None)), ("note 50%",))
    paths = write_table(table, tmp_path, "t")
    assert [p.suffix for p in paths] == [".csv", ".md", ".tex"]
    assert (tmp_path / "t.csv").read_text() == "id,value\nD1,1.5\nD_2,\n"
    assert r"D\_2" in to_latex(table) and r"\toprule" in to_latex(table) and r"50\%" in to_latex(table)
    assert "| D1 | 1.5 |" in to_markdown(table)


def test_paper_names_match_with_modality_suffix() -> None:
    rows = [{"dataset": "AbdomenCT-1K-CT"}, {"dataset": "AutoPET-PETCT"}, {"dataset": "AutoPET-CT"}]
    abdomen = card({"1": "liver"}, name="AbdomenCT-1K")
    autopet_ct = card({"1": "lesion"}, name="AutoPET-CT")
    assert [r["dataset"] for r in matches(abdomen, rows)] == ["AbdomenCT-1K-CT"]
    assert [r["dataset"] for r in matches(autopet_ct, rows)] == ["AutoPET-CT"]
    assert "totalsegmentatorct" in name_keys(card({"1": "x"}, name="Total Segmentator"))
