"""Family F4 reader: one case folder per scan, one binary mask file per structure (TotalSegmentator, HaN-Seg).

Layouts (docs/dataset-layouts.md, F4):

* TotalSegmentator v1/v2: ``sNNNN/ct.nii.gz`` (MR set: ``mri.nii.gz``) and ``sNNNN/segmentations/<name>.nii.gz``;
  ``meta.csv`` at the root, semicolon-separated, with columns ``image_id`` and ``split``.
* HaN-Seg: ``set_1/case_XX/case_XX_IMG_CT.nrrd`` and ``case_XX_OAR_<Name>.seg.nrrd``; the ``IMG_MR_T1`` file is not
  co-registered with the CT and is not a channel.

The card's objects map file keys (the ``{key}`` part of ``mask_pattern``) to object names. A structure whose file is
absent from a case gives an all-False mask on the image grid: these datasets omit structures outside the field of
view or not delineated. Each mask is read on its own, so overlapping structures stay overlapping (no merge order).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily, ObjectEncoding
from benchmark.data.geometry import Volume, check_same_grid, read_header, read_volume
from benchmark.data.readers.base import Discovery, LayoutReader, is_hidden, present_or_annexed
from benchmark.data.readers.labels import binary_mask
from benchmark.errors import CardError, CaseError, LayoutError

__all__ = ["PerStructureOptions", "PerStructureReader"]


@dataclass(frozen=True)
class PerStructureOptions:
    """Card options of family F4 (``[layout.options]``).

    Templates may use ``{case}``, the case folder's name (e.g. ``"s0001"``, ``"case_01"``); mask templates also use
    ``{key}``, a file key of the card's objects.

    Attributes:
        case_glob: Glob, relative to the dataset root, matching one folder per case (``"s*"`` for TotalSegmentator,
            ``"set_1/case_*"`` for HaN-Seg). The case id is the folder's name; hidden folders are skipped.
        image_files: One file name template per channel, in the card's channel order, relative to the case folder
            (``["ct.nii.gz"]``, ``["mri.nii.gz"]``, ``["{case}_IMG_CT.nrrd"]``).
        mask_pattern: Template of one structure's mask file, relative to the case folder
            (``"segmentations/{key}.nii.gz"``, ``"{case}_OAR_{key}.seg.nrrd"``).
        require_masks: Report a case folder holding none of the card's mask files as a bad case (an unlabelled
            scan); when false such a case loads with all masks empty.
        meta_csv: Optional metadata table relative to the dataset root (``"meta.csv"``); empty for none. When set,
            each case's split is recorded in ``CaseEntry.meta["split"]``, and a row whose case folder is missing is
            reported as a bad case.
        meta_delimiter: Field separator of ``meta_csv`` (TotalSegmentator uses ``";"``).
        meta_id_column: Column of ``meta_csv`` holding the case folder name.
        meta_split_column: Column of ``meta_csv`` holding the split (``train``, ``val``, ``test``); empty for none.
        splits: Keep only cases whose split is one of these (empty: every case). Cases absent from ``meta_csv``
            have split ``""`` and are dropped whenever ``splits`` is set.
        mask_threshold: The mask files are soft masks; a voxel is foreground where its value is at least this.
            None (default): every mask file must be binary (0 and one other value), anything else (a label map, a
            soft mask) is an error of the case naming the file and its values.
    """

    case_glob: str = "*"
    image_files: tuple[str, ...] = ("ct.nii.gz",)
    mask_pattern: str = "segmentations/{key}.nii.gz"
    require_masks: bool = True
    meta_csv: str = ""
    meta_delimiter: str = ";"
    meta_id_column: str = "image_id"
    meta_split_column: str = "split"
    splits: tuple[str, ...] = ()
    mask_threshold: float | None = None


class PerStructureReader(LayoutReader[PerStructureOptions]):
    """Reader of family F4: per-case folders with one binary mask file per structure.

    The card must use the ``per-file`` encoding; its object keys are the ``{key}`` values of ``mask_pattern``.
    ``CaseEntry.label_files`` lists the mask files present; ``CaseEntry.meta`` holds ``"split"`` (from ``meta_csv``,
    ``""`` without one) and ``"case_dir"`` (the case folder relative to the root).
    """

    family = LayoutFamily.PER_STRUCTURE
    options_type = PerStructureOptions

    def prepare(self) -> None:
        options = self.options
        where = f"{self.card.path}: key 'layout.options"
        if self.card.encoding is not ObjectEncoding.PER_FILE:
            raise CardError(f"{self.card.path}: key 'encoding' is {str(self.card.encoding)!r}; layout family F4 "
                            f"expects 'per-file' (object keys are the file keys of 'mask_pattern')")
        if len(options.image_files) != len(self.card.channels):
            raise CardError(f"{where}.image_files' has {len(options.image_files)} template(s) "
                            f"{list(options.image_files)}; expected one per channel {list(self.card.channels)}")
        if "{key}" not in options.mask_pattern:
            raise CardError(f"{where}.mask_pattern' is {options.mask_pattern!r}; expected a template with '{{key}}'")
        for template in options.image_files:
            _check_template(template, {"case"}, f"{where}.image_files'")
        _check_template(options.mask_pattern, {"case", "key"}, f"{where}.mask_pattern'")

    # discovery ---------------------------------------------------------------------------------------------------
    def discover(self) -> Discovery:
        """List case folders from names: images, present mask files and splits; one CaseError per bad case."""
        splits = self._read_meta()
        folders = self._case_folders()
        entries: list[CaseEntry] = []
        errors: list[CaseError] = []
        seen: dict[str, Path] = {}
        for folder in folders:
            case_id = folder.name
            split = splits.get(case_id, "") if splits is not None else ""
            if self.options.splits and split not in self.options.splits:
                continue
            if case_id in seen:
                errors.append(self.error(case_id, folder, f"case folder name {case_id!r} also used by {seen[case_id]}; "
                                                          "both are excluded, expected unique case folder names"))
                continue
            seen[case_id] = folder
            entry = self._entry(folder, split, errors)
            if entry is not None:
                entries.append(entry)
        if splits is not None:
            for case_id, split in sorted(splits.items()):
                if case_id not in seen and (not self.options.splits or split in self.options.splits):
                    errors.append(self.error(case_id, self.root / case_id, f"case {case_id!r} is listed in "
                                             f"{self.options.meta_csv} but has no case folder matching "
                                             f"{self.options.case_glob!r}"))
        return self.finish(sorted(entries, key=lambda e: e.case_id), errors)

    def _case_folders(self) -> list[Path]:
        folders = []
        for path in sorted(self.root.glob(self.options.case_glob)):
            relative = path.relative_to(self.root)
            if path.is_dir() and not any(is_hidden(part) for part in relative.parts):
                folders.append(path)
        return folders

    def _entry(self, folder: Path, split: str, errors: list[CaseError]) -> CaseEntry | None:
        case_id = folder.name
        images = tuple(folder / t.format(case=case_id) for t in self.options.image_files)
        missing = [p for p in images if not present_or_annexed(p)]
        if missing:
            errors.append(self.error(case_id, missing[0], f"case folder {folder} lacks image file(s) "
                                     f"{[p.name for p in missing]}; expected {list(self.options.image_files)} "
                                     f"(option 'image_files')"))
            return None
        masks = tuple(p for p in (self._mask_path(folder, key) for key in self.table.objects) if present_or_annexed(p))
        if not masks and self.options.require_masks:
            errors.append(self.error(case_id, folder, f"case folder {folder} holds none of the "
                                     f"{len(self.table.objects)} mask files of the card (pattern "
                                     f"{self.options.mask_pattern!r}); expected at least one (option 'require_masks')"))
            return None
        return CaseEntry(case_id, images, masks, {"split": split, "case_dir": folder.relative_to(self.root).as_posix()})

    def _read_meta(self) -> dict[str, str] | None:
        """Case id to split from ``meta_csv``, or None when the card names no metadata table."""
        if not self.options.meta_csv:
            return None
        path = self.root / self.options.meta_csv
        self.fetch([path])
        if not path.is_file():
            raise LayoutError(f"{path}: metadata table named by 'layout.options.meta_csv' does not exist "
                              f"(or its annexed content is not present)")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter=self.options.meta_delimiter)
            columns = [c for c in (self.options.meta_id_column, self.options.meta_split_column) if c]
            absent = [c for c in columns if c not in (reader.fieldnames or [])]
            if absent:
                raise LayoutError(f"{path}: column(s) {absent} not found with delimiter "
                                  f"{self.options.meta_delimiter!r}; got columns {reader.fieldnames}")
            split_column = self.options.meta_split_column
            return {row[self.options.meta_id_column].strip(): (row[split_column] or "").strip() if split_column else ""
                    for row in reader if row.get(self.options.meta_id_column)}

    def _mask_path(self, folder: Path, key: str) -> Path:
        return folder / self.options.mask_pattern.format(case=folder.name, key=key)

    # loading -----------------------------------------------------------------------------------------------------
    def open_case(self, entry: CaseEntry) -> Case:
        """The Case of one entry; the image and each mask are read on first access."""
        folder = self.root / entry.meta["case_dir"]
        keys = {name: key for key, name in self.table.objects.items()}

        def load_image() -> Volume:
            return self._load_image(entry)

        def load_mask(name: str) -> Volume:
            path = self._mask_path(folder, keys[name])
            if not present_or_annexed(path):
                self.fetch(entry.image_files[:1])
                geometry, _ = read_header(entry.image_files[0])
                return Volume(np.zeros(geometry.shape, dtype=bool), geometry, path)
            self.fetch([path])
            return binary_mask(path, self.options.mask_threshold)

        return Case(dataset_id=self.card.id, entry=entry, modality=str(self.card.modality),
                    channel_names=self.card.channels, objects=self.table.names, load_image=load_image,
                    load_mask=load_mask, data_version=self.data_version)

    def _load_image(self, entry: CaseEntry) -> Volume:
        self.fetch(entry.image_files)
        volumes = [read_volume(path) for path in entry.image_files]
        first = volumes[0]
        for name, volume in zip(self.card.channels[1:], volumes[1:], strict=True):
            check_same_grid(first.geometry, volume.geometry, what=f"channel {name!r}",
                            reference_path=first.source, other_path=volume.source)
        if len(volumes) == 1:
            return first
        arrays = [v.array if v.array.ndim == 4 else v.array[np.newaxis] for v in volumes]
        return Volume(np.concatenate(arrays, axis=0), first.geometry, first.source)


def _check_template(template: str, allowed: set[str], where: str) -> None:
    """Raise CardError if a template uses a placeholder other than ``allowed``."""
    import string

    used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = sorted(used - allowed)
    if unknown:
        raise CardError(f"{where}: template {template!r} uses placeholder(s) {unknown}; "
                        f"expected only {sorted('{' + a + '}' for a in allowed)}")
