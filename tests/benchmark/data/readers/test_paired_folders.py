"""Tests of layout family F1 (paired image/label folders) on tiny datasets built in the native layouts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import load_cases
from benchmark.data.geometry import read_volume
from benchmark.data.readers.paired_folders import PairedFoldersReader
from benchmark.errors import CardError, CaseLoadError, GeometryMismatchError, ImageReadError, LayoutError
from tests.cards import card
from tests.synthetic import TOTALSEG_EXAMPLE, labelled_phantom, ras_affine, write_nifti

SHAPE = (24, 20, 12)  # (X, Y, Z) of every synthetic image
LPS = np.array([[-1.0, 0, 0, 23.0], [0, -1.0, 0, 19.0], [0, 0, 2.0, 0.0], [0, 0, 0, 1]])

def _card(tmp_path: Path, options: Mapping[str, Any], *, channels: Sequence[str] = ("CT",),
          objects: Mapping[str, str] | None = None, ignore: Sequence[str] = (),
          encoding: str = "label-map") -> DatasetCard:
    return card(objects or {"1": "liver", "2": "liver tumour"}, options=options, channels=channels, name="test set",
                encoding=encoding, ignore=ignore, path=tmp_path / "T1.toml")


def _reader(tmp_path: Path, root: Path, options: Mapping[str, Any] | None = None, **card: Any) -> PairedFoldersReader:
    return PairedFoldersReader(_card(tmp_path, options or {}, **card), root)


def _pair(root: Path, image: str, label: str | None, *, seed: int = 0, affine: np.ndarray | None = None,
          label_affine: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Write a phantom image and its label map (both as the file stores them, (X, Y, Z))."""
    data, lbl = labelled_phantom(SHAPE, seed=seed)
    write_nifti(root / image, data, affine)
    if label is not None:
        write_nifti(root / label, lbl, label_affine if label_affine is not None else affine)
    return data, lbl


def _msd(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MSD Task03-like folder: liver_1 in LPS, resource forks, an unlabelled imagesTs."""
    cases = {"liver_0": _pair(root, "imagesTr/liver_0.nii.gz", "labelsTr/liver_0.nii.gz"),
             "liver_1": _pair(root, "imagesTr/liver_1.nii.gz", "labelsTr/liver_1.nii.gz", seed=1, affine=LPS)}
    _pair(root, "imagesTs/liver_9.nii.gz", None)
    (root / "imagesTr/._liver_0.nii.gz").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (root / "labelsTr/._liver_0.nii.gz").write_bytes(b"\x00\x05\x16\x07 resource fork")
    return cases


def _dataset_json(root: Path, training: list[dict[str, str]], labels: Mapping[str, Any] | None = None) -> None:
    content = {"name": "Liver", "labels": dict(labels or {"0": "background", "1": "liver", "2": "cancer"}),
               "training": training, "test": ["./imagesTs/liver_9.nii.gz"]}
    (root / "dataset.json").write_text(json.dumps(content))


@pytest.mark.parametrize("with_json", [True, False])
def test_msd_layout_gives_canonical_images_and_masks(tmp_path: Path, with_json: bool) -> None:
    root = tmp_path / "Task03_Liver"
    cases = _msd(root)
    if with_json:
        _dataset_json(root, [{"image": f"./imagesTr/{k}.nii.gz", "label": f"./labelsTr/{k}.nii.gz"} for k in cases])
        _pair(root, "imagesTr/liver_7.nii.gz", None)  # not listed: the dataset.json is authoritative
    reader = _reader(tmp_path, root)

    found = reader.discover()

    assert [e.case_id for e in found.entries] == ["liver_0", "liver_1"] and found.errors == ()
    for entry in found.entries:
        case = reader.open_case(entry)
        data, lbl = cases[entry.case_id]
        flip = (slice(None, None, -1),) * 2 if entry.case_id == "liver_1" else (slice(None),) * 2
        assert case.image.shape == (1, *SHAPE) and case.channel_names == ("CT",) and case.modality == "CT"
        np.testing.assert_array_equal(case.image[0], data[flip])
        np.testing.assert_array_equal(case.mask("liver"), (lbl == 1)[flip])
        np.testing.assert_array_equal(case.mask("liver tumour"), (lbl == 2)[flip])
        assert case.spacing == pytest.approx((1.0, 1.0, 2.0) if entry.case_id == "liver_1" else (1.0, 1.0, 1.0))


def test_msd_four_d_image_gives_one_channel_per_card_channel(tmp_path: Path) -> None:
    root = tmp_path / "Task01_BrainTumour"
    _, lbl = labelled_phantom(SHAPE)
    channels = np.stack([np.full(SHAPE, 100 * c, dtype=np.int16) for c in range(4)], axis=-1)  # (X, Y, Z, 4)
    write_nifti(root / "imagesTr/BRATS_001.nii.gz", channels, LPS)
    write_nifti(root / "labelsTr/BRATS_001.nii.gz", lbl, LPS)
    _dataset_json(root, [{"image": "./imagesTr/BRATS_001.nii.gz", "label": "./labelsTr/BRATS_001.nii.gz"}],
                  {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"})
    reader = _reader(tmp_path, root, channels=("FLAIR", "T1w", "t1gd", "T2w"),
                     objects={"1": "edema", "2": "non-enhancing tumour", "3": "enhancing tumour"})

    case = reader.open_case(reader.discover().entries[0])

    assert case.image.shape == (4, *SHAPE)
    assert [int(case.image[c].max()) for c in range(4)] == [0, 100, 200, 300]
    np.testing.assert_array_equal(case.mask("edema"), (lbl == 1)[::-1, ::-1, :])


def test_dataset_json_labels_disagreeing_with_the_card_raise_card_error(tmp_path: Path) -> None:
    root = tmp_path / "Task01_BrainTumour"
    _pair(root, "imagesTr/BRATS_001.nii.gz", "labelsTr/BRATS_001.nii.gz")
    _dataset_json(root, [{"image": "./imagesTr/BRATS_001.nii.gz", "label": "./labelsTr/BRATS_001.nii.gz"}],
                  {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"})
    reader = _reader(tmp_path, root, objects={"1": "necrosis", "2": "edema", "4": "enhancing tumour"})

    with pytest.raises(CardError) as info:
        reader.discover()

    assert "dataset.json" in str(info.value) and "T1.toml" in str(info.value) and "[1, 2, 3]" in str(info.value)


def test_nnunet_v2_dataset_json_labels_are_checked_and_folders_listed(tmp_path: Path) -> None:
    root = tmp_path / "Dataset003_Liver"
    _pair(root, "imagesTr/liver_0_0000.nii.gz", "labelsTr/liver_0.nii.gz")
    (root / "dataset.json").write_text(json.dumps({"labels": {"background": 0, "liver": 1, "tumour": 2},
                                                   "channel_names": {"0": "CT"}, "file_ending": ".nii.gz"}))
    reader = _reader(tmp_path, root, {"channel_suffixes": {"CT": "_0000"}})

    assert [e.case_id for e in reader.discover().entries] == ["liver_0"]
    with pytest.raises(CardError, match="dataset.json"):
        _reader(tmp_path, root, {"channel_suffixes": {"CT": "_0000"}}, objects={"1": "liver"}).discover()


@pytest.mark.parametrize("escaping", ["../outside/liver_5.nii.gz", "/etc/liver_5.nii.gz"])
def test_dataset_json_path_escaping_the_root_is_a_case_error(tmp_path: Path, escaping: str) -> None:
    root = tmp_path / "Task03_Liver"
    _msd(root)
    _pair(tmp_path, "outside/liver_5.nii.gz", "outside/liver_5_label.nii.gz")
    _dataset_json(root, [{"image": "./imagesTr/liver_0.nii.gz", "label": "./labelsTr/liver_0.nii.gz"},
                         {"image": escaping, "label": "./labelsTr/liver_1.nii.gz"}])

    found = _reader(tmp_path, root).discover()

    assert [e.case_id for e in found.entries] == ["liver_0"]
    assert len(found.errors) == 1
    assert escaping in found.errors[0].message and "training[1]" in found.errors[0].message
    assert found.errors[0].path == root / "dataset.json"


def test_dataset_json_listing_a_missing_label_is_a_case_error(tmp_path: Path) -> None:
    root = tmp_path / "Task03_Liver"
    _msd(root)
    _dataset_json(root, [{"image": "./imagesTr/liver_0.nii.gz", "label": "./labelsTr/liver_0.nii.gz"},
                         {"image": "./imagesTr/liver_1.nii.gz", "label": "./labelsTr/liver_8.nii.gz"},
                         {"image": "./imagesTr/liver_1.nii.gz"}])

    found = _reader(tmp_path, root).discover()

    assert [e.case_id for e in found.entries] == ["liver_0"]
    assert {e.path.name for e in found.errors if e.path} == {"liver_8.nii.gz", "dataset.json"}


def test_unreadable_dataset_json_raises_layout_error(tmp_path: Path) -> None:
    root = tmp_path / "Task03_Liver"
    _msd(root)
    (root / "dataset.json").write_text("{ not json")

    with pytest.raises(LayoutError, match="dataset.json"):
        _reader(tmp_path, root).discover()


def test_nnunet_raw_channels_follow_the_card_order(tmp_path: Path) -> None:
    root = tmp_path / "Dataset005_Prostate"
    t2, lbl = _pair(root, "imagesTr/prostate_00_0000.nii.gz", "labelsTr/prostate_00.nii.gz")
    write_nifti(root / "imagesTr/prostate_00_0001.nii.gz", t2 + 1)
    _pair(root, "imagesTr/prostate_01_0000.nii.gz", "labelsTr/prostate_01.nii.gz")  # its _0001 is missing
    reader = _reader(tmp_path, root, {"channel_suffixes": {"ADC": "_0001", "T2": "_0000"}}, channels=("T2", "ADC"))

    found = reader.discover()
    case = reader.open_case(found.entries[0])

    assert [e.case_id for e in found.entries] == ["prostate_00"]
    np.testing.assert_array_equal(case.image[0], t2)
    np.testing.assert_array_equal(case.image[1], t2 + 1)
    np.testing.assert_array_equal(case.mask("liver"), lbl == 1)
    assert len(found.errors) == 1 and "prostate_01_0001.nii.gz" in found.errors[0].message


@pytest.mark.parametrize(("bounds", "expected"), [({"case_number_max": 500}, ["amos_0001", "amos_0400"]),
                                                  ({"case_number_min": 501}, ["amos_0507", "amos_0600"])])
def test_amos_case_number_range_and_validation_folders(tmp_path: Path, bounds: dict[str, int],
                                                       expected: list[str]) -> None:
    root = tmp_path / "amos22"
    for folder, key in [("Tr", "amos_0001"), ("Tr", "amos_0507"), ("Va", "amos_0400"), ("Va", "amos_0600")]:
        _pair(root, f"images{folder}/{key}.nii.gz", f"labels{folder}/{key}.nii.gz")
    (root / "__MACOSX").mkdir()
    options = {"image_dirs": ["imagesTr", "imagesVa"], "label_dirs": ["labelsTr", "labelsVa"], **bounds}

    found = _reader(tmp_path, root, options).discover()

    assert [e.case_id for e in found.entries] == expected and found.errors == ()


def test_amos_dataset_json_validation_list_and_case_filter(tmp_path: Path) -> None:
    root = tmp_path / "amos22"
    for folder, key in [("Tr", "amos_0001"), ("Tr", "amos_0507"), ("Va", "amos_0400")]:
        _pair(root, f"images{folder}/{key}.nii.gz", f"labels{folder}/{key}.nii.gz")
    _pair(root, "imagesTs/amos_0450.nii.gz", None)
    content = {"labels": {"0": "background", "1": "spleen", "2": "right kidney"},
               "training": [{"image": "./imagesTr/amos_0001.nii.gz", "label": "./labelsTr/amos_0001.nii.gz"},
                            {"image": "./imagesTr/amos_0507.nii.gz", "label": "./labelsTr/amos_0507.nii.gz"}],
               "validation": [{"image": "./imagesVa/amos_0400.nii.gz", "label": "./labelsVa/amos_0400.nii.gz"},
                              {"image": "./imagesTs/amos_0450.nii.gz"}]}
    (root / "dataset.json").write_text(json.dumps(content))
    options = {"image_dirs": ["imagesTr", "imagesVa"], "label_dirs": ["labelsTr", "labelsVa"], "case_number_max": 500}

    found = _reader(tmp_path, root, options, objects={"1": "spleen", "2": "right kidney"}).discover()

    assert [e.case_id for e in found.entries] == ["amos_0001", "amos_0400"] and found.errors == ()


def test_nnunet_v1_dataset_json_lists_images_without_channel_suffix(tmp_path: Path) -> None:
    root = tmp_path / "Task002_Heart"
    _pair(root, "imagesTr/la_003_0000.nii.gz", "labelsTr/la_003.nii.gz")
    _dataset_json(root, [{"image": "./imagesTr/la_003.nii.gz", "label": "./labelsTr/la_003.nii.gz"}])

    found = _reader(tmp_path, root, {"channel_suffixes": {"CT": "_0000"}}).discover()

    assert [e.case_id for e in found.entries] == ["la_003"] and found.errors == ()
    assert found.entries[0].image_files == (root / "imagesTr/la_003_0000.nii.gz",)


def test_word_validation_folders(tmp_path: Path) -> None:
    root = tmp_path / "WORD"
    _pair(root, "imagesTr/word_0001.nii.gz", "labelsTr/word_0001.nii.gz")
    _pair(root, "imagesVal/word_0101.nii.gz", "labelsVal/word_0101.nii.gz")
    _pair(root, "imagesTs/word_0121.nii.gz", "labelsTs/word_0121.nii.gz")
    options = {"image_dirs": ["imagesTr", "imagesVal"], "label_dirs": ["labelsTr", "labelsVal"]}

    assert [e.case_id for e in _reader(tmp_path, root, options).discover().entries] == ["word_0001", "word_0101"]


def _hecktor(root: Path) -> np.ndarray:
    """CT on a 1 mm grid, PET on a 2 mm grid over the same field of view; PET intensity equals x in mm."""
    _pair(root, "imagesTr/CHUM-001__CT.nii.gz", "labelsTr/CHUM-001.nii.gz")
    coarse = tuple(s // 2 for s in SHAPE)
    pet = np.broadcast_to(2.0 * np.arange(coarse[0], dtype=np.float32)[:, None, None], coarse)
    write_nifti(root / "imagesTr/CHUM-001__PT.nii.gz", np.ascontiguousarray(pet), ras_affine((2.0, 2.0, 2.0)))
    return pet


def test_hecktor_channels_on_different_grids_raise_without_resampling(tmp_path: Path) -> None:
    root = tmp_path / "hecktor2022"
    _hecktor(root)
    reader = _reader(tmp_path, root, {"channel_suffixes": {"CT": "__CT", "PT": "__PT"}}, channels=("CT", "PT"))
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError) as info:
        _ = case.image

    assert "CHUM-001__CT.nii.gz" in str(info.value) and "CHUM-001__PT.nii.gz" in str(info.value)


def test_hecktor_pet_is_resampled_onto_the_ct_grid(tmp_path: Path) -> None:
    root = tmp_path / "hecktor2022"
    _hecktor(root)
    options = {"channel_suffixes": {"CT": "__CT", "PT": "__PT"}, "resample_to": "CT"}
    reader = _reader(tmp_path, root, options, channels=("CT", "PT"))
    case = reader.open_case(reader.discover().entries[0])

    image = case.image

    assert image.shape == (2, *SHAPE) and case.spacing == pytest.approx((1.0, 1.0, 1.0))
    x_mm = np.arange(SHAPE[0], dtype=np.float32)
    np.testing.assert_allclose(image[1, 1:-2, 5, 5], x_mm[1:-2], atol=1e-4)  # linear in x: exact inside
    assert case.mask("liver").shape == SHAPE


def test_abdomenct1k_images_spread_over_parts(tmp_path: Path) -> None:
    root = tmp_path / "AbdomenCT-1K"
    _pair(root, "AbdomenCT-1K-ImagePart1/Case_00001_0000.nii.gz", "Mask/Case_00001.nii.gz")
    _pair(root, "AbdomenCT-1K-ImagePart2/Case_00401_0000.nii.gz", "Mask/Case_00401.nii.gz")
    _pair(root, "AbdomenCT-1K-ImagePart3/Case_00801_0000.nii.gz", "Mask/Case_00801.nii.gz")
    options = {"image_dirs": [f"AbdomenCT-1K-ImagePart{i}" for i in (1, 2, 3)], "label_dirs": ["Mask"],
               "channel_suffixes": {"CT": "_0000"}}

    found = _reader(tmp_path, root, options).discover()

    assert [e.case_id for e in found.entries] == ["Case_00001", "Case_00401", "Case_00801"]
    assert found.entries[1].image_files[0].parent.name == "AbdomenCT-1K-ImagePart2"


def test_instance_same_file_name_in_both_folders(tmp_path: Path) -> None:
    root = tmp_path / "INSTANCE2022"
    _, lbl = _pair(root, "train/data/001.nii.gz", "train/label/001.nii.gz")
    _pair(root, "evaluation/101.nii.gz", None)
    reader = _reader(tmp_path, root, {"image_dirs": ["train/data"], "label_dirs": ["train/label"]},
                     objects={"1": "haemorrhage"}, ignore=("2",))

    case = reader.open_case(reader.discover().entries[0])

    assert case.case_id == "001"
    np.testing.assert_array_equal(case.mask("haemorrhage"), lbl == 1)


def test_annexed_files_are_discovered_and_fetched_before_reading(tmp_path: Path) -> None:
    root, store = tmp_path / "ds", tmp_path / "annex"
    objects = root / ".git" / "annex" / "objects"  # where a DataLad dataset keeps annexed content
    _pair(store, "liver_0.nii.gz", "liver_0_label.nii.gz")
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    (root / "imagesTr/liver_0.nii.gz").symlink_to(objects / "image")
    (root / "labelsTr/liver_0.nii.gz").symlink_to(objects / "label")
    fetched: list[Path] = []

    def fetch(paths: Sequence[Path]) -> None:  # what "datalad get" does: make the link targets present
        fetched.extend(paths)
        objects.mkdir(parents=True, exist_ok=True)
        shutil.copy(store / "liver_0.nii.gz", objects / "image")
        shutil.copy(store / "liver_0_label.nii.gz", objects / "label")

    reader = PairedFoldersReader(_card(tmp_path, {}), root, fetch=fetch)
    entries = reader.discover().entries
    case = reader.open_case(entries[0])

    assert [e.case_id for e in entries] == ["liver_0"] and fetched == []
    assert case.image.shape == (1, *SHAPE)
    assert fetched[:2] == [root / "imagesTr/liver_0.nii.gz", root / "labelsTr/liver_0.nii.gz"]


# ---- bad inputs ----------------------------------------------------------------------------------------------------


def test_missing_dataset_folder_raises_layout_error(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="Task03_Liver"):
        _reader(tmp_path, tmp_path / "Task03_Liver")


def test_missing_image_folder_raises_layout_error_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "WORD"
    _pair(root, "imagesTr/word_0001.nii.gz", "labelsTr/word_0001.nii.gz")
    options = {"image_dirs": ["imagesTr", "imagesVal"], "label_dirs": ["labelsTr", "labelsVal"]}

    with pytest.raises(LayoutError, match="imagesVal"):
        _reader(tmp_path, root, options).discover()


def test_image_without_label_and_label_without_image_are_case_errors(tmp_path: Path) -> None:
    root = tmp_path / "Task03_Liver"
    _msd(root)
    _pair(root, "imagesTr/liver_2.nii.gz", None)
    _pair(root, "imagesTr/unused.nii.gz", "labelsTr/liver_3.nii.gz")
    (root / "imagesTr/unused.nii.gz").unlink()

    found = _reader(tmp_path, root, {"dataset_json": ""}).discover()

    assert [e.case_id for e in found.entries] == ["liver_0", "liver_1"]
    errors = {e.case_id: e for e in found.errors}
    assert "image without label" in errors["liver_2"].message and str(errors["liver_2"].path).endswith("liver_2.nii.gz")
    assert "label without image" in errors["liver_3"].message and str(errors["liver_3"].path).endswith("liver_3.nii.gz")


def test_duplicate_case_key_and_missing_channel_suffix_are_case_errors(tmp_path: Path) -> None:
    root = tmp_path / "amos22"
    _pair(root, "imagesTr/amos_0001_0000.nii.gz", "labelsTr/amos_0001.nii.gz")
    _pair(root, "imagesVa/amos_0001_0000.nii.gz", "labelsVa/amos_0002.nii.gz")
    _pair(root, "imagesVa/amos_0003.nii.gz", None)
    options = {"image_dirs": ["imagesTr", "imagesVa"], "label_dirs": ["labelsTr", "labelsVa"],
               "channel_suffixes": {"CT": "_0000"}}

    found = _reader(tmp_path, root, options).discover()

    messages = " | ".join(e.message for e in found.errors)
    assert "duplicate image" in messages and "amos_0003.nii.gz" in messages and "label without image" in messages
    # One rule for a repeated case key: every copy is excluded, and the error names both files.
    assert [e.case_id for e in found.entries] == []
    (duplicate,) = [e for e in found.errors if "duplicate image" in e.message]
    assert duplicate.case_id == "amos_0001" and "both are excluded" in duplicate.message
    assert "imagesTr/amos_0001_0000.nii.gz" in duplicate.message and duplicate.path.parent.name == "imagesVa"


def test_label_values_not_on_the_card_raise_naming_the_label_file(tmp_path: Path) -> None:
    root = tmp_path / "Task03_Liver"
    _msd(root)
    case = _reader(tmp_path, root, {"dataset_json": ""}, objects={"1": "liver"}).open_case(
        _reader(tmp_path, root, {"dataset_json": ""}).discover().entries[0])

    with pytest.raises(CaseLoadError, match=r"labelsTr/liver_0.nii.gz.*\[2\]"):
        case.mask("liver")


def test_image_and_label_on_different_grids_raise_naming_both(tmp_path: Path) -> None:
    root = tmp_path / "Task03_Liver"
    _pair(root, "imagesTr/liver_0.nii.gz", "labelsTr/liver_0.nii.gz", label_affine=ras_affine(origin=(0, 0, 5.0)))
    reader = _reader(tmp_path, root)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(GeometryMismatchError) as info:
        case.mask("liver")

    assert "imagesTr/liver_0.nii.gz" in str(info.value) and "labelsTr/liver_0.nii.gz" in str(info.value)


def _truncate(path: Path, keep: int | None = None) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: keep if keep is not None else len(data) // 2])


@pytest.mark.parametrize("keep", [pytest.param(None, id="data"), pytest.param(60, id="header")])
def test_truncated_image_raises_image_read_error_naming_the_file(tmp_path: Path, keep: int | None) -> None:
    root = tmp_path / "Task03_Liver"
    _pair(root, "imagesTr/liver_0.nii.gz", "labelsTr/liver_0.nii.gz")
    _truncate(root / "imagesTr/liver_0.nii.gz", keep)
    reader = _reader(tmp_path, root)
    case = reader.open_case(reader.discover().entries[0])

    with pytest.raises(ImageReadError, match="imagesTr/liver_0.nii.gz"):
        _ = case.image


@pytest.mark.parametrize(
    ("options", "card", "key"),
    [
        ({"imageDirs": ["imagesTr"]}, {}, "layout.options.imageDirs"),
        ({"image_dirs": "imagesTr"}, {}, "layout.options.image_dirs"),
        ({"channel_suffixes": {"PT": "_0000"}}, {}, "channel_suffixes"),
        ({"channel_suffixes": {"CT": "_0000", "PT": "_0000"}}, {"channels": ("CT", "PT")}, "channel_suffixes"),
        ({"resample_to": "PT"}, {}, "resample_to"),
        ({"case_number_min": 600, "case_number_max": 500}, {}, "case_number_min"),
        ({}, {"encoding": "per-file"}, "encoding"),
    ],
)
def test_bad_card_options_raise_card_error_naming_the_key(tmp_path: Path, options: dict[str, Any],
                                                          card: dict[str, Any], key: str) -> None:
    root = tmp_path / "Task03_Liver"
    root.mkdir()

    with pytest.raises(CardError, match=key) as info:
        _reader(tmp_path, root, options, **card)

    assert "T1.toml" in str(info.value)


def test_load_cases_reports_the_bad_case_and_loads_the_others(tmp_path: Path) -> None:
    root = tmp_path / "Task03_Liver"
    _msd(root)
    _pair(root, "imagesTr/liver_2.nii.gz", "labelsTr/liver_2.nii.gz", label_affine=LPS)
    _pair(root, "imagesTr/liver_4.nii.gz", None)

    report = load_cases(_reader(tmp_path, root))

    assert [c.case_id for c in report.cases] == ["liver_0", "liver_1"]
    assert sorted(e.case_id for e in report.errors) == ["liver_2", "liver_4"]
    assert all(e.dataset_id == "T1" for e in report.errors)


# ---- real data -----------------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_totalsegmentator_example_as_nnunet_raw(tmp_path: Path) -> None:
    if not (TOTALSEG_EXAMPLE / "ct.nii.gz").exists():
        pytest.skip(f"real example scans not present at {TOTALSEG_EXAMPLE}")
    root = tmp_path / "Dataset999_TotalSegExample"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    shutil.copy(TOTALSEG_EXAMPLE / "ct.nii.gz", root / "imagesTr/x_0000.nii.gz")
    shutil.copy(TOTALSEG_EXAMPLE / "ct_seg.nii.gz", root / "labelsTr/x.nii.gz")
    names = json.loads((TOTALSEG_EXAMPLE / "labelmaps.json").read_text())["total"]
    present = np.unique(read_volume(TOTALSEG_EXAMPLE / "ct_seg.nii.gz").array)
    objects = {str(int(v)): names[str(int(v))] for v in present if v != 0}
    reader = _reader(tmp_path, root, {"channel_suffixes": {"CT": "_0000"}}, objects=objects)

    report = load_cases(reader)

    assert report.errors == () and len(report.cases) == 1
    case = report.cases[0]
    assert case.case_id == "x" and case.image.shape == (1, 122, 101, 30)
    assert case.spacing == pytest.approx((3.0, 3.0, 3.0))
    assert np.all(np.diag(case.affine)[:3] > 0)
    assert case.mask("liver").sum() > 1000
    assert len(case.objects) == len(objects) >= 20
