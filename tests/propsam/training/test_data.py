"""Tests of propsam.training.data: TrainingCase validation, the NIfTI folder reader, the split."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from propsam.training import TrainingCase, read_case_folder, split_cases
from propsam.training.data import as_case_sequence
from tests.synthetic import labelled_phantom, ras_affine, write_nifti


def test_training_case_normalises_types() -> None:
    case = TrainingCase("a", np.zeros((4, 5, 6), dtype=np.int16), {"obj": np.ones((4, 5, 6), dtype=np.uint8)},
                        (1, 2, 3))  # type: ignore[arg-type]
    assert case.image.dtype == np.float32 and case.masks["obj"].dtype == bool and case.spacing == (1.0, 2.0, 3.0)


@pytest.mark.parametrize(("image", "masks", "spacing", "message"), [
    (np.zeros((4, 5)), {}, (1, 1, 1), r"'bad': image must be 3D \(X, Y, Z\), got shape \(4, 5\)"),
    (np.full((2, 2, 2), np.nan), {}, (1, 1, 1), "NaN or infinite"),
    (np.zeros((2, 2, 2)), {"obj": np.zeros((2, 2, 3))}, (1, 1, 1), "mask 'obj' has shape"),
    (np.zeros((2, 2, 2)), {}, (1, 0, 1), "spacing must be three positive mm values"),
])
def test_training_case_rejects_bad_input(image: np.ndarray, masks: dict[str, np.ndarray],
                                         spacing: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingCase("bad", image, masks, spacing)


def test_as_case_sequence() -> None:
    case = TrainingCase("a", np.zeros((2, 2, 2)), {}, (1.0, 1.0, 1.0))
    assert as_case_sequence(iter([case])) == [case]
    with pytest.raises(ValueError, match="cases_val: no training cases"):
        as_case_sequence([], argument="cases_val")
    with pytest.raises(TypeError, match=r"cases_train\[0\]: items must be TrainingCase or have attributes .* got str "
                       r"without \['case_id', 'image', 'masks', 'spacing'\]"):
        as_case_sequence(["a"], argument="cases_train")


@dataclass(frozen=True)
class _Volume:
    """A case-like item of another package (the suite's training volumes have these four attributes)."""

    case_id: str
    image: np.ndarray
    masks: dict[str, np.ndarray]
    spacing: tuple[float, float, float]


class _CountingVolumes(Sequence[_Volume]):
    """A sequence that builds its items on indexing and counts the reads."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reads = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> _Volume:  # type: ignore[override]
        if not 0 <= index < self.n:
            raise IndexError(index)
        self.reads += 1
        return _Volume(f"v{index}", np.full((2, 3, 4), index, dtype=np.int16), {"obj": np.ones((2, 3, 4))}, (1, 2, 3))


def test_as_case_sequence_wraps_case_like_items_lazily() -> None:
    volumes = _CountingVolumes(3)
    view = as_case_sequence(volumes, argument="cases_train")
    assert len(view) == 3 and volumes.reads == 1  # only the first item is checked up front
    case = view[2]
    assert isinstance(case, TrainingCase) and case.case_id == "v2" and volumes.reads == 2
    assert case.image.dtype == np.float32 and case.masks["obj"].dtype == bool and case.spacing == (1.0, 2.0, 3.0)
    assert [c.case_id for c in view[1:]] == ["v1", "v2"]
    assert [c.case_id for c in view] == ["v0", "v1", "v2"]


def test_as_case_sequence_reports_a_bad_item_on_access() -> None:
    good = _Volume("a", np.zeros((2, 2, 2)), {}, (1.0, 1.0, 1.0))
    view = as_case_sequence([good, object()], argument="cases_val")
    with pytest.raises(TypeError, match=r"cases_val\[1\]: items must be TrainingCase .* got object"):
        view[1]
    bad = _Volume("b", np.zeros((2, 2)), {}, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="'b': image must be 3D"):
        as_case_sequence([bad])


def _write_folder(root: Path, n: int = 2) -> Path:
    for i in range(n):
        image, label = labelled_phantom(seed=i)
        affine = ras_affine((1.5, 1.0, 3.0))
        # Store the first case flipped along x (LAS): the reader must bring it back to RAS.
        if i == 0:
            image, label = image[::-1], label[::-1]
            affine = affine @ np.array([[-1, 0, 0, image.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        write_nifti(root / "images" / f"case{i}.nii.gz", image, affine)
        write_nifti(root / "labels" / f"case{i}.nii.gz", label, affine)
    return root


def test_read_case_folder_reorients_and_names_objects(tmp_path: Path) -> None:
    root = _write_folder(tmp_path)
    (root / "labels.json").write_text(json.dumps({"1": "big", "2": "small"}))
    cases = read_case_folder(root)
    assert [c.case_id for c in cases] == ["case0", "case1"]
    image, label = labelled_phantom(seed=0)
    np.testing.assert_array_equal(cases[0].image, image.astype(np.float32))  # back on the RAS grid
    np.testing.assert_array_equal(cases[0].masks["big"], label == 1)
    assert set(cases[1].masks) == {"big", "small"} and cases[0].spacing == pytest.approx((1.5, 1.0, 3.0))


def test_read_case_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="expected sub-folders images/ and labels/"):
        read_case_folder(tmp_path)
    root = _write_folder(tmp_path / "d")
    (root / "labels" / "case1.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match="image case1.nii.gz has no label file"):
        read_case_folder(root)
    write_nifti(root / "labels" / "case1.nii.gz", np.zeros((3, 3, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"case1.nii.gz: label grid \(3, 3, 3\) does not match"):
        read_case_folder(root)


def test_split_cases_is_seeded_80_20() -> None:
    cases = [TrainingCase(str(i), np.zeros((2, 2, 2)), {}, (1.0, 1.0, 1.0)) for i in range(10)]
    train, val = split_cases(cases, 0.2, seed=3)
    assert len(train) == 8 and len(val) == 2 and not {c.case_id for c in train} & {c.case_id for c in val}
    assert [c.case_id for c in split_cases(cases, 0.2, seed=3)[1]] == [c.case_id for c in val]
    assert len(split_cases(cases[:2], 0.2)[1]) == 1
    with pytest.raises(ValueError, match="val_fraction must be in"):
        split_cases(cases, 1.0)
