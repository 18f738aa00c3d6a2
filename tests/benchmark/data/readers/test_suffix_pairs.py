"""Tests of layout family F5 (image and label files told apart by suffix) on tiny datasets in the native layouts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import load_cases
from benchmark.data.readers.suffix_pairs import SuffixPairsReader
from benchmark.errors import CardError, CaseLoadError, GeometryMismatchError, ImageReadError, LayoutError
from tests.cards import card
from tests.synthetic import labelled_phantom, write_nifti

SHAPE = (24, 20, 12)  # (X, Y, Z) of every synthetic image
LPS = np.array([[-1.0, 0, 0, 23.0], [0, -1.0, 0, 19.0], [0, 0, 2.0, 0.0], [0, 0, 0, 1]])
PICAI_LABELS = "picai_labels/csPCa_lesion_delineations/human_expert/resampled"
PICAI = {"image_dirs": ["picai_public_images_fold*/*"], "label_dirs": [PICAI_LABELS],
         "channel_suffixes": {"T2W": "_t2w.mha", "ADC": "_adc.mha", "HBV": "_hbv.mha"}, "label_suffix": ".nii.gz",
         "resample_to": "T2W", "labels_required": False, "label_remap": {"3": 2}}
PROMISE = {"image_dirs": ["training_data"], "channel_suffixes": {"T2": ".mhd"}, "label_suffix": "_segmentation.mhd"}
LNQ = {"image_dirs": ["train"], "channel_suffixes": {"CT": "-ct.nrrd"}, "label_suffix": "-seg.nrrd"}
COVID = {"image_dirs": ["COVID-19-20_v2/Train"], "channel_suffixes": {"CT": "_ct.nii.gz"},
         "label_suffix": "_seg.nii.gz"}


def _card(tmp_path: Path, options: Mapping[str, Any], *, channels: Sequence[str] = ("CT",),
          objects: Mapping[str, str] | None = None, ignore: Sequence[str] = ()) -> DatasetCard:
    return card(objects or {"1": "node", "2": "other node"}, family="F5", options=options, channels=channels,
                dataset_id="T5", name="test set", ignore=ignore, path=tmp_path / "T5.toml")


def _reader(tmp_path: Path, root: Path, options: Mapping[str, Any], **card: Any) -> SuffixPairsReader:
    return SuffixPairsReader(_card(tmp_path, options, **card), root)


def _write_itk(path: Path, array: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Path:
    """Write an (X, Y, Z) array with SimpleITK's identity (LPS) direction: its canonical array is flipped in x, y."""
    import SimpleITK as sitk

    path.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.asarray(array).transpose(2, 1, 0)))
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path), False)
    return path


def _itk_pair(root: Path, image: str, label: str | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write a phantom image and label with SimpleITK; return both as canonical (RAS) arrays."""
    data, lbl = labelled_phantom(SHAPE, seed=seed)
    _write_itk(root / image, data)
    if label is not None:
        _write_itk(root / label, lbl)
    return data[::-1, ::-1, :], lbl[::-1, ::-1, :]


def test_promise12_mhd_pairs_with_raw_files(tmp_path: Path) -> None:
    root = tmp_path / "PROMISE12"
    cases = {f"Case0{i}": _itk_pair(root, f"training_data/Case0{i}.mhd", f"training_data/Case0{i}_segmentation.mhd",
                                    seed=i) for i in range(2)}
    _itk_pair(root, "test_data/Case30.mhd", None)
    reader = _reader(tmp_path, root, PROMISE, channels=("T2",), objects={"1": "prostate"}, ignore=("2",))

    found = reader.discover()

    assert [e.case_id for e in found.entries] == ["Case00", "Case01"] and found.errors == ()
    for entry in found.entries:
        case = reader.open_case(entry)
        data, lbl = cases[entry.case_id]
        assert entry.label_files[0].name == f"{entry.case_id}_segmentation.mhd"
        np.testing.assert_array_equal(case.image[0], data)
        np.testing.assert_array_equal(case.mask("prostate"), lbl == 1)
        assert case.channel_names == ("T2",)


def test_lnq2023_ignores_png_previews(tmp_path: Path) -> None:
    root = tmp_path / "LNQ2023"
    data, lbl = _itk_pair(root, "train/lnq2023-train-0001-ct.nrrd", "train/lnq2023-train-0001-seg.nrrd")
    _itk_pair(root, "train/lnq2023-train-0002-ct.nrrd", "train/lnq2023-train-0002-seg.nrrd", seed=2)
    for key in ("0001", "0002"):
        (root / f"train/lnq2023-train-{key}.png").write_bytes(b"\x89PNG preview")
    reader = _reader(tmp_path, root, LNQ)

    found = reader.discover()
    case = reader.open_case(found.entries[0])

    assert [e.case_id for e in found.entries] == ["lnq2023-train-0001", "lnq2023-train-0002"]
    assert found.errors == ()
    np.testing.assert_array_equal(case.image[0], data)
    np.testing.assert_array_equal(case.mask("other node"), lbl == 2)


def test_covid19_20_validation_without_labels_is_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "COVID-19-20"
    data, lbl = labelled_phantom(SHAPE)
    write_nifti(root / "COVID-19-20_v2/Train/volume-covid19-A-0003_ct.nii.gz", data, LPS)
    write_nifti(root / "COVID-19-20_v2/Train/volume-covid19-A-0003_seg.nii.gz", lbl, LPS)
    write_nifti(root / "COVID-19-20_v2/Validation/volume-covid19-A-0010_ct.nii.gz", data, LPS)
    reader = _reader(tmp_path, root, COVID)

    found = reader.discover()
    case = reader.open_case(found.entries[0])

    assert [e.case_id for e in found.entries] == ["volume-covid19-A-0003"] and found.errors == ()
    np.testing.assert_array_equal(case.image[0], data[::-1, ::-1, :])
    np.testing.assert_array_equal(case.mask("node"), (lbl == 1)[::-1, ::-1, :])
    assert case.spacing == pytest.approx((1.0, 1.0, 2.0))


def _picai(root: Path) -> np.ndarray:
    """Three studies: one with an ISUP 2 + 3 delineation, one negative without a file, one lacking its HBV scan."""
    coarse = tuple(s // 2 for s in SHAPE)
    studies = [("0", "10000", "1000000", True, True), ("1", "10001", "1000001", False, True),
               ("1", "10002", "1000002", False, False)]
    lesion = np.zeros(SHAPE, dtype=np.uint8)
    lesion[4:8, 4:8, 2:5], lesion[14:18, 10:14, 6:9] = 2, 3
    for fold, pid, study, labelled, with_hbv in studies:
        folder = root / f"picai_public_images_fold{fold}/{pid}"
        _write_itk(folder / f"{pid}_{study}_t2w.mha", labelled_phantom(SHAPE)[0])
        _write_itk(folder / f"{pid}_{study}_adc.mha", np.full(coarse, 900, np.int16), (2.0, 2.0, 2.0))
        _write_itk(folder / f"{pid}_{study}_sag.mha", np.zeros(coarse, np.int16))
        if with_hbv:
            _write_itk(folder / f"{pid}_{study}_hbv.mha", np.full(coarse, 12, np.int16), (2.0, 2.0, 2.0))
        if labelled:
            _write_itk(root / PICAI_LABELS / f"{pid}_{study}.nii.gz", lesion)
    return lesion[::-1, ::-1, :]


def test_picai_channels_resampled_and_negatives_with_empty_masks(tmp_path: Path) -> None:
    root = tmp_path / "PI-CAI"
    lesion = _picai(root)
    reader = _reader(tmp_path, root, PICAI, channels=("T2W", "ADC", "HBV"), objects={"2": "csPCa lesion"})

    found = reader.discover()
    positive, negative = (reader.open_case(e) for e in found.entries)

    assert [e.case_id for e in found.entries] == ["10000_1000000", "10001_1000001"]
    assert len(found.errors) == 1 and "10002_1000002_hbv.mha" in found.errors[0].message
    assert [p.name for p in found.entries[0].image_files] == ["10000_1000000_t2w.mha", "10000_1000000_adc.mha",
                                                                "10000_1000000_hbv.mha"]
    assert positive.image.shape == (3, *SHAPE) and positive.spacing == pytest.approx((1.0, 1.0, 1.0))
    np.testing.assert_allclose(positive.image[1], 900.0)
    np.testing.assert_allclose(positive.image[2], 12.0)
    np.testing.assert_array_equal(positive.mask("csPCa lesion"), lesion >= 2)
    assert negative.entry.label_files == ()
    assert negative.mask("csPCa lesion").shape == SHAPE and not negative.mask("csPCa lesion").any()


def test_picai_study_without_label_is_an_error_when_labels_are_required(tmp_path: Path) -> None:
    root = tmp_path / "PI-CAI"
    _picai(root)
    options = {**PICAI, "labels_required": True}

    found = _reader(tmp_path, root, options, channels=("T2W", "ADC", "HBV"), objects={"2": "csPCa lesion"}).discover()

    assert [e.case_id for e in found.entries] == ["10000_1000000"]
    errors = {e.case_id: e.message for e in found.errors}
    assert "image without label" in errors["10001_1000001"] and "10001_1000001.nii.gz" in errors["10001_1000001"]


def test_picai_label_values_outside_the_remap_are_rejected(tmp_path: Path) -> None:
    root = tmp_path / "PI-CAI"
    _picai(root)
    options = {**PICAI, "label_remap": {}}
    reader = _reader(tmp_path, root, options, channels=("T2W", "ADC", "HBV"), objects={"2": "csPCa lesion"})

    with pytest.raises(CaseLoadError, match=r"10000_1000000.nii.gz.*\[3\]"):
        reader.open_case(reader.discover().entries[0]).mask("csPCa lesion")


# ---- bad inputs ----------------------------------------------------------------------------------------------------


def test_missing_dataset_folder_raises_layout_error(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="LNQ2023"):
        _reader(tmp_path, tmp_path / "LNQ2023", LNQ)


@pytest.mark.parametrize(("image_dirs", "match"), [(["train"], "train"), (["fold*/*"], "fold"),
                                                   (["../*"], "escapes")])
def test_folder_or_pattern_matching_no_folder_raises_layout_error(tmp_path: Path, image_dirs: list[str],
                                                                  match: str) -> None:
    root = tmp_path / "LNQ2023"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()

    with pytest.raises(LayoutError, match=match) as info:
        _reader(tmp_path, root, {**LNQ, "image_dirs": image_dirs}).discover()

    assert "image_dirs" in str(info.value)


def test_image_without_label_and_label_without_image_are_case_errors(tmp_path: Path) -> None:
    root = tmp_path / "LNQ2023"
    _itk_pair(root, "train/lnq2023-train-0001-ct.nrrd", "train/lnq2023-train-0001-seg.nrrd")
    _itk_pair(root, "train/lnq2023-train-0002-ct.nrrd", None)
    _itk_pair(root, "train/lnq2023-train-0003-seg.nrrd", None)

    found = _reader(tmp_path, root, LNQ).discover()

    assert [e.case_id for e in found.entries] == ["lnq2023-train-0001"]
    errors = {e.case_id: e for e in found.errors}
    assert "image without label" in errors["lnq2023-train-0002"].message
    assert str(errors["lnq2023-train-0002"].path).endswith("lnq2023-train-0002-ct.nrrd")
    assert "label without image" in errors["lnq2023-train-0003"].message
    assert str(errors["lnq2023-train-0003"].path).endswith("lnq2023-train-0003-seg.nrrd")


def test_label_values_not_on_the_card_raise_naming_the_label_file(tmp_path: Path) -> None:
    root = tmp_path / "PROMISE12"
    _itk_pair(root, "training_data/Case00.mhd", "training_data/Case00_segmentation.mhd")
    reader = _reader(tmp_path, root, PROMISE, channels=("T2",), objects={"1": "prostate"})

    with pytest.raises(CaseLoadError, match=r"Case00_segmentation.mhd.*\[2\]"):
        reader.open_case(reader.discover().entries[0]).mask("prostate")


def test_image_and_label_on_different_grids_raise_naming_both(tmp_path: Path) -> None:
    root = tmp_path / "LNQ2023"
    _itk_pair(root, "train/lnq2023-train-0001-ct.nrrd", None)
    _write_itk(root / "train/lnq2023-train-0001-seg.nrrd", labelled_phantom(SHAPE)[1], (1.0, 1.0, 1.5))
    reader = _reader(tmp_path, root, LNQ)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError) as info:
        case.mask("node")

    assert "lnq2023-train-0001-ct.nrrd" in str(info.value) and "lnq2023-train-0001-seg.nrrd" in str(info.value)


@pytest.mark.parametrize("keep", [pytest.param(None, id="data"), pytest.param(60, id="header")])
def test_truncated_nifti_raises_image_read_error_naming_the_file(tmp_path: Path, keep: int | None) -> None:
    root = tmp_path / "COVID-19-20"
    data, lbl = labelled_phantom(SHAPE)
    image = write_nifti(root / "COVID-19-20_v2/Train/volume-covid19-A-0003_ct.nii.gz", data)
    write_nifti(root / "COVID-19-20_v2/Train/volume-covid19-A-0003_seg.nii.gz", lbl)
    content = image.read_bytes()
    image.write_bytes(content[: keep if keep is not None else len(content) // 2])
    reader = _reader(tmp_path, root, COVID)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(ImageReadError, match="volume-covid19-A-0003_ct.nii.gz"):
        _ = case.image


def test_truncated_raw_file_of_an_mhd_raises_image_read_error(tmp_path: Path) -> None:
    root = tmp_path / "PROMISE12"
    _itk_pair(root, "training_data/Case00.mhd", "training_data/Case00_segmentation.mhd")
    raw = root / "training_data/Case00.raw"
    raw.write_bytes(raw.read_bytes()[:1000])
    reader = _reader(tmp_path, root, PROMISE, channels=("T2",), objects={"1": "prostate"}, ignore=("2",))

    with pytest.raises(ImageReadError, match="Case00.mhd"):
        _ = reader.open_case(reader.discover().entries[0]).image


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({**LNQ, "image_folders": ["train"]}, "layout.options.image_folders"),
        ({"channel_suffixes": {"CT": "-ct.nrrd"}}, "label_suffix"),
        ({**LNQ, "labels_required": "yes"}, "labels_required"),
        ({**LNQ, "label_remap": {"three": 2}}, "label_remap.three"),
        ({**LNQ, "label_suffix": "-ct.nrrd"}, "label_suffix"),
        ({**LNQ, "channel_suffixes": {"MR": "-ct.nrrd"}}, "channel_suffixes"),
        ({**LNQ, "channel_suffixes": {}}, "channel_suffixes"),
        ({**LNQ, "resample_to": "PT"}, "resample_to"),
    ],
)
def test_bad_card_options_raise_card_error_naming_the_key(tmp_path: Path, options: dict[str, Any], key: str) -> None:
    root = tmp_path / "LNQ2023"
    root.mkdir()

    with pytest.raises(CardError, match=key) as info:
        _reader(tmp_path, root, options)

    assert "T5.toml" in str(info.value)


def test_load_cases_reports_the_bad_case_and_loads_the_others(tmp_path: Path) -> None:
    root = tmp_path / "LNQ2023"
    _itk_pair(root, "train/lnq2023-train-0001-ct.nrrd", "train/lnq2023-train-0001-seg.nrrd")
    _itk_pair(root, "train/lnq2023-train-0002-ct.nrrd", None)
    _write_itk(root / "train/lnq2023-train-0002-seg.nrrd", np.full(SHAPE, 9, np.uint8))
    _itk_pair(root, "train/lnq2023-train-0003-ct.nrrd", "train/lnq2023-train-0003-seg.nrrd")
    _itk_pair(root, "train/lnq2023-train-0004-ct.nrrd", None)

    report = load_cases(_reader(tmp_path, root, LNQ))

    assert [c.case_id for c in report.cases] == ["lnq2023-train-0001", "lnq2023-train-0003"]
    errors = {e.case_id: e.message for e in report.errors}
    assert set(errors) == {"lnq2023-train-0002", "lnq2023-train-0004"}
    assert "[9]" in errors["lnq2023-train-0002"] and "image without label" in errors["lnq2023-train-0004"]


def test_promise12_raw_files_are_part_of_the_case(tmp_path: Path) -> None:
    root = tmp_path / "PROMISE12"
    _itk_pair(root, "training_data/Case00.mhd", "training_data/Case00_segmentation.mhd")
    reader = _reader(tmp_path, root, PROMISE, channels=("T2",), objects={"1": "prostate"}, ignore=("2",))

    (entry,) = reader.discover().entries

    folder = root / "training_data"
    assert entry.data_files == (folder / "Case00.raw", folder / "Case00_segmentation.raw")
    assert entry.files[-2:] == entry.data_files  # fetched, content-keyed and verified with the headers


def test_a_header_naming_a_missing_data_file_fails_its_case(tmp_path: Path) -> None:
    root = tmp_path / "PROMISE12"
    _itk_pair(root, "training_data/Case00.mhd", "training_data/Case00_segmentation.mhd")
    _itk_pair(root, "training_data/Case01.mhd", "training_data/Case01_segmentation.mhd", seed=1)
    (root / "training_data" / "Case01.raw").unlink()
    reader = _reader(tmp_path, root, PROMISE, channels=("T2",), objects={"1": "prostate"}, ignore=("2",))

    found = reader.discover()

    assert [e.case_id for e in found.entries] == ["Case00"]
    (error,) = found.errors
    assert error.case_id == "Case01" and "Case01.mhd: header names data file(s)" in error.message
    assert "Case01.raw" in error.message


@pytest.mark.parametrize(("field", "files"), [
    ("ElementDataFile = LIST\nslice0.raw\nslice1.raw", ["slice0.raw", "slice1.raw"]),
    ("ElementDataFile = part%02d.raw 1 3 1", ["part01.raw", "part02.raw", "part03.raw"]),
    ("ElementDataFile = LOCAL", []),
])
def test_metaimage_data_file_lists_and_patterns(tmp_path: Path, field: str, files: list[str]) -> None:
    from benchmark.data.readers.data_files import referenced_files

    header = tmp_path / "x.mhd"
    header.write_text(f"ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\n{field}\n")
    assert referenced_files(header) == tuple(tmp_path / name for name in files)


def test_detached_nrrd_and_analyze_pairs(tmp_path: Path) -> None:
    from benchmark.data.readers.data_files import referenced_files

    header = tmp_path / "x.nhdr"
    header.write_text("NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: x.raw\n\n")
    assert referenced_files(header) == (tmp_path / "x.raw",)
    assert referenced_files(tmp_path / "brain.hdr") == (tmp_path / "brain.img",)
    bad = tmp_path / "bad.mhd"
    bad.write_text("ObjectType = Image\nNDims = 3\n")
    with pytest.raises(LayoutError, match=r"bad\.mhd: MetaImage header has no ElementDataFile"):
        referenced_files(bad)


def test_promise12_reads_again_after_its_content_is_dropped(tmp_path: Path, git_identity: Path) -> None:
    # A real DataLad data home: the .raw files are annexed beside the .mhd headers; after a drop, reading a case
    # must fetch the headers' data files too (before, 0 of 4 cases read).
    from benchmark.data.dataset import load_cases
    from benchmark.home.data_home import DataHome

    source = tmp_path / "PROMISE12"
    truth = {f"Case0{i}": _itk_pair(source, f"training_data/Case0{i}.mhd",
                                    f"training_data/Case0{i}_segmentation.mhd", seed=i) for i in range(4)}
    promise = _card(tmp_path, PROMISE, channels=("T2",), objects={"1": "prostate"}, ignore=("2",))
    home = DataHome(tmp_path / "data-home")
    home.install(promise, source)
    home.drop(promise.id)
    raw = home.path / promise.id / "training_data" / "Case00.raw"
    assert raw.is_symlink() and not raw.exists()  # annexed, content absent

    report = load_cases(home.open_reader(promise))

    assert report.errors == () and [c.case_id for c in report.cases] == sorted(truth)
    for case in report.cases:
        image, label = truth[case.case_id]
        np.testing.assert_array_equal(case.image[0], image)
        np.testing.assert_array_equal(case.mask("prostate"), label == 1)
