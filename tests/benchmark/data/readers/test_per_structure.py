"""Tests of the family F4 reader (one binary mask file per structure: TotalSegmentator, HaN-Seg)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import load_cases
from benchmark.data.readers.per_structure import PerStructureOptions, PerStructureReader
from benchmark.data.readers.registry import reader_class
from benchmark.errors import CardError, GeometryMismatchError, ImageReadError, LayoutError
from tests.cards import card
from tests.synthetic import TOTALSEG_EXAMPLE, blob, ras_affine, write_nifti

SHAPE = (12, 10, 6)
#: An LPS-style affine (x and y flipped): the canonical array is the stored one reversed along x and y.
LPS_AFFINE = np.diag([-2.0, -2.0, 3.0, 1.0])
LPS_AFFINE[:3, 3] = (30.0, 20.0, -5.0)

TOTALSEG_OBJECTS = {"liver": "liver", "spleen": "spleen", "kidney_left": "left kidney"}


def make_card(tmp_path: Path, objects: dict[str, str], options: dict[str, Any], *, encoding: str = "per-file",
              channels: tuple[str, ...] = ("CT",)) -> DatasetCard:
    return card(objects, family="F4", options=options, channels=channels, dataset_id="T4", name="F4 test",
                encoding=encoding, path=tmp_path / "card.toml")


def phantom(seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """An int16 image (X, Y, Z) and three stored structure masks."""
    rng = np.random.default_rng(seed)
    image = rng.integers(-100, 200, SHAPE).astype(np.int16)
    masks = {"liver": blob(SHAPE, (4, 4, 3), (3, 3, 2)), "spleen": blob(SHAPE, (9, 6, 2), (2, 2, 1.5)),
             "kidney_left": blob(SHAPE, (8, 3, 4), (2, 1.5, 1.5))}
    return image, masks


def totalseg_case(root: Path, case: str, seed: int, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    image, masks = phantom(seed)
    write_nifti(root / case / "ct.nii.gz", image, LPS_AFFINE)
    for name, mask in masks.items():
        if name not in skip:
            write_nifti(root / case / "segmentations" / f"{name}.nii.gz", mask.astype(np.uint8), LPS_AFFINE)
    return {"image": image, **masks}


def totalseg_dataset(tmp_path: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = tmp_path / "Totalsegmentator_dataset_v201"
    truth = {"s0001": totalseg_case(root, "s0001", 1, skip=("kidney_left",)),
             "s0002": totalseg_case(root, "s0002", 2)}
    (root / "meta.csv").write_text("image_id;age;gender;split\ns0001;61;f;train\ns0002;70;m;test\n")
    return root, truth


def totalseg_options(**extra: Any) -> dict[str, Any]:
    return {"case_glob": "s*", "image_files": ["ct.nii.gz"], "mask_pattern": "segmentations/{key}.nii.gz",
            "meta_csv": "meta.csv", **extra}


def write_nrrd(path: Path, array: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 2.0),
               origin: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Path:
    """Write an (X, Y, Z) array as NRRD through SimpleITK (LPS identity direction)."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))
    return path


def test_registry_and_options_defaults() -> None:
    assert reader_class("F4") is PerStructureReader
    assert PerStructureOptions().mask_pattern == "segmentations/{key}.nii.gz"


def test_totalsegmentator_discovery_and_splits(tmp_path: Path) -> None:
    root, _ = totalseg_dataset(tmp_path)
    (root / ".hidden").mkdir()
    reader = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options()), root)
    found = reader.discover()
    assert [e.case_id for e in found.entries] == ["s0001", "s0002"]
    assert found.errors == ()
    assert [e.meta["split"] for e in found.entries] == ["train", "test"]
    assert [p.name for p in found.entries[0].label_files] == ["liver.nii.gz", "spleen.nii.gz"]

    only_test = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options(splits=["test"])), root)
    assert [e.case_id for e in only_test.discover().entries] == ["s0002"]


def test_totalsegmentator_geometry_masks_and_missing_structure(tmp_path: Path) -> None:
    root, truth = totalseg_dataset(tmp_path)
    reader = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options()), root)
    case = reader.open_case(reader.discover().entries[0])
    expected = truth["s0001"]
    assert case.image.shape == (1, *SHAPE)
    np.testing.assert_array_equal(case.image[0], expected["image"][::-1, ::-1, :])
    assert case.spacing == pytest.approx((2.0, 2.0, 3.0))
    assert np.allclose(np.diag(case.affine)[:3], (2.0, 2.0, 3.0))
    np.testing.assert_array_equal(case.mask("liver"), expected["liver"][::-1, ::-1, :])
    np.testing.assert_array_equal(case.mask("spleen"), expected["spleen"][::-1, ::-1, :])
    left_kidney = case.mask("left kidney")  # file absent in this case: an empty mask on the image grid
    assert left_kidney.shape == SHAPE and not left_kidney.any()
    assert case.objects == ("liver", "spleen", "left kidney")


def test_totalsegmentator_mr_variant(tmp_path: Path) -> None:
    root = tmp_path / "mr"
    image, masks = phantom(5)
    write_nifti(root / "s0100" / "mri.nii.gz", image, ras_affine((1.5, 1.5, 4.0)))
    write_nifti(root / "s0100" / "segmentations" / "liver.nii.gz", masks["liver"].astype(np.uint8),
                ras_affine((1.5, 1.5, 4.0)))
    card = make_card(tmp_path, {"liver": "liver"}, {"case_glob": "s*", "image_files": ["mri.nii.gz"]})
    case = PerStructureReader(card, root).open_case(PerStructureReader(card, root).discover().entries[0])
    np.testing.assert_array_equal(case.image[0], image)
    np.testing.assert_array_equal(case.mask("liver"), masks["liver"])


def test_meta_row_without_folder_and_bad_meta(tmp_path: Path) -> None:
    root, _ = totalseg_dataset(tmp_path)
    (root / "meta.csv").write_text("image_id;split\ns0001;train\ns0002;test\ns0009;val\n")
    reader = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options()), root)
    errors = reader.discover().errors
    assert len(errors) == 1 and errors[0].case_id == "s0009" and "meta.csv" in errors[0].message

    (root / "meta.csv").write_text("image_id,split\ns0001,train\n")  # comma-separated: columns not found
    with pytest.raises(LayoutError, match=r"meta\.csv.*column"):
        reader.discover()
    (root / "meta.csv").unlink()
    with pytest.raises(LayoutError, match=r"meta\.csv"):
        reader.discover()


def test_case_without_image_or_masks_is_reported(tmp_path: Path) -> None:
    root, _ = totalseg_dataset(tmp_path)
    (root / "s0003" / "segmentations").mkdir(parents=True)
    write_nifti(root / "s0003" / "segmentations" / "liver.nii.gz", np.zeros(SHAPE, np.uint8))
    write_nifti(root / "s0004" / "ct.nii.gz", np.zeros(SHAPE, np.int16))
    reader = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options(meta_csv="")), root)
    found = reader.discover()
    assert [e.case_id for e in found.entries] == ["s0001", "s0002"]
    by_case = {e.case_id: e for e in found.errors}
    assert "ct.nii.gz" in by_case["s0003"].message and by_case["s0003"].path == root / "s0003" / "ct.nii.gz"
    assert "none of the 3 mask files" in by_case["s0004"].message and "s0004" in str(by_case["s0004"].path)


def test_hanseg_nrrd_case(tmp_path: Path) -> None:
    root = tmp_path / "HaN-Seg"
    folder = root / "set_1" / "case_01"
    image, masks = phantom(3)
    write_nrrd(folder / "case_01_IMG_CT.nrrd", image)
    write_nrrd(folder / "case_01_IMG_MR_T1.nrrd", image[:8], spacing=(0.5, 0.5, 1.0))  # not co-registered
    write_nrrd(folder / "case_01_OAR_Brainstem.seg.nrrd", masks["liver"].astype(np.uint8))
    write_nrrd(folder / "case_01_OAR_Parotid_L.seg.nrrd", masks["spleen"].astype(np.uint8))
    (folder / "case_01_OAR_Parotid_R.seg.nrrd").write_bytes(b"")  # never read: OAR not on this card
    objects = {"Brainstem": "brainstem", "Parotid_L": "left parotid", "OpticChiasm": "optic chiasm"}
    card = make_card(tmp_path, objects, {"case_glob": "set_1/case_*", "image_files": ["{case}_IMG_CT.nrrd"],
                                         "mask_pattern": "{case}_OAR_{key}.seg.nrrd"})
    reader = PerStructureReader(card, root)
    found = reader.discover()
    assert [e.case_id for e in found.entries] == ["case_01"] and found.errors == ()
    case = reader.open_case(found.entries[0])
    # NRRD written by SimpleITK is LPS with identity direction: canonical RAS flips x and y.
    np.testing.assert_array_equal(case.image[0], image[::-1, ::-1, :])
    assert case.image.shape == (1, *SHAPE)
    assert case.spacing == pytest.approx((1.0, 1.0, 2.0))
    np.testing.assert_array_equal(case.mask("brainstem"), masks["liver"][::-1, ::-1, :])
    np.testing.assert_array_equal(case.mask("left parotid"), masks["spleen"][::-1, ::-1, :])
    assert not case.mask("optic chiasm").any()


def test_mask_on_another_grid_names_both_files(tmp_path: Path) -> None:
    root, _ = totalseg_dataset(tmp_path)
    bad = root / "s0002" / "segmentations" / "spleen.nii.gz"
    write_nifti(bad, np.zeros((12, 10, 5), np.uint8), LPS_AFFINE)
    reader = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options()), root)
    case = reader.open_case(reader.discover().entries[1])
    with pytest.raises(GeometryMismatchError) as info:
        case.mask("spleen")
    assert str(bad) in str(info.value) and str(root / "s0002" / "ct.nii.gz") in str(info.value)


def test_truncated_mask_is_an_image_read_error(tmp_path: Path) -> None:
    root, _ = totalseg_dataset(tmp_path)
    bad = root / "s0001" / "segmentations" / "liver.nii.gz"
    bad.write_bytes(bad.read_bytes()[:60])
    reader = PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options()), root)
    case = reader.open_case(reader.discover().entries[0])
    with pytest.raises(ImageReadError, match=str(bad)):
        case.mask("liver")


def test_load_cases_reports_bad_case_and_loads_others(tmp_path: Path) -> None:
    root, _ = totalseg_dataset(tmp_path)
    totalseg_case(root, "s0003", 3)
    (root / "meta.csv").write_text("image_id;split\ns0001;train\ns0002;train\ns0003;test\n")
    bad = root / "s0002" / "segmentations" / "liver.nii.gz"
    bad.write_bytes(bad.read_bytes()[:60])
    report = load_cases(PerStructureReader(make_card(tmp_path, TOTALSEG_OBJECTS, totalseg_options()), root))
    assert [c.case_id for c in report.cases] == ["s0001", "s0003"]
    assert len(report.errors) == 1 and report.errors[0].case_id == "s0002"
    assert str(bad) in report.errors[0].message


@pytest.mark.parametrize(("options", "encoding", "match"), [
    ({}, "label-map", "per-file"),
    ({"image_files": ["ct.nii.gz", "pet.nii.gz"]}, "per-file", "image_files"),
    ({"mask_pattern": "segmentations/liver.nii.gz"}, "per-file", "mask_pattern"),
    ({"mask_pattern": "{organ}/{key}.nii.gz"}, "per-file", "organ"),
    ({"image_files": ["{key}.nii.gz"]}, "per-file", "image_files"),
    ({"unknown_option": 1}, "per-file", "unknown_option"),
])
def test_bad_card_options(tmp_path: Path, options: dict[str, Any], encoding: str, match: str) -> None:
    objects = {"1": "liver"} if encoding == "label-map" else {"liver": "liver"}
    with pytest.raises(CardError, match=match):
        PerStructureReader(make_card(tmp_path, objects, options, encoding=encoding), tmp_path)


@pytest.mark.realdata
def test_real_totalsegmentator_example_split_into_structures(tmp_path: Path) -> None:
    if not TOTALSEG_EXAMPLE.is_dir():
        pytest.skip(f"real example scans not present at {TOTALSEG_EXAMPLE}")
    import nibabel as nib

    labels = json.loads((TOTALSEG_EXAMPLE / "labelmaps.json").read_text())["total"]
    values = {name: int(value) for value, name in labels.items()}
    ct: Any = nib.load(str(TOTALSEG_EXAMPLE / "ct.nii.gz"))
    seg: Any = nib.load(str(TOTALSEG_EXAMPLE / "ct_seg.nii.gz"))
    seg_array = np.asarray(seg.dataobj)
    case = tmp_path / "ts" / "s0042"
    case.mkdir(parents=True)
    shutil.copy(TOTALSEG_EXAMPLE / "ct.nii.gz", case / "ct.nii.gz")
    for name in ("liver", "spleen", "kidney_left"):
        write_nifti(case / "segmentations" / f"{name}.nii.gz", (seg_array == values[name]).astype(np.uint8),
                    seg.affine)
    card = make_card(tmp_path, TOTALSEG_OBJECTS, {"case_glob": "s*"})
    reader = PerStructureReader(card, tmp_path / "ts")
    loaded = reader.open_case(reader.discover().entries[0])

    ornt = nib.orientations.io_orientation(ct.affine)
    expected_ct = nib.orientations.apply_orientation(np.asarray(ct.dataobj), ornt)
    expected_seg = nib.orientations.apply_orientation(seg_array, ornt)
    assert loaded.spatial_shape == (122, 101, 30)
    assert loaded.spacing == pytest.approx((3.0, 3.0, 3.0))
    np.testing.assert_array_equal(loaded.image[0], expected_ct)
    assert nib.orientations.aff2axcodes(loaded.affine) == ("R", "A", "S")
    for name, object_name in TOTALSEG_OBJECTS.items():
        mask = loaded.mask(object_name)
        np.testing.assert_array_equal(mask, expected_seg == values[name])
        assert mask.any()


def test_duplicate_case_folder_names_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "HaN-Seg"
    for part in ("set_1", "set_2"):
        image, masks = phantom(1)
        write_nrrd(root / part / "case_01" / "case_01_IMG_CT.nrrd", image)
        write_nrrd(root / part / "case_01" / "case_01_OAR_Brainstem.seg.nrrd", masks["liver"].astype(np.uint8))
    card = make_card(tmp_path, {"Brainstem": "brainstem"}, {"case_glob": "set_*/case_*",
                     "image_files": ["{case}_IMG_CT.nrrd"], "mask_pattern": "{case}_OAR_{key}.seg.nrrd"})
    found = PerStructureReader(card, root).discover()
    assert [e.case_id for e in found.entries] == []  # every copy is excluded, none is read silently
    (error,) = found.errors
    assert "set_1" in error.message and "both are excluded" in error.message
    assert error.path == root / "set_2" / "case_01"


def test_two_channels_stack_and_channel_grid_mismatch(tmp_path: Path) -> None:
    root = tmp_path / "two"
    image, masks = phantom(2)
    write_nifti(root / "s1" / "ct.nii.gz", image)
    write_nifti(root / "s1" / "pet.nii.gz", image * 2)
    write_nifti(root / "s1" / "segmentations" / "liver.nii.gz", masks["liver"].astype(np.uint8))
    write_nifti(root / "s2" / "ct.nii.gz", image)
    write_nifti(root / "s2" / "pet.nii.gz", image[:, :, :4])
    write_nifti(root / "s2" / "segmentations" / "liver.nii.gz", masks["liver"].astype(np.uint8))
    card = make_card(tmp_path, {"liver": "liver"}, {"image_files": ["ct.nii.gz", "pet.nii.gz"]},
                     channels=("CT", "PET"))
    reader = PerStructureReader(card, root)
    good, bad = (reader.open_case(e) for e in reader.discover().entries)
    np.testing.assert_array_equal(good.image, np.stack([image, image * 2]))
    with pytest.raises(GeometryMismatchError, match="channel 'PET'") as info:
        _ = bad.image
    assert str(root / "s2" / "pet.nii.gz") in str(info.value)
