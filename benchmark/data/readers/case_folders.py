"""Reader of layout family F2: one folder per case, with fixed or case-prefixed file names.

One reader covers KiTS23, BraTS 2021 and 2023, ACDC, M&Ms-2, AutoPET, QUBIQ and WMH through the options of
``CaseFoldersOptions``. Every file pattern is relative to its case folder and may use these placeholders:

- ``{case}``: the case folder's own name, e.g. ``"BraTS2021_00000"`` or ``"patient001"``.
- ``{version}``: the card version being read, e.g. ``"2021"`` or ``"pancreas"``.
- ``{phase}``: one of ``phases`` (only when phases are set), e.g. ``"ED"`` or ``"SA_ES"``.
- ``{frame}``: the integer frame number of the phase, read from ``frame_file``; ``"{frame:02d}"`` zero-pads it.
- ``{key}``: an object key of the card (label patterns of the ``per-file`` encoding only).
- every name of ``version_vars[version]``.

Multi-rater objects (QUBIQ): each rater's file is binary (any non-zero voxel is foreground). The object's boolean mask
is the **majority of raters**: a voxel is foreground when the mean over raters is at least ``MAJORITY_THRESHOLD``
(0.5), so with two raters one vote suffices and with three raters two votes are needed. The rater-mean probability map
itself is given by ``rater_mean`` (or ``CaseFoldersReader.rater_probability`` for a case) for metrics that score
against the rater distribution.

Example card options (ACDC)::

    [layout.options]
    case_globs = ["training/patient*"]
    channel_files = { MR = "{case}_frame{frame:02d}.nii.gz" }
    label_file = "{case}_frame{frame:02d}_gt.nii.gz"
    phases = ["ED", "ES"]
    frame_file = "Info.cfg"
"""

from __future__ import annotations

import fnmatch
import glob
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily, ObjectEncoding
from benchmark.data.geometry import Volume, check_same_grid
from benchmark.data.readers.base import Discovery, LayoutReader, is_hidden, present_or_annexed
from benchmark.data.readers.channels import read_channels
from benchmark.data.readers.labels import LabelMap, binary_mask
from benchmark.errors import CardError, CaseError

__all__ = [
    "MAJORITY_THRESHOLD",
    "CaseFoldersOptions",
    "CaseFoldersReader",
    "rater_mean",
    "majority_mask",
    "read_frame_file",
]

#: A voxel belongs to a multi-rater object when the mean of the raters' binary masks is at least this.
MAJORITY_THRESHOLD = 0.5

_BUILTIN_PLACEHOLDERS = ("case", "version", "phase", "frame", "key")


@dataclass(frozen=True)
class CaseFoldersOptions:
    """Card options of layout family F2 (the ``[layout.options]`` table). Patterns use the placeholders of the module.

    Attributes:
        channel_files: Required. Card channel name to the channel's file inside the case folder; names every card
            channel. KiTS23 ``{ CT = "imaging.nii.gz" }``; AutoPET ``{ CT = "CTres.nii.gz", PET = "SUV.nii.gz" }``;
            WMH ``{ FLAIR = "pre/FLAIR.nii.gz", T1 = "pre/T1.nii.gz" }``. Channels must share one voxel grid.
        case_globs: Globs of the case folders, relative to the dataset root; only folders count and hidden names
            (``.x``, ``__MACOSX``) are skipped. Nested globs give nested cases: ``["PETCT_*/*"]`` (AutoPET, one case
            per study), ``["Utrecht/*", "Singapore/*", "Amsterdam/*/*"]`` (WMH). May use ``{version}`` and
            ``version_vars`` (QUBIQ ``["training_data_v3_QC/{version}/*"]``).
        id_parts: How many trailing folder names make the case id, joined with ``"_"``: 1 gives ``"case_00000"``,
            2 gives ``"Utrecht_0"`` or ``"PETCT_0af7ffe12a_<study folder>"``.
        label_file: The label file inside the case folder. Encoding ``label-map``: one integer label map whose values
            are the card's keys. Encoding ``per-file``: must contain ``{key}``, one binary file per object key; an
            object whose file is absent from a case is all background there. Unused when ``rater_glob`` is set.
        rater_glob: Encoding ``per-file`` only: glob of one object's rater files, with ``{key}``; e.g. QUBIQ
            ``"{key}_seg*.nii.gz"`` with card objects ``{ task01 = "pancreas" }``. The number of raters may vary per
            case; the mask is their majority (see the module). None: one label file per case or object.
        phases: When set, each case folder gives one case per phase, with id ``"<folder id>_<phase>"`` and the
            ``{phase}`` placeholder; ACDC ``["ED", "ES"]``, M&Ms-2 ``["SA_ED", "SA_ES", "LA_ED", "LA_ES"]``. Files
            that no phase names (ACDC ``_4d``, M&Ms-2 ``_CINE``) are never read.
        frame_file: Text file inside the case folder with one ``"<phase>: <frame number>"`` line per phase (ACDC
            ``"Info.cfg"``); the number fills ``{frame}``. A missing or malformed file is an error of that folder.
            None: no frame numbers.
        version_vars: Card version to extra placeholder values, so that one card reads several releases whose names
            differ. BraTS: ``{ "2021" = { sep = "_", flair = "flair", ... }, "2023" = { sep = "-", flair = "t2f",
            ... } }`` with ``channel_files = { FLAIR = "{case}{sep}{flair}.nii.gz", ... }``.
        mask_threshold: Encoding ``per-file``: the object (or rater) files are soft masks; a voxel is foreground
            where its value is at least this. None (default): every such file must be binary (0 and one other
            value), anything else is an error of the case naming the file and its values.
    """

    channel_files: dict[str, str]
    case_globs: tuple[str, ...] = ("*",)
    id_parts: int = 1
    label_file: str = "segmentation.nii.gz"
    rater_glob: str | None = None
    phases: tuple[str, ...] = ()
    frame_file: str | None = None
    version_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    mask_threshold: float | None = None


class CaseFoldersReader(LayoutReader[CaseFoldersOptions]):
    """Reads datasets that keep each case in its own folder (layout family F2). See ``CaseFoldersOptions``.

    Raises:
        LayoutError: The dataset root is not a folder.
        CardError: An option does not fit the card (unknown placeholder, channel names that differ from the card's,
            a ``per-file`` label pattern without ``{key}``, ...).
    """

    family = LayoutFamily.CASE_FOLDERS
    options_type = CaseFoldersOptions

    def prepare(self) -> None:
        self._per_file = self.card.encoding is ObjectEncoding.PER_FILE
        self._vars = self._version_vars()
        self._check_options()

    # ----------------------------------------------------------------------------------------------- discovery
    def discover(self) -> Discovery:
        """List every case of every case folder; one CaseError per folder or case that cannot be paired."""
        folders = self._case_folders()
        if not folders:
            globs = [self._fill(g, {}) for g in self.options.case_globs]
            return Discovery((), (self.error("", self.root, f"no case folder matches {globs} under {self.root}; "
                                                            "expected at least one (layout.options.case_globs)"),))
        entries: list[CaseEntry] = []
        errors: list[CaseError] = []
        for folder in folders:
            found, problems = self._discover_folder(folder)
            entries.extend(found)
            errors.extend(problems)
        unique, clashes = _drop_duplicates(entries, self.error)
        return self.finish(sorted(unique, key=lambda e: e.case_id), errors + list(clashes))

    def _case_folders(self) -> list[Path]:
        folders: set[Path] = set()
        for pattern in self.options.case_globs:
            for path in self.root.glob(self._fill(pattern, {})):
                relative = path.relative_to(self.root)
                if path.is_dir() and not any(is_hidden(part) for part in relative.parts):
                    folders.add(path)
        return sorted(folders)

    def _discover_folder(self, folder: Path) -> tuple[list[CaseEntry], list[CaseError]]:
        relative = folder.relative_to(self.root)
        folder_id = "_".join(relative.parts[-self.options.id_parts:])
        if not self.options.phases:
            return self._pair(folder_id, folder, {}, {"folder": relative.as_posix()})
        frames: Mapping[str, int] = {}
        if self.options.frame_file is not None:
            frame_path = folder / self._fill(self.options.frame_file, {"case": folder.name})
            try:
                self.fetch([frame_path])  # a small text file; discovery needs its frame numbers for the file names
                frames = read_frame_file(frame_path, self.options.phases)
            except (ValueError, OSError) as err:
                return [], [self.error(folder_id, frame_path, str(err))]
        entries: list[CaseEntry] = []
        errors: list[CaseError] = []
        for phase in self.options.phases:
            values: dict[str, Any] = {"phase": phase}
            meta = {"folder": relative.as_posix(), "phase": phase}
            if phase in frames:
                values["frame"] = frames[phase]
                meta["frame"] = str(frames[phase])
            found, problems = self._pair(f"{folder_id}_{phase}", folder, values, meta)
            entries.extend(found)
            errors.extend(problems)
        return entries, errors

    def _pair(self, case_id: str, folder: Path, values: dict[str, Any],
              meta: dict[str, str]) -> tuple[list[CaseEntry], list[CaseError]]:
        values = {"case": folder.name, **values}
        images = tuple(folder / self._fill(self.options.channel_files[c], values) for c in self.card.channels)
        missing = [f"{name} ({path.name})" for name, path in zip(self.card.channels, images, strict=True)
                   if not present_or_annexed(path)]
        labels = self._label_files(folder, values)
        if labels and not missing:
            return [CaseEntry(case_id, images, labels, meta)], []
        expected = self._label_description(folder, values)
        if labels:
            message = f"label without image: channel file(s) {missing} are missing; expected every card channel"
        elif not missing:
            message = f"image without label: no label file {expected}; expected one per case"
        else:
            message = (f"case folder misses channel file(s) {missing} and the label file {expected}; expected every "
                       "channel and a label (layout.options.channel_files, label_file)")
        return [], [self.error(case_id, folder, message)]

    def _label_files(self, folder: Path, values: Mapping[str, Any]) -> tuple[Path, ...]:
        if self.options.rater_glob is not None:
            files: list[Path] = []
            for key in self.table.objects:
                files.extend(self._rater_files(folder, values, key))
            return tuple(files)
        keys = list(self.table.objects) if self._per_file else [None]
        paths = [folder / self._fill(self.options.label_file, {**values, "key": key}) for key in keys]
        return tuple(p for p in paths if present_or_annexed(p))

    def _rater_files(self, folder: Path, values: Mapping[str, Any], key: str) -> list[Path]:
        pattern = self._rater_pattern(values, key)
        return sorted(p for p in folder.glob(pattern) if not is_hidden(p.name) and not p.is_dir())

    def _rater_pattern(self, values: Mapping[str, Any], key: str) -> str:
        # Names coming from the data or the card are escaped so that "[" or "*" in them matches literally.
        escaped = {k: glob.escape(v) if isinstance(v, str) else v for k, v in values.items()}
        return self._fill(self.options.rater_glob or "", {**escaped, "key": glob.escape(key)})

    def _label_description(self, folder: Path, values: Mapping[str, Any]) -> str:
        if self.options.rater_glob is not None:
            return f"matching {self._rater_pattern(values, next(iter(self.table.objects)))!r} in {folder}"
        key = next(iter(self.table.objects)) if self._per_file else None
        return repr(str(folder / self._fill(self.options.label_file, {**values, "key": key})))

    # ------------------------------------------------------------------------------------------------- loading
    def open_case(self, entry: CaseEntry) -> Case:
        """The Case of one entry: channels stacked in card order, masks from the label map, files or raters."""
        label_map = None if self._per_file else LabelMap(entry.label_files[0], self.table,
                                                         before_read=lambda: self.fetch(entry.label_files))

        def load_image() -> Volume:
            self.fetch(entry.files)
            return read_channels(entry.image_files, self.card.channels)

        def load_mask(name: str) -> Volume:
            if label_map is not None:
                return label_map.mask(name)
            files = self._object_files(entry, self._key_of(name))
            if not files:  # the object is absent from this case: all background on the image grid
                return Volume(np.zeros(case.spatial_shape, dtype=bool), case.geometry, entry.image_files[0])
            self.fetch(files)
            if self.options.rater_glob is not None:
                return majority_mask(files, self.options.mask_threshold)
            return binary_mask(files[0], self.options.mask_threshold)

        case = Case(dataset_id=self.card.id, entry=entry, modality=str(self.card.modality),
                    channel_names=self.card.channels, objects=self.table.names, load_image=load_image,
                    load_mask=load_mask, data_version=self.data_version,
                    load_labels=label_map.layout if label_map is not None else None)
        return case

    def rater_probability(self, case: Case, name: str) -> Volume:
        """The rater-mean map of object ``name`` in a case opened by this reader: float32 in [0, 1], shape (X, Y, Z).

        On the case's canonical grid; zero everywhere when the case has no rater file for the object. Needs
        ``rater_glob``. The boolean ``case.mask(name)`` is this map ``>= MAJORITY_THRESHOLD``.

        Raises:
            CardError: The card declares no raters (``layout.options.rater_glob`` unset).
            KeyError: ``name`` is not an object of the card.
        """
        if self.options.rater_glob is None:
            raise CardError(f"{self.card.path}: dataset {self.card.id} has no raters (layout.options.rater_glob is "
                            "unset); expected a multi-rater card for rater_probability")
        files = self._object_files(case.entry, self._key_of(name))
        if not files:
            return Volume(np.zeros(case.spatial_shape, dtype=np.float32), case.geometry, case.entry.image_files[0])
        self.fetch(files)
        return rater_mean(files, self.options.mask_threshold)

    def _key_of(self, name: str) -> str:
        for key, value in self.table.objects.items():
            if value == name:
                return key
        raise KeyError(f"{self.card.path}: object {name!r} is not on the card (version {self.table.version!r}); "
                       f"objects: {self.table.names}")

    def _object_files(self, entry: CaseEntry, key: str) -> list[Path]:
        folder = self.root / entry.meta["folder"]
        values: dict[str, Any] = {"case": folder.name, "phase": entry.meta.get("phase")}
        if "frame" in entry.meta:
            values["frame"] = int(entry.meta["frame"])
        if self.options.rater_glob is not None:
            pattern = self._rater_pattern(values, key)
            return [p for p in entry.label_files
                    if fnmatch.fnmatchcase(p.relative_to(folder).as_posix(), pattern)]
        path = folder / self._fill(self.options.label_file, {**values, "key": key})
        return [path] if path in entry.label_files else []

    # ------------------------------------------------------------------------------------------------- options
    def _fill(self, pattern: str, values: Mapping[str, Any]) -> str:
        return pattern.format_map({**self._vars, "version": self.table.version, **values})

    def _version_vars(self) -> dict[str, str]:
        where = f"{self.card.path}: key 'layout.options.version_vars'"
        unknown = sorted(set(self.options.version_vars) - set(self.card.versions))
        if unknown:
            raise CardError(f"{where} names version(s) {unknown} that the card does not declare; expected some of "
                            f"{sorted(self.card.versions)}")
        chosen = dict(self.options.version_vars.get(self.table.version, {}))
        reserved = sorted(set(chosen) & set(_BUILTIN_PLACEHOLDERS))
        if reserved:
            raise CardError(f"{where} redefines built-in placeholder(s) {reserved}; choose other names")
        return chosen

    def _check_options(self) -> None:
        options, path = self.options, self.card.path
        if set(options.channel_files) != set(self.card.channels):
            raise CardError(f"{path}: key 'layout.options.channel_files' names channels {sorted(options.channel_files)}"
                            f", expected exactly the card's channels {list(self.card.channels)}")
        if options.id_parts < 1:
            raise CardError(f"{path}: key 'layout.options.id_parts' is {options.id_parts}, expected an integer >= 1")
        if options.frame_file is not None and not options.phases:
            raise CardError(f"{path}: key 'layout.options.frame_file' is set but 'phases' is empty; expected the "
                            "phases whose frame numbers the file gives, e.g. [\"ED\", \"ES\"]")
        if options.rater_glob is not None and not self._per_file:
            raise CardError(f"{path}: key 'layout.options.rater_glob' needs encoding 'per-file' (object keys are "
                            f"file keys), got encoding {str(self.card.encoding)!r}")
        label_key = "rater_glob" if options.rater_glob is not None else "label_file"
        label_pattern = options.rater_glob if options.rater_glob is not None else options.label_file
        for key, pattern, names in self._patterns(label_key, label_pattern):
            self._check_pattern(pattern, names, key)
        if self._per_file != ("key" in _placeholders(label_pattern)):
            raise CardError(f"{path}: key 'layout.options.{label_key}' is {label_pattern!r}; with encoding "
                            f"{str(self.card.encoding)!r} it must {'' if self._per_file else 'not '}contain '{{key}}'")

    def _patterns(self, label_key: str, label_pattern: str) -> list[tuple[str, str, set[str]]]:
        """Every pattern of the options, with the option it comes from and the placeholders it may use."""
        options = self.options
        fixed = set(self._vars) | {"version"}
        allowed = fixed | {"case"} | ({"phase"} if options.phases else set())
        allowed |= {"frame"} if options.frame_file is not None else set()
        patterns = [("case_globs", g, fixed) for g in options.case_globs]
        patterns += [("channel_files", p, allowed) for p in options.channel_files.values()]
        patterns += [(label_key, label_pattern, allowed | {"key"})]
        if options.frame_file is not None:
            patterns.append(("frame_file", options.frame_file, fixed | {"case"}))
        return patterns

    def _check_pattern(self, pattern: str, allowed: set[str], key: str) -> None:
        where = f"{self.card.path}: key 'layout.options.{key}'"
        unknown = sorted(_placeholders(pattern, where=where) - allowed)
        if unknown:
            raise CardError(f"{where}: pattern {pattern!r} uses placeholder(s) {unknown} that are not defined here; "
                            f"expected some of {sorted(allowed)}")
        try:  # a trial fill catches format specs that do not fit, e.g. "{case:02d}"
            self._fill(pattern, {"case": "case", "phase": "ED", "frame": 1, "key": "key"})
        except (ValueError, KeyError, IndexError, AttributeError) as err:
            raise CardError(f"{where}: pattern {pattern!r} cannot be filled ({err}); expected {{name}} or "
                            "{{frame:02d}}-like placeholders") from err
        if pattern.startswith("/") or ".." in Path(pattern).parts:
            raise CardError(f"{where}: pattern {pattern!r} leaves its folder; expected a relative path inside it")


def _placeholders(pattern: str, *, where: str = "") -> set[str]:
    """The placeholder names of a ``str.format`` pattern (``""`` for a positional ``{}``)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as err:
        raise CardError(f"{where}: pattern {pattern!r} is malformed ({err}); expected text with {{name}} "
                        "placeholders") from err


def _drop_duplicates(entries: list[CaseEntry], error: Any) -> tuple[list[CaseEntry], tuple[CaseError, ...]]:
    by_id: dict[str, list[CaseEntry]] = {}
    for entry in entries:
        by_id.setdefault(entry.case_id, []).append(entry)
    unique = [group[0] for group in by_id.values() if len(group) == 1]
    clashes = tuple(error(case_id, None, f"case id {case_id!r} comes from several folders "
                                         f"{[e.meta['folder'] for e in group]}; every copy is excluded, expected one "
                                         "folder per id (raise layout.options.id_parts)")
                    for case_id, group in by_id.items() if len(group) > 1)
    return unique, clashes


def read_frame_file(path: Path, phases: Sequence[str]) -> dict[str, int]:
    """Read each phase's frame number from a ``"<phase>: <n>"`` text file (ACDC's ``Info.cfg``).

    Lines of other keys (``Group: DCM``, ``Height: 184.0``) are ignored.

    Returns:
        Phase name to frame number (>= 0).

    Raises:
        FileNotFoundError: The file is missing (or annexed and not fetched).
        ValueError: The file is not text, lacks a phase, gives one twice or gives a value that is not an integer.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: frame file not found; expected lines like 'ED: 1' for phases "
                                f"{list(phases)}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: frame file is not UTF-8 text ({err}); expected lines like 'ED: 1'") from err
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key in phases:
            if key in found:
                raise ValueError(f"{path}: phase {key!r} is given twice; expected one line per phase")
            found[key] = value.strip()
    frames: dict[str, int] = {}
    for phase in phases:
        number = found.get(phase)
        if number is None:
            raise ValueError(f"{path}: no line for phase {phase!r}; expected a line '{phase}: <frame number>'")
        if not number.isdigit():
            raise ValueError(f"{path}: phase {phase!r} has frame {number!r}; expected a non-negative integer")
        frames[phase] = int(number)
    return frames


def rater_mean(paths: Sequence[Path], mask_threshold: float | None = None) -> Volume:
    """The per-voxel fraction of raters marking a voxel: float32 in [0, 1], shape (X, Y, Z), canonical grid.

    Args:
        paths: One binary mask file per rater (checked binary; non-zero is foreground), all on one grid.
        mask_threshold: Rater files are soft masks thresholded at this (see ``labels.mask_from_values``).

    Raises:
        ValueError: ``paths`` is empty.
        GeometryMismatchError: A rater's mask is on another grid than the first rater's.
        ImageReadError: A file is missing, truncated or not an image.
    """
    if not paths:
        raise ValueError("rater_mean: got no rater files; expected at least one")
    first = binary_mask(paths[0], mask_threshold)
    total = first.array.astype(np.float32)
    for path in paths[1:]:
        volume = binary_mask(path, mask_threshold)
        check_same_grid(first.geometry, volume.geometry, what="rater mask", reference_path=first.source,
                        other_path=path)
        total += volume.array
    return Volume(total / np.float32(len(paths)), first.geometry, first.source)


def majority_mask(paths: Sequence[Path], mask_threshold: float | None = None) -> Volume:
    """The majority of raters: True where ``rater_mean(paths) >= MAJORITY_THRESHOLD``, shape (X, Y, Z)."""
    mean = rater_mean(paths, mask_threshold)
    return Volume(mean.array >= MAJORITY_THRESHOLD, mean.geometry, mean.source)
