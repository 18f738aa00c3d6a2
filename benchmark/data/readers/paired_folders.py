"""Layout family F1: paired image and label folders (MSD, nnU-Net raw, AMOS, WORD, HECKTOR, AbdomenCT-1K, INSTANCE).

A case key is the image file name without its file ending and, when images are split per channel, without the
channel suffix (``liver_0.nii.gz``, ``la_003_0000.nii.gz``, ``CHUM-001__CT.nii.gz``); the label file is
``<key><file_ending>`` in one of the label folders. Where an MSD-style ``dataset.json`` is present, its ``training``
(and ``validation``) list of ``{image, label}`` pairs replaces the folder listing, and its ``labels`` table must agree
with the card. Card examples (the ``[layout.options]`` table):

- MSD Task03 Liver: defaults (``imagesTr``/``labelsTr``, ``dataset.json`` read); Task01 BrainTumour: the same, with
  four card channels read from the one 4D file.
- nnU-Net raw: ``channel_suffixes = { CT = "_0000" }``.
- AMOS CT: ``image_dirs = ["imagesTr", "imagesVa"]``, ``label_dirs = ["labelsTr", "labelsVa"]``,
  ``case_number_max = 500`` (MR: ``case_number_min = 501``).
- WORD: ``image_dirs = ["imagesTr", "imagesVal"]``, ``label_dirs = ["labelsTr", "labelsVal"]``.
- HECKTOR: ``channel_suffixes = { CT = "__CT", PT = "__PT" }``, ``resample_to = "CT"``.
- AbdomenCT-1K: ``image_dirs = ["AbdomenCT-1K-ImagePart1", "AbdomenCT-1K-ImagePart2", "AbdomenCT-1K-ImagePart3"]``,
  ``label_dirs = ["Mask"]``, ``channel_suffixes = { CT = "_0000" }``.
- INSTANCE: ``image_dirs = ["train/data"]``, ``label_dirs = ["train/label"]``; KiPA: ``train/image``, ``train/label``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.data.cards import ObjectTable
from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily
from benchmark.data.geometry import Volume
from benchmark.data.readers.base import Discovery, LayoutReader, inside_root, is_hidden, present_or_annexed, require_dir
from benchmark.data.readers.channels import check_channel_options, read_channels
from benchmark.data.readers.labels import LabelMap
from benchmark.errors import CardError, CaseError, LayoutError

__all__ = [
    "PairedFoldersOptions",
    "PairedFoldersReader",
    "check_json_labels",
]


@dataclass(frozen=True)
class PairedFoldersOptions:
    """Card options of family F1 (``[layout.options]``); every key is optional.

    Attributes:
        image_dirs: Folders (relative to the dataset root) holding labelled images, searched in this order; e.g.
            ``["imagesTr", "imagesVa"]``. Unlabelled test folders (``imagesTs``) are simply not listed.
        label_dirs: Folders holding the label maps, e.g. ``["labelsTr", "labelsVa"]``; a label is paired with its
            image by case key, whichever of these folders it sits in.
        file_ending: Ending of image and label files, e.g. ``".nii.gz"``, ``".nrrd"``, ``".mha"``.
        channel_suffixes: Card channel name to the suffix that image file names carry before ``file_ending``, one
            file per channel (nnU-Net raw ``{ CT = "_0000" }``, HECKTOR ``{ CT = "__CT", PT = "__PT" }``). Empty
            (default): one image file per case, holding every card channel (a 4D file for several channels).
            When not empty, its keys must be exactly the card's channels.
        dataset_json: File name (relative to the root) of an MSD-style dataset.json, read when it exists: its
            ``training`` and ``validation`` lists of ``{image, label}`` pairs (restricted to ``image_dirs``) are then
            the cases, every path must stay inside the root, and its ``labels`` table (``{"1": "liver"}`` or
            nnU-Net v2's ``{"liver": 1}``) must hold exactly the card's object and ignore values. ``""`` never
            reads one.
        resample_to: Card channel onto whose grid the other channels are resampled (SimpleITK linear
            interpolation, outside filled with the channel's minimum), e.g. ``"CT"`` for HECKTOR. ``""`` (default):
            channels on different grids are an error.
        case_number_min: Keep only cases whose case number (the last run of digits in the case key, e.g. 507 for
            ``amos_0507``) is at least this; None: no lower bound.
        case_number_max: Keep only cases whose case number is at most this (AMOS CT: 500); None: no upper bound.
    """

    image_dirs: tuple[str, ...] = ("imagesTr",)
    label_dirs: tuple[str, ...] = ("labelsTr",)
    file_ending: str = ".nii.gz"
    channel_suffixes: dict[str, str] = field(default_factory=dict)
    dataset_json: str = "dataset.json"
    resample_to: str = ""
    case_number_min: int | None = None
    case_number_max: int | None = None


_DIGITS = re.compile(r"(\d+)(?!.*\d)")


class PairedFoldersReader(LayoutReader[PairedFoldersOptions]):
    """Reader of layout family F1 (see the module docstring and PairedFoldersOptions).

    Raises:
        CardError: The card's options are unknown, of the wrong type or inconsistent with its channels, or the card
            does not use label-map encoding.
        LayoutError: The root is not a folder.
    """

    family = LayoutFamily.PAIRED_FOLDERS
    options_type = PairedFoldersOptions

    def prepare(self) -> None:
        card, opts = self.card, self.options
        check_channel_options(card, opts.channel_suffixes, opts.resample_to)
        low, high = opts.case_number_min, opts.case_number_max
        if low is not None and high is not None and low > high:
            raise CardError(f"{card.path}: key 'layout.options.case_number_min' ({low}) is greater than "
                            f"'layout.options.case_number_max' ({high}); expected min <= max")
        if not opts.file_ending:
            raise CardError(f"{card.path}: key 'layout.options.file_ending' is empty; expected e.g. '.nii.gz'")

    # ---- discovery -------------------------------------------------------------------------------------------------

    def discover(self) -> Discovery:
        """List the cases from the dataset.json pairs when present, else from the folders' file names.

        Raises:
            LayoutError: An image or label folder is missing, or the dataset.json is unreadable.
            CardError: The dataset.json ``labels`` table disagrees with the card's objects.
        """
        errors: list[CaseError] = []
        data = self._dataset_json()
        if data is not None and ("training" in data or "validation" in data):
            images, labels = self._pairs_from_json(data, errors)
        else:
            images = self._scan_images(errors)
            labels = self._scan_labels(errors)
        return self.finish(self._pair(images, labels, errors), errors)

    def _dataset_json(self) -> dict[str, Any] | None:
        name = self.options.dataset_json
        if not name:
            return None
        path = inside_root(self.root, name, where=f"{self.card.path}: key 'layout.options.dataset_json'")
        if not present_or_annexed(path):
            return None
        self.fetch([path])
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise LayoutError(f"{path}: dataset.json could not be read ({err}); expected a JSON object") from err
        if not isinstance(data, dict):
            raise LayoutError(f"{path}: dataset.json holds a {type(data).__name__}; expected a JSON object")
        if "labels" in data:
            check_json_labels(data["labels"], self.table, path, self.card.path)
        return data

    def _scan_images(self, errors: list[CaseError]) -> dict[str, dict[str, Path]]:
        """Case key to {channel suffix: file} from the image folders ({"": file} without channel suffixes)."""
        opts = self.options
        suffixes = sorted(opts.channel_suffixes.values(), key=len, reverse=True)
        images: dict[str, dict[str, Path]] = {}
        for path in self._files(opts.image_dirs, "image_dirs"):
            stem = path.name[: -len(opts.file_ending)]
            suffix = next((s for s in suffixes if stem.endswith(s) and len(stem) > len(s)), "")
            if suffixes and not suffix:
                errors.append(self.error("", path, f"image file name {path.name!r} ends with none of the channel "
                                                   f"suffixes {sorted(suffixes)} before {opts.file_ending!r}"))
                continue
            key = stem[: len(stem) - len(suffix)]
            if suffix in images.setdefault(key, {}):
                errors.append(self.error(key, path, f"duplicate image: {images[key][suffix]} has the same case key "
                                                    f"{key!r}; both are excluded, expected one file per case and "
                                                    "channel"))
                continue
            images[key][suffix] = path
        return images

    def _scan_labels(self, errors: list[CaseError]) -> dict[str, Path]:
        opts = self.options
        labels: dict[str, Path] = {}
        for path in self._files(opts.label_dirs, "label_dirs"):
            key = path.name[: -len(opts.file_ending)]
            if key in labels:
                errors.append(self.error(key, path, f"duplicate label: {labels[key]} has the same case key {key!r}; "
                                                    f"the case is excluded, expected one label file per case"))
                continue
            labels[key] = path
        return labels

    def _files(self, folders: Sequence[str], key: str) -> list[Path]:
        """Visible files ending with ``file_ending`` in ``folders`` (each must exist), sorted by name per folder."""
        found: list[Path] = []
        for name in folders:
            where = f"{self.card.path}: key 'layout.options.{key}'"
            folder = require_dir(inside_root(self.root, name, where=where), f"{where} of dataset {self.card.id}")
            found.extend(sorted(p for p in folder.iterdir() if not is_hidden(p.name) and not p.is_dir()
                                and p.name.endswith(self.options.file_ending)))
        return found

    def _pairs_from_json(self, data: Mapping[str, Any],
                         errors: list[CaseError]) -> tuple[dict[str, dict[str, Path]], dict[str, Path]]:
        """Case keys of the dataset.json ``training``/``validation`` pairs whose image sits in ``image_dirs``."""
        opts = self.options
        json_path = self.root / opts.dataset_json
        allowed = {Path(os.path.normpath(self.root / d)) for d in opts.image_dirs}
        images: dict[str, dict[str, Path]] = {}
        labels: dict[str, Path] = {}
        for list_name in ("training", "validation"):
            items = data.get(list_name, [])
            if not isinstance(items, list):
                raise LayoutError(f"{json_path}: key {list_name!r} holds a {type(items).__name__}; expected a list "
                                  f"of {{image, label}} pairs")
            for index, item in enumerate(items):
                where = f"{json_path}: key '{list_name}[{index}]'"
                if isinstance(item, dict) and list_name == "validation" and "label" not in item:
                    continue  # unlabelled validation images are not cases
                if not (isinstance(item, dict) and isinstance(item.get("image"), str)
                        and isinstance(item.get("label"), str)):
                    errors.append(self.error("", json_path, f"{where} is {item!r}; expected "
                                                            f"{{'image': path, 'label': path}}"))
                    continue
                try:
                    image = inside_root(self.root, item["image"], where=where)
                    label = inside_root(self.root, item["label"], where=where)
                except LayoutError as err:
                    errors.append(self.error("", json_path, str(err)))
                    continue
                if image.parent not in allowed:
                    continue
                key, files = self._json_image_files(image)
                if key in images:
                    errors.append(self.error(key, image, f"{where} repeats case key {key!r} (first listed as "
                                                            f"{images[key]}); the case is excluded, expected each "
                                                            "case once"))
                    continue
                images[key] = files
                labels[key] = label
        return images, labels

    def _json_image_files(self, image: Path) -> tuple[str, dict[str, Path]]:
        """Case key and per-channel files of a dataset.json image path (nnU-Net v1 lists them without suffix)."""
        opts = self.options
        name = image.name
        stem = name[: -len(opts.file_ending)] if name.endswith(opts.file_ending) else name.split(".")[0]
        if not opts.channel_suffixes:
            return stem, {"": image}
        for suffix in sorted(opts.channel_suffixes.values(), key=len, reverse=True):
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        return stem, {s: image.with_name(stem + s + opts.file_ending) for s in opts.channel_suffixes.values()}

    def _pair(self, images: Mapping[str, Mapping[str, Path]], labels: Mapping[str, Path],
              errors: list[CaseError]) -> tuple[CaseEntry, ...]:
        opts = self.options
        entries: list[CaseEntry] = []
        for key in sorted(set(images) | set(labels)):
            if not self._keep(key, errors):
                continue
            label_dirs = ", ".join(opts.label_dirs)
            if key not in labels:
                first = next(iter(images[key].values()))
                errors.append(self.error(key, first, f"image without label: expected {key}{opts.file_ending} in "
                                                     f"{label_dirs}"))
                continue
            if key not in images:
                errors.append(self.error(key, labels[key], f"label without image: expected an image of case {key!r} "
                                                           f"in {', '.join(opts.image_dirs)}"))
                continue
            files = self._channel_files(key, images[key], errors)
            if files is None:
                continue
            if not present_or_annexed(labels[key]):
                errors.append(self.error(key, labels[key], "label file listed in dataset.json does not exist"))
                continue
            entries.append(CaseEntry(key, files, (labels[key],)))
        return tuple(entries)

    def _channel_files(self, key: str, found: Mapping[str, Path], errors: list[CaseError]) -> tuple[Path, ...] | None:
        """The image files of ``key`` in card channel order, or None (error recorded) when one is missing."""
        suffixes = self.options.channel_suffixes
        order = [suffixes[c] for c in self.card.channels] if suffixes else [""]
        files = [found.get(s) for s in order]
        missing = [str(f) if f is not None else f"<{key}{s}{self.options.file_ending}>"
                   for s, f in zip(order, files, strict=True) if f is None or not present_or_annexed(f)]
        if missing:
            where = next(iter(found.values()))
            errors.append(self.error(key, where, f"case {key!r} lacks image file(s) {missing}; expected one file per "
                                                 f"channel with suffixes {order} (card channels "
                                                 f"{list(self.card.channels)})"))
            return None
        return tuple(f for f in files if f is not None)

    def _keep(self, key: str, errors: list[CaseError]) -> bool:
        low, high = self.options.case_number_min, self.options.case_number_max
        if low is None and high is None:
            return True
        match = _DIGITS.search(key)
        if match is None:
            errors.append(self.error(key, None, f"case key {key!r} has no number; expected digits for the "
                                                f"case_number_min/case_number_max filter"))
            return False
        number = int(match.group(1))
        return (low is None or number >= low) and (high is None or number <= high)

    # ---- loading ---------------------------------------------------------------------------------------------------

    def open_case(self, entry: CaseEntry) -> Case:
        """A lazily read Case: channels stacked to (C, X, Y, Z), masks from the case's label map."""
        label_map = LabelMap(entry.label_files[0], self.table, before_read=lambda: self.fetch(entry.label_files))

        def load_image() -> Volume:
            self.fetch(entry.files)
            return read_channels(entry.image_files, self.card.channels, self.options.resample_to)

        return Case(dataset_id=self.card.id, entry=entry, modality=str(self.card.modality),
                    channel_names=self.card.channels, objects=self.table.names, load_image=load_image,
                    load_mask=label_map.mask, data_version=self.data_version, load_labels=label_map.layout)


def check_json_labels(labels: Any, table: ObjectTable, json_path: Path, card_path: Path) -> None:
    """Raise unless a dataset.json ``labels`` table holds exactly the card's object and ignore values.

    Names may differ (cards use the suite's object names, e.g. "liver tumour" for MSD's "cancer"); the label values
    must not, so that a card written for another task or numbering (BraTS 2021 vs 2023) is caught.

    Args:
        labels: The ``labels`` value, ``{"0": "background", "1": "liver"}`` (MSD) or ``{"background": 0}``
            (nnU-Net v2).
        table: The card's object table.
        json_path: The dataset.json, for the message.
        card_path: The card, for the message.

    Raises:
        LayoutError: ``labels`` has neither form.
        CardError: The values differ.
    """
    if isinstance(labels, dict) and all(isinstance(k, str) and k.strip().isdigit() for k in labels):
        found = {int(k): str(v) for k, v in labels.items()}
    elif isinstance(labels, dict) and all(isinstance(v, int) and not isinstance(v, bool) for v in labels.values()):
        found = {int(v): str(k) for k, v in labels.items()}
    else:
        raise LayoutError(f"{json_path}: key 'labels' is {labels!r}; expected {{value: name}} or {{name: value}} "
                          f"with integer values")
    try:
        card_values = {int(k) for k in table.objects} | {int(k) for k in table.ignore}
    except ValueError as err:
        raise CardError(f"{card_path}: key 'versions.{table.version}.objects' has a non-integer key ({err}); "
                        f"expected label values for encoding 'label-map'") from err
    json_values = set(found) - {0}
    if json_values != card_values:
        raise CardError(
            f"{card_path}: objects of version {table.version!r} disagree with the labels of {json_path}: card values "
            f"{sorted(card_values)} (objects {dict(table.objects)}, ignore {list(table.ignore)}), dataset.json values "
            f"{sorted(json_values)} ({ {k: found[k] for k in sorted(json_values)} }); expected the same label values"
        )
