from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.reports.paper import matches, name_keys
from benchmark.reports.tables import Emphasis, Table, format_cell, to_csv, to_html, to_latex, to_markdown, write_table
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


def _styled() -> Table:
    return Table("Times <S6>", ("dataset", "a", "a change", "b", "paper"),
                 (("D1", 1.23456, -0.0004, 2.0, None), ("D2", None, None, 0.5, 3.0)),
                 ("n & notes",), emphasis=((0, "a", Emphasis.BOLD), (1, "b", Emphasis.UNDERLINE)),
                 bracketed=(("a", "a change"),), placeholders=(("paper", "n/p"), ("a", "-")),
                 formats=(("a", ".3f"), ("a change", ".3f")))


def test_people_formats_print_changes_in_parentheses_placeholders_and_emphasis() -> None:
    table = _styled()
    assert table.shown_columns == ("dataset", "a", "b", "paper")
    assert table.shown_cell(0, "a") == "1.235 (-0.000)" and table.shown_cell(1, "a") == "-"
    assert table.shown_cell(0, "paper") == "n/p" and table.shown_cell(1, "paper") == "3"
    markdown = to_markdown(table)
    assert "| D1 | **1.235 (-0.000)** | 2 | n/p |" in markdown and "| D2 | - | <u>0.5</u> | 3 |" in markdown
    latex = to_latex(table)
    assert r"\textbf{1.235 (-0.000)}" in latex and r"\underline{0.5}" in latex and "a change" not in latex
    page = to_html(table)
    assert "<b>1.235 (-0.000)</b>" in page and "<u>0.5</u>" in page
    assert "<caption>Times &lt;S6&gt;</caption>" in page and "<li>n &amp; notes</li>" in page


def test_csv_keeps_every_column_as_plain_values() -> None:
    assert to_csv(_styled()).splitlines() == ["dataset,a,a change,b,paper", "D1,1.23456,-0.0004,2.0,",
                                              "D2,,,0.5,3.0"]


def test_styles_naming_unknown_columns_or_rows_are_refused() -> None:
    with pytest.raises(ValueError, match=r"column\(s\) \['zz'\]"):
        Table("t", ("a",), ((1,),), placeholders=(("zz", "x"),))
    with pytest.raises(ValueError, match=r"emphasis on row\(s\) \[3\]; the table has 1 rows"):
        Table("t", ("a",), ((1,),), emphasis=((3, "a", Emphasis.BOLD),))
    with pytest.raises(KeyError, match="no column 'b'"):
        Table("t", ("a",), ((1,),)).column("b")


def test_infinite_values_are_printed_as_inf() -> None:
    assert format_cell(float("inf")) == "inf" and format_cell(float("-inf")) == "-inf"
