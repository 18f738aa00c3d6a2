from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.reports.ablations import SLICE_DEVIATION, THICKNESS, ablation_values, table_s8, table_s9
from benchmark.reports.source import ReportData
from benchmark.reports.tables import to_markdown
from tests.benchmark.reports.helpers import cell, notes_text, row_index
from tests.benchmark.reports.stores import report_data, row, run_record, write_store

BOX, MASK, FILL = "PropSAM-2DBox", "PropSAM-2DMask", "Box-Fill"
TUMOUR = "adrenocortical carcinoma"
#: Dice of every case per setting key (D2, one object); the default setting is the 0 % point.
D2_DICE = {BOX: {"default": 0.80, "slice-deviation=0.05": 0.78, "slice-deviation=0.1": 0.75,
                 "slice-deviation=0.15": 0.81, "slice-deviation=0.2": 0.70, "thickness=10": 0.76,
                 "thickness=20": 0.79, "thickness=30": 0.77, "thickness=40": 0.74},
           MASK: {"default": 0.90, "slice-deviation=0.05": 0.89, "slice-deviation=0.1": 0.86,
                  "slice-deviation=0.15": 0.88, "thickness=10": 0.85, "thickness=20": 0.90, "thickness=30": 0.88,
                  "thickness=40": 0.87}}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    rows = [row(m, "D2", f"c{c}", TUMOUR, d + c * 0.01, setting=s, subset="test")
            for m, points in D2_DICE.items() for s, d in points.items() for c in range(3)]
    # D1: two objects, to check dataset rows (means of object means) and their changes
    for setting, (liver, kidney) in {"default": (0.9, 0.5), "slice-deviation=0.05": (0.8, 0.3)}.items():
        rows += [row(BOX, "D1", "c0", "liver", liver, setting=setting),
                 row(BOX, "D1", "c0", "kidneys", kidney, setting=setting),
                 row(BOX, "D1", "c1", "kidneys", kidney + 0.2, setting=setting)]
    rows += [row(FILL, "D2", "c0", TUMOUR, 0.3, subset="test")]
    return report_data(write_store(tmp_path_factory.mktemp("s8") / "s.sqlite", [(run_record(), rows)]))


def test_s8_dice_changes_and_n_per_point(data: ReportData) -> None:
    table = table_s8(data)
    match = {"id": "D2", "object": None, "model": BOX}
    assert cell(table, "0%", **match) == pytest.approx(0.81)  # the default setting's rows: (0.80 + 0.81 + 0.82) / 3
    assert cell(table, "5%", **match) == pytest.approx(0.79)
    assert cell(table, "5% change", **match) == pytest.approx(-0.02)
    assert cell(table, "15% change", **match) == pytest.approx(0.01)
    assert cell(table, "20% change", **match) == pytest.approx(-0.10)
    assert cell(table, "0% change", **match) is None and cell(table, "10% n", **match) == 3
    index = row_index(table, **match)
    assert table.shown_cell(index, "5%") == "0.790 (-0.020)" and table.shown_cell(index, "0%") == "0.810"


def test_s8_dataset_rows_are_means_of_object_means(data: ReportData) -> None:
    table = table_s8(data)
    assert cell(table, "0%", id="D1", object="kidneys", model=BOX) == pytest.approx(0.6)
    assert cell(table, "0%", id="D1", object=None, model=BOX) == pytest.approx(0.75)  # (0.9 + 0.6) / 2
    assert cell(table, "5%", id="D1", object=None, model=BOX) == pytest.approx(0.6)  # (0.8 + 0.4) / 2
    assert cell(table, "5% change", id="D1", object=None, model=BOX) == pytest.approx(-0.15)
    assert cell(table, "5% change", id="D1", object="liver", model=BOX) == pytest.approx(-0.1)


def test_s8_the_papers_values_and_printed_changes_beside_ours(data: ReportData) -> None:
    table = table_s8(data)
    match = {"id": "D2", "object": None, "model": BOX}
    assert cell(table, "0% paper", **match) == 0.874 and cell(table, "10% paper", **match) == 0.852
    assert cell(table, "10% paper change", **match) == -0.022  # as printed, not recomputed
    assert cell(table, "10% diff", **match) == pytest.approx(0.76 - 0.852)
    assert table.shown_cell(row_index(table, **match), "10% paper") == "0.852 (-0.022)"
    assert cell(table, "5% paper", id="D2", object=None, model=MASK) == 0.887
    assert cell(table, "5% paper", id="D2", object=TUMOUR, model=BOX) is None  # the paper has no object rows
    assert cell(table, "0% paper", id="D1", object=None, model=BOX) is None  # AbdomenCT-1K is not in Table S8


def test_models_missing_from_a_setting_or_a_point_are_named(data: ReportData) -> None:
    table = table_s8(data)
    assert set(table.column("model")) == {BOX, MASK}
    text = notes_text(table)
    assert "Not in this table (no slice-deviation rows): Box-Fill." in text
    assert "PropSAM-2DMask: no rows at 20%." in text
    assert cell(table, "20%", id="D2", object=None, model=MASK) is None
    assert "| - |" in to_markdown(table)


def test_a_missing_base_point_is_stated(tmp_path: Path) -> None:
    rows = [row(BOX, "D2", "c0", TUMOUR, 0.5, setting="slice-deviation=0.1", subset="test")]
    table = table_s8(report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)])))
    assert cell(table, "10% change", id="D2", object=None, model=BOX) is None
    assert "no rows at 0%, 5%, 15%, 20% (the base point: no changes can be computed)." in notes_text(table)


def test_s9_changes_against_20_mm_and_the_paper(data: ReportData) -> None:
    table = table_s9(data)
    match = {"id": "D2", "object": None, "model": MASK}
    assert cell(table, "20 mm", **match) == pytest.approx(0.91)
    assert cell(table, "10 mm change", **match) == pytest.approx(-0.05)
    assert cell(table, "20 mm change", **match) is None
    assert cell(table, "10 mm paper", **match) == 0.873 and cell(table, "10 mm paper change", **match) == -0.018
    assert "Base: the rows of setting thickness=20" in notes_text(table)
    assert set(table.column("model")) == {BOX, MASK}


def test_points_the_store_holds_beyond_the_papers_are_shown(tmp_path: Path) -> None:
    rows = [row(BOX, "D2", "c0", TUMOUR, 0.5, setting=s, subset="test") for s in ("default", "slice-deviation=0.3")]
    values = ablation_values(report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)])),
                             SLICE_DEVIATION)
    assert values.points == (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
    assert THICKNESS.key(20) == "thickness=20" and SLICE_DEVIATION.key(0) == "default"
