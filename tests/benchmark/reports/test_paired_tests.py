from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

from benchmark.reports.paired_tests import paired_values, table_paired_dice
from benchmark.reports.source import ReportData, read_frame
from tests.benchmark.reports.helpers import cell, notes_text
from tests.benchmark.reports.stores import failed, report_data, row, run_record, write_store

BOX, MASK, FILL = "PropSAM-2DBox", "PropSAM-2DMask", "Box-Fill"
CASES = 9


def _dice(model: str, case: int) -> float:
    offset = {BOX: 0.0, MASK: 0.03, FILL: -0.2}[model]
    return round(0.6 + offset + ((case * 37) % 11) / 40 + (case % 3) * 0.013 * (model == MASK), 4)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    rows = [row(m, "D1", f"c{c}", "liver", _dice(m, c)) for m in (BOX, MASK, FILL) for c in range(CASES)
            if not (m == FILL and c == 0)]
    rows += [failed(FILL, "D1", "c0", "liver"), row(BOX, "D2", "c0", "adrenocortical carcinoma", 0.5, subset="test")]
    return report_data(write_store(tmp_path_factory.mktemp("paired") / "s.sqlite", [(run_record(), rows)]))


def test_signed_rank_p_values_match_scipy_on_the_same_pairs_and_holm(data: ReportData) -> None:
    table = table_paired_dice(data)
    pairs = [(BOX, MASK), (BOX, FILL), (MASK, FILL)]
    expected = []
    for a, b in pairs:
        cases = [c for c in range(CASES) if not (FILL in (a, b) and c == 0)]  # Box-Fill failed on c0: no pair
        x, y = np.array([_dice(a, c) for c in cases]), np.array([_dice(b, c) for c in cases])
        keep = x != y
        expected.append(scipy.stats.wilcoxon(x[keep], y[keep]).pvalue)
        match = {"id": "D1", "model_a": a, "model_b": b}
        assert cell(table, "n_pairs", **match) == len(cases)
        assert cell(table, "mean_diff", **match) == pytest.approx(float(np.mean(x - y)))
    adjusted = multipletests(expected, method="holm")[1]
    for (a, b), p, q in zip(pairs, expected, adjusted, strict=True):
        assert cell(table, "p_value", id="D1", model_a=a, model_b=b) == pytest.approx(p, rel=1e-12)
        assert cell(table, "p_holm", id="D1", model_a=a, model_b=b) == pytest.approx(q, rel=1e-12)


def test_datasets_with_one_model_are_named_not_tested(data: ReportData) -> None:
    table = table_paired_dice(data)
    assert set(table.column("id")) == {"D1"}
    assert "fewer than two models holding a Dice (no pair to test): D2." in notes_text(table)


def test_paired_values_align_objects_and_leave_nan_for_missing() -> None:
    frame = read_frame([row(BOX, "D1", "c0", "liver", 0.5), row(BOX, "D1", "c1", "liver", 0.6),
                        row(MASK, "D1", "c1", "liver", 0.7), row(MASK, "D1", "c2", "liver", None),
                        failed(MASK, "D1", "c0", "liver")])
    values = paired_values(frame, "D1", [BOX, MASK])
    assert values[BOX][:2] == [0.5, 0.6] and math.isnan(values[BOX][2])  # c2: an undefined Dice of the other
    assert values[MASK][1] == 0.7 and math.isnan(values[MASK][0]) and math.isnan(values[MASK][2])
