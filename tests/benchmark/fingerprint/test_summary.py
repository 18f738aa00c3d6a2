from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.errors import CaseError
from benchmark.fingerprint.case import INTENSITY_SAMPLES, CaseFingerprint, ChannelIntensity, ObjectStats
from benchmark.fingerprint.histograms import histogram
from benchmark.fingerprint.summary import EXACT, summarize
from tests.cards import card


def _exact(values: np.ndarray) -> ChannelIntensity:
    found, counts = histogram(values)
    return ChannelIntensity(channel="CT", n_foreground=int(values.size), mean=float(values.mean()),
                            std=float(values.std()), p00_5=0.0, p99_5=0.0, values=tuple(int(v) for v in found),
                            counts=tuple(int(c) for c in counts))


def _fp(case_id: str, shape: tuple[int, int, int], spacing: tuple[float, float, float], liver: int,
        channel: ChannelIntensity | None = None) -> CaseFingerprint:
    objects = (ObjectStats(name="liver", voxels=liver, volume_mm3=liver * 2.0,
                           axial_extent_mm=10.0 if liver else 0.0, slice_areas={}),
               ObjectStats(name="spleen", voxels=0, volume_mm3=0.0, axial_extent_mm=0.0, slice_areas={}))
    channel = channel if channel is not None else _exact(np.full(4, liver, np.int16))
    return CaseFingerprint(dataset_id="T1", case_id=case_id, shape=shape, spacing=spacing, n_channels=1, full=True,
                           objects=objects, intensities=(channel,))


def test_summary_by_hand() -> None:
    cases = [_fp("a", (10, 10, 5), (1.0, 1.0, 4.0), 3), _fp("b", (20, 10, 10), (1.0, 1.0, 2.0), 5),
             _fp("c", (10, 10, 10), (0.5, 0.5, 1.0), 0)]
    error = CaseError(dataset_id="T1", case_id="d", path=None, message="broken")
    fp = summarize(card({"1": "liver", "2": "spleen"}), cases, [error])
    # voxels 500, 2000, 1000 -> median 1000, q1 750, q3 1500 (linear interpolation)
    assert (fp.voxels.median, fp.voxels.q1, fp.voxels.q3) == (1000, 750, 1500)
    # size anisotropy 0.5, 0.5, 1.0; spacing anisotropy 0.25, 0.5, 0.5
    assert fp.size_anisotropy.median == 0.5 and fp.spacing_anisotropy.median == 0.5
    assert fp.spacing[2].median == 2.0
    assert fp.n_scans == 3 and fp.n_excluded == 1 and fp.n_problems == 0 and fp.n_cases == 4
    assert fp.object_types == 1 and fp.absent_objects == ("spleen",)
    liver = fp.objects[0]
    assert liver.n_present == 2 and liver.volume_mm3.median == pytest.approx(8.0)
    assert fp.intensities[0].mean == pytest.approx((3 * 4 + 5 * 4 + 0) / 12)


def test_pooled_integer_statistics_are_exact() -> None:
    # Three cases of very different sizes: the pooled figures are those of all their voxels together, bit for bit
    # for the percentiles, whereas 2,000 samples per case would weigh the small case like the large one.
    rng = np.random.default_rng(0)
    parts = [rng.integers(-1000, 1500, 50_000).astype(np.int16), rng.integers(0, 80, 300).astype(np.int16),
             np.concatenate([rng.normal(40, 30, 20_000), [3071.0] * 500]).round().astype(np.int16)]
    cases = [_fp(f"c{k}", (10, 10, 10), (1.0, 1.0, 1.0), 1, _exact(v)) for k, v in enumerate(parts)]

    (channel,) = summarize(card({"1": "liver", "2": "spleen"}), cases, []).intensities

    pooled = np.concatenate(parts).astype(np.float64)
    assert channel.method == EXACT and channel.n_voxels == pooled.size
    assert channel.p00_5 == np.percentile(pooled, 0.5) and channel.p99_5 == np.percentile(pooled, 99.5)
    assert channel.mean == pytest.approx(pooled.mean(), rel=1e-12) and channel.std == pytest.approx(pooled.std())


def test_pooled_float_statistics_say_they_are_estimated() -> None:
    rng = np.random.default_rng(1)
    big, small = rng.normal(2.0, 1.0, 40_000), rng.normal(8.0, 0.5, 400)
    cases = []
    for case_id, values in (("big", big), ("small", small)):
        picked = rng.choice(values, INTENSITY_SAMPLES, replace=True)
        channel = ChannelIntensity(channel="CT", n_foreground=values.size, mean=float(values.mean()),
                                   std=float(values.std()), p00_5=float(np.percentile(values, 0.5)),
                                   p99_5=float(np.percentile(values, 99.5)), samples=tuple(picked))
        cases.append(_fp(case_id, (10, 10, 10), (1.0, 1.0, 1.0), 1, channel))

    (channel,) = summarize(card({"1": "liver", "2": "spleen"}), cases, []).intensities

    pooled = np.concatenate([big, small])
    assert channel.method != EXACT and f"{INTENSITY_SAMPLES} foreground voxels per case" in channel.method
    assert channel.mean == pytest.approx(pooled.mean()) and channel.std == pytest.approx(pooled.std())
    # Samples are weighted by case size: the estimate targets the pooled percentile, not one that counts the
    # 400-voxel case as much as the 40,000-voxel one (which would put p99.5 near 9).
    assert channel.p99_5 == pytest.approx(np.percentile(pooled, 99.5), abs=0.5)


def test_non_finite_voxels_are_listed_per_case() -> None:
    channel = ChannelIntensity(channel="CT", n_foreground=4, n_nonfinite=7, n_nonfinite_foreground=2, mean=1.0,
                               std=0.0, p00_5=1.0, p99_5=1.0, values=(1,), counts=(4,))
    fp = summarize(card({"1": "liver", "2": "spleen"}), [_fp("a", (4, 4, 4), (1.0, 1.0, 1.0), 4, channel),
                                                        _fp("b", (4, 4, 4), (1.0, 1.0, 1.0), 4)], [])
    (bad,) = fp.nonfinite
    assert (bad.case_id, bad.channel, bad.voxels, bad.foreground) == ("a", "CT", 7, 2)
    assert fp.intensities[0].n_nonfinite == 7 and fp.intensities[0].n_voxels == 8


def test_excluded_counts_each_failed_case_once_and_errors_without_a_case_apart() -> None:
    # A case with two errors is one excluded case; a malformed dataset.json entry names no case and is no case; an
    # error about a case that was read after all does not make it excluded.
    errors = [CaseError(dataset_id="T1", case_id="d", path=None, message="duplicate image"),
              CaseError(dataset_id="T1", case_id="d", path=None, message="label without image"),
              CaseError(dataset_id="T1", case_id="", path=None, message="dataset.json training[3] is 5"),
              CaseError(dataset_id="T1", case_id="a", path=None, message="stale")]
    fp = summarize(card({"1": "liver", "2": "spleen"}), [_fp("a", (4, 4, 4), (1.0, 1.0, 1.0), 4)], errors)
    assert fp.n_scans == 1 and fp.n_excluded == 1 and fp.n_problems == 1 and fp.n_cases == 2


def test_empty_dataset_gives_nan_not_crash() -> None:
    fp = summarize(card({"1": "liver"}), [], [CaseError(dataset_id="T1", case_id="a", path=None, message="x")])
    assert fp.n_scans == 0 and math.isnan(fp.voxels.median) and fp.object_types == 1
