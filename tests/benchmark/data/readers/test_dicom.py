"""Tests of the family F6 reader: DICOM series with DICOM-SEG, NIfTI/NRRD label volumes or PNG slice masks.

Every series is built in code: 16 x 16 pixels x 6 slices, with ImagePositionPatient, ImageOrientationPatient,
PixelSpacing, SliceThickness and RescaleSlope/Intercept, written slice by slice with pydicom.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import load_cases
from benchmark.data.readers.dicom import DicomOptions, DicomReader
from benchmark.data.readers.dicom_series import natural_key
from benchmark.data.readers.registry import reader_class
from benchmark.errors import CardError, CaseLoadError, GeometryMismatchError, ImageReadError
from tests.cards import card
from tests.synthetic import blob

COLS, ROWS, SLICES = 16, 16, 6
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SPACING = (0.8, 0.7, 2.5)  # mm between columns, between rows, between slices
ORIGIN = (-10.0, -20.0, 30.0)
SLOPE, INTERCEPT = 2.0, -1024.0


@dataclass
class Series:
    """A written series: its datasets and the truth in voxel order (column, row, slice ascending)."""

    folder: Path
    datasets: list[Any]
    hu: np.ndarray
    iop: tuple[float, ...]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    uid: str = ""
    files: list[Path] = field(default_factory=list)

    def ras_affine(self) -> np.ndarray:
        row, col = np.asarray(self.iop[:3]), np.asarray(self.iop[3:])
        lps = np.eye(4)
        lps[:3, :3] = np.stack([row * self.spacing[0], col * self.spacing[1],
                                np.cross(row, col) * self.spacing[2]], axis=1)
        lps[:3, 3] = self.origin
        return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps

    def canonical(self, voxels: np.ndarray) -> np.ndarray:
        """Expected canonical (RAS) array of a (C, R, S) voxel array on this series' grid."""
        import nibabel.orientations as nio

        return np.asarray(nio.apply_orientation(voxels, nio.io_orientation(self.ras_affine())))


def hu_phantom(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.integers(-1000, 1000, (COLS, ROWS, SLICES)) // 2 * 2).astype(np.int32)


def write_series(folder: Path, hu: np.ndarray, *, iop: tuple[float, ...] = AXIAL, descending: bool = False,
                 study_uid: str | None = None, description: str = "AX 2.5", modality: str = "CT",
                 positions: list[float] | None = None, name: str = "1-{n:03d}.dcm") -> Series:
    """Write a (C, R, S) HU array as single-frame slices; ``descending`` numbers the files from the top slice."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid, frame_uid = generate_uid(), "1.2.826.0.1.3680043.8.498.1"
    normal = np.cross(iop[:3], iop[3:])
    along = positions if positions is not None else [k * SPACING[2] for k in range(hu.shape[2])]
    series = Series(folder, [], hu, iop, SPACING, ORIGIN, series_uid)
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    for k in range(hu.shape[2]):
        n = hu.shape[2] - 1 - k if descending else k
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, ds.file_meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = "P1", "Test^Patient", "19700101", "O"
        ds.StudyID, ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "1", "20200101", "120000", "A1"
        ds.ReferringPhysicianName, ds.Manufacturer = "Doc", "Test"
        ds.Modality, ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = modality, description, 3, n + 1
        ds.ImageOrientationPatient = list(iop)
        ds.ImagePositionPatient = [float(v) for v in np.asarray(ORIGIN) + along[k] * normal]
        ds.PixelSpacing = [SPACING[1], SPACING[0]]
        ds.SliceThickness = SPACING[2]
        ds.Rows, ds.Columns = hu.shape[1], hu.shape[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = SLOPE, INTERCEPT, "HU"
        stored = ((hu[:, :, k].T - INTERCEPT) / SLOPE).astype(np.uint16)  # pixel (row, column)
        ds.PixelData = stored.tobytes()
        path = folder / name.format(n=n + 1)
        ds.save_as(path, enforce_file_format=True)
        series.datasets.append(ds)
        series.files.append(path)
    return series


def write_seg(path: Path, series: Series, masks: dict[str, np.ndarray], description: str = "Segmentation") -> None:
    """A binary DICOM-SEG (highdicom) of (C, R, S) masks, one segment per label, frames per source slice."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i + 1, segment_label=label, segmented_property_category=codes.SCT.Organ,
            segmented_property_type=codes.SCT.Liver, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
        for i, label in enumerate(masks)]
    # frames follow the datasets as written: dataset k is slice k (ascending)
    pixels = np.stack([np.stack([m[:, :, k].T for m in masks.values()], axis=-1)
                       for k in range(series.hu.shape[2])]).astype(np.uint8)
    seg = hd.seg.Segmentation(
        source_images=series.datasets, pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=generate_uid(), series_number=300,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="Test", manufacturer_model_name="Test",
        software_versions="1", device_serial_number="1", series_description=description)
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)


def make_card(tmp_path: Path, objects: dict[str, str], options: dict[str, Any], *,
              encoding: str = "label-map") -> DatasetCard:
    return card(objects, family="F6", options=options, dataset_id="T6", name="F6 test", encoding=encoding,
                ignore=["Marker"] if encoding == "per-file" else [], access="tcia-manifest",
                path=tmp_path / "card.toml")


def organ_masks() -> dict[str, np.ndarray]:
    shape = (COLS, ROWS, SLICES)
    return {"Liver": blob(shape, (5, 6, 2), (3, 4, 1.5)), "Tumor": blob(shape, (11, 10, 4), (2, 2, 1))}


def open_only(reader: DicomReader) -> Any:
    found = reader.discover()
    assert found.errors == (), found.errors
    return reader.open_case(found.entries[0])


# --- series reading ------------------------------------------------------------------------------------------------
def test_registry_natural_sort_and_defaults() -> None:
    assert reader_class("F6") is DicomReader
    assert sorted(["s10.png", "s2.png", "s1.png"], key=natural_key) == ["s1.png", "s2.png", "s10.png"]
    assert DicomOptions().labels == "dicom-seg"


@pytest.mark.parametrize("iop", [AXIAL, (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0), (0.0, 1.0, 0.0, 1.0, 0.0, 0.0)])
def test_series_canonical_and_descending_order_give_same_array(tmp_path: Path, iop: tuple[float, ...]) -> None:
    hu = hu_phantom(0)
    up = write_series(tmp_path / "data" / "up" / "study" / "series", hu, iop=iop)
    write_series(tmp_path / "data" / "down" / "study" / "series", hu, iop=iop, descending=True)
    (tmp_path / "data" / "up" / "label.nii.gz").write_bytes(b"")
    (tmp_path / "data" / "down" / "label.nii.gz").write_bytes(b"")
    card = make_card(tmp_path, {"1": "liver"}, {"labels": "volume", "label_paths": ["{case_dir}/label.nii.gz"]})
    reader = DicomReader(card, tmp_path / "data")
    found = reader.discover()
    assert [e.case_id for e in found.entries] == ["down", "up"]
    down, up_case = (reader.open_case(e) for e in found.entries)
    expected = up.canonical(hu)
    np.testing.assert_array_equal(up_case.image[0], expected)  # rescale slope 2, intercept -1024 applied
    np.testing.assert_array_equal(down.image[0], expected)
    assert down.geometry == up_case.geometry
    assert up_case.spacing == pytest.approx(tuple(sorted(SPACING[:2])) + (2.5,) if iop[0] == 0 else SPACING)
    if iop == AXIAL:  # LPS columns/rows: RAS flips x and y
        np.testing.assert_array_equal(up_case.image[0], hu[::-1, ::-1, :])
        assert np.allclose(up_case.affine[:3, 3], (10.0 - (COLS - 1) * 0.8, 20.0 - (ROWS - 1) * 0.7, 30.0))


def test_non_dicom_files_are_ignored(tmp_path: Path) -> None:
    hu = hu_phantom(1)
    series = write_series(tmp_path / "data" / "c1" / "01-02-2000-NA-CT-12345" / "3.000000-AX-67890", hu)
    (series.folder / "notes.txt").write_text("not a slice")
    (series.folder / "thumbnail.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (series.folder / "._1-001.dcm").write_bytes(b"resource fork")
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    card = make_card(tmp_path, {"1": "liver"}, {"labels": "volume", "label_paths": ["{case_dir}/label.nii.gz"]})
    case = open_only(DicomReader(card, tmp_path / "data"))
    np.testing.assert_array_equal(case.image[0], series.canonical(hu))


def test_folder_without_dicom_names_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "c1" / "series"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("x")
    (folder / "b.dcm").write_bytes(b"\x00" * 200)
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    card = make_card(tmp_path, {"1": "liver"}, {"labels": "volume", "label_paths": ["{case_dir}/label.nii.gz"]})
    case = open_only(DicomReader(card, tmp_path / "data"))
    with pytest.raises(ImageReadError, match="no DICOM image series") as info:
        _ = case.image
    assert str(tmp_path / "data" / "c1") in str(info.value) and "3 file(s)" in str(info.value)


def volume_card(tmp_path: Path, **extra: Any) -> DatasetCard:
    return make_card(tmp_path, {"1": "liver"}, {"labels": "volume", "label_paths": ["{case_dir}/label.nii.gz"],
                                                **extra})


def test_missing_slice_names_folder_spacing_and_gap(tmp_path: Path) -> None:
    series = write_series(tmp_path / "data" / "c1" / "s", hu_phantom(2))
    series.files[3].unlink()
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))
    with pytest.raises(CaseLoadError) as info:
        _ = case.image
    message = str(info.value)
    assert str(series.folder) in message and "gap of 5 mm" in message and "expected spacing 2.5 mm" in message
    assert "1 slice(s) missing" in message


def test_uneven_spacing_is_an_error(tmp_path: Path) -> None:
    write_series(tmp_path / "data" / "c1" / "s", hu_phantom(3), positions=[0.0, 2.5, 5.0, 8.1, 10.6, 13.1])
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))
    with pytest.raises(CaseLoadError, match=r"uneven slice spacing: 3\.1 mm .*expected 2\.5 mm") as info:
        _ = case.image
    assert str(tmp_path / "data" / "c1" / "s") in str(info.value)


def test_series_choice_by_description_and_ambiguity(tmp_path: Path) -> None:
    hu = hu_phantom(4)
    case_dir = tmp_path / "data" / "c1"
    wanted = write_series(case_dir / "2.000000-PORTAL-111", hu, description="PORTAL VENOUS")
    write_series(case_dir / "3.000000-ART-222", hu_phantom(5), description="ARTERIAL", study_uid=None)
    (case_dir / "label.nii.gz").write_bytes(b"")
    ambiguous = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))
    with pytest.raises(CaseLoadError, match="2 image series match") as info:
        _ = ambiguous.image
    assert str(case_dir) in str(info.value)
    chosen = open_only(DicomReader(volume_card(tmp_path, series_description="portal"), tmp_path / "data"))
    np.testing.assert_array_equal(chosen.image[0], wanted.canonical(hu))
    none = open_only(DicomReader(volume_card(tmp_path, series_modality="MR"), tmp_path / "data"))
    with pytest.raises(CaseLoadError, match="no image series matches modality 'MR'"):
        _ = none.image


# --- DICOM-SEG -----------------------------------------------------------------------------------------------------
SEG_OBJECTS = {"Liver": "liver", "Tumor": "liver tumour", "Vessel": "portal vein"}


def seg_case(case_dir: Path, *, descending: bool = False, labels: tuple[str, ...] = ("Liver", "Tumor")) -> Series:
    """A study with two CT series; the SEG references the second."""
    write_series(case_dir / "02-15-1998-NA-PP-10975" / "2.000000-SCOUT-1", hu_phantom(9), description="SCOUT")
    hu = hu_phantom(8)
    series = write_series(case_dir / "02-15-1998-NA-PP-10975" / "103.000000-LIVER 3 PHASE-83135", hu,
                          descending=descending, description="LIVER 3 PHASE")
    masks = organ_masks()
    write_seg(case_dir / "02-15-1998-NA-PP-10975" / "300.000000-Segmentation-91221" / "1-1.dcm", series,
              {label: masks[name] for label, name in zip(labels, ("Liver", "Tumor"), strict=False)})
    return series


@pytest.mark.parametrize("descending", [False, True])
def test_dicom_seg_picks_referenced_series_and_maps_frames(tmp_path: Path, descending: bool) -> None:
    series = seg_case(tmp_path / "HCC-TACE-Seg" / "HCC_009", descending=descending)
    card = make_card(tmp_path, SEG_OBJECTS, {"case_glob": "HCC-TACE-Seg/*"}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path))
    assert case.case_id == "HCC_009"
    masks = organ_masks()
    np.testing.assert_array_equal(case.image[0], series.canonical(series.hu))
    np.testing.assert_array_equal(case.mask("liver"), series.canonical(masks["Liver"]))
    np.testing.assert_array_equal(case.mask("liver tumour"), series.canonical(masks["Tumor"]))
    assert not case.mask("portal vein").any() and case.mask("portal vein").shape == case.spatial_shape


def test_dicom_seg_unknown_segment_label(tmp_path: Path) -> None:
    seg_case(tmp_path / "c" / "P1", labels=("Liver", "Kidney"))
    card = make_card(tmp_path, SEG_OBJECTS, {"case_glob": "c/*"}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path))
    with pytest.raises(CaseLoadError, match=r"segment label\(s\) \['Kidney'\] are not on the dataset card") as info:
        case.mask("liver")
    assert "1-1.dcm" in str(info.value)


def test_case_without_seg_is_reported(tmp_path: Path) -> None:
    write_series(tmp_path / "c" / "P2" / "s", hu_phantom(1))
    card = make_card(tmp_path, SEG_OBJECTS, {"case_glob": "c/*"}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path))
    with pytest.raises(CaseLoadError, match="no DICOM-SEG found"):
        _ = case.image


# --- label volumes -------------------------------------------------------------------------------------------------
def test_label_volume_on_series_grid_and_on_another_grid(tmp_path: Path) -> None:
    from tests.synthetic import write_nifti

    hu = hu_phantom(6)
    series = write_series(tmp_path / "data" / "c1" / "s", hu)
    write_series(tmp_path / "data" / "c2" / "s", hu)
    labels = np.zeros(hu.shape, np.uint8)
    labels[organ_masks()["Liver"]] = 1
    write_nifti(tmp_path / "data" / "c1" / "label.nii.gz", labels, series.ras_affine())
    shifted = series.ras_affine()
    shifted[:3, 3] += 1.0
    write_nifti(tmp_path / "data" / "c2" / "label.nii.gz", labels, shifted)
    reader = DicomReader(volume_card(tmp_path), tmp_path / "data")
    good, bad = (reader.open_case(e) for e in reader.discover().entries)
    np.testing.assert_array_equal(good.mask("liver"), series.canonical(labels == 1))
    with pytest.raises(GeometryMismatchError) as info:
        bad.mask("liver")
    assert str(tmp_path / "data" / "c2" / "label.nii.gz") in str(info.value)


def test_lymph_node_style_transpose_and_binarize(tmp_path: Path) -> None:
    from tests.synthetic import write_nifti

    hu = hu_phantom(7)
    series = write_series(tmp_path / "CT Lymph Nodes" / "ABD_LYMPH_001" / "09-14-2014-x-1" / "2.000000-y-3", hu)
    instances = np.zeros(hu.shape, np.uint8)  # (C, R, S)
    instances[organ_masks()["Liver"]] = 3
    instances[organ_masks()["Tumor"]] = 7
    stack = instances.transpose(2, 1, 0)  # (S, R, C), slices ascending
    # stored so that transpose(2, 1, 0) gives the stack; its header is deliberately useless
    write_nifti(tmp_path / "MED_ABD_LYMPH_MASKS" / "ABD_LYMPH_001" / "ABD_LYMPH_001_mask.nii.gz",
                stack.transpose(2, 1, 0), np.diag([-1.0, -1.0, 1.0, 1.0]))
    card = make_card(tmp_path, {"1": "lymph node"}, {
        "case_glob": "CT Lymph Nodes/*", "labels": "volume", "binarize": True, "slice_order": "position",
        "label_paths": ["MED_ABD_LYMPH_MASKS/{case}/{case}_mask.nii.gz"], "label_transpose": [2, 1, 0]})
    case = open_only(DicomReader(card, tmp_path))
    np.testing.assert_array_equal(case.mask("lymph node"), series.canonical(instances > 0))
    # without binarize the instance ids are not on the card
    strict = make_card(tmp_path, {"1": "lymph node"}, {**card.layout.options, "binarize": False})
    with pytest.raises(CaseLoadError, match=r"label values \[3, 7\] are not on the dataset card"):
        open_only(DicomReader(strict, tmp_path)).mask("lymph node")


def test_plethora_style_per_file_transpose_flip_and_missing_object(tmp_path: Path) -> None:
    from tests.synthetic import write_nifti

    hu = hu_phantom(8)
    series = write_series(tmp_path / "NSCLC-Radiomics" / "LUNG1-001" / "st" / "se", hu, descending=True)
    cavity = organ_masks()["Liver"]
    stack = cavity.transpose(2, 1, 0)[::-1]  # (S, R, C) in file-name order: files run top to bottom
    stored = np.flip(stack, axis=(0, 1)).transpose(2, 1, 0).astype(np.uint8)
    write_nifti(tmp_path / "Thoracic_Cavities" / "LUNG1-001" / "LUNG1-001_thor_cav_primary_reviewer.nii.gz",
                stored)
    card = make_card(tmp_path, {"effusion_first_reviewer": "effusion", "thor_cav_primary_reviewer": "cavity"}, {
        "case_glob": "NSCLC-Radiomics/*", "labels": "volume", "label_paths": ["*/{case}/{case}_{key}.nii.gz"],
        "label_transpose": [2, 1, 0], "label_flip": [0, 1], "slice_order": "file-name"}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path))
    np.testing.assert_array_equal(case.mask("cavity"), series.canonical(cavity))
    assert not case.mask("effusion").any() and case.mask("effusion").shape == case.spatial_shape


def test_permuted_label_of_wrong_shape(tmp_path: Path) -> None:
    from tests.synthetic import write_nifti

    write_series(tmp_path / "data" / "c1" / "s", hu_phantom(1))
    write_nifti(tmp_path / "data" / "c1" / "label.nii.gz", np.zeros((COLS, ROWS, SLICES + 1), np.uint8))
    case = open_only(DicomReader(volume_card(tmp_path, label_transpose=[2, 1, 0]), tmp_path / "data"))
    with pytest.raises(GeometryMismatchError, match=r"shape \(7, 16, 16\).*expected \(slices, rows, columns\)"):
        case.mask("liver")


# --- PNG slice masks -----------------------------------------------------------------------------------------------
def write_pngs(folder: Path, stack: np.ndarray, name: str = "liver_GT_{n:03d}.png") -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, plane in enumerate(stack):
        path = folder / name.format(n=n)
        Image.fromarray(plane.astype(np.uint8)).save(path)
        paths.append(path)
    return paths


CHAOS_MR = {"63": "liver", "126": "right kidney", "189": "left kidney", "252": "spleen"}
CHAOS_RANGES = {"63": [55, 70], "126": [110, 135], "189": [175, 200], "252": [240, 255]}


def chaos_mr(tmp_path: Path, *, extra_png: bool = False, stray: bool = False) -> tuple[Series, np.ndarray]:
    case_dir = tmp_path / "Train_Sets" / "MR" / "1" / "T2SPIR"
    series = write_series(case_dir / "DICOM_anon", hu_phantom(3), descending=True, modality="MR",
                          name="IMG-0001-{n:05d}.dcm")
    values = np.zeros((COLS, ROWS, SLICES), np.uint8)
    values[organ_masks()["Liver"]] = 63
    values[organ_masks()["Tumor"]] = 250  # "spleen", inside [240, 255]
    if stray:
        values[0, 0, 0] = 90
    stack = values.transpose(2, 1, 0)[::-1]  # PNG n is DICOM file n (file-name order, top slice first)
    write_pngs(case_dir / "Ground", np.concatenate([stack, stack[:1]]) if extra_png else stack)
    return series, values


def chaos_card(tmp_path: Path) -> DatasetCard:
    return make_card(tmp_path, CHAOS_MR, {
        "case_glob": "Train_Sets/MR/*", "image_dir": "T2SPIR/DICOM_anon", "labels": "png",
        "label_paths": ["{case_dir}/T2SPIR/Ground"], "png_value_ranges": CHAOS_RANGES, "slice_order": "file-name"})


def test_chaos_mr_png_masks(tmp_path: Path) -> None:
    series, values = chaos_mr(tmp_path)
    case = open_only(DicomReader(chaos_card(tmp_path), tmp_path))
    assert case.case_id == "1"
    np.testing.assert_array_equal(case.mask("liver"), series.canonical(values == 63))
    np.testing.assert_array_equal(case.mask("spleen"), series.canonical(values == 250))
    assert not case.mask("left kidney").any()


def test_chaos_ct_png_nonzero_is_liver_with_in_plane_flip(tmp_path: Path) -> None:
    case_dir = tmp_path / "Train_Sets" / "CT" / "2"
    series = write_series(case_dir / "DICOM_anon", hu_phantom(4), name="i{n:04d},0000b.dcm")
    liver = organ_masks()["Liver"]
    stack = liver.transpose(2, 1, 0)[:, ::-1, :] * 255  # PNGs stored upside down
    write_pngs(case_dir / "Ground", stack)
    card = make_card(tmp_path, {"1": "liver"}, {
        "case_glob": "Train_Sets/CT/*", "image_dir": "DICOM_anon", "labels": "png",
        "label_paths": ["{case_dir}/Ground"], "label_flip": [1], "slice_order": "instance-number"})
    case = open_only(DicomReader(card, tmp_path))
    np.testing.assert_array_equal(case.mask("liver"), series.canonical(liver))


def test_png_count_mismatch_and_stray_values(tmp_path: Path) -> None:
    chaos_mr(tmp_path, extra_png=True)
    case = open_only(DicomReader(chaos_card(tmp_path), tmp_path))
    with pytest.raises(CaseLoadError, match=r"7 PNG slice mask\(s\) for a DICOM series of 6 slices") as info:
        case.mask("liver")
    assert "Ground" in str(info.value)

    other = tmp_path / "other"
    chaos_mr(other, stray=True)
    case = open_only(DicomReader(chaos_card(tmp_path), other))
    with pytest.raises(CaseLoadError, match=r"PNG pixel values \[90\] fall in no object's range"):
        case.mask("liver")


# --- discovery, load_cases and card checks -------------------------------------------------------------------------
def test_discovery_errors_and_load_cases(tmp_path: Path) -> None:
    from tests.synthetic import write_nifti

    root = tmp_path / "data"
    for name, seed in (("c1", 1), ("c2", 2), ("c3", 3)):
        series = write_series(root / name / "01-01-2000-NA-x-1" / "1.000000-y-2", hu_phantom(seed))
        write_nifti(root / name / "label.nii.gz", organ_masks()["Liver"].astype(np.uint8), series.ras_affine())
    series.files[2].unlink()  # c3 misses a slice
    write_series(root / "c4" / "s", hu_phantom(4))  # no label file
    (root / ".cache").mkdir()
    reader = DicomReader(volume_card(tmp_path), root)
    found = reader.discover()
    assert [e.case_id for e in found.entries] == ["c1", "c2", "c3"]
    assert [e.case_id for e in found.errors] == ["c4"] and "label_paths" in found.errors[0].message
    report = load_cases(reader)
    assert [c.case_id for c in report.cases] == ["c1", "c2"]
    assert [e.case_id for e in report.errors] == ["c4", "c3"]
    assert "gap of 5 mm" in report.errors[1].message


def test_missing_image_dir_is_reported(tmp_path: Path) -> None:
    (tmp_path / "Train_Sets" / "CT" / "5" / "Ground").mkdir(parents=True)
    card = make_card(tmp_path, {"1": "liver"}, {"case_glob": "Train_Sets/CT/*", "image_dir": "DICOM_anon",
                                                "labels": "png", "label_paths": ["{case_dir}/Ground"]})
    found = DicomReader(card, tmp_path).discover()
    assert found.entries == () and "DICOM_anon" in found.errors[0].message


@pytest.mark.parametrize(("options", "encoding", "match"), [
    ({"labels": "rtstruct"}, "per-file", "labels"),
    ({}, "label-map", "encoding"),
    ({"labels": "png", "label_paths": ["Ground"]}, "per-file", "encoding"),
    ({"labels": "volume"}, "label-map", "label_paths"),
    ({"labels": "volume", "label_paths": ["x/{case}.nii.gz"]}, "per-file", "label_paths"),
    ({"labels": "volume", "label_paths": ["{case}.nii.gz"], "label_transpose": [0, 0, 1]}, "label-map",
     "label_transpose"),
    ({"labels": "volume", "label_paths": ["{case}.nii.gz"], "label_flip": [3]}, "label-map", "label_flip"),
    ({"labels": "png", "label_paths": ["G"], "png_value_ranges": {"1": [9, 2]}}, "label-map", "png_value_ranges"),
    ({"series_description": "(unclosed"}, "per-file", "series_description"),
    ({"slice_order": "z"}, "per-file", "slice_order"),
    ({"case_glob": "**/x"}, "per-file", "case_glob"),
])
def test_bad_card_options(tmp_path: Path, options: dict[str, Any], encoding: str, match: str) -> None:
    objects = {"Liver": "liver"} if encoding == "per-file" else {"1": "liver"}
    with pytest.raises(CardError, match=match):
        DicomReader(make_card(tmp_path, objects, options, encoding=encoding), tmp_path)


# --- more bad inputs -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("positions", "iop_drift", "match"), [
    ([0.0, 2.5, 2.5, 5.0, 7.5, 10.0], False, "lie at the same position"),
    ([0.0, 2.5, 5.0, 7.5, 10.0, 12.5], True, "gantry tilt"),
])
def test_duplicated_position_and_gantry_tilt(tmp_path: Path, positions: list[float], iop_drift: bool,
                                             match: str) -> None:
    series = write_series(tmp_path / "data" / "c1" / "s", hu_phantom(5), positions=positions)
    if iop_drift:  # shift each slice sideways, as a tilted gantry does
        import pydicom

        for k, path in enumerate(series.files):
            ds = pydicom.dcmread(path)
            ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1] + 0.5 * k,
                                       ds.ImagePositionPatient[2]]
            ds.save_as(path)
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))
    with pytest.raises(CaseLoadError, match=match) as info:
        _ = case.image
    assert str(series.folder) in str(info.value)


def test_several_segs_need_seg_description(tmp_path: Path) -> None:
    case_dir = tmp_path / "QIN" / "P1"
    series = seg_case(case_dir)
    write_seg(case_dir / "1901.000000-ADC Segmentations-5" / "1-1.dcm", series, {"Liver": organ_masks()["Tumor"]},
              description="ADC Segmentations")
    options = {"case_glob": "QIN/*"}
    ambiguous = open_only(DicomReader(make_card(tmp_path, SEG_OBJECTS, options, encoding="per-file"), tmp_path))
    with pytest.raises(CaseLoadError, match="2 DICOM-SEGs found") as info:
        _ = ambiguous.image
    assert str(case_dir) in str(info.value) and "seg_description" in str(info.value)
    chosen = make_card(tmp_path, SEG_OBJECTS, {**options, "seg_description": "^adc"}, encoding="per-file")
    case = open_only(DicomReader(chosen, tmp_path))
    np.testing.assert_array_equal(case.mask("liver"), series.canonical(organ_masks()["Tumor"]))
    absent = make_card(tmp_path, SEG_OBJECTS, {**options, "seg_description": "T2 Weighted"}, encoding="per-file")
    with pytest.raises(CaseLoadError, match="no DICOM-SEG found matching seg_description 'T2 Weighted'"):
        _ = open_only(DicomReader(absent, tmp_path)).image


def test_seg_whose_series_is_absent(tmp_path: Path) -> None:
    series = write_series(tmp_path / "elsewhere", hu_phantom(1))
    write_seg(tmp_path / "c" / "P1" / "seg" / "1-1.dcm", series, {"Liver": organ_masks()["Liver"]})
    write_series(tmp_path / "c" / "P1" / "other", hu_phantom(2))
    card = make_card(tmp_path, SEG_OBJECTS, {"case_glob": "c/*"}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path))
    with pytest.raises(CaseLoadError, match=f"references series {series.uid}, which is not in the folder"):
        _ = case.image


def test_label_template_matching_two_files(tmp_path: Path) -> None:
    write_series(tmp_path / "data" / "c1" / "s", hu_phantom(1))
    (tmp_path / "data" / "c1" / "a_label.nii.gz").write_bytes(b"")
    (tmp_path / "data" / "c1" / "b_label.nii.gz").write_bytes(b"")
    card = make_card(tmp_path, {"1": "liver"}, {"labels": "volume", "label_paths": ["{case_dir}/*_label.nii.gz"]})
    found = DicomReader(card, tmp_path / "data").discover()
    assert found.entries == () and "matches 2 files" in found.errors[0].message
    assert found.errors[0].case_id == "c1"


def test_undecodable_png_names_the_file(tmp_path: Path) -> None:
    chaos_mr(tmp_path)
    bad = tmp_path / "Train_Sets" / "MR" / "1" / "T2SPIR" / "Ground" / "liver_GT_002.png"
    bad.write_bytes(b"not a png at all")
    case = open_only(DicomReader(chaos_card(tmp_path), tmp_path))
    with pytest.raises(ImageReadError, match="liver_GT_002.png"):
        case.mask("liver")


@pytest.mark.parametrize(("options", "match"), [
    ({"labels": "volume", "label_paths": ["{case}.nii.gz"], "binarize": True}, "binarize"),
    ({"labels": "png", "label_paths": ["G"]}, "png_value_ranges' is empty"),
    ({"labels": "png", "label_paths": ["G"], "png_value_ranges": {"1": [1, 2]}}, r"lacks keys \['2'\]"),
])
def test_bad_options_for_two_objects(tmp_path: Path, options: dict[str, Any], match: str) -> None:
    with pytest.raises(CardError, match=match):
        DicomReader(make_card(tmp_path, {"1": "liver", "2": "spleen"}, options), tmp_path)


def test_seg_referencing_a_missing_end_slice(tmp_path: Path) -> None:
    series = seg_case(tmp_path / "c" / "P1")
    series.files[-1].unlink()  # an end slice leaves no gap; the SEG's references reveal it
    card = make_card(tmp_path, SEG_OBJECTS, {"case_glob": "c/*"}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path))
    with pytest.raises(CaseLoadError, match=r"references 1 source instance\(s\) not among the 5 slices") as info:
        case.mask("liver")
    assert "1-1.dcm" in str(info.value) and str(series.folder) in str(info.value)


# --- anonymised series, undecodable slices, links ------------------------------------------------------------------
def _anonymise(series: Series, **values: Any) -> None:
    """Rewrite every slice with the given attributes (e.g. an empty SeriesInstanceUID, as some anonymisers leave)."""
    import pydicom

    for path in series.files:
        dataset = pydicom.dcmread(path)
        for keyword, value in values.items():
            setattr(dataset, keyword, value)
        dataset.save_as(path)


def test_series_with_empty_uids_is_read_like_gdcm_does(tmp_path: Path) -> None:
    hu = hu_phantom(11)
    case_dir = tmp_path / "data" / "c1"
    series = write_series(case_dir / "s", hu)
    _anonymise(series, SeriesInstanceUID="", StudyInstanceUID="")
    (case_dir / "label.nii.gz").write_bytes(b"")

    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))

    np.testing.assert_array_equal(case.image[0], series.canonical(hu))


def test_empty_uid_series_are_told_apart_by_their_attributes(tmp_path: Path) -> None:
    hu = hu_phantom(12)
    case_dir = tmp_path / "data" / "c1"
    portal = write_series(case_dir / "portal", hu, description="PORTAL")
    arterial = write_series(case_dir / "arterial", hu_phantom(13), description="ARTERIAL")
    _anonymise(portal, SeriesInstanceUID="", SeriesNumber=4)
    _anonymise(arterial, SeriesInstanceUID="", SeriesNumber=5)
    (case_dir / "label.nii.gz").write_bytes(b"")

    ambiguous = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))
    with pytest.raises(CaseLoadError, match=r"2 image series match.*empty SeriesInstanceUID.*'PORTAL'"):
        _ = ambiguous.image
    chosen = open_only(DicomReader(volume_card(tmp_path, series_description="portal"), tmp_path / "data"))
    np.testing.assert_array_equal(chosen.image[0], portal.canonical(hu))


def test_folder_without_image_slices_counts_what_it_saw(tmp_path: Path) -> None:
    series = write_series(tmp_path / "data" / "c1" / "s", hu_phantom(14))
    _anonymise(series, Modality="RTSTRUCT")  # DICOM, but no image slice
    (series.folder / "notes.txt").write_text("x")
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))

    with pytest.raises(ImageReadError) as info:
        _ = case.image

    message = str(info.value)
    assert "8 file(s) seen" in message and "2 not readable as DICOM" in message  # 6 slices, notes.txt, label
    assert "6 DICOM file(s) that are not image slices" in message and "1-001.dcm" in message


def test_a_truncated_slice_is_named(tmp_path: Path) -> None:
    series = write_series(tmp_path / "data" / "c1" / "s", hu_phantom(15))
    cut = series.files[2]
    cut.write_bytes(cut.read_bytes()[:-100])
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))

    with pytest.raises(ImageReadError) as info:
        _ = case.image

    assert str(info.value).startswith(f"{cut}: DICOM slice could not be decoded; 1 of 6 slice(s)")


def test_a_link_loop_in_a_series_folder_is_walked_once(tmp_path: Path) -> None:
    hu = hu_phantom(16)
    series = write_series(tmp_path / "data" / "c1" / "study" / "s", hu)
    (series.folder / "again").symlink_to(series.folder.parent)  # s/again -> study, which holds s: a cycle
    (series.folder / "copy.dcm").symlink_to(series.files[0])    # a second name of one slice
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    case = open_only(DicomReader(volume_card(tmp_path), tmp_path / "data"))

    np.testing.assert_array_equal(case.image[0], series.canonical(hu))


def test_a_link_leaving_the_dataset_fails_its_case(tmp_path: Path) -> None:
    outside = write_series(tmp_path / "elsewhere" / "s", hu_phantom(17))
    write_series(tmp_path / "data" / "c1" / "s", hu_phantom(18))
    (tmp_path / "data" / "c1" / "s" / "extra").symlink_to(outside.folder)
    (tmp_path / "data" / "c1" / "label.nii.gz").write_bytes(b"")
    report = load_cases(DicomReader(volume_card(tmp_path), tmp_path / "data"))

    (error,) = report.errors
    assert report.cases == () and "c1/s/extra is a link to" in error.message
    assert str(outside.folder) in error.message and "outside the dataset root" in error.message


def test_a_png_mask_linked_from_outside_fails_its_case(tmp_path: Path) -> None:
    root = tmp_path / "CHAOS"
    chaos_mr(root)
    first = root / "Train_Sets" / "MR" / "1" / "T2SPIR" / "Ground" / "liver_GT_000.png"
    first.rename(tmp_path / "liver_GT_000.png")
    first.symlink_to(tmp_path / "liver_GT_000.png")
    case = open_only(DicomReader(chaos_card(tmp_path), root))

    with pytest.raises(CaseLoadError, match="outside the dataset root"):
        case.mask("liver")


def test_a_per_file_label_volume_that_is_not_binary_fails(tmp_path: Path) -> None:
    from tests.synthetic import write_nifti

    write_series(tmp_path / "ds" / "P1" / "st" / "se", hu_phantom(19))
    nodes = np.zeros((COLS, ROWS, SLICES), np.uint8)
    nodes[2:4, 2:4, 1:3], nodes[8:10, 8:10, 2:4] = 1, 2  # two lesion ids in one structure's file
    write_nifti(tmp_path / "ds" / "masks" / "P1" / "P1_lesion.nii.gz", nodes)
    card = make_card(tmp_path, {"lesion": "lesion"}, {"case_glob": "P*", "labels": "volume",
                                                      "label_paths": ["masks/{case}/{case}_{key}.nii.gz"],
                                                      "label_transpose": [2, 1, 0]}, encoding="per-file")
    case = open_only(DicomReader(card, tmp_path / "ds"))

    with pytest.raises(CaseLoadError, match=r"P1_lesion\.nii\.gz: a per-structure mask must be binary.*\[0, 1, 2\]"):
        case.mask("lesion")
