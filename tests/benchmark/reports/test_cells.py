from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.reports.cells import CellStats, finite_values, mean_of_means, metric_cells
from benchmark.reports.source import read_frame
from tests.benchmark.reports.stores import failed, row, skipped


def test_cells_average_finite_ok_values_and_count_the_rest() -> None:
    frame = read_frame([row("A", "D1", "c1", "liver", 0.8), row("A", "D1", "c2", "liver", 0.6),
                        row("A", "D1", "c3", "liver", None), row("A", "D1", "c4", "liver", math.inf),
                        failed("A", "D1", "c5", "liver"), skipped("A", "D1", "c6", "liver"),
                        row("A", "D1", "c1", "kidney", 0.1), row("B", "D1", "c1", "liver", 0.3)])
    cells = metric_cells(frame, "dice", ("model", "object_name"))
    liver = cells[("A", "liver")]
    assert liver.mean == pytest.approx(0.7) and liver.n == 2
    assert (liver.n_failed, liver.n_skipped, liver.n_undefined, liver.n_infinite, liver.rows) == (1, 1, 1, 1, 6)
    assert cells[("A", "kidney")] == CellStats(mean=0.1, n=1)
    assert cells[("B", "liver")].mean == pytest.approx(0.3)
    assert metric_cells(frame, "dice", ("model",))[("A",)].n == 3


def test_a_cell_of_failures_only_has_no_mean() -> None:
    cells = metric_cells(read_frame([failed("A", "D1", "c1", "liver")]), "dice", ("model",))
    assert cells[("A",)] == CellStats(mean=None, n=0, n_failed=1)


def test_dataset_rows_are_means_of_object_means_with_counts_summed() -> None:
    merged = mean_of_means([CellStats(mean=0.9, n=10, n_failed=1), CellStats(mean=0.5, n=2),
                            CellStats(mean=None, n=0, n_skipped=3)])
    assert merged.mean == pytest.approx(0.7) and (merged.n, merged.n_failed, merged.n_skipped) == (12, 1, 3)
    assert mean_of_means([]).mean is None


def test_finite_values_per_group_in_row_order() -> None:
    frame = read_frame([row("A", "D1", "c1", "o", 0.2, seconds=3.0), row("A", "D1", "c2", "o", 0.4, seconds=math.nan),
                        row("A", "D1", "c3", "o", 0.6, seconds=math.inf), row("B", "D1", "c1", "o", 0.1)])
    values = finite_values(frame, "seconds", ("model",))
    assert values[("A",)].tolist() == [3.0] and np.array_equal(values[("B",)], [1.0])
