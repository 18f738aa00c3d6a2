from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.dataset import open_reader
from benchmark.data.geometry import Plane
from benchmark.errors import CaseError
from benchmark.protocol.object_prompts import ProtocolOptions
from benchmark.runner.model_check import CheckRow, check_model, cross_section_change, summarize
from benchmark.splits import Subset
from tests.cards import card
from tests.synthetic import labelled_phantom, write_nifti


def test_cross_section_change_by_hand() -> None:
    # A prism (same square on 4 slices) does not change; guide 2 x 2 against 2 x 2 and 4 x 4 squares does.
    prism = np.zeros((6, 6, 6), bool)
    prism[1:3, 1:3, 1:5] = True
    assert cross_section_change(prism, Plane.AXIAL, 2) == pytest.approx(0.0)
    grow = prism.copy()
    grow[1:5, 1:5, 4] = True  # last slice 4 x 4: 2D Dice with the 2 x 2 guide = 2*4/(4+16) = 0.4
    assert cross_section_change(grow, Plane.AXIAL, 2) == pytest.approx(1 - (1 + 1 + 1 + 0.4) / 4)


def test_naive_model_matches_its_own_baseline(tmp_path: Path) -> None:
    for k in range(6):
        image, label = labelled_phantom((20, 18, 10), seed=k)
        write_nifti(tmp_path / "imagesTr" / f"c{k}.nii.gz", image)
        write_nifti(tmp_path / "labelsTr" / f"c{k}.nii.gz", label)
    reader = open_reader(card({"1": "liver", "2": "spleen"}), tmp_path)
    # Phantom objects are small: the protocol's 100-pixel rule is lowered to keep them.
    rows, errors = check_model("Naive-Propagation", None, [reader], subset=Subset.TRAIN,
                               options=ProtocolOptions(min_area=5))
    assert not errors and rows and all(r.dice == r.naive_dice for r in rows)
    assert {r.object for r in rows} == {"liver", "spleen"}
    boxes, errors = check_model("Box-Fill", None, [reader], subset=Subset.TRAIN, options=ProtocolOptions(min_area=5))
    assert not errors and len(boxes) == len(rows) and all(b.dice < r.dice for b, r in zip(boxes, rows, strict=True))


def test_skipped_objects_are_reported(tmp_path: Path) -> None:
    image, label = labelled_phantom((20, 18, 10))
    write_nifti(tmp_path / "imagesTr" / "c0.nii.gz", image)
    write_nifti(tmp_path / "labelsTr" / "c0.nii.gz", label)
    reader = open_reader(card({"1": "liver", "2": "spleen"}), tmp_path)
    rows, errors = check_model("Box-Fill", None, [reader], subset=Subset.TRAIN)  # one case: training
    assert rows == () and len(errors) == 4 and "more than 100" in errors[0].message


def _row(case: str, dice: float, naive: float, change: float) -> CheckRow:
    return CheckRow(dataset_id="T", case_id=case, object="x", slice_index=0, dice=dice, naive_dice=naive,
                    cross_section_change=change, seconds=0.1)


def test_summary_skips_nan_and_counts_changing_objects() -> None:
    rows = [_row("a", 0.9, 0.5, 0.3), _row("b", math.nan, 0.7, 0.1), _row("c", 0.7, 0.9, 0.0)]
    summary = summarize("M", rows, [CaseError(dataset_id="T", case_id="d", path=None, message="bad")])
    assert summary.mean_dice == pytest.approx(0.8) and summary.mean_naive_dice == pytest.approx(0.7)
    assert summary.n_changing == 1 and summary.changing_mean_dice == pytest.approx(0.9) and summary.n_errors == 1
