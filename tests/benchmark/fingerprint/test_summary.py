from __future__ import annotations

import math

import pytest

from benchmark.errors import CaseError
from benchmark.fingerprint.case import CaseFingerprint, ChannelIntensity, ObjectStats
from benchmark.fingerprint.summary import summarize
from tests.cards import card


def _fp(case_id: str, shape: tuple[int, int, int], spacing: tuple[float, float, float], liver: int) -> CaseFingerprint:
    objects = (ObjectStats(name="liver", voxels=liver, volume_mm3=liver * 2.0,
                           axial_extent_mm=10.0 if liver else 0.0, slice_areas={}),
               ObjectStats(name="spleen", voxels=0, volume_mm3=0.0, axial_extent_mm=0.0, slice_areas={}))
    channel = ChannelIntensity(channel="CT", n_foreground=4, mean=1.0, std=0.0, p00_5=1.0, p99_5=1.0,
                               samples=(float(liver),) * 4)
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
    assert fp.n_scans == 3 and fp.n_excluded == 1
    assert fp.object_types == 1 and fp.absent_objects == ("spleen",)
    liver = fp.objects[0]
    assert liver.n_present == 2 and liver.volume_mm3.median == pytest.approx(8.0)
    assert fp.intensities[0].mean == pytest.approx((3 * 4 + 5 * 4 + 0) / 12)


def test_empty_dataset_gives_nan_not_crash() -> None:
    fp = summarize(card({"1": "liver"}), [], [CaseError(dataset_id="T1", case_id="a", path=None, message="x")])
    assert fp.n_scans == 0 and math.isnan(fp.voxels.median) and fp.object_types == 1
