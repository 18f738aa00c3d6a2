"""Tests of layout family F3 (BIDS) on tiny ATLAS R2.0 and ISLES 2022 trees built in their native layouts."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import load_cases
from benchmark.data.readers.bids import BidsReader, parse_bids_name
from benchmark.errors import CardError, GeometryMismatchError, LayoutError
from tests.cards import card
from tests.synthetic import TOTALSEG_EXAMPLE, labelled_phantom, write_nifti

SHAPE = (8, 6, 4)  # (X, Y, Z) of every synthetic volume
LPS = np.array([[-1.0, 0, 0, 7.0], [0, -1.0, 0, 5.0], [0, 0, 2.0, 0.0], [0, 0, 0, 1]])
MNI = "space-MNI152NLin2009aSym"
ATLAS = {"image_glob": "Training/*/sub-*/**/*.nii.gz", "label_glob": "Training/*/sub-*/**/*.nii.gz",
         "channel_entities": {"T1w": {"suffix": "T1w", "space": "MNI152NLin2009aSym"}},
         "label_entities": {"suffix": "mask", "label": "L", "desc": "T1lesion"}}
ISLES = {"image_glob": "rawdata/sub-*/**/*.nii.gz", "label_glob": "derivatives/sub-*/**/*.nii.gz",
         "channel_entities": {"DWI": {"suffix": "dwi"}, "ADC": {"suffix": "adc"}},
         "label_entities": {"suffix": "msk"}}


def _card(tmp_path: Path, options: Mapping[str, Any], *, channels: Sequence[str], encoding: str = "label-map",
          objects: Mapping[str, str] | None = None) -> DatasetCard:
    return card(objects or {"1": "stroke lesion"}, family="F3", options=options, channels=channels, dataset_id="T3",
                name="test set", modality="MR", encoding=encoding, path=tmp_path / "T3.toml")


def _atlas_reader(tmp_path: Path, root: Path) -> BidsReader:
    return BidsReader(_card(tmp_path, ATLAS, channels=("T1w",)), root)


def _isles_reader(tmp_path: Path, root: Path) -> BidsReader:
    return BidsReader(_card(tmp_path, ISLES, channels=("DWI", "ADC")), root)


def _atlas_subject(root: Path, cohort: str, subject: str, *, seed: int = 0, mask: bool = True,
                   affine: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    image, label = labelled_phantom(SHAPE, seed=seed)
    lesion = (label == 1).astype(np.uint8)
    anat = root / cohort / f"sub-{subject}" / "ses-1" / "anat"
    write_nifti(anat / f"sub-{subject}_ses-1_{MNI}_T1w.nii.gz", image, affine)
    if mask:
        write_nifti(anat / f"sub-{subject}_ses-1_{MNI}_label-L_desc-T1lesion_mask.nii.gz", lesion, affine)
    return image, lesion


def _atlas(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    cases = {"sub-r001s001_ses-1": _atlas_subject(root / "Training", "R001", "r001s001"),
             "sub-r001s002_ses-1": _atlas_subject(root / "Training", "R001", "r001s002", seed=1, affine=LPS),
             "sub-r002s001_ses-1": _atlas_subject(root / "Training", "R002", "r002s001", seed=2)}
    _atlas_subject(root / "Testing", "R003", "r003s001", mask=False)  # no public masks: not a case
    (root / "20220425_ATLAS_2.0_MetaData.xlsx").write_bytes(b"PK")
    write_nifti(root / "MNI152NLin2009aSym.nii.gz", np.zeros(SHAPE, np.int16))
    (root / "Training" / "R001" / "sub-r001s001" / "ses-1" / "anat" / "._sub-r001s001_ses-1_T1w.nii.gz").write_bytes(
        b"\x00\x05\x16\x07")
    return cases


def _isles_subject(root: Path, number: int, *, dwi: bool = True, adc: bool = True, mask: bool = True,
                   mask_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    image, label = labelled_phantom(SHAPE, seed=number)
    sub = f"sub-strokecase{number:04d}"
    session = root / "rawdata" / sub / "ses-0001"
    if dwi:
        write_nifti(session / "dwi" / f"{sub}_ses-0001_dwi.nii.gz", image)
    if adc:
        write_nifti(session / "dwi" / f"{sub}_ses-0001_adc.nii.gz", -image)
    write_nifti(session / "anat" / f"{sub}_ses-0001_FLAIR.nii.gz", np.zeros((5, 5, 5), np.int16))  # other grid
    lesion = (label == 1).astype(np.uint8) if mask_values is None else mask_values
    if mask:
        write_nifti(root / "derivatives" / sub / "ses-0001" / f"{sub}_ses-0001_msk.nii.gz", lesion)
        (root / "derivatives" / sub / "ses-0001" / f"{sub}_ses-0001_snp.png").write_bytes(b"\x89PNG")
    return image, lesion


def test_parse_bids_name_splits_entities_suffix_and_extension() -> None:
    name = parse_bids_name(f"sub-r001s001_ses-1_{MNI}_label-L_desc-T1lesion_mask.nii.gz")

    assert dict(name.entities) == {"sub": "r001s001", "ses": "1", "space": "MNI152NLin2009aSym", "label": "L",
                                   "desc": "T1lesion"}
    assert name.suffix == "mask" and name.extension == ".nii.gz"
    assert name.matches({"suffix": "mask", "space": "MNI*"})
    assert not name.matches({"suffix": "mask", "run": "1"})  # an absent entity never matches
    assert parse_bids_name("sub-strokecase0001_ses-0001_dwi.nii.gz").suffix == "dwi"


@pytest.mark.parametrize("name", ["dataset_description.json", "T1w.nii.gz", "sub-01_ses-1_sub-02_T1w.nii.gz",
                                  "sub-01_bad_T1w.nii.gz", "sub-01_ses-1_.nii.gz", "sub-0_1_T1w.nii.gz"])
def test_parse_bids_name_refuses_names_that_are_not_bids(name: str) -> None:
    with pytest.raises(ValueError, match="BIDS"):
        parse_bids_name(name)


def test_atlas_training_subjects_are_cases_and_testing_is_left_out(tmp_path: Path) -> None:
    root = tmp_path / "ATLAS_2"
    cases = _atlas(root)
    reader = _atlas_reader(tmp_path, root)

    report = load_cases(reader)

    assert report.errors == ()
    assert [c.case_id for c in report.cases] == sorted(cases)
    for case in report.cases:
        image, lesion = cases[case.case_id]
        lps = case.case_id == "sub-r001s002_ses-1"
        expected_image, expected_mask = (image[::-1, ::-1, :], lesion[::-1, ::-1, :]) if lps else (image, lesion)
        assert case.channel_names == ("T1w",)
        np.testing.assert_array_equal(case.image[0], expected_image)
        np.testing.assert_array_equal(case.mask("stroke lesion"), expected_mask == 1)
    assert dict(report.cases[0].entry.meta) == {"sub": "r001s001", "ses": "1"}


def test_isles_reads_dwi_and_adc_in_card_order_and_masks_from_derivatives(tmp_path: Path) -> None:
    root = tmp_path / "ISLES-2022"
    image, lesion = _isles_subject(root, 1)
    _isles_subject(root, 2)
    (root / "dataset_description.json").write_text("{}")
    reader = _isles_reader(tmp_path, root)

    report = load_cases(reader)

    assert report.errors == ()  # FLAIR is on another grid but is not a channel
    assert [c.case_id for c in report.cases] == ["sub-strokecase0001_ses-0001", "sub-strokecase0002_ses-0001"]
    case = report.cases[0]
    np.testing.assert_array_equal(case.image, np.stack([image, -image]))
    np.testing.assert_array_equal(case.mask("stroke lesion"), lesion == 1)
    assert case.entry.label_files[0].parent == root / "derivatives" / "sub-strokecase0001" / "ses-0001"


def test_channel_without_selector_matches_its_name_as_suffix(tmp_path: Path) -> None:
    root = tmp_path / "ISLES-2022"
    _isles_subject(root, 1)
    options = {**ISLES, "channel_entities": {"DWI": {"suffix": "dwi"}}}  # "adc" is matched by the channel name

    found = BidsReader(_card(tmp_path, options, channels=("DWI", "adc")), root).discover()

    assert [p.name for p in found.entries[0].image_files] == ["sub-strokecase0001_ses-0001_dwi.nii.gz",
                                                             "sub-strokecase0001_ses-0001_adc.nii.gz"]


# ------------------------------------------------------------------------------------------------- bad inputs
def test_missing_dataset_folder_raises_layout_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="ISLES-missing"):
        _isles_reader(tmp_path, tmp_path / "ISLES-missing")


def test_tree_without_bids_files_is_one_error_naming_the_globs(tmp_path: Path) -> None:
    (tmp_path / "empty" / "rawdata").mkdir(parents=True)

    found = _isles_reader(tmp_path, tmp_path / "empty").discover()

    assert found.entries == () and "rawdata/sub-*/**/*.nii.gz" in found.errors[0].message


def test_unpaired_files_are_case_errors_and_the_rest_go_on(tmp_path: Path) -> None:
    root = tmp_path / "ISLES-2022"
    _isles_subject(root, 1)
    _isles_subject(root, 2, mask=False)  # image without label
    _isles_subject(root, 3, dwi=False, adc=False)  # label without image
    _isles_subject(root, 4, adc=False)  # one channel missing

    found = _isles_reader(tmp_path, root).discover()

    assert [e.case_id for e in found.entries] == ["sub-strokecase0001_ses-0001"]
    errors = {e.case_id: e for e in found.errors}
    assert "image without label" in errors["sub-strokecase0002_ses-0001"].message
    assert "'msk'" in errors["sub-strokecase0002_ses-0001"].message
    assert "label without image" in errors["sub-strokecase0003_ses-0001"].message
    assert errors["sub-strokecase0003_ses-0001"].path is not None
    assert errors["sub-strokecase0003_ses-0001"].path.name == "sub-strokecase0003_ses-0001_msk.nii.gz"
    assert "['ADC']" in errors["sub-strokecase0004_ses-0001"].message


def test_several_files_for_one_channel_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "ATLAS_2"
    _atlas_subject(root / "Training", "R001", "r001s001")
    anat = root / "Training" / "R001" / "sub-r001s001" / "ses-1" / "anat"
    write_nifti(anat / "sub-r001s001_ses-1_T1w.nii.gz", np.zeros(SHAPE, np.int16))  # native space as well
    options = {**ATLAS, "channel_entities": {"T1w": {"suffix": "T1w"}}}

    found = BidsReader(_card(tmp_path, options, channels=("T1w",)), root).discover()

    assert found.entries == () and "several files match one role" in found.errors[0].message
    assert "sub-r001s001_ses-1_T1w.nii.gz" in found.errors[0].message


def test_label_values_not_on_the_card_fail_that_case_only(tmp_path: Path) -> None:
    root = tmp_path / "ISLES-2022"
    _isles_subject(root, 1)
    _isles_subject(root, 2, mask_values=np.full(SHAPE, 2, np.uint8))

    report = load_cases(_isles_reader(tmp_path, root))

    assert [c.case_id for c in report.cases] == ["sub-strokecase0001_ses-0001"]
    assert "[2]" in report.errors[0].message and "sub-strokecase0002_ses-0001_msk.nii.gz" in report.errors[0].message


def test_mask_on_another_grid_raises_geometry_mismatch_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "ISLES-2022"
    _isles_subject(root, 1, mask_values=np.zeros((8, 6, 5), np.uint8))
    reader = _isles_reader(tmp_path, root)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError, match="_msk.nii.gz"):
        case.mask("stroke lesion")


def test_channels_on_different_grids_raise_geometry_mismatch(tmp_path: Path) -> None:
    root = tmp_path / "ISLES-2022"
    _isles_subject(root, 1)
    options = {**ISLES, "channel_entities": {"DWI": {"suffix": "dwi"}, "ADC": {"suffix": "FLAIR"}}}
    reader = BidsReader(_card(tmp_path, options, channels=("DWI", "ADC")), root)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError, match="_FLAIR.nii.gz"):
        _ = case.image


@pytest.mark.parametrize("suffix", ["dwi", "msk"])
def test_truncated_nifti_gz_fails_that_case_only(tmp_path: Path, suffix: str) -> None:
    root = tmp_path / "ISLES-2022"
    _isles_subject(root, 1)
    _isles_subject(root, 2)
    path = next(root.glob(f"**/sub-strokecase0001_ses-0001_{suffix}.nii.gz"))
    write_nifti(path, np.random.default_rng(0).integers(0, 2, SHAPE).astype(np.int16))
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])

    report = load_cases(_isles_reader(tmp_path, root))

    assert [c.case_id for c in report.cases] == ["sub-strokecase0002_ses-0001"]
    assert "truncated" in report.errors[0].message and path.name in report.errors[0].message


@pytest.mark.parametrize(("options", "card", "match"), [
    ({}, {"encoding": "per-file"}, "'label-map'"),
    ({"channel_entities": {"FLAIR": {"suffix": "FLAIR"}}}, {}, r"\['FLAIR'\]"),
    ({"channel_entities": {"DWI": {}}}, {}, "empty selector"),
    ({"case_entities": []}, {}, "case_entities"),
    ({"label_entities": {"suffix": 1}}, {}, "label_entities"),
])
def test_bad_options_raise_card_error_naming_the_key(tmp_path: Path, options: dict[str, Any],
                                                     card: dict[str, Any], match: str) -> None:
    (tmp_path / "d").mkdir()

    with pytest.raises(CardError, match=match) as info:
        BidsReader(_card(tmp_path, {**ISLES, **options}, channels=("DWI", "ADC"), **card), tmp_path / "d")
    assert "T3.toml" in str(info.value)


@pytest.mark.realdata
def test_real_lps_mr_in_a_bids_tree_matches_nibabel(tmp_path: Path) -> None:
    if not TOTALSEG_EXAMPLE.is_dir():
        pytest.skip(f"real example scans not present at {TOTALSEG_EXAMPLE}")
    import json

    import nibabel as nib

    anat = tmp_path / "ATLAS_2" / "Training" / "R001" / "sub-r001s001" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    shutil.copy(TOTALSEG_EXAMPLE / "mr.nii.gz", anat / f"sub-r001s001_ses-1_{MNI}_T1w.nii.gz")
    mask = anat / f"sub-r001s001_ses-1_{MNI}_label-L_desc-T1lesion_mask.nii.gz"
    shutil.copy(TOTALSEG_EXAMPLE / "mr_seg.nii.gz", mask)
    objects = json.loads((TOTALSEG_EXAMPLE / "labelmaps.json").read_text())["total_mr"]
    reader = BidsReader(_card(tmp_path, ATLAS, channels=("T1w",), objects=objects), tmp_path / "ATLAS_2")

    report = load_cases(reader)

    assert report.errors == () and [c.case_id for c in report.cases] == ["sub-r001s001_ses-1"]
    case = report.cases[0]
    expected = nib.as_closest_canonical(nib.load(str(TOTALSEG_EXAMPLE / "mr.nii.gz")))
    labels = np.asarray(nib.as_closest_canonical(nib.load(str(TOTALSEG_EXAMPLE / "mr_seg.nii.gz"))).dataobj)
    np.testing.assert_array_equal(case.image[0], np.asarray(expected.dataobj))
    np.testing.assert_array_equal(case.mask(objects["5"]), labels == 5)
