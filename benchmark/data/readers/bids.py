"""Reader of layout family F3: BIDS datasets (ATLAS R2.0, ISLES 2022).

Files are found by two globs (images, labels) and told apart by the BIDS entities of their names, read by the small
parser ``parse_bids_name``; no BIDS library is needed. A BIDS file name is::

    <key>-<value>[_<key>-<value>...]_<suffix><extension>
    sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz

that is, ``_``-separated ``key-value`` entities (keys are letters, values letters and digits), then a suffix of letters
and digits, then an extension starting at the first ``.``. Names that do not parse (``dataset_description.json``,
snapshots) are not case files and are skipped. Files of one case share the ``case_entities`` (``sub``, ``ses``); the
case id joins them as in BIDS, e.g. ``"sub-strokecase0001_ses-0001"``.

Example card options (ISLES 2022; FLAIR is not co-registered with DWI and ADC, so it is not a channel; a copy that
keeps the raw images under ``rawdata/`` uses ``image_glob = "rawdata/sub-*/**/*.nii.gz"``)::

    [layout.options]
    image_glob = "sub-*/**/*.nii.gz"
    label_glob = "derivatives/sub-*/**/*.nii.gz"
    channel_entities = { DWI = { suffix = "dwi" }, ADC = { suffix = "adc" } }
    label_entities = { suffix = "msk" }
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily, ObjectEncoding
from benchmark.data.geometry import Volume
from benchmark.data.readers.base import Discovery, LayoutReader, is_hidden, present_or_annexed
from benchmark.data.readers.channels import read_channels
from benchmark.data.readers.labels import LabelMap
from benchmark.errors import CardError, CaseError

__all__ = ["BidsName", "parse_bids_name", "BidsOptions", "BidsReader"]

_ENTITY = re.compile(r"^([A-Za-z]+)-([A-Za-z0-9]+)$")
_SUFFIX = re.compile(r"^[A-Za-z0-9]+$")


@dataclass(frozen=True)
class BidsName:
    """The parts of a BIDS file name.

    Attributes:
        entities: Entity key to value in name order, e.g. ``{"sub": "r001s001", "ses": "1", "desc": "T1lesion"}``.
        suffix: The last ``_`` part before the extension, e.g. ``"T1w"``, ``"mask"``, ``"dwi"``, ``"msk"``.
        extension: Everything from the first ``.``, e.g. ``".nii.gz"``.
    """

    entities: Mapping[str, str]
    suffix: str
    extension: str

    def matches(self, selector: Mapping[str, str]) -> bool:
        """True when every ``key = pattern`` of ``selector`` holds (``suffix`` and ``extension`` are keys too).

        Patterns are shell-style (``"MNI*"``) and case-sensitive; an absent entity never matches.
        """
        for key, pattern in selector.items():
            value = {"suffix": self.suffix, "extension": self.extension}.get(key, self.entities.get(key))
            if value is None or not fnmatch.fnmatchcase(value, pattern):
                return False
        return True


def parse_bids_name(name: str) -> BidsName:
    """Split a BIDS file name into entities, suffix and extension (see the module for the grammar).

    Raises:
        ValueError: ``name`` is not a BIDS file name (no entity, malformed or repeated entity, no suffix).
    """
    stem, dot, rest = name.partition(".")
    parts = stem.split("_")
    suffix, pairs = parts[-1], parts[:-1]
    if not pairs or not _SUFFIX.match(suffix):
        raise ValueError(f"{name!r} is not a BIDS file name; expected '<key>-<value>_..._<suffix><extension>'")
    entities: dict[str, str] = {}
    for pair in pairs:
        match = _ENTITY.match(pair)
        if match is None or match.group(1) in entities:
            raise ValueError(f"{name!r}: part {pair!r} is not a new BIDS entity; expected '<key>-<value>' with "
                             "letters as key and letters or digits as value, each key once")
        entities[match.group(1)] = match.group(2)
    return BidsName(entities, suffix, dot + rest)


@dataclass(frozen=True)
class BidsOptions:
    """Card options of layout family F3 (the ``[layout.options]`` table).

    Attributes:
        image_glob: Glob of the image files, relative to the dataset root. ATLAS R2.0 (training only; ``Testing``
            has no masks and is left out): ``"Training/*/sub-*/**/*.nii.gz"``; ISLES 2022: the default, or
            ``"rawdata/sub-*/**/*.nii.gz"`` where the raw images sit under ``rawdata/``.
        label_glob: Glob of the label files, relative to the dataset root. ATLAS: same as ``image_glob`` (masks sit
            in ``anat/``); ISLES: ``"derivatives/sub-*/**/*.nii.gz"``.
        channel_entities: Card channel name to the entities its file must have (``suffix`` and ``extension`` count
            as entities; values may be shell patterns). A card channel not listed matches files whose suffix is the
            channel's name. ATLAS ``{ T1w = { suffix = "T1w", space = "MNI152NLin2009aSym" } }``. Exactly one file
            per channel and case must match.
        label_entities: Entities of the label file, one integer label map per case. ATLAS ``{ suffix = "mask",
            label = "L", desc = "T1lesion" }``; ISLES ``{ suffix = "msk" }``.
        case_entities: Entities shared by the files of one case, in case-id order; those a file lacks are left out.
    """

    image_glob: str = "sub-*/**/*.nii.gz"
    label_glob: str = "derivatives/**/sub-*/**/*.nii.gz"
    channel_entities: dict[str, dict[str, str]] = field(default_factory=dict)
    label_entities: dict[str, str] = field(default_factory=lambda: {"suffix": "mask"})
    case_entities: tuple[str, ...] = ("sub", "ses")


_CaseKey = tuple[tuple[str, str], ...]


class BidsReader(LayoutReader[BidsOptions]):
    """Reads BIDS datasets (layout family F3). See ``BidsOptions``.

    Raises:
        LayoutError: The dataset root is not a folder.
        CardError: The card's encoding is not ``label-map``, or an option names a channel the card lacks.
    """

    family = LayoutFamily.BIDS
    options_type = BidsOptions

    def prepare(self) -> None:
        self._check_options()
        self._selectors = {name: self.options.channel_entities.get(name, {"suffix": name})
                           for name in self.card.channels}

    def discover(self) -> Discovery:
        """Group image and label files by their case entities; one CaseError per case that cannot be paired."""
        images: dict[_CaseKey, dict[str, list[Path]]] = {}
        labels: dict[_CaseKey, list[Path]] = {}
        for path, name in self._files(self.options.image_glob):
            for channel, selector in self._selectors.items():
                if name.matches(selector):
                    images.setdefault(self._key(name), {}).setdefault(channel, []).append(path)
        for path, name in self._files(self.options.label_glob):
            if name.matches(self.options.label_entities):
                labels.setdefault(self._key(name), []).append(path)
        if not images and not labels:
            return Discovery((), (self.error("", self.root, f"no BIDS image or label file matches "
                                                            f"{self.options.image_glob!r} or "
                                                            f"{self.options.label_glob!r} under {self.root}; "
                                                            "expected at least one case"),))
        entries: list[CaseEntry] = []
        errors: list[CaseError] = []
        for key in sorted(set(images) | set(labels)):
            outcome = self._pair(key, images.get(key, {}), labels.get(key, []))
            if isinstance(outcome, CaseEntry):
                entries.append(outcome)
            else:
                errors.append(outcome)
        return self.finish(sorted(entries, key=lambda e: e.case_id), errors)

    def _files(self, pattern: str) -> list[tuple[Path, BidsName]]:
        found: list[tuple[Path, BidsName]] = []
        for path in sorted(self.root.glob(pattern)):
            relative = path.relative_to(self.root)
            if any(is_hidden(part) for part in relative.parts) or not present_or_annexed(path) or path.is_dir():
                continue
            try:
                found.append((path, parse_bids_name(path.name)))
            except ValueError:
                continue  # not a BIDS file name, hence not a case file
        return found

    def _key(self, name: BidsName) -> _CaseKey:
        return tuple((e, name.entities[e]) for e in self.options.case_entities if e in name.entities)

    def _pair(self, key: _CaseKey, channels: dict[str, list[Path]], labels: list[Path]) -> CaseEntry | CaseError:
        case_id = "_".join(f"{k}-{v}" for k, v in key)
        files = [p for paths in channels.values() for p in paths] + labels
        where = files[0].parent if files else self.root
        ambiguous = {name: [p.name for p in paths] for name, paths in channels.items() if len(paths) > 1}
        if len(labels) > 1:
            ambiguous["label"] = [p.name for p in labels]
        if ambiguous:
            return self.error(case_id, where, f"several files match one role: {ambiguous}; expected exactly one each "
                                              "(narrow layout.options.channel_entities or label_entities)")
        missing = [name for name in self.card.channels if name not in channels]
        if labels and missing:
            return self.error(case_id, labels[0], f"label without image: no file for channel(s) {missing} "
                                                  f"(entities {[self._selectors[m] for m in missing]}); expected "
                                                  "every card channel")
        if not labels:
            also = f"; channel(s) {missing} are missing too" if missing else ""
            return self.error(case_id, where, f"image without label: no file with entities "
                                              f"{self.options.label_entities} matches {self.options.label_glob!r} "
                                              f"for this case{also}")
        images = tuple(channels[name][0] for name in self.card.channels)
        return CaseEntry(case_id, images, (labels[0],), dict(key))

    def open_case(self, entry: CaseEntry) -> Case:
        """The Case of one entry: channels stacked in card order, masks from the label map."""
        label_map = LabelMap(entry.label_files[0], self.table, before_read=lambda: self.fetch(entry.label_files))

        def load_image() -> Volume:
            self.fetch(entry.files)
            return read_channels(entry.image_files, self.card.channels)

        return Case(dataset_id=self.card.id, entry=entry, modality=str(self.card.modality),
                    channel_names=self.card.channels, objects=self.table.names, load_image=load_image,
                    load_mask=label_map.mask, data_version=self.data_version, load_labels=label_map.layout)

    def _check_options(self) -> None:
        path = self.card.path
        if self.card.encoding is not ObjectEncoding.LABEL_MAP:
            raise CardError(f"{path}: key 'encoding' is {str(self.card.encoding)!r}; layout family F3 reads one "
                            "label map per case, expected 'label-map'")
        unknown = sorted(set(self.options.channel_entities) - set(self.card.channels))
        if unknown:
            raise CardError(f"{path}: key 'layout.options.channel_entities' names channel(s) {unknown}; expected "
                            f"some of the card's channels {list(self.card.channels)}")
        empty = [k for k, v in self.options.channel_entities.items() if not v]
        if empty or not self.options.label_entities:
            raise CardError(f"{path}: key 'layout.options.channel_entities' or 'label_entities' has an empty "
                            f"selector ({empty or ['label_entities']}); expected at least one entity each")
        if not self.options.case_entities:
            raise CardError(f"{path}: key 'layout.options.case_entities' is empty; expected e.g. [\"sub\", \"ses\"]")
