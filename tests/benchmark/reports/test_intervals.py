from __future__ import annotations

import numpy as np
import pytest

from benchmark.reports.intervals import table_dice_intervals
from benchmark.reports.source import ReportData
from benchmark.stats import bootstrap_mean_ci
from tests.benchmark.reports.helpers import cell, notes_text
from tests.benchmark.reports.stores import report_data, row, run_record, write_store

BOX = "PropSAM-2DBox"
DICE = [0.91, 0.85, 0.62, 0.77, 0.88, 0.70, 0.93]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    rows = [row(BOX, "D1", f"c{i}", "liver" if i % 2 else "kidneys", d) for i, d in enumerate(DICE)]
    rows += [row(BOX, "D2", "c0", "adrenocortical carcinoma", 0.5, subset="test")]
    return report_data(write_store(tmp_path_factory.mktemp("ci") / "s.sqlite", [(run_record(), rows)]))


def test_intervals_are_the_seeded_bootstrap_of_the_pooled_dice(data: ReportData) -> None:
    table = table_dice_intervals(data, seed=7, resamples=2000)
    expected = bootstrap_mean_ci(DICE, seed=7, resamples=2000)
    assert cell(table, "mean", id="D1", model=BOX) == pytest.approx(np.mean(DICE))
    assert cell(table, "low", id="D1", model=BOX) == expected.low
    assert cell(table, "high", id="D1", model=BOX) == expected.high
    assert cell(table, "n", id="D1", model=BOX) == 7
    assert expected.low < np.mean(DICE) < expected.high
    # an independent percentile bootstrap of the same values gives about the same interval
    rng = np.random.default_rng(123)
    means = np.asarray(DICE)[rng.integers(0, len(DICE), size=(20000, len(DICE)))].mean(axis=1)
    assert cell(table, "low", id="D1", model=BOX) == pytest.approx(np.quantile(means, 0.025), abs=0.01)
    assert "2000 resamples" in notes_text(table) and "seed 7" in notes_text(table)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another(data: ReportData) -> None:
    first, again = table_dice_intervals(data, seed=1, resamples=500), table_dice_intervals(data, seed=1, resamples=500)
    other = table_dice_intervals(data, seed=2, resamples=500)
    assert first.rows == again.rows and first.rows != other.rows


def test_one_value_has_no_interval_and_says_why(data: ReportData) -> None:
    table = table_dice_intervals(data, resamples=100)
    assert cell(table, "low", id="D2", model=BOX) != cell(table, "low", id="D2", model=BOX)  # NaN
    assert "needs at least 2" in str(cell(table, "note", id="D2", model=BOX))
