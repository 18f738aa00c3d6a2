from __future__ import annotations

import math

import pytest

from benchmark.errors import CaseError
from benchmark.fingerprint.case import CaseFingerprint, ChannelIntensity, ObjectStats
from benchmark.fingerprint.summary import summarize
from tests.cards import card


def _fp(case_id: str, shape: tuple[int, int, int], spacing: tuple[float, float, float], liver: int) -> CaseFingerprint:
    objects = (ObjectStats("liver", liver, liver * 2.0, 10.0 if liver else 0.0, {}),
               ObjectStats("spleen", 0, 0.0, 0.0, {}))
    channel = ChannelIntensity("CT", 4, 1.0, 0.0, 1.0, 1.0, (float(liver),) * 4)
    return CaseFingerprint("T1", case_id, shape, spacing, 1, True, objects, (channel,))


def test_summary_by_hand() -> None:
    cases = [_fp("a", (10, 10, 5), (1.0, 1.0, 4.0), 3), _fp("b", (20, 10, 10), (1.0, 1.0, 2.0), 5),
             _fp("c", (10, 10, 10), (0.5, 0.5, 1.0), 0)]
    error = CaseError("T1", "d", None, "broken")
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
    fp = summarize(card({"1": "liver"}), [], [CaseError("T1", "a", None, "x")])
    assert fp.n_scans == 0 and math.isnan(fp.voxels.median) and fp.object_types == 1
