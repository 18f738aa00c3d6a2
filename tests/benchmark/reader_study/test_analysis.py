"""benchmark/reader_study/analysis.py on a manifest filled in here, checked against scipy called directly."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from benchmark.errors import BenchmarkError
from benchmark.reader_study.analysis import analyze_file
from benchmark.reader_study.manifest import write_manifest
from benchmark.stats import holm
from tests.benchmark.reader_study.test_manifest import fill, make_sample

RNG = np.random.default_rng(3)
N = 12
MEDSAM = RNG.uniform(20, 40, N).round(1)
SEGVOL = (MEDSAM - RNG.uniform(-2, 9, N)).round(1)
BOX = (MEDSAM - RNG.uniform(5, 15, N)).round(1)
BOX_FILLED = np.ones(N, dtype=bool)
BOX_FILLED[[2, 7]] = False  # two volumes the reader did not time with PropSAM-2DBox
MASK = np.full(N, math.nan)
MASK[:3] = [50.0, 61.5, 44.0]  # PropSAM-2DMask timed on three volumes only


def cells(values: np.ndarray) -> list[str]:
    return ["" if math.isnan(v) else f"{v:g}" for v in values]


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    path = write_manifest(tmp_path / "study.csv", make_sample(N))
    return fill(path, {"seconds_MedSAM": cells(MEDSAM), "seconds_SegVol": cells(SEGVOL),
                       "seconds_PropSAM-2DBox": cells(np.where(BOX_FILLED, BOX, math.nan)),
                       "seconds_PropSAM-2DMask": cells(MASK)})


def test_summaries_per_model(filled: Path) -> None:
    analysis = analyze_file(filled)
    assert analysis.n_volumes == N and analysis.untimed == ()
    by_model = {t.model: t.summary for t in analysis.times}
    assert list(by_model) == ["MedSAM", "SegVol", "PropSAM-2DBox", "PropSAM-2DMask"]
    q1, median, q3 = np.percentile(BOX[BOX_FILLED], [25, 50, 75])
    box = by_model["PropSAM-2DBox"]
    assert (box.n, box.n_missing) == (10, 2)
    assert (box.median, box.q1, box.q3) == pytest.approx((median, q1, q3))
    assert box.iqr == pytest.approx(q3 - q1)
    assert by_model["PropSAM-2DMask"].n == 3 and by_model["MedSAM"].median == pytest.approx(np.median(MEDSAM))


def test_paired_tests_equal_scipy_on_volumes_timed_with_both(filled: Path) -> None:
    analysis = analyze_file(filled)
    pairs = [(c.group_a, c.group_b) for c in analysis.comparisons]
    assert pairs == [("MedSAM", "SegVol"), ("MedSAM", "PropSAM-2DBox"), ("MedSAM", "PropSAM-2DMask"),
                     ("SegVol", "PropSAM-2DBox"), ("SegVol", "PropSAM-2DMask"), ("PropSAM-2DBox", "PropSAM-2DMask")]
    first, second = analysis.comparisons[0], analysis.comparisons[1]
    expected = scipy.stats.wilcoxon(MEDSAM, SEGVOL)
    assert (first.statistic, first.p_value, first.result.n_a) == (expected.statistic, expected.pvalue, N)
    expected = scipy.stats.wilcoxon(MEDSAM[BOX_FILLED], BOX[BOX_FILLED])
    assert (second.statistic, second.p_value, second.result.n_a) == (expected.statistic, expected.pvalue, 10)
    raw = [c.p_value for c in analysis.comparisons]
    assert [c.p_adjusted for c in analysis.comparisons] == pytest.approx(holm(raw), nan_ok=True)
    # three volumes timed with PropSAM-2DMask: too few for a p-value, outside the Holm family
    mask_tests = [c for c in analysis.comparisons if "PropSAM-2DMask" in (c.group_a, c.group_b)]
    assert all(math.isnan(c.p_value) and math.isnan(c.p_adjusted) and "needs at least 6" in c.result.reason
               for c in mask_tests)
    computed = [c.p_value for c in analysis.comparisons if not math.isnan(c.p_value)]
    assert analysis.comparisons[0].p_adjusted == pytest.approx(holm(computed)[0])


def test_an_empty_model_column_is_reported_not_tested(tmp_path: Path) -> None:
    path = fill(write_manifest(tmp_path / "s.csv", make_sample(N), ("A", "B", "C")),
                {"seconds_A": cells(MEDSAM), "seconds_C": cells(SEGVOL)})
    analysis = analyze_file(path)
    assert analysis.untimed == ("B",)
    (only,) = analysis.comparisons
    assert (only.group_a, only.group_b) == ("A", "C")
    assert only.p_adjusted == only.p_value == scipy.stats.wilcoxon(MEDSAM, SEGVOL).pvalue


def test_fewer_than_two_models_filled(tmp_path: Path) -> None:
    path = fill(write_manifest(tmp_path / "s.csv", make_sample(N), ("A", "B")), {"seconds_A": cells(MEDSAM)})
    with pytest.raises(BenchmarkError, match=r"times filled in for 1 model\(s\) \(A\); the analysis compares models, "
                                             r"expected at least 2 filled columns among \['seconds_A', 'seconds_B'\]"):
        analyze_file(path)
    empty = write_manifest(tmp_path / "e.csv", make_sample(N), ("A", "B"))
    with pytest.raises(BenchmarkError, match=r"for 0 model\(s\) \(none\)"):
        analyze_file(empty)


def test_reader_order_does_not_matter(filled: Path, tmp_path: Path) -> None:
    with open(filled, newline="") as handle:
        rows = list(csv.reader(handle))
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *reversed(rows[1:])])
    first, second = analyze_file(filled), analyze_file(shuffled)
    assert [c.p_value for c in first.comparisons] == pytest.approx([c.p_value for c in second.comparisons],
                                                                   nan_ok=True)
