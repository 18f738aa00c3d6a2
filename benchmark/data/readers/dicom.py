"""Family F6 reader: DICOM series with DICOM-SEG, NIfTI/NRRD label volumes or PNG slice masks.

Layouts (docs/dataset-layouts.md, F6): TCIA/NBIA trees ``<Collection>/<PatientID>/<study>/<series>/1-NNN.dcm``
whose folder names embed dates and random suffixes (never hard-coded: series are found by walking folders and
reading headers), CT Lymph Nodes and PleThora (DICOM plus NIfTI masks needing an axis permutation), NCI-ISBI (DICOM
plus NRRD), CHAOS (DICOM plus one PNG per slice).

Discovery uses folder and file names only; headers are read when a case is opened. Series reading and validation
live in ``dicom_series``, the label back-ends in ``dicom_labels``.
"""

from __future__ import annotations

import glob
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TypeVar

from benchmark.data.cards import DatasetCard
from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily, ObjectEncoding
from benchmark.data.geometry import Volume
from benchmark.data.readers.base import Discovery, LayoutReader, is_hidden
from benchmark.data.readers.dicom_labels import LabelSource, PngLabels, SegLabels, VolumeLabels
from benchmark.data.readers.dicom_series import (
    DicomSeries,
    SliceOrder,
    choose_seg,
    choose_series,
    read_series,
    scan_folder,
    sort_series,
)
from benchmark.errors import CardError, CaseError, CaseLoadError, LayoutError

__all__ = ["LabelBackend", "SliceOrder", "DicomOptions", "DicomReader"]

_E = TypeVar("_E", bound=Enum)


class LabelBackend(str, Enum):
    """Where a DICOM dataset keeps its labels."""

    DICOM_SEG = "dicom-seg"
    VOLUME = "volume"
    PNG = "png"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class DicomOptions:
    """Card options of family F6 (``[layout.options]``).

    Templates may use ``{case}`` (the case folder's name) and ``{case_dir}`` (the case folder relative to the
    dataset root); per-file label templates also use ``{key}`` (a file key of the card's objects). Label templates may
    hold glob wildcards; the first template with a match wins, and two matches of one template are an error.

    Attributes:
        case_glob: Glob, relative to the dataset root, matching one folder per case (``"HCC-TACE-Seg/*"``,
            ``"Train_Sets/CT/*"``; no ``**``). The case id is the part matched by wildcard components, joined by
            ``/`` (the whole relative path when the glob has no wildcard).
        image_dir: Folder, relative to the case folder, searched recursively for the image series and (for
            ``dicom-seg``) the SEG (``"DICOM_anon"``, ``"T1DUAL/DICOM_anon/InPhase"``); empty: the case folder.
        labels: Label back-end: ``"dicom-seg"`` (a DICOM-SEG below ``image_dir``; card encoding ``per-file`` with
            SegmentLabels as keys; the SEG's referenced series is the image), ``"volume"`` (a NIfTI/NRRD label map
            per case, or one file per object with encoding ``per-file``) or ``"png"`` (a folder of one PNG mask per
            slice; card encoding ``label-map``).
        series_modality: Keep only image series of this Modality (``"CT"``, ``"MR"``); empty: any image modality.
            Not used with ``dicom-seg``.
        series_description: Regular expression searched (case-insensitive) in SeriesDescription to choose the image
            series when several are present. Not used with ``dicom-seg``.
        seg_description: Regular expression searched (case-insensitive) in a SEG's SeriesDescription to choose one
            SEG when a case holds several (QIN-PROSTATE: ``"T2 Weighted"``).
        label_paths: ``volume``: templates of the label file, relative to the dataset root
            (``"MED_ABD_LYMPH_MASKS/{case}/{case}_mask.nii.gz"``; per-file: ``"*/{case}/{case}_{key}.nii.gz"``;
            NCI-ISBI: ``["*/{case}_correctedLabels.nrrd", "*/{case}.nrrd"]``). ``png``: templates of the PNG folder
            (``"{case_dir}/Ground"``).
        label_transpose: Permutation, as ``numpy.transpose``, of the stored label array: for ``volume`` the file's
            voxel array in index order (i, j, k), as nibabel returns it; for ``png`` the stack (PNG, PNG row, PNG
            column) of naturally sorted PNGs. For ``volume``, setting this or ``label_flip`` makes the reader ignore
            the label file's header. The result must be the series' stack (slice, row, column) with slices in
            ``slice_order``, of exactly the series' shape. CT Lymph Nodes: ``[2, 1, 0]`` with ``slice_order =
            "position"``; PleThora: ``[2, 1, 0]``.
        label_flip: Axes flipped after ``label_transpose`` (PleThora: ``[0, 1]`` with ``slice_order = "file-name"``;
            a PNG stack running against ``slice_order``: ``[0]``; PNGs flipped top to bottom: ``[1]``).
        slice_order: The DICOM slice order that permuted label volumes and PNG stacks follow: ``"file-name"`` (natural
            order of the DICOM file names), ``"instance-number"`` or ``"position"`` (increasing along the normal).
        binarize: ``volume`` with a label map: every non-zero value is the card's single object (CT Lymph Nodes
            stores one id per node).
        png_value_ranges: ``png``: card key to an inclusive [low, high] pixel-value range (CHAOS MR:
            ``{"63" = [55, 70], "126" = [110, 135], "189" = [175, 200], "252" = [240, 255]}``); a non-zero pixel in
            no range is an error. Empty: every non-zero pixel is the card's single object (CHAOS CT, liver).
        spacing_tolerance_mm: Largest deviation, in mm, of one slice-to-slice distance from the series' spacing
            before the series is reported as having a gap (missing slices) or uneven spacing.
        mask_threshold: ``volume`` with encoding ``per-file``: the mask files are soft (probabilities); a voxel is
            foreground where its value is at least this. None (default): every mask file must be binary (0 and one
            other value), anything else is an error of the case naming the file and its values.
    """

    case_glob: str = "*"
    image_dir: str = ""
    labels: str = LabelBackend.DICOM_SEG.value
    series_modality: str = ""
    series_description: str = ""
    seg_description: str = ""
    label_paths: tuple[str, ...] = ()
    label_transpose: tuple[int, ...] = ()
    label_flip: tuple[int, ...] = ()
    slice_order: str = SliceOrder.FILE_NAME.value
    binarize: bool = False
    png_value_ranges: dict[str, tuple[int, ...]] = field(default_factory=dict)
    spacing_tolerance_mm: float = 0.05
    mask_threshold: float | None = None


class DicomReader(LayoutReader[DicomOptions]):
    """Reader of family F6: one DICOM series per case and labels from one of three back-ends.

    ``CaseEntry.image_files`` holds the folder searched for DICOM files; ``label_files`` the label files or PNG
    folder found by name (empty for ``dicom-seg``, whose SEG is found by header); ``meta["case_dir"]`` the case
    folder relative to the root.
    """

    family = LayoutFamily.DICOM
    options_type = DicomOptions

    def prepare(self) -> None:
        self.backend = _enum(LabelBackend, self.options.labels, self.card.path, "labels")
        self.slice_order = _enum(SliceOrder, self.options.slice_order, self.card.path, "slice_order")
        _check_options(self.options, self.backend, self.card, self.table.objects)

    @property
    def per_file(self) -> bool:
        return self.card.encoding is ObjectEncoding.PER_FILE

    # discovery ---------------------------------------------------------------------------------------------------
    def discover(self) -> Discovery:
        """List case folders by ``case_glob`` and their label files by name; one CaseError per bad case."""
        entries: list[CaseEntry] = []
        errors: list[CaseError] = []
        # Ids keep every wildcard component of the folder's path, so they are unique by construction.
        for folder, case_id in self._case_folders():
            try:
                entry = self._entry(folder, case_id)
            except LayoutError as err:
                errors.append(self.error(case_id, folder, str(err)))
                continue
            entries.append(entry)
        return self.finish(sorted(entries, key=lambda e: e.case_id), errors)

    def _case_folders(self) -> list[tuple[Path, str]]:
        pattern = Path(self.options.case_glob).parts
        found = []
        for path in sorted(self.root.glob(self.options.case_glob)):
            parts = path.relative_to(self.root).parts
            if not path.is_dir() or any(is_hidden(p) for p in parts):
                continue
            wild = [part for part, pat in zip(parts, pattern, strict=True) if glob.has_magic(pat)]
            found.append((path, "/".join(wild or parts)))
        return found

    def _entry(self, folder: Path, case_id: str) -> CaseEntry:
        case_dir = folder.relative_to(self.root).as_posix()
        image_dir = folder / self.options.image_dir if self.options.image_dir else folder
        if not image_dir.is_dir():
            raise LayoutError(f"case folder {folder} has no image folder {self.options.image_dir!r} "
                              "(option 'image_dir'); expected the DICOM series there")
        labels: tuple[Path, ...] = ()
        if self.backend is not LabelBackend.DICOM_SEG:
            keys = list(self.table.objects) if self.per_file and self.backend is LabelBackend.VOLUME else [""]
            found = [self._label_path(folder, key) for key in keys]
            labels = tuple(p for p in found if p is not None)
            if not labels:
                raise LayoutError(f"case folder {folder} has no label matching {list(self.options.label_paths)} "
                                  "(option 'label_paths'); expected a label for every case")
        return CaseEntry(case_id, (image_dir,), labels, {"case_dir": case_dir})

    def _label_path(self, folder: Path, key: str) -> Path | None:
        """The first match of the label templates for one case (and file key), or None."""
        values = {"case": glob.escape(folder.name), "key": glob.escape(key),
                  "case_dir": glob.escape(folder.relative_to(self.root).as_posix())}
        for template in self.options.label_paths:
            pattern = os.path.join(glob.escape(str(self.root)), template.format(**values))
            matches = sorted(m for m in glob.glob(pattern) if not any(is_hidden(p) for p in Path(m).parts[-2:]))
            if len(matches) > 1:
                raise LayoutError(f"label template {template!r} matches {len(matches)} files for case folder "
                                  f"{folder}: {matches[:3]}; expected one (option 'label_paths')")
            if matches:
                return Path(matches[0])
        return None

    # loading -----------------------------------------------------------------------------------------------------
    def open_case(self, entry: CaseEntry) -> Case:
        """The Case of one entry; headers, pixels and labels are read on first access."""
        loader = _CaseLoader(self, entry)
        return Case(dataset_id=self.card.id, entry=entry, modality=str(self.card.modality),
                    channel_names=self.card.channels, objects=self.table.names, load_image=loader.image,
                    load_mask=loader.mask, data_version=self.data_version)


class _CaseLoader:
    """Reads one case once: the folder walk, the chosen series, its pixels and its label source."""

    def __init__(self, reader: DicomReader, entry: CaseEntry) -> None:
        self.reader = reader
        self.entry = entry
        self._series: DicomSeries | None = None
        self._seg: Path | None = None
        self._labels: LabelSource | None = None

    def series(self) -> DicomSeries:
        if self._series is None:
            opts = self.reader.options
            folder = self.entry.image_files[0]
            self.reader.fetch(self.entry.files)
            scan = scan_folder(folder, self.reader.bounds)
            if self.reader.backend is LabelBackend.DICOM_SEG:
                seg = choose_seg(scan, opts.seg_description)
                present = [uid for uid in seg.referenced_series if uid in scan.series]
                if not seg.referenced_series:
                    raise CaseLoadError(f"{seg.path}: DICOM-SEG has no ReferencedSeriesSequence; expected it to "
                                        "name the image series it segments")
                if len(present) > 1:
                    raise CaseLoadError(f"{seg.path}: DICOM-SEG references {len(present)} series present in "
                                        f"{folder} ({present}); expected one")
                headers = choose_series(scan, modality="", description="",
                                        referenced=present[0] if present else seg.referenced_series[0])
                self._seg = seg.path
            else:
                headers = choose_series(scan, modality=opts.series_modality, description=opts.series_description)
            self._series = sort_series(headers, folder, tolerance_mm=opts.spacing_tolerance_mm)
        return self._series

    def image(self) -> Volume:
        return read_series(self.series())

    def mask(self, name: str) -> Volume:
        if self._labels is None:
            self._labels = self._label_source()
        return self._labels.mask(name)

    def _label_source(self) -> LabelSource:
        series = self.series()
        reader, opts = self.reader, self.reader.options
        if reader.backend is LabelBackend.DICOM_SEG:
            if self._seg is None:  # pragma: no cover - series() always sets it for this back-end
                raise CaseLoadError(f"{series.folder}: no DICOM-SEG chosen")
            return SegLabels(self._seg, series, reader.table)
        folder = reader.root / self.entry.meta["case_dir"]
        if reader.backend is LabelBackend.PNG:
            return PngLabels(self.entry.label_files[0], series, reader.table, value_ranges=opts.png_value_ranges,
                             slice_order=reader.slice_order, transpose=opts.label_transpose, flip=opts.label_flip,
                             bounds=reader.bounds)
        if reader.per_file:
            files = {key: path for key in reader.table.objects
                     if (path := reader._label_path(folder, key)) is not None}
        else:
            files = {"": self.entry.label_files[0]}
        return VolumeLabels(files, series, reader.table, transpose=opts.label_transpose, flip=opts.label_flip,
                            slice_order=reader.slice_order, binarize=opts.binarize,
                            mask_threshold=opts.mask_threshold)


def _enum(kind: type[_E], value: str, card_path: Path, key: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = [str(member.value) for member in kind]
        raise CardError(f"{card_path}: key 'layout.options.{key}' is {value!r}; expected one of {allowed}") from None


def _check_options(opts: DicomOptions, backend: LabelBackend, card: DatasetCard, objects: Mapping[str, str]) -> None:
    """Raise CardError for options that contradict each other or the card's encoding."""
    where = f"{card.path}: key 'layout.options."
    per_file = card.encoding is ObjectEncoding.PER_FILE
    if "**" in opts.case_glob:
        raise CardError(f"{where}case_glob' is {opts.case_glob!r}; expected one path component per level, no '**'")
    for key in ("series_description", "seg_description"):
        try:
            re.compile(getattr(opts, key))
        except re.error as err:
            raise CardError(f"{where}{key}' is {getattr(opts, key)!r}, not a regular expression ({err})") from None
    if backend is LabelBackend.DICOM_SEG and not per_file:
        raise CardError(f"{card.path}: key 'encoding' must be 'per-file' (SegmentLabels as keys) for labels "
                        f"'dicom-seg', got {str(card.encoding)!r}")
    if backend is LabelBackend.PNG and per_file:
        raise CardError(f"{card.path}: key 'encoding' must be 'label-map' for labels 'png', got 'per-file'")
    if backend is not LabelBackend.DICOM_SEG and not opts.label_paths:
        raise CardError(f"{where}label_paths' is empty; labels {str(backend)!r} need at least one template")
    for template in opts.label_paths:
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        allowed = {"case", "case_dir"} | ({"key"} if per_file else set())
        if used - allowed or (per_file and backend is LabelBackend.VOLUME and "key" not in used):
            raise CardError(f"{where}label_paths' template {template!r} uses {sorted(used)}; expected placeholders "
                            f"among {sorted(allowed)}" + (", with {key}" if per_file else ""))
    if opts.label_transpose and sorted(opts.label_transpose) != [0, 1, 2]:
        raise CardError(f"{where}label_transpose' is {list(opts.label_transpose)}; expected a permutation of [0, 1, 2]")
    if any(axis not in (0, 1, 2) for axis in opts.label_flip):
        raise CardError(f"{where}label_flip' is {list(opts.label_flip)}; expected axes among 0, 1, 2")
    single = len(objects) == 1
    if opts.binarize and (per_file or not single):
        raise CardError(f"{where}binarize' needs a label-map card with exactly one object, got {dict(objects)}")
    if backend is LabelBackend.PNG:
        ranges = opts.png_value_ranges
        if not ranges and not single:
            raise CardError(f"{where}png_value_ranges' is empty but the card has {len(objects)} objects; expected "
                            "a [low, high] range per object key")
        bad = {k: list(v) for k, v in ranges.items() if k not in objects or len(v) != 2 or v[0] > v[1]}
        missing = sorted(set(objects) - set(ranges)) if ranges else []
        if bad or missing:
            raise CardError(f"{where}png_value_ranges' has invalid entries {bad} or lacks keys {missing}; expected "
                            f"one [low, high] range (low <= high) for each object key {sorted(objects)}")
