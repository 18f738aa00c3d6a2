"""Tests of layout family F2 (one folder per case) on tiny datasets built in the native layouts."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import load_cases
from benchmark.data.readers.case_folders import CaseFoldersReader, majority_mask, rater_mean, read_frame_file
from benchmark.errors import CardError, CaseLoadError, GeometryMismatchError, LayoutError
from tests.cards import card
from tests.synthetic import TOTALSEG_EXAMPLE, labelled_phantom, write_nifti

SHAPE = (8, 6, 4)  # (X, Y, Z) of every synthetic volume
LPS = np.array([[-1.0, 0, 0, 7.0], [0, -1.0, 0, 5.0], [0, 0, 2.0, 0.0], [0, 0, 0, 1]])
BRATS_VARS = {
    "2021": {"sep": "_", "flair": "flair", "t1": "t1", "t1ce": "t1ce", "t2": "t2"},
    "2023": {"sep": "-", "flair": "t2f", "t1": "t1n", "t1ce": "t1c", "t2": "t2w"},
}
BRATS_OPTIONS = {
    "case_globs": ["BraTS*"],
    "channel_files": {c: f"{{case}}{{sep}}{{{c.lower()}}}.nii.gz" for c in ("FLAIR", "T1", "T1ce", "T2")},
    "label_file": "{case}{sep}seg.nii.gz",
    "version_vars": BRATS_VARS,
}
BRATS_VERSIONS = {v: {"objects": {str(k): n for k, n in zip(values, ("NCR", "ED", "ET"), strict=True)}}
                  for v, values in (("2021", (1, 2, 4)), ("2023", (1, 2, 3)))}


def _card(tmp_path: Path, options: Mapping[str, Any], *, channels: Sequence[str] = ("CT",),
          versions: Mapping[str, Mapping[str, Any]] | None = None, default_version: str = "v1",
          encoding: str = "label-map", modality: str = "CT") -> DatasetCard:
    return card(family="F2", options=options, channels=channels, dataset_id="T2", name="test set",
                modality=modality, encoding=encoding, default_version=default_version,
                versions=versions or {"v1": {"objects": {"1": "kidney", "2": "tumour"}}}, path=tmp_path / "T2.toml")


def _reader(tmp_path: Path, root: Path, options: Mapping[str, Any], *, version: str | None = None,
            **card: Any) -> CaseFoldersReader:
    return CaseFoldersReader(_card(tmp_path, options, **card), root, version=version)


def _phantom(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return labelled_phantom(SHAPE, seed=seed)


def _kits(root: Path, n: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """KiTS23: dataset/case_XXXXX/{imaging,segmentation}.nii.gz, plus clutter that is not a case."""
    cases = {}
    for i in range(n):
        image, label = _phantom(i)
        write_nifti(root / f"case_{i:05d}" / "imaging.nii.gz", image)
        write_nifti(root / f"case_{i:05d}" / "segmentation.nii.gz", label)
        cases[f"case_{i:05d}"] = (image, label)
    (root / "kits23.json").write_text("[]")
    (root / "._case_00099").mkdir()
    (root / "__MACOSX" / "case_00000").mkdir(parents=True)
    return cases


KITS = {"case_globs": ["case_*"], "channel_files": {"CT": "imaging.nii.gz"}, "label_file": "segmentation.nii.gz"}


def test_kits23_gives_sorted_cases_with_images_and_masks(tmp_path: Path) -> None:
    cases = _kits(tmp_path / "kits23")
    reader = _reader(tmp_path, tmp_path / "kits23", KITS)

    found = reader.discover()

    assert [e.case_id for e in found.entries] == sorted(cases)
    assert found.errors == ()
    case = reader.open_case(found.entries[1])
    image, label = cases["case_00001"]
    assert case.channel_names == ("CT",) and case.modality == "CT" and case.objects == ("kidney", "tumour")
    np.testing.assert_array_equal(case.image, image[np.newaxis])
    np.testing.assert_array_equal(case.mask("kidney"), label == 1)
    np.testing.assert_array_equal(case.mask("tumour"), label == 2)


def test_lps_files_are_reoriented_to_ras(tmp_path: Path) -> None:
    image, label = _phantom()
    write_nifti(tmp_path / "d" / "case_00000" / "imaging.nii.gz", image, LPS)
    write_nifti(tmp_path / "d" / "case_00000" / "segmentation.nii.gz", label, LPS)
    case = _reader(tmp_path, tmp_path / "d", KITS).open_case(
        _reader(tmp_path, tmp_path / "d", KITS).discover().entries[0])

    np.testing.assert_array_equal(case.image[0], image[::-1, ::-1, :])
    np.testing.assert_array_equal(case.mask("tumour"), (label == 2)[::-1, ::-1, :])
    assert np.all(np.diag(case.affine)[:3] > 0) and case.spacing == pytest.approx((1.0, 1.0, 2.0))


@pytest.mark.parametrize(("version", "folder", "sep", "names", "values"), [
    ("2021", "BraTS2021_00000", "_", ("flair", "t1", "t1ce", "t2"), (1, 2, 4)),
    ("2023", "BraTS-GLI-00000-000", "-", ("t2f", "t1n", "t1c", "t2w"), (1, 2, 3)),
])
def test_brats_versions_select_their_file_names_and_label_values(
        tmp_path: Path, version: str, folder: str, sep: str, names: tuple[str, ...], values: tuple[int, ...]) -> None:
    root = tmp_path / "brats"
    for index, name in enumerate(names):  # channel c holds the constant c, so the order shows
        write_nifti(root / folder / f"{folder}{sep}{name}.nii.gz", np.full(SHAPE, index, dtype=np.int16))
    _, label = _phantom()
    label[0, 0, 0] = 3
    write_nifti(root / folder / f"{folder}{sep}seg.nii.gz", np.choose(label, (0, *values)).astype(np.uint8))
    reader = _reader(tmp_path, root, BRATS_OPTIONS, version=version, versions=BRATS_VERSIONS, default_version="2021",
                     channels=("FLAIR", "T1", "T1ce", "T2"), modality="MR")

    report = load_cases(reader)

    assert report.errors == () and [c.case_id for c in report.cases] == [folder]
    case = report.cases[0]
    assert case.channel_names == ("FLAIR", "T1", "T1ce", "T2")
    assert [int(case.image[c].max()) for c in range(4)] == [0, 1, 2, 3]
    np.testing.assert_array_equal(case.mask("ET"), label == 3)


def _acdc_patient(root: Path, number: int, frames: Mapping[str, int], info: str | None) -> dict[str, np.ndarray]:
    """ACDC: patientNNN/{Info.cfg, _4d, _frameFF (all frames), _frameFF_gt (ED and ES only)}."""
    folder = root / f"patient{number:03d}"
    written = {}
    for phase, frame in frames.items():
        image, label = _phantom(number * 10 + frame)
        write_nifti(folder / f"patient{number:03d}_frame{frame:02d}.nii.gz", image)
        write_nifti(folder / f"patient{number:03d}_frame{frame:02d}_gt.nii.gz", label)
        written[phase] = image
    write_nifti(folder / f"patient{number:03d}_frame05.nii.gz", np.zeros(SHAPE, np.int16))  # unlabelled frame
    write_nifti(folder / f"patient{number:03d}_4d.nii.gz", np.zeros((*SHAPE, 3), np.int16))  # the cine
    if info is not None:
        (folder / "Info.cfg").write_text(info)
    return written


ACDC = {"case_globs": ["patient*"], "channel_files": {"MR": "{case}_frame{frame:02d}.nii.gz"},
        "label_file": "{case}_frame{frame:02d}_gt.nii.gz", "phases": ["ED", "ES"], "frame_file": "Info.cfg"}
ACDC_OBJECTS = {"v1": {"objects": {"1": "RV", "2": "MYO", "3": "LV"}}}


def test_acdc_gives_one_case_per_labelled_frame_and_reports_bad_info_cfg(tmp_path: Path) -> None:
    root = tmp_path / "training"
    first = _acdc_patient(root, 1, {"ED": 1, "ES": 12}, "ED: 1\nES: 12\nGroup: DCM\nHeight: 184.0\nNbFrame: 30\n")
    _acdc_patient(root, 2, {"ED": 1, "ES": 8}, "ED: 1\nES: 8\n")
    _acdc_patient(root, 3, {"ED": 1, "ES": 9}, "ED: 1\nES: nine\n")  # malformed
    _acdc_patient(root, 4, {"ED": 1, "ES": 9}, None)  # Info.cfg missing
    reader = _reader(tmp_path, root, ACDC, channels=("MR",), modality="MR", versions=ACDC_OBJECTS)

    found = reader.discover()

    assert [e.case_id for e in found.entries] == ["patient001_ED", "patient001_ES", "patient002_ED", "patient002_ES"]
    assert found.entries[1].meta["frame"] == "12"
    assert {e.case_id: e.path for e in found.errors} == {"patient003": root / "patient003" / "Info.cfg",
                                                         "patient004": root / "patient004" / "Info.cfg"}
    assert "'nine'" in found.errors[0].message and "not found" in found.errors[1].message
    case = reader.open_case(found.entries[1])
    np.testing.assert_array_equal(case.image[0], first["ES"])
    assert case.entry.image_files[0].name == "patient001_frame12.nii.gz"


@pytest.mark.parametrize(("text", "match"), [
    ("ED: 1\n", "no line for phase 'ES'"),
    ("ED: 1\nES: -3\n", "non-negative integer"),
    ("ED: 1\nED: 2\nES: 3\n", "given twice"),
])
def test_malformed_frame_file_raises_value_error_naming_the_file(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "Info.cfg"
    path.write_text(text)

    with pytest.raises(ValueError, match=match) as info:
        read_frame_file(path, ("ED", "ES"))
    assert str(path) in str(info.value)


def test_binary_frame_file_is_reported_per_case(tmp_path: Path) -> None:
    root = tmp_path / "training"
    _acdc_patient(root, 1, {"ED": 1, "ES": 4}, None)
    (root / "patient001" / "Info.cfg").write_bytes(b"\xff\xfe\x00ED")

    found = _reader(tmp_path, root, ACDC, channels=("MR",), versions=ACDC_OBJECTS).discover()

    assert found.entries == () and "not UTF-8 text" in found.errors[0].message


def test_mnms2_gives_one_case_per_view_and_phase_and_ignores_the_cine(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    for phase in ("SA_ED", "SA_ES", "LA_ED", "LA_ES"):
        image, label = _phantom(len(phase))
        write_nifti(root / "001" / f"001_{phase}.nii.gz", image)
        write_nifti(root / "001" / f"001_{phase}_gt.nii.gz", label)
    write_nifti(root / "001" / "001_SA_CINE.nii.gz", np.zeros((*SHAPE, 2), np.int16))
    options = {"channel_files": {"MR": "{case}_{phase}.nii.gz"}, "label_file": "{case}_{phase}_gt.nii.gz",
               "phases": ["SA_ED", "SA_ES", "LA_ED", "LA_ES"]}
    reader = _reader(tmp_path, root, options, channels=("MR",),
                     versions={"v1": {"objects": {"1": "LV", "2": "MYO", "3": "RV"}}})

    report = load_cases(reader)

    assert [c.case_id for c in report.cases] == ["001_LA_ED", "001_LA_ES", "001_SA_ED", "001_SA_ES"]
    assert report.errors == ()


def _autopet(root: Path) -> None:
    """AutoPET: PETCT_<hash>/<date-study>/{CT,CTres,PET,SUV,SEG}.nii.gz; CT is on another grid."""
    for patient, study in (("PETCT_0af7ffe12a", "08-12-2005-NA-PET-CT Ganzkoerper-96698"),
                           ("PETCT_0af7ffe12a", "03-01-2006-NA-PET-CT Ganzkoerper-11111"),
                           ("PETCT_1bc", "01-01-2001-NA-PET-CT-22222")):
        folder = root / patient / study
        write_nifti(folder / "CTres.nii.gz", np.full(SHAPE, -1024, np.int16))
        write_nifti(folder / "SUV.nii.gz", np.full(SHAPE, 2.5, np.float32))
        write_nifti(folder / "PET.nii.gz", np.full(SHAPE, 900.0, np.float32))
        write_nifti(folder / "CT.nii.gz", np.zeros((4, 4, 4), np.int16))
        write_nifti(folder / "SEG.nii.gz", (_phantom()[1] == 1).astype(np.uint8))
    (root / "fdg_metadata.csv").write_text("Subject ID,Study UID\n")


@pytest.mark.parametrize("channels", [("CT", "PET"), ("CT",)])
def test_autopet_gives_one_case_per_study_on_the_seg_grid(tmp_path: Path, channels: tuple[str, ...]) -> None:
    _autopet(tmp_path / "FDG-PET-CT-Lesions")
    files = {"CT": "CTres.nii.gz", "PET": "SUV.nii.gz"}
    options = {"case_globs": ["PETCT_*/*"], "id_parts": 2, "label_file": "SEG.nii.gz",
               "channel_files": {c: files[c] for c in channels}}
    reader = _reader(tmp_path, tmp_path / "FDG-PET-CT-Lesions", options, channels=channels, modality="PET-CT",
                     versions={"v1": {"objects": {"1": "FDG-avid lesion"}}})

    report = load_cases(reader)

    assert report.errors == ()
    assert [c.case_id for c in report.cases] == ["PETCT_0af7ffe12a_03-01-2006-NA-PET-CT Ganzkoerper-11111",
                                                 "PETCT_0af7ffe12a_08-12-2005-NA-PET-CT Ganzkoerper-96698",
                                                 "PETCT_1bc_01-01-2001-NA-PET-CT-22222"]
    image = report.cases[0].image
    assert image.shape == (len(channels), *SHAPE) and image[0].max() == -1024
    if len(channels) == 2:
        assert image[1].max() == pytest.approx(2.5)


def test_nested_folders_with_one_id_part_clash_and_are_reported(tmp_path: Path) -> None:
    for patient in ("PETCT_a", "PETCT_b"):
        write_nifti(tmp_path / "d" / patient / "study" / "CTres.nii.gz", np.zeros(SHAPE, np.int16))
        write_nifti(tmp_path / "d" / patient / "study" / "SEG.nii.gz", np.zeros(SHAPE, np.uint8))
    options = {"case_globs": ["PETCT_*/*"], "channel_files": {"CT": "CTres.nii.gz"}, "label_file": "SEG.nii.gz"}

    found = _reader(tmp_path, tmp_path / "d", options).discover()

    assert found.entries == ()
    assert len(found.errors) == 1 and "'PETCT_a/study', 'PETCT_b/study'" in found.errors[0].message


def _raters(folder: Path, masks: Sequence[np.ndarray]) -> None:
    for index, mask in enumerate(masks, start=1):
        write_nifti(folder / f"task01_seg{index:02d}.nii.gz", mask.astype(np.uint8))


QUBIQ = {"case_globs": ["training_data_v3_QC/{version}/*"], "channel_files": {"CT": "image.nii.gz"},
         "rater_glob": "{key}_seg*.nii.gz"}
QUBIQ_VERSIONS = {"pancreas": {"objects": {"task01": "pancreas"}},
                  "pancreatic-lesion": {"objects": {"task01": "pancreatic lesion"}}}


def test_qubiq_majority_of_three_raters_matches_a_hand_count(tmp_path: Path) -> None:
    # Three raters on voxels (0,0,0)..(3,0,0): votes 0, 1, 2, 3 -> mean 0, 1/3, 2/3, 1 -> majority at 2 votes.
    r1, r2, r3 = (np.zeros(SHAPE, bool) for _ in range(3))
    r1[1, 0, 0] = True
    r1[2, 0, 0] = r2[2, 0, 0] = True
    r1[3, 0, 0] = r2[3, 0, 0] = r3[3, 0, 0] = True
    folder = tmp_path / "qubiq" / "training_data_v3_QC" / "pancreas" / "case1-1"
    write_nifti(folder / "image.nii.gz", _phantom()[0])
    _raters(folder, [r1, r2, r3])
    reader = _reader(tmp_path, tmp_path / "qubiq", QUBIQ, encoding="per-file", versions=QUBIQ_VERSIONS,
                     default_version="pancreas")

    case = reader.open_case(reader.discover().entries[0])
    mean = reader.rater_probability(case, "pancreas").array

    np.testing.assert_allclose(mean[:4, 0, 0], [0.0, 1 / 3, 2 / 3, 1.0], atol=1e-6)
    assert mean.sum() == pytest.approx(2.0, abs=1e-5)
    expected = np.zeros(SHAPE, bool)
    expected[2, 0, 0] = expected[3, 0, 0] = True
    np.testing.assert_array_equal(case.mask("pancreas"), expected)
    np.testing.assert_array_equal(majority_mask(case.entry.label_files).array, expected)


def test_qubiq_rater_count_varies_per_case_and_a_tie_is_foreground(tmp_path: Path) -> None:
    root = tmp_path / "qubiq" / "training_data_v3_QC" / "pancreatic-lesion"
    one, other = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    one[1, 1, 1] = one[2, 2, 2] = other[2, 2, 2] = True
    for name, raters in (("case1-1", [one, other]), ("case2-1", [one, other, other, other]), ("case3-1", [])):
        write_nifti(root / name / "image.nii.gz", _phantom()[0])
        _raters(root / name, raters)
    reader = _reader(tmp_path, tmp_path / "qubiq", QUBIQ, encoding="per-file", versions=QUBIQ_VERSIONS,
                     default_version="pancreas", version="pancreatic-lesion")

    found = reader.discover()
    cases = [reader.open_case(e) for e in found.entries]

    assert [len(e.label_files) for e in found.entries] == [2, 4]
    assert cases[0].mask("pancreatic lesion").sum() == 2  # 1 of 2 raters is a majority (mean 0.5)
    assert cases[1].mask("pancreatic lesion").sum() == 1  # 1 of 4 is not
    assert [e.case_id for e in found.errors] == ["case3-1"] and "image without label" in found.errors[0].message


def test_rater_mean_refuses_raters_on_different_grids(tmp_path: Path) -> None:
    a = write_nifti(tmp_path / "a.nii.gz", np.ones(SHAPE, np.uint8))
    b = write_nifti(tmp_path / "b.nii.gz", np.ones((4, 4, 4), np.uint8))

    with pytest.raises(GeometryMismatchError, match="b.nii.gz"):
        rater_mean([a, b])
    with pytest.raises(ValueError, match="no rater files"):
        rater_mean([])


def test_wmh_nested_sites_and_ignored_other_pathology(tmp_path: Path) -> None:
    root = tmp_path / "training"
    _, label = _phantom()  # values 1 (WMH) and 2 (other pathology, ignored on the card)
    for folder in ("Utrecht/0", "Singapore/50", "Amsterdam/GE3T/100"):
        for name in ("FLAIR", "T1"):
            write_nifti(root / folder / "pre" / f"{name}.nii.gz", _phantom()[0])
            write_nifti(root / folder / "orig" / f"{name}.nii.gz", np.zeros((4, 4, 4), np.int16))
        write_nifti(root / folder / "wmh.nii.gz", label)
    options = {"case_globs": ["Utrecht/*", "Singapore/*", "Amsterdam/*/*"], "id_parts": 2, "label_file": "wmh.nii.gz",
               "channel_files": {"FLAIR": "pre/FLAIR.nii.gz", "T1": "pre/T1.nii.gz"}}
    reader = _reader(tmp_path, root, options, channels=("FLAIR", "T1"), modality="MR",
                     versions={"v1": {"objects": {"1": "WMH"}, "ignore": ["2"]}})

    report = load_cases(reader)

    assert report.errors == ()
    assert [c.case_id for c in report.cases] == ["GE3T_100", "Singapore_50", "Utrecht_0"]
    np.testing.assert_array_equal(report.cases[0].mask("WMH"), label == 1)


# ------------------------------------------------------------------------------------------------- bad inputs
def test_missing_dataset_folder_raises_layout_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="kits23-missing"):
        _reader(tmp_path, tmp_path / "kits23-missing", KITS)


def test_no_matching_case_folder_is_one_error_naming_the_glob(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    found = _reader(tmp_path, tmp_path / "empty", KITS).discover()

    assert found.entries == () and "case_*" in found.errors[0].message and found.errors[0].case_id == ""


def test_image_without_label_and_label_without_image_are_case_errors(tmp_path: Path) -> None:
    root = tmp_path / "kits23"
    _kits(root, n=4)
    (root / "case_00001" / "segmentation.nii.gz").unlink()
    (root / "case_00002" / "imaging.nii.gz").unlink()
    (root / "case_00003" / "segmentation.nii.gz").unlink()
    (root / "case_00003" / "imaging.nii.gz").unlink()

    found = _reader(tmp_path, root, KITS).discover()

    assert [e.case_id for e in found.entries] == ["case_00000"]
    errors = {e.case_id: e for e in found.errors}
    assert "image without label" in errors["case_00001"].message
    assert "segmentation.nii.gz" in errors["case_00001"].message
    assert "label without image" in errors["case_00002"].message and "imaging.nii.gz" in errors["case_00002"].message
    assert "misses channel file(s)" in errors["case_00003"].message
    assert errors["case_00002"].path == root / "case_00002"


def test_case_folder_missing_one_channel_is_reported(tmp_path: Path) -> None:
    folder = "BraTS2021_00000"
    for name in ("flair", "t1", "t2", "seg"):  # t1ce missing
        write_nifti(tmp_path / "b" / folder / f"{folder}_{name}.nii.gz", np.zeros(SHAPE, np.uint8))
    reader = _reader(tmp_path, tmp_path / "b", BRATS_OPTIONS, channels=("FLAIR", "T1", "T1ce", "T2"),
                     versions=BRATS_VERSIONS, default_version="2021")

    found = reader.discover()

    assert found.entries == () and "T1ce (BraTS2021_00000_t1ce.nii.gz)" in found.errors[0].message


def test_label_values_not_on_the_card_fail_that_case_only(tmp_path: Path) -> None:
    root = tmp_path / "kits23"
    cases = _kits(root)
    bad = cases["case_00001"][1].copy()
    bad[0, 0, 0] = 7
    write_nifti(root / "case_00001" / "segmentation.nii.gz", bad)

    report = load_cases(_reader(tmp_path, root, KITS))

    assert [c.case_id for c in report.cases] == ["case_00000", "case_00002"]
    assert len(report.errors) == 1 and report.errors[0].case_id == "case_00001"
    assert "[7]" in report.errors[0].message and "segmentation.nii.gz" in report.errors[0].message


def test_label_on_another_grid_raises_geometry_mismatch_naming_the_label(tmp_path: Path) -> None:
    root = tmp_path / "kits23"
    _kits(root, n=1)
    write_nifti(root / "case_00000" / "segmentation.nii.gz", np.zeros((8, 6, 5), np.uint8))
    reader = _reader(tmp_path, root, KITS)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError, match="segmentation.nii.gz"):
        case.mask("kidney")


def test_channels_on_different_grids_raise_geometry_mismatch(tmp_path: Path) -> None:
    _autopet(tmp_path / "d")
    options = {"case_globs": ["PETCT_*/*"], "id_parts": 2, "label_file": "SEG.nii.gz",
               "channel_files": {"CT": "CT.nii.gz", "PET": "SUV.nii.gz"}}  # CT.nii.gz is not on the PET grid
    reader = _reader(tmp_path, tmp_path / "d", options, channels=("CT", "PET"))
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError, match="channel 'PET'"):
        _ = case.image


def test_four_d_file_as_a_channel_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "training"
    _acdc_patient(root, 1, {"ED": 1, "ES": 4}, "ED: 1\nES: 4\n")
    options = {**ACDC, "channel_files": {"MR": "{case}_4d.nii.gz"}}
    reader = _reader(tmp_path, root, options, channels=("MR",), versions=ACDC_OBJECTS)

    with pytest.raises(CaseLoadError, match="patient001_4d.nii.gz.*3 channel"):
        _ = reader.open_case(reader.discover().entries[0]).image


@pytest.mark.parametrize("which", ["imaging.nii.gz", "segmentation.nii.gz"])
def test_truncated_nifti_gz_raises_image_read_error_naming_it(tmp_path: Path, which: str) -> None:
    root = tmp_path / "kits23"
    _kits(root, n=2)
    path = root / "case_00000" / which
    noise = np.random.default_rng(0).integers(0, 3, SHAPE).astype(np.int16)  # incompressible enough to cut
    write_nifti(path, noise)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])

    report = load_cases(_reader(tmp_path, root, KITS))

    assert [c.case_id for c in report.cases] == ["case_00001"]
    assert "truncated" in report.errors[0].message and which in report.errors[0].message


def test_valid_multi_member_gzip_case_loads(tmp_path: Path) -> None:
    root = tmp_path / "kits23"
    cases = _kits(root, n=1)
    path = root / "case_00000" / "imaging.nii.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:400]) + gzip.compress(raw[400:]))  # two gzip members, as bgzip writes

    report = load_cases(_reader(tmp_path, root, KITS))

    assert report.errors == ()
    np.testing.assert_array_equal(report.cases[0].image[0], cases["case_00000"][0])


# ---------------------------------------------------------------------------------------------- card options
@pytest.mark.parametrize(("options", "card", "match"), [
    ({"channel_files": {"MR": "x.nii.gz"}}, {}, "channel_files"),
    ({"channel_files": {"CT": "{case}_{nope}.nii.gz"}}, {}, r"\['nope'\]"),
    ({"channel_files": {"CT": "{case}_{phase}.nii.gz"}}, {}, "'phase'"),
    ({"channel_files": {"CT": "{case:02d}.nii.gz"}}, {}, "cannot be filled"),
    ({"channel_files": {"CT": "{case.nii.gz"}}, {}, "malformed"),
    ({"channel_files": {"CT": "{}.nii.gz"}}, {}, r"\[''\]"),
    ({"channel_files": {"CT": "../x.nii.gz"}}, {}, "leaves its folder"),
    ({"channel_files": {"CT": "x.nii.gz"}, "id_parts": 0}, {}, "id_parts"),
    ({"channel_files": {"CT": "x.nii.gz"}, "rater_glob": "{key}_seg*.nii.gz"}, {}, "rater_glob"),
    ({"channel_files": {"CT": "x.nii.gz"}}, {"encoding": "per-file"}, "label_file"),
    ({"channel_files": {"CT": "x.nii.gz"}, "frame_file": "Info.cfg"}, {}, "frame_file"),
    ({"channel_files": {"CT": "x.nii.gz"}, "version_vars": {"v9": {"a": "b"}}}, {}, r"\['v9'\]"),
    ({"channel_files": {"CT": "x.nii.gz"}, "version_vars": {"v1": {"case": "b"}}}, {}, "built-in"),
    ({"channel_files": {"CT": 3}}, {}, "channel_files"),
    ({}, {}, "incomplete"),
])
def test_bad_options_raise_card_error_naming_the_key(tmp_path: Path, options: dict[str, Any],
                                                     card: dict[str, Any], match: str) -> None:
    (tmp_path / "d").mkdir()

    with pytest.raises(CardError, match=match) as info:
        _reader(tmp_path, tmp_path / "d", options, **card)
    assert "T2.toml" in str(info.value)


def test_rater_probability_needs_raters(tmp_path: Path) -> None:
    _kits(tmp_path / "k", n=1)
    reader = _reader(tmp_path, tmp_path / "k", KITS)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(CardError, match="rater_glob"):
        reader.rater_probability(case, "kidney")


def test_annexed_files_are_discovered_and_fetched_before_reading(tmp_path: Path) -> None:
    root = tmp_path / "kits23"
    store = root / ".git" / "annex" / "objects"  # where a DataLad dataset keeps annexed content
    image, label = _phantom()
    (root / "case_00000").mkdir(parents=True)
    for name in ("imaging.nii.gz", "segmentation.nii.gz"):
        (root / "case_00000" / name).symlink_to(store / name)  # dangling until fetched, as in a DataLad dataset
    fetched: list[Path] = []

    def fetch(paths: Sequence[Path]) -> None:
        fetched.extend(paths)
        write_nifti(store / "imaging.nii.gz", image)
        write_nifti(store / "segmentation.nii.gz", label)

    reader = CaseFoldersReader(_card(tmp_path, KITS), root, fetch=fetch)
    entry = reader.discover().entries[0]
    assert fetched == []
    case = reader.open_case(entry)

    np.testing.assert_array_equal(case.mask("kidney"), label == 1)
    assert set(fetched) == {root / "case_00000" / "imaging.nii.gz", root / "case_00000" / "segmentation.nii.gz"}


@pytest.mark.realdata
def test_real_ct_in_a_kits23_folder_matches_nibabel(tmp_path: Path) -> None:
    if not TOTALSEG_EXAMPLE.is_dir():
        pytest.skip(f"real example scans not present at {TOTALSEG_EXAMPLE}")
    import json

    import nibabel as nib

    folder = tmp_path / "kits23" / "case_00000"
    folder.mkdir(parents=True)
    shutil.copy(TOTALSEG_EXAMPLE / "ct.nii.gz", folder / "imaging.nii.gz")
    shutil.copy(TOTALSEG_EXAMPLE / "ct_seg.nii.gz", folder / "segmentation.nii.gz")
    objects = json.loads((TOTALSEG_EXAMPLE / "labelmaps.json").read_text())["total"]
    reader = _reader(tmp_path, tmp_path / "kits23", KITS, versions={"v1": {"objects": objects}})

    report = load_cases(reader)

    assert report.errors == ()
    case = report.cases[0]
    expected = nib.as_closest_canonical(nib.load(str(TOTALSEG_EXAMPLE / "ct.nii.gz")))
    labels = np.asarray(nib.as_closest_canonical(nib.load(str(TOTALSEG_EXAMPLE / "ct_seg.nii.gz"))).dataobj)
    np.testing.assert_array_equal(case.image[0], np.asarray(expected.dataobj))
    np.testing.assert_array_equal(case.mask("kidney_right"), labels == 2)
    assert case.spacing == pytest.approx((3.0, 3.0, 3.0))


def test_objects_without_files_in_a_case_are_all_background(tmp_path: Path) -> None:
    image, label = _phantom()
    folder = tmp_path / "d" / "case1-1"
    write_nifti(folder / "image.nii.gz", image)
    _raters(folder, [label == 1, label == 1])  # task01 only; task02 has no rater in this case
    write_nifti(folder / "task01.nii.gz", (label == 1).astype(np.uint8))
    versions = {"v1": {"objects": {"task01": "kidney", "task02": "tumour"}}}
    raters = _reader(tmp_path, tmp_path / "d", {"channel_files": {"CT": "image.nii.gz"}, "rater_glob": "{key}_seg*"},
                     encoding="per-file", versions=versions)
    files = _reader(tmp_path, tmp_path / "d", {"channel_files": {"CT": "image.nii.gz"}, "label_file": "{key}.nii.gz"},
                    encoding="per-file", versions=versions)

    for reader in (raters, files):
        case = reader.open_case(reader.discover().entries[0])
        np.testing.assert_array_equal(case.mask("kidney"), label == 1)
        assert case.mask("tumour").shape == SHAPE and not case.mask("tumour").any()
    probability = raters.rater_probability(raters.open_case(raters.discover().entries[0]), "tumour")
    assert probability.array.dtype == np.float32 and probability.geometry.shape == SHAPE
    assert not probability.array.any()
