from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmark.reports.accuracy import AccuracyMetric, table_accuracy, table_s5
from benchmark.reports.source import ReportData
from tests.benchmark.reports.helpers import cell, notes_text, row_index
from tests.benchmark.reports.stores import failed, report_data, row, run_record, skipped, write_store

BOX, MASK, SEGVOL, FILL = "PropSAM-2DBox", "PropSAM-2DMask", "SegVol", "Box-Fill"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    rows = [row(BOX, "D1", f"c{i}", "liver", d) for i, d in enumerate((0.9, 0.8, 0.7))]
    rows += [row(BOX, "D1", f"c{i}", "kidneys", d) for i, d in enumerate((0.6, 0.4))]
    rows += [row(SEGVOL, "D1", "c0", "liver", 0.5), failed(SEGVOL, "D1", "c1", "liver"),
             skipped(SEGVOL, "D1", "c2", "liver"), row(SEGVOL, "D1", "c0", "kidneys", None),
             row(SEGVOL, "D1", "c1", "kidneys", 0.3)]
    rows += [row(FILL, "D1", f"c{i}", "liver", 0.2, hd95=math.inf if i == 0 else 4.0) for i in range(3)]
    rows += [row(BOX, "D2", f"c{i}", "adrenocortical carcinoma", 0.85, subset="test") for i in range(2)]
    rows += [failed(MASK, "D2", f"c{i}", "adrenocortical carcinoma") for i in range(2)]
    rows += [row("Naive-Propagation", "D1", "c0", "liver", 0.4, setting="slice-deviation=0.05")]
    record = run_record(models=[BOX, MASK, SEGVOL, FILL], skipped_models={"MedSAM-3DBox": "no checkpoint configured"})
    return report_data(write_store(tmp_path_factory.mktemp("s5") / "s.sqlite", [(record, rows)]),
                       installed_versions={"D1": "v1", "D2": "v2"})


def test_means_and_n_per_object_and_dataset(data: ReportData) -> None:
    table = table_s5(data)
    assert cell(table, BOX, id="D1", object="liver") == pytest.approx(0.8)
    assert cell(table, f"{BOX} n", id="D1", object="liver") == 3
    assert cell(table, BOX, id="D1", object="kidneys") == pytest.approx(0.5)
    # the dataset row: the mean of the object means (0.8 and 0.5), n summed
    assert cell(table, BOX, id="D1", object=None) == pytest.approx(0.65)
    assert cell(table, f"{BOX} n", id="D1", object=None) == 5
    assert cell(table, SEGVOL, id="D1", object="liver") == pytest.approx(0.5)
    assert cell(table, f"{SEGVOL} n", id="D1", object="liver") == 1
    assert cell(table, SEGVOL, id="D1", object="kidneys") == pytest.approx(0.3)  # the undefined Dice is not in n
    assert cell(table, f"{SEGVOL} n", id="D1", object="kidneys") == 1
    assert cell(table, FILL, id="D1", object="liver") == pytest.approx(0.2)


def test_paper_values_and_differences_where_dataset_object_and_model_match(data: ReportData) -> None:
    table = table_s5(data)
    assert cell(table, f"{BOX} paper", id="D1", object=None) == 0.891
    assert cell(table, f"{BOX} diff", id="D1", object=None) == pytest.approx(0.65 - 0.891)
    assert cell(table, f"{BOX} paper", id="D1", object="liver") == 0.962
    assert cell(table, f"{BOX} diff", id="D1", object="liver") == pytest.approx(0.8 - 0.962)
    assert cell(table, f"{BOX} paper", id="D1", object="kidneys") == 0.945  # the paper prints "Kidneys"
    assert cell(table, f"{SEGVOL} paper", id="D1", object="liver") == 0.838
    assert cell(table, f"{MASK} paper", id="D2", object="adrenocortical carcinoma") == 0.891
    assert f"{FILL} paper" not in table.columns  # a model the paper lacks has no paper columns
    assert "Not in the paper (no paper columns): Box-Fill" in notes_text(table)


def test_a_cell_the_paper_lacks_says_so(tmp_path: Path) -> None:
    rows = [row(BOX, "DEMO-MSD", "c0", "liver", 0.5), row(BOX, "D1", "c0", "stomach", 0.5)]
    table = table_s5(report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)])))
    for match in ({"id": "DEMO-MSD", "object": "liver"}, {"id": "D1", "object": "stomach"}):
        index = row_index(table, **match)
        assert table.rows[index][table.columns.index(f"{BOX} paper")] is None
        assert table.shown_cell(index, f"{BOX} paper") == "n/p"
        assert table.rows[index][table.columns.index(f"{BOX} diff")] is None


def test_external_datasets_are_marked_as_in_the_paper(data: ReportData) -> None:
    table = table_s5(data)
    assert cell(table, "dataset", id="D2", object=None) == "*Adrenal-ACC-Ki67-Seg"
    assert cell(table, "external", id="D2", object=None) is True
    assert cell(table, "dataset", id="D1", object=None) == "AbdomenCT-1K"


def test_a_dataset_where_every_case_failed_shows_no_mean_and_counts_the_failures(data: ReportData) -> None:
    table = table_s5(data)
    index = row_index(table, id="D2", object=None)
    assert table.rows[index][table.columns.index(MASK)] is None and table.shown_cell(index, MASK) == "-"
    assert table.rows[index][table.columns.index(f"{MASK} n")] == 0
    assert "PropSAM-2DMask: prompt" in notes_text(table)
    assert "2 objects: 0 ok, 2 failed (D2: 2; RuntimeError x2)" in notes_text(table)


def test_captions_state_prompts_leaks_protocol_versions_and_skips(data: ReportData) -> None:
    text = notes_text(table_s5(data))
    assert "Box-Fill: prompt box3d (the 3D box filled (leaks the z-extent)); leaks z-extent" in text
    assert "PropSAM-2DBox: prompt box2d (one 2D box on the guide slice); leaks nothing beyond the prompt" in text
    assert "SegVol" in text and "1 failed (D1: 1; RuntimeError x1), 1 skipped (D1: 1" in text
    assert "guide slice rule largest on the axial plane, box jitter paper, minimum guide area 100 px" in text
    assert "seed 0, split seed 0" in text and "NSD tolerance: 2 mm." in text
    assert "MedSAM-3DBox was not run: no checkpoint configured (run default)." in text
    # the slice-deviation row is not one of them
    assert "Rows used (default setting, Dice): 17 rows of the results store (13 ok, 3 failed, 1 skipped)" in text
    assert "ok object(s) without a Dice (not defined: both masks empty)" in text


def test_a_data_version_other_than_the_installed_one_is_stated(data: ReportData) -> None:
    text = notes_text(table_s5(data))
    assert "DATA VERSION DIFFERS: D2: the rows are of data version v1, the installed version is v2" in text


def test_a_model_run_in_another_setting_only_is_named(data: ReportData) -> None:
    table = table_s5(data)
    assert "Naive-Propagation" not in table.columns
    assert "Models with rows in other settings only (not in this table): Naive-Propagation." in notes_text(table)


def test_hd95_counts_infinite_values_apart_and_nsd_has_no_paper_columns(data: ReportData) -> None:
    hd95 = table_accuracy(data, AccuracyMetric.HD95)
    assert cell(hd95, FILL, id="D1", object="liver") == pytest.approx(4.0)
    assert cell(hd95, f"{FILL} n", id="D1", object="liver") == 2
    assert cell(hd95, f"{FILL} inf", id="D1", object="liver") == 1
    nsd = table_accuracy(data, "nsd")
    assert not any(c.endswith(" paper") for c in nsd.columns)
    assert cell(nsd, BOX, id="D1", object="liver") == pytest.approx(0.8)


def test_an_infinite_dice_is_an_invalid_value_left_out_and_stated(tmp_path: Path) -> None:
    rows = [row(BOX, "D1", "c0", "liver", math.inf), row(BOX, "D1", "c1", "liver", 0.5)]
    table = table_s5(report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)])))
    assert cell(table, BOX, id="D1", object="liver") == pytest.approx(0.5)
    assert cell(table, f"{BOX} n", id="D1", object="liver") == 1
    assert "1 ok object(s) with an infinite Dice, an invalid value" in notes_text(table)
