"""The demo tuning split: a seeded hold-out of the training cases, disjoint from the fitting cases."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.training.tuning import tuning_split
from benchmark.training.volumes import TrainingVolume


def _cases(n: int) -> list[TrainingVolume]:
    return [TrainingVolume(f"D/c{k}", np.zeros((2, 2, 2), np.float32), {}, (1.0, 1.0, 1.0)) for k in range(n)]


def test_hold_out_is_seeded_disjoint_and_complete() -> None:
    cases = _cases(30)
    split = tuning_split(cases, 0.25, seed=0)
    fit, tune = [c.case_id for c in split.fit], [c.case_id for c in split.tune]
    assert len(tune) == 8 and len(fit) == 22 and not set(fit) & set(tune)
    assert sorted(fit + tune) == sorted(c.case_id for c in cases)
    assert [c.case_id for c in tuning_split(cases, 0.25, seed=0).tune] == tune
    assert [c.case_id for c in tuning_split(cases, 0.25, seed=1).tune] != tune
    assert tune != [c.case_id for c in cases[:8]]  # drawn, not the first cases


def test_bad_hold_out() -> None:
    with pytest.raises(ValueError, match="tuning fraction must be in"):
        tuning_split(_cases(4), 1.0, seed=0)
    with pytest.raises(ValueError, match="at least 2 training cases, got 1"):
        tuning_split(_cases(1), 0.5, seed=0)
    assert len(tuning_split(_cases(2), 0.9, seed=0).fit) == 1  # one case always trains
