"""Writers of demo datasets in the native layouts of four layout families (docs/dataset-layouts.md).

Each writer takes phantoms on the canonical grid (RAS+, axes x, y, z) and stores them the way the real datasets of its
family do, including their habits of axis order and orientation, so that reading them back exercises the readers'
reorientation: MSD files are stored LPS-flipped, TotalSegmentator files LAS-flipped, KiTS files with their axes in
(z, y, x) order, and DICOM slices in patient (LPS) coordinates with the top slice first. Every file is byte-for-byte
reproducible: gzip headers carry no time stamp, DICOM UIDs are derived from the dataset, case and seed, and DICOM
dates are fixed.

* ``write_msd`` (F1): ``imagesTr/<task>_<n>.nii.gz`` (4D for several channels), ``labelsTr/``, ``imagesTs/``,
  ``dataset.json``.
* ``write_totalsegmentator`` (F4): ``sNNNN/ct.nii.gz``, ``sNNNN/segmentations/<key>.nii.gz``, ``meta.csv``.
* ``write_kits`` (F2): ``case_NNNNN/imaging.nii.gz``, ``case_NNNNN/segmentation.nii.gz``.
* ``write_dicom`` (F6): an NBIA-like tree ``<collection>/<patient>/<study>/<series>/1-NNN.dcm`` per case, CT slices
  plus one DICOM-SEG (highdicom) per case.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.demo.phantoms import Phantom

__all__ = [
    "DemoCase",
    "canonical_affine",
    "storage_order",
    "write_nifti",
    "write_msd",
    "write_totalsegmentator",
    "write_kits",
    "write_dicom",
]

#: Fixed date of every demo DICOM object, so that files do not change between runs.
_DICOM_DATE = "20000101"
_DICOM_TIME = "120000"
#: pydicom's UID root; demo UIDs append a hash of (collection, seed, case, object).
_UID_PREFIX = "1.2.826.0.1.3680043.8.498."
_CT_INTERCEPT = -1024


@dataclass(frozen=True)
class DemoCase:
    """One case to write: its identifier in the native layout, and its phantom.

    Attributes:
        case_id: The case's identifier as the family names it (``"liver_3"``, ``"s0003"``, ``"case_00003"``,
            ``"Demo-003"``).
        phantom: The scan and its masks on the canonical grid.
    """

    case_id: str
    phantom: Phantom


def canonical_affine(phantom: Phantom) -> np.ndarray:
    """The (4, 4) voxel-to-RAS affine of a phantom: its spacing, the grid centred on the world origin (mm)."""
    spacing = np.asarray(phantom.spacing, dtype=np.float64)
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -0.5 * (np.asarray(phantom.shape) - 1) * spacing
    return affine


def storage_order(array: np.ndarray, affine: np.ndarray, *, flips: tuple[bool, bool, bool],
                  order: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Re-express a canonical array in another voxel order without moving it in the world.

    Args:
        array: (X, Y, Z) or (X, Y, Z, C) canonical array.
        affine: (4, 4) voxel-to-RAS affine of ``array``.
        flips: Reverse each spatial axis first (True) or not.
        order: Then permute the spatial axes: stored axis m is flipped axis ``order[m]``.

    Returns:
        The stored array (trailing channel axis kept last) and its voxel-to-RAS affine.
    """
    data = array
    stored = np.array(affine, dtype=np.float64)
    for axis, flip in enumerate(flips):
        if flip:
            data = np.flip(data, axis)
            stored[:3, 3] += stored[:3, axis] * (array.shape[axis] - 1)
            stored[:3, axis] *= -1.0
    data = np.transpose(data, [*order, *range(3, data.ndim)])
    permuted = stored.copy()
    permuted[:3, :3] = stored[:3, list(order)]
    return np.ascontiguousarray(data), permuted


def write_nifti(path: Path, array: np.ndarray, affine: np.ndarray) -> Path:
    """Write a NIfTI-1 file (gzip-compressed for ``.nii.gz``) with sform and qform set to ``affine``.

    Args:
        path: Target file; parent folders are created.
        array: (X, Y, Z) or (X, Y, Z, C) voxels in storage order.
        affine: (4, 4) voxel-to-RAS affine, mm.
    """
    import nibabel as nib

    image = nib.Nifti1Image(np.asarray(array), affine)
    image.header.set_xyzt_units("mm", "sec")
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = image.to_bytes()
    # gzip.compress with mtime=0 writes no time stamp and no file name, so equal content gives equal bytes; on noisy
    # int16 volumes level 1 is within 2 % of level 9 in size and about eight times faster.
    path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0) if path.name.endswith(".gz") else data)
    return path


def _write_canonical(path: Path, array: np.ndarray, phantom: Phantom, flips: tuple[bool, bool, bool],
                     order: tuple[int, int, int] = (0, 1, 2)) -> Path:
    data, affine = storage_order(array, canonical_affine(phantom), flips=flips, order=order)
    return write_nifti(path, data, affine)


def write_msd(root: Path, cases: Sequence[DemoCase], *, task: str, labels: Mapping[str, int],
              test_cases: Sequence[DemoCase] = (), description: str = "") -> Path:
    """Write an MSD task folder (family F1).

    Images with several channels are 4D files, shape (X, Y, Z, C) as MSD's BrainTumour and Prostate store them.

    Args:
        root: The task folder (``.../Task05_Prostate``), created.
        cases: Labelled cases, written to ``imagesTr/`` and ``labelsTr/`` as ``<case_id>.nii.gz``.
        task: Task name for ``dataset.json``.
        labels: Structure name to label value; their names are the ``labels`` of ``dataset.json``.
        test_cases: Unlabelled cases for ``imagesTs/`` (their masks are not written).
        description: ``description`` of ``dataset.json``.
    """
    flips = (True, True, False)  # MSD files converted by ITK tools carry an LPS-like affine
    for case in cases:
        _write_canonical(root / "imagesTr" / f"{case.case_id}.nii.gz", _channels_last(case.phantom), case.phantom,
                         flips)
        _write_canonical(root / "labelsTr" / f"{case.case_id}.nii.gz", case.phantom.label_map(labels), case.phantom,
                         flips)
    for case in test_cases:
        _write_canonical(root / "imagesTs" / f"{case.case_id}.nii.gz", _channels_last(case.phantom), case.phantom,
                         flips)
    first = (cases or test_cases)[0].phantom
    meta: dict[str, Any] = {
        "name": task,
        "description": description,
        "reference": "PropSAM Bench demo collection",
        "licence": "CC0-1.0",
        "release": "1.0",
        "tensorImageSize": "4D" if len(first.channels) > 1 else "3D",
        "modality": {str(i): name for i, name in enumerate(first.channel_names)},
        "labels": {"0": "background", **{str(value): name for name, value in sorted(labels.items(),
                                                                                    key=lambda item: item[1])}},
        "numTraining": len(cases),
        "numTest": len(test_cases),
        "training": [{"image": f"./imagesTr/{c.case_id}.nii.gz", "label": f"./labelsTr/{c.case_id}.nii.gz"}
                     for c in cases],
        "test": [f"./imagesTs/{c.case_id}.nii.gz" for c in test_cases],
    }
    (root / "dataset.json").write_text(json.dumps(meta, indent=4) + "\n", encoding="utf-8")
    return root


def _channels_last(phantom: Phantom) -> np.ndarray:
    return phantom.image if len(phantom.channels) == 1 else np.stack(phantom.channels, axis=-1)


def write_totalsegmentator(root: Path, cases: Sequence[DemoCase], *, files: Mapping[str, str],
                           splits: Mapping[str, str]) -> Path:
    """Write a TotalSegmentator-like folder (family F4): one folder per case, one binary file per structure.

    Args:
        root: The dataset folder, created.
        cases: Cases, written to ``<case_id>/ct.nii.gz`` and ``<case_id>/segmentations/<key>.nii.gz``.
        files: Structure name to file key (``{"kidney": "kidney_left"}``).
        splits: Case id to split (``train``, ``val``, ``test``) for ``meta.csv``; cases not listed get ``train``.
    """
    flips = (True, False, False)  # LAS, as dcm2niix-converted NIfTI often is
    rows = ["image_id;age;gender;institute;study_type;split"]
    for number, case in enumerate(cases):
        folder = root / case.case_id
        _write_canonical(folder / "ct.nii.gz", case.phantom.image, case.phantom, flips)
        for name, key in files.items():
            mask = case.phantom.masks[name].astype(np.uint8)
            _write_canonical(folder / "segmentations" / f"{key}.nii.gz", mask, case.phantom, flips)
        sex = "f" if number % 2 else "m"
        rows.append(f"{case.case_id};{40 + number};{sex};Z;ct abdomen;{splits.get(case.case_id, 'train')}")
    (root / "meta.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def write_kits(root: Path, cases: Sequence[DemoCase], *, labels: Mapping[str, int]) -> Path:
    """Write a KiTS-like folder (family F2): ``case_NNNNN/imaging.nii.gz`` and ``segmentation.nii.gz``.

    As in KiTS19/23, arrays are stored with their axes in (z, y, x) order and every axis reversed.

    Args:
        root: The dataset folder (``.../dataset``), created.
        cases: Cases; their ids name the case folders.
        labels: Structure name to label value of ``segmentation.nii.gz``.
    """
    flips, order = (True, True, True), (2, 1, 0)
    for case in cases:
        folder = root / case.case_id
        _write_canonical(folder / "imaging.nii.gz", case.phantom.image, case.phantom, flips, order)
        _write_canonical(folder / "segmentation.nii.gz", case.phantom.label_map(labels), case.phantom, flips, order)
    return root


def write_dicom(root: Path, cases: Sequence[DemoCase], *, collection: str, segments: Mapping[str, str],
                seed: int) -> Path:
    """Write an NBIA-like DICOM tree (family F6): CT slices and one DICOM-SEG per case.

    Layout: ``<collection>/<case_id>/01-01-2000-NA-CT Abdomen-<n>/2.000000-AX ABD-<n>/1-NNN.dcm`` (NNN = 1 for the
    top slice, as scanners number head-first series) and ``.../300.000000-Segmentation-<n>/1-1.dcm``. Pixels are
    stored unsigned with RescaleIntercept -1024, as most CT scanners do, and RLE Lossless compressed.

    Args:
        root: The dataset folder, created.
        cases: CT cases; ``case_id`` is the PatientID and the case folder's name.
        collection: The collection folder's name (``"Demo-CT-Seg"``).
        segments: Structure name to SegmentLabel, in segment-number order.
        seed: Mixed into every UID, so that collections of different seeds never share UIDs.
    """
    for number, case in enumerate(cases, start=1):
        uid = _UidMaker(f"{collection}/{seed}/{case.case_id}")
        study = root / collection / case.case_id / f"01-01-2000-NA-CT Abdomen-{number:05d}"
        slices = _write_ct_series(study / f"2.000000-AX ABD-{number:05d}", case, uid, number)
        _write_seg(study / f"300.000000-Segmentation-{number:05d}" / "1-1.dcm", case, slices, segments, uid)
    return root


class _UidMaker:
    """Deterministic DICOM UIDs: pydicom's root and a hash of a namespace and a role."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def __call__(self, role: str) -> str:
        from pydicom.uid import generate_uid

        return str(generate_uid(prefix=_UID_PREFIX, entropy_srcs=[self.namespace, role]))


def _dicom_geometry(phantom: Phantom) -> tuple[np.ndarray, np.ndarray]:
    """LPS position of pixel (row 0, column 0) of each axial slice, (Z, 3), and the slices' pixels (Z, Y, X).

    Rows run along LPS +y (anterior to posterior) and columns along LPS +x (right to left), so canonical voxel
    (x, y, z) is pixel (Y - 1 - y, X - 1 - x) of slice z.
    """
    affine = canonical_affine(phantom)
    nx, ny, nz = phantom.shape
    corner_ras = affine[:3, :3] @ np.array([nx - 1, ny - 1, 0.0]) + affine[:3, 3]
    positions = np.tile(corner_ras * np.array([-1.0, -1.0, 1.0]), (nz, 1))
    positions[:, 2] += np.arange(nz) * phantom.spacing[2]
    pixels = np.transpose(phantom.image[::-1, ::-1, :], (2, 1, 0))
    return positions, pixels


def _write_ct_series(folder: Path, case: DemoCase, uid: _UidMaker, number: int) -> list[Any]:
    """Write one file per axial slice; return the datasets in increasing z (the SEG's source images)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, RLELossless

    positions, pixels = _dicom_geometry(case.phantom)
    stored = (pixels.astype(np.int32) - _CT_INTERCEPT).astype(np.uint16)
    common = _ct_common(case, uid, number)
    nz = len(positions)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for z in range(nz):
        instance = nz - z  # the top slice is instance 1
        ds = Dataset()
        ds.update(common)  # shares the common elements; the ones set below are the slice's own
        ds.SOPInstanceUID = uid(f"ct-{z}")
        ds.InstanceNumber = instance
        ds.ImagePositionPatient = [_ds(v) for v in positions[z]]
        ds.SliceLocation = _ds(positions[z][2])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        # RLE Lossless (decoded by GDCM in SimpleITK) keeps the series at about 60 % of its uncompressed size.
        ds.compress(RLELossless, stored[z], encoding_plugin="pydicom", generate_instance_uid=False)
        ds.save_as(folder / f"1-{instance:03d}.dcm", enforce_file_format=True)
        written.append(ds)
    return written


def _ct_common(case: DemoCase, uid: _UidMaker, number: int) -> Any:
    """The attributes every slice of a case's CT series shares."""
    from pydicom.dataset import Dataset
    from pydicom.uid import CTImageStorage

    phantom = case.phantom
    nx, ny, _ = phantom.shape
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("ct-series")
    ds.FrameOfReferenceUID = uid("frame-of-reference")
    ds.PatientName, ds.PatientID = f"Phantom^{case.case_id}", case.case_id
    ds.PatientBirthDate, ds.PatientSex = "", "O"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = _DICOM_DATE
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = _DICOM_TIME
    ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = str(number), "", ""
    ds.StudyDescription, ds.SeriesDescription = "CT Abdomen", "AX ABD"
    ds.Modality, ds.Manufacturer, ds.BodyPartExamined = "CT", "PropSAM Bench demo", "ABDOMEN"
    ds.SeriesNumber, ds.PatientPosition, ds.PositionReferenceIndicator = 2, "HFS", ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = [_ds(phantom.spacing[1]), _ds(phantom.spacing[0])]  # between rows, between columns
    ds.SliceThickness = _ds(phantom.spacing[2])
    ds.Rows, ds.Columns = ny, nx
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = str(_CT_INTERCEPT), "1", "HU"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    return ds


def _ds(value: float) -> str:
    """A decimal string of at most 16 characters (DICOM DS)."""
    return f"{float(value):.6g}"


def _write_seg(path: Path, case: DemoCase, slices: Sequence[Any], segments: Mapping[str, str],
               uid: _UidMaker) -> None:
    """Write a binary DICOM-SEG of every structure in ``segments`` (empty frames omitted) over ``slices``."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    kinds = {"liver": (codes.SCT.Organ, codes.SCT.Liver), "kidney": (codes.SCT.Organ, codes.SCT.Kidney),
             "vessel": (codes.SCT.AnatomicalStructure, codes.SCT.BloodVessel),
             "lesion": (codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.Lesion)}
    fallback = (codes.SCT.AnatomicalStructure, codes.SCT.AnatomicalStructure)
    masks = np.stack([np.transpose(case.phantom.masks[name][::-1, ::-1, :], (2, 1, 0)) for name in segments], -1)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number, segment_label=label,
            segmented_property_category=kinds.get(name, fallback)[0],
            segmented_property_type=kinds.get(name, fallback)[1],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, (name, label) in enumerate(segments.items(), start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=list(slices), pixel_array=masks, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=uid("seg-series"), series_number=300,
        sop_instance_uid=uid("seg"), instance_number=1, manufacturer="PropSAM Bench demo",
        manufacturer_model_name="phantom", software_versions="1", device_serial_number="0",
        series_description="Segmentation",
    )
    _freeze(seg, uid("dimension-organization"))
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)


def _freeze(seg: Any, organization_uid: str) -> None:
    """Replace the clock times and random UIDs highdicom stamps on a SEG, so that equal input gives equal bytes."""
    seg.ContentDate, seg.ContentTime = _DICOM_DATE, _DICOM_TIME
    seg.SeriesDate, seg.SeriesTime = _DICOM_DATE, _DICOM_TIME
    seg.InstanceCreationDate, seg.InstanceCreationTime = _DICOM_DATE, _DICOM_TIME
    for item in seg.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:
            item.ContributionDateTime = _DICOM_DATE + _DICOM_TIME
    for sequence in ("DimensionOrganizationSequence", "DimensionIndexSequence"):
        for item in seg.get(sequence, []):
            item.DimensionOrganizationUID = organization_uid
