"""Per-structure masks must be binary (benchmark/data/readers/labels.py), in every family that reads mask files: a
label map or a soft mask saved as one structure's file is an error of its case naming the file and the values, unless
the card declares soft masks with ``mask_threshold``; label maps refuse NaN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.data.dataset import load_cases, open_reader
from benchmark.data.readers.labels import integer_labels, mask_from_values
from benchmark.errors import CaseLoadError
from tests.cards import card
from tests.synthetic import blob, write_nifti

SHAPE = (12, 10, 6)


@pytest.mark.parametrize("values", [(0, 1), (0, 255), (0.0, 1.0), (1, 1), (0, 0)])
def test_binary_arrays_pass(values: tuple[float, float]) -> None:
    array = np.array([values[0], values[1], values[0]])
    np.testing.assert_array_equal(mask_from_values(array, None), array != 0)


@pytest.mark.parametrize(("array", "shown"), [
    (np.array([0, 1, 2, 3], np.uint8), "[0, 1, 2, 3]"),           # a label map 1..n
    (np.array([0.01, 0.01, 0.7, 1.0]), "[0.01, 0.7, 1]"),         # a soft mask whose background is 0.01
    (np.array([0.0, np.nan, 1.0]), "nan"),                       # NaN voxels
    (np.array([0.0, np.inf]), "inf"),
])
def test_other_arrays_are_refused_naming_the_values(array: np.ndarray, shown: str) -> None:
    with pytest.raises(CaseLoadError, match=r"mask\.nii\.gz: a per-structure mask must be binary") as info:
        mask_from_values(array, Path("mask.nii.gz"))
    assert shown in str(info.value) and "mask_threshold" in str(info.value)


def test_a_declared_soft_mask_is_thresholded() -> None:
    soft = np.array([0.01, 0.49, 0.5, 0.9])
    np.testing.assert_array_equal(mask_from_values(soft, None, 0.5), [False, False, True, True])
    with pytest.raises(CaseLoadError, match="NaN"):
        mask_from_values(np.array([np.nan, 1.0]), None, 0.5)


def test_label_maps_refuse_nan_and_fractions() -> None:
    np.testing.assert_array_equal(integer_labels(np.array([0.0, 2.0]), None), [0, 2])
    with pytest.raises(CaseLoadError, match=r"1 NaN and 1 infinite voxel"):
        integer_labels(np.array([0.0, np.nan, np.inf, 1.0]), Path("seg.nii.gz"))
    with pytest.raises(CaseLoadError, match=r"non-integer values, e\.g\. \[0\.5\]"):
        integer_labels(np.array([0.0, 0.5]), Path("seg.nii.gz"))


def test_a_nan_label_voxel_fails_its_case_instead_of_reading_as_background(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    image = np.zeros(SHAPE, np.int16)
    label = blob(SHAPE, (5, 5, 3), (3, 3, 2)).astype(np.float32)
    label[0, 0, 0] = np.nan
    write_nifti(root / "imagesTr" / "c.nii.gz", image)
    write_nifti(root / "labelsTr" / "c.nii.gz", label)

    report = load_cases(open_reader(card({"1": "organ"}, options={"dataset_json": ""}), root))

    (error,) = report.errors
    assert report.cases == () and "labelsTr/c.nii.gz" in error.message and "1 NaN" in error.message


def _lesion_label_map() -> np.ndarray:
    """One structure's file that holds a label map: lesions 1, 2 and 3."""
    array = np.zeros(SHAPE, np.uint8)
    for value, center in enumerate(((3, 3, 2), (8, 6, 3), (5, 8, 4)), start=1):
        array[blob(SHAPE, center, (1.5, 1.5, 1))] = value
    return array


def _soft() -> np.ndarray:
    return np.where(blob(SHAPE, (5, 5, 3), (3, 3, 2)), 0.9, 0.01).astype(np.float32)


def _f4(tmp_path: Path, mask: np.ndarray, **options: object):  # type: ignore[no-untyped-def]
    root = tmp_path / "ts"
    write_nifti(root / "s0001" / "ct.nii.gz", np.zeros(SHAPE, np.int16))
    write_nifti(root / "s0001" / "segmentations" / "lesion.nii.gz", mask)
    return open_reader(card({"lesion": "lesion"}, family="F4", encoding="per-file", options={"case_glob": "s*",
                                                                                           **options}), root)


def _f2(tmp_path: Path, mask: np.ndarray, **options: object):  # type: ignore[no-untyped-def]
    root = tmp_path / "folders"
    write_nifti(root / "case_1" / "image.nii.gz", np.zeros(SHAPE, np.int16))
    write_nifti(root / "case_1" / "lesion.nii.gz", mask)
    return open_reader(card({"lesion": "lesion"}, family="F2", encoding="per-file",
                            options={"channel_files": {"CT": "image.nii.gz"}, "label_file": "{key}.nii.gz",
                                     **options}), root)


@pytest.mark.parametrize("family", [_f4, _f2])
@pytest.mark.parametrize("mask", [_lesion_label_map, _soft])
def test_a_structure_file_that_is_not_binary_fails_its_case(tmp_path: Path, family, mask) -> None:  # type: ignore[no-untyped-def]
    report = load_cases(family(tmp_path, mask()))

    (error,) = report.errors
    assert report.cases == () and "lesion.nii.gz" in error.message and "must be binary" in error.message


@pytest.mark.parametrize("family", [_f4, _f2])
def test_a_card_that_declares_soft_masks_thresholds_them(tmp_path: Path, family) -> None:  # type: ignore[no-untyped-def]
    report = load_cases(family(tmp_path, _soft(), mask_threshold=0.5))

    (case,) = report.cases
    np.testing.assert_array_equal(case.mask("lesion"), blob(SHAPE, (5, 5, 3), (3, 3, 2)))
