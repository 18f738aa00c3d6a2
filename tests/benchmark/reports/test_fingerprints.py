"""Table S4 (benchmark/reports/fingerprints.py): the notes say what a run lost and how intensities were pooled."""

from __future__ import annotations

import numpy as np

from benchmark.errors import CaseError
from benchmark.fingerprint.case import CaseFingerprint, ChannelIntensity, ObjectStats
from benchmark.fingerprint.summary import summarize
from benchmark.reports.fingerprints import table_s4
from tests.cards import card


def _case(case_id: str, channel: ChannelIntensity) -> CaseFingerprint:
    liver = ObjectStats(name="liver", voxels=4, volume_mm3=4.0, axial_extent_mm=1.0, slice_areas={})
    return CaseFingerprint(dataset_id="U1", case_id=case_id, shape=(4, 4, 4), spacing=(1.0, 1.0, 1.0), n_channels=1,
                           full=True, objects=(liver,), intensities=(channel,))


def test_notes_count_exclusions_non_finite_voxels_and_estimates() -> None:
    abdomen = card({"1": "liver"}, dataset_id="U1", name="AbdomenCT-1K")
    nan_case = ChannelIntensity(channel="CT", n_foreground=4, n_nonfinite=3, n_nonfinite_foreground=1, mean=1.0,
                                std=0.0, p00_5=1.0, p99_5=1.0, values=(1,), counts=(4,))
    float_case = ChannelIntensity(channel="CT", n_foreground=4, mean=0.5, std=0.1, p00_5=0.4, p99_5=0.6,
                                  samples=tuple(np.linspace(0.4, 0.6, 10).tolist()))
    errors = [CaseError(dataset_id="U1", case_id="c", path=None, message="broken"),
              CaseError(dataset_id="U1", case_id="", path=None, message="dataset.json entry 3 is 5")]
    fp = summarize(abdomen, [_case("a", nan_case), _case("b", float_case)], errors)

    table = table_s4([(abdomen, fp)])

    notes = " ".join(table.notes)
    assert "U1: 1 of 3 case(s) failed to load" in notes and "U1: 1 error(s) concern no single case" in notes
    assert "U1: 1 case(s) hold NaN or infinite image voxels (3 in all; a)" in notes
    assert "U1: intensity percentiles of channel(s) CT are estimated" in notes
    assert "2000 voxels per case drawn with replacement" in notes
    assert table.rows[0][table.columns.index("excluded_cases")] == 1
