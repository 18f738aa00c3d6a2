from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

from benchmark.reports.source import ReportData
from benchmark.reports.timing_tests import paper_p_value, table_s7
from tests.benchmark.reports.helpers import cell, notes_text
from tests.benchmark.reports.stores import report_data, row, run_record, write_store

BOX, MASK, SEGVOL = "PropSAM-2DBox", "PropSAM-2DMask", "SegVol"
DATASETS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")


def _seconds(model: str, dataset: int, case: int) -> float:
    base = {BOX: 2.0, MASK: 1.5, SEGVOL: 4.0}[model]
    return base * (1 + dataset / 3) + case * 0.37 + (dataset * 7 + case * 3) % 5 * 0.11


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    rows = [row(m, d, f"c{c}", "o", seconds=_seconds(m, i, c), subset="all")
            for m in (BOX, MASK, SEGVOL) for i, d in enumerate(DATASETS) for c in range(3)]
    rows += [row(SEGVOL, "D1", "c9", "o", seconds=math.nan, subset="all")]  # no time: not a value
    return report_data(write_store(tmp_path_factory.mktemp("s7") / "s.sqlite", [(run_record(subset="all"), rows)]))


def test_per_dataset_means_match_scipy_ranksums_and_holm(data: ReportData) -> None:
    table = table_s7(data)
    means = {m: [np.mean([_seconds(m, i, c) for c in range(3)]) for i in range(len(DATASETS))]
             for m in (SEGVOL, BOX, MASK)}
    pairs = [(SEGVOL, BOX), (SEGVOL, MASK), (BOX, MASK)]
    expected = [scipy.stats.ranksums(means[a], means[b]) for a, b in pairs]
    holm = multipletests([e.pvalue for e in expected], method="holm")[1]
    for (a, b), result, adjusted in zip(pairs, expected, holm, strict=True):
        match = {"basis": "per-dataset means", "model_a": a, "model_b": b}
        assert cell(table, "p_value", **match) == pytest.approx(result.pvalue, rel=1e-12)
        assert cell(table, "statistic", **match) == pytest.approx(result.statistic, rel=1e-12)
        assert cell(table, "p_holm", **match) == pytest.approx(adjusted, rel=1e-12)
        assert cell(table, "n_a", **match) == 7 and cell(table, "n_b", **match) == 7


def test_per_volume_times_match_scipy_ranksums(data: ReportData) -> None:
    table = table_s7(data)
    values = {m: [_seconds(m, i, c) for i in range(len(DATASETS)) for c in range(3)] for m in (SEGVOL, BOX)}
    expected = scipy.stats.ranksums(values[SEGVOL], values[BOX])
    match = {"basis": "per-volume times", "model_a": SEGVOL, "model_b": BOX}
    assert cell(table, "p_value", **match) == pytest.approx(expected.pvalue, rel=1e-12)
    assert cell(table, "n_a", **match) == 21  # the NaN time is not a value


def test_the_papers_p_value_beside_ours(data: ReportData) -> None:
    table = table_s7(data)
    assert cell(table, "paper_p", basis="per-dataset means", model_a=BOX, model_b=MASK) == 0.1141
    assert cell(table, "paper_p", basis="per-dataset means", model_a=SEGVOL, model_b=MASK) == 0.0060
    assert cell(table, "paper_p", basis="per-volume times", model_a=BOX, model_b=MASK) is None
    assert paper_p_value("MedSAM-3DBox", SEGVOL, [{"model_a": "MedSAM", "model_b": "SegVol", "p_value": "1e-4"}]) \
        == 1e-4
    assert paper_p_value("Box-Fill", SEGVOL, []) is None
    assert "Holm's step-down correction within each family" in notes_text(table)


def test_too_few_values_leave_p_empty_with_the_reason(tmp_path: Path) -> None:
    rows = [row(m, "D1", f"c{c}", "o", seconds=1.0 + c) for m in (BOX, MASK) for c in range(3)]
    table = table_s7(report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)])))
    match = {"basis": "per-volume times", "model_a": BOX, "model_b": MASK}
    assert cell(table, "p_value", **match) != cell(table, "p_value", **match)  # NaN
    assert "the test needs at least 6 per side" in str(cell(table, "note", **match))
