"""Layout family F5: image and label files told apart by the suffix of their names (PROMISE12, LNQ2023, COVID-19-20,
PI-CAI).

A file ``<key><suffix>`` is the image channel whose suffix it ends with, or the label map when it ends with the label
suffix; where a folder holds both, the longest matching suffix decides (``Case00_segmentation.mhd`` is a label,
``Case00.mhd`` an image). Files that match no suffix (``.raw`` data files, ``.png`` previews, other sequences) are
ignored. Card examples (the ``[layout.options]`` table):

- PROMISE12: ``image_dirs = ["training_data"]``, ``channel_suffixes = { T2 = ".mhd" }``,
  ``label_suffix = "_segmentation.mhd"``.
- LNQ2023: ``image_dirs = ["train"]``, ``channel_suffixes = { CT = "-ct.nrrd" }``, ``label_suffix = "-seg.nrrd"``.
- COVID-19-20: ``image_dirs = ["COVID-19-20_v2/Train"]``, ``channel_suffixes = { CT = "_ct.nii.gz" }``,
  ``label_suffix = "_seg.nii.gz"`` (``Validation`` has no labels and is not listed).
- PI-CAI: ``image_dirs = ["picai_public_images_fold*/*"]``,
  ``label_dirs = ["picai_labels/csPCa_lesion_delineations/human_expert/resampled"]``,
  ``channel_suffixes = { T2W = "_t2w.mha", ADC = "_adc.mha", HBV = "_hbv.mha" }``, ``label_suffix = ".nii.gz"``,
  ``resample_to = "T2W"``, ``labels_required = false``, ``label_remap = { "3" = 2, "4" = 2, "5" = 2 }``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily
from benchmark.data.geometry import Volume
from benchmark.data.readers.base import Discovery, LayoutReader, inside_root, is_hidden, present_or_annexed, require_dir
from benchmark.data.readers.channels import check_channel_options, empty_mask, read_channels
from benchmark.data.readers.labels import LabelMap
from benchmark.errors import CardError, CaseError, LayoutError

__all__ = ["SuffixPairsOptions", "SuffixPairsReader"]

_LABEL = "<label>"


@dataclass(frozen=True)
class SuffixPairsOptions:
    """Card options of family F5 (``[layout.options]``); ``channel_suffixes`` and ``label_suffix`` are required.

    Attributes:
        channel_suffixes: Card channel name to the end of its image file names, extension included
            (PROMISE12 ``{ T2 = ".mhd" }``, PI-CAI ``{ T2W = "_t2w.mha", ADC = "_adc.mha", HBV = "_hbv.mha" }``);
            the keys must be exactly the card's channels. The case key is the file name without this suffix.
        label_suffix: End of label-map file names, extension included (``"_segmentation.mhd"``, ``"-seg.nrrd"``,
            ``"_seg.nii.gz"``, PI-CAI ``".nii.gz"``).
        image_dirs: Folders (relative to the dataset root) searched for images, not recursively; entries may be glob
            patterns matching several folders (PI-CAI ``"picai_public_images_fold*/*"``, one folder per patient).
            Default: the root itself.
        label_dirs: Folders (or glob patterns) searched for labels; empty (default): the image folders.
        labels_required: True (default): an image without a label file is an error. False: such a case is kept
            and every object's mask is empty (PI-CAI negatives without a delineation).
        resample_to: Card channel onto whose grid the other channels are resampled (SimpleITK linear
            interpolation), e.g. ``"T2W"`` for PI-CAI; ``""`` (default): channels on different grids are an error.
        label_remap: File label value (as a string) to the card value it counts as, applied before the card's values
            are checked, e.g. PI-CAI ISUP grades ``{ "3" = 2, "4" = 2, "5" = 2 }`` for one lesion object ``2``.
    """

    channel_suffixes: dict[str, str]
    label_suffix: str
    image_dirs: tuple[str, ...] = (".",)
    label_dirs: tuple[str, ...] = ()
    labels_required: bool = True
    resample_to: str = ""
    label_remap: dict[str, int] = field(default_factory=dict)


class SuffixPairsReader(LayoutReader[SuffixPairsOptions]):
    """Reader of layout family F5 (see the module docstring and SuffixPairsOptions).

    Raises:
        CardError: The card's options are unknown, missing, of the wrong type or inconsistent with its channels, or
            the card does not use label-map encoding.
        LayoutError: The root is not a folder.
    """

    family = LayoutFamily.SUFFIX_PAIRS
    options_type = SuffixPairsOptions

    def prepare(self) -> None:
        card, opts = self.card, self.options
        if not opts.channel_suffixes:
            raise CardError(f"{card.path}: key 'layout.options.channel_suffixes' is empty; expected one file suffix "
                            f"per card channel {list(card.channels)}")
        check_channel_options(card, opts.channel_suffixes, opts.resample_to)
        if not opts.label_suffix or opts.label_suffix in opts.channel_suffixes.values():
            raise CardError(f"{card.path}: key 'layout.options.label_suffix' is {opts.label_suffix!r}; expected a "
                            f"non-empty suffix distinct from the channel suffixes {dict(opts.channel_suffixes)}")
        self.remap: dict[int, int] = {}
        for key, value in opts.label_remap.items():
            if not key.strip().lstrip("-").isdigit():
                raise CardError(f"{card.path}: key 'layout.options.label_remap.{key}' is not an integer label value; "
                                f"expected e.g. {{ \"3\" = 2 }}")
            self.remap[int(key)] = value

    # ---- discovery -------------------------------------------------------------------------------------------------

    def discover(self) -> Discovery:
        """List the cases from file names in the image and label folders.

        Raises:
            LayoutError: A folder (or glob pattern) of the options matches no folder inside the root.
        """
        opts = self.options
        image_dirs = self._folders(opts.image_dirs, "image_dirs")
        label_dirs = self._folders(opts.label_dirs, "label_dirs") if opts.label_dirs else image_dirs
        errors: list[CaseError] = []
        images: dict[str, dict[str, Path]] = {}
        labels: dict[str, Path] = {}
        image_set, label_set = set(image_dirs), set(label_dirs)
        for folder in dict.fromkeys(image_dirs + label_dirs):
            for path, key, suffix in self._classify(folder, images=folder in image_set, labels=folder in label_set):
                if suffix == _LABEL:
                    self._add(labels, key, path, key, errors)
                else:
                    self._add(images.setdefault(key, {}), suffix, path, key, errors)
        return self.finish(self._pair(images, labels, errors), errors)

    def _folders(self, patterns: Sequence[str], option: str) -> list[Path]:
        """Folders matching each pattern (relative to the root, kept inside it), in pattern then name order."""
        where = f"{self.card.path}: key 'layout.options.{option}'"
        folders: list[Path] = []
        for pattern in patterns:
            if not glob.has_magic(pattern):
                folders.append(require_dir(inside_root(self.root, pattern, where=where),
                                           f"{where} of dataset {self.card.id}"))
                continue
            matches = [inside_root(self.root, os.path.relpath(p, self.root), where=where)
                       for p in sorted(glob.glob(str(self.root / pattern))) if Path(p).is_dir()]
            matches = [m for m in matches if not any(is_hidden(part) for part in m.relative_to(self.root).parts)]
            if not matches:
                raise LayoutError(f"{where}: pattern {pattern!r} matches no folder in {self.root}; expected at least "
                                  f"one folder of dataset {self.card.id}")
            folders.extend(matches)
        return list(dict.fromkeys(Path(os.path.normpath(f)) for f in folders))

    def _classify(self, folder: Path, *, images: bool, labels: bool) -> list[tuple[Path, str, str]]:
        """(file, case key, channel suffix or ``_LABEL``) of every visible file of ``folder`` that matches a suffix.

        Only channel suffixes count in image folders and only the label suffix in label folders; in a folder that is
        both, the longest matching suffix decides.
        """
        opts = self.options
        suffixes = [(s, s) for s in opts.channel_suffixes.values()] if images else []
        suffixes += [(opts.label_suffix, _LABEL)] if labels else []
        suffixes.sort(key=lambda item: len(item[0]), reverse=True)
        found: list[tuple[Path, str, str]] = []
        for path in sorted(folder.iterdir()):
            if is_hidden(path.name) or path.is_dir():
                continue
            match = next(((s, tag) for s, tag in suffixes if path.name.endswith(s) and len(path.name) > len(s)), None)
            if match is not None:
                found.append((path, path.name[: -len(match[0])], match[1]))
        return found

    def _add(self, table: dict[str, Path], slot: str, path: Path, key: str, errors: list[CaseError]) -> None:
        if slot in table:
            errors.append(self.error(key, path, f"duplicate file: {table[slot]} has the same case key {key!r} and "
                                                f"suffix; the case is excluded, expected one file per case and "
                                                "suffix"))
            return
        table[slot] = path

    def _pair(self, images: Mapping[str, Mapping[str, Path]], labels: Mapping[str, Path],
              errors: list[CaseError]) -> tuple[CaseEntry, ...]:
        opts = self.options
        order = [opts.channel_suffixes[c] for c in self.card.channels]
        entries: list[CaseEntry] = []
        for key in sorted(set(images) | set(labels)):
            if key not in images:
                errors.append(self.error(key, labels[key], f"label without image: expected {key}{order[0]} in "
                                                           f"{', '.join(opts.image_dirs)}"))
                continue
            found = images[key]
            missing = [f"{key}{s}" for s in order if s not in found or not present_or_annexed(found[s])]
            if missing:
                errors.append(self.error(key, next(iter(found.values())), f"case {key!r} lacks image file(s) "
                                         f"{missing}; expected one file per channel {list(self.card.channels)}"))
                continue
            label_files: tuple[Path, ...] = (labels[key],) if key in labels else ()
            if not label_files and opts.labels_required:
                errors.append(self.error(key, found[order[0]], f"image without label: expected {key}"
                                         f"{opts.label_suffix} in {', '.join(opts.label_dirs or opts.image_dirs)}"))
                continue
            entries.append(CaseEntry(key, tuple(found[s] for s in order), label_files))
        return tuple(entries)

    # ---- loading ---------------------------------------------------------------------------------------------------

    def open_case(self, entry: CaseEntry) -> Case:
        """A lazily read Case: channels stacked to (C, X, Y, Z), masks from the label map (all False without one)."""
        opts = self.options
        label_map = (LabelMap(entry.label_files[0], self.table, self.remap,
                              before_read=lambda: self.fetch(entry.label_files)) if entry.label_files else None)
        reference = self.card.channels.index(opts.resample_to) if opts.resample_to else 0

        def load_image() -> Volume:
            self.fetch(entry.files)
            return read_channels(entry.image_files, self.card.channels, opts.resample_to)

        def load_mask(name: str) -> Volume:
            if label_map is None:
                self.fetch(entry.image_files[reference:reference + 1])
                return empty_mask(entry.image_files[reference])
            return label_map.mask(name)

        return Case(dataset_id=self.card.id, entry=entry, modality=str(self.card.modality),
                    channel_names=self.card.channels, objects=self.table.names, load_image=load_image,
                    load_mask=load_mask, data_version=self.data_version,
                    load_labels=label_map.layout if label_map is not None else None)
