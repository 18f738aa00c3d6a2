"""The reader contract: discover cases on disk, then open each one as a lazily loaded Case.

A reader is constructed from a card and a dataset root. ``discover()`` lists the cases from file names alone (no
voxels read, annexed content need not be present; only small text headers that name data files are fetched and read)
and records every case it cannot pair; ``open_case()`` returns a Case whose image and masks are read (and fetched
through ``fetch``) on first access. Every volume is canonical (see benchmark.data.geometry).

Rules every family shares, applied by ``LayoutReader.finish`` at the end of each discovery:

- **Case IDs**: a case ID met more than once (two image files with one case key, two folders with one name, a
  dataset.json listing a case twice) excludes every copy: none is read, one error names them all. A case ID with any
  discovery error is excluded, so each case is either read or counted once as excluded.
- **Data files of headers**: files a header references (MetaImage ``ElementDataFile``, detached NRRD data, the
  ``.img`` of an Analyze ``.hdr``) join the case's files (``CaseEntry.data_files``): they are fetched, content-keyed
  and verified with it (see ``benchmark.data.readers.data_files``).
- **Links** (``benchmark.data.readers.links``): links inside the dataset are followed; a case whose file is a link
  leaving the dataset is a bad case naming the link and its target; paths read from cards and manifests that leave
  the dataset are refused (``inside_root``); folder walks detect loops and read every file once.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from benchmark.data.cards import DatasetCard, ObjectTable
from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily
from benchmark.data.readers.data_files import needs_parsing, parse_headers
from benchmark.data.readers.links import DatasetBounds
from benchmark.errors import BenchmarkError, CardError, CaseError, LayoutError

__all__ = [
    "DatasetBounds",
    "Fetcher",
    "Discovery",
    "LayoutReader",
    "parse_options",
    "inside_root",
    "require_dir",
    "is_hidden",
    "present_or_annexed",
]

#: A family's options type: a frozen dataclass of the card's ``layout.options``.
OptionsT = TypeVar("OptionsT")

#: Makes files present before they are read (``datalad get`` in a data home; nothing for a plain folder).
Fetcher = Callable[[Sequence[Path]], None]


@dataclass(frozen=True)
class Discovery:
    """What a discovery pass found: the cases it could pair, and one error per file or case it could not."""

    entries: tuple[CaseEntry, ...]
    errors: tuple[CaseError, ...] = ()


class LayoutReader(ABC, Generic[OptionsT]):
    """Base class of the per-family readers.

    A family's reader subclasses ``LayoutReader[ItsOptions]``, sets ``family`` and ``options_type`` (the frozen
    dataclass of the family's card options, every field with a default or required), implements ``discover`` (ending
    with ``return self.finish(entries, errors)``) and ``open_case``, and checks what the options type alone cannot
    (options against the card's channels and encoding) in ``prepare``, which must not touch the disk: cards are
    checked with it when they load (``check_card``). Every family has this one constructor signature; readers never
    override ``__init__``. ``reader_version`` is part of every fingerprint cache key: bump it when a change of the
    reader changes what it reads from the same files and card.

    Args:
        card: The dataset's validated card.
        root: The dataset's root folder (a subdataset of the data home, or any folder).
        version: Which of the card's object tables to use (the card's default when None).
        data_version: The subdataset commit to stamp on every Case.
        fetch: Called with the files of a case before they are read.

    Raises:
        LayoutError: ``root`` is not a folder.
        CardError: The card's layout options do not fit ``options_type``, or ``prepare`` finds them inconsistent
            with the card.
    """

    family: ClassVar[LayoutFamily]
    options_type: ClassVar[type[Any]]
    reader_version: ClassVar[int] = 1

    def __init__(self, card: DatasetCard, root: Path, *, version: str | None = None, data_version: str = "",
                 fetch: Fetcher | None = None) -> None:
        self.root = require_dir(Path(root), f"dataset {card.id} root")
        self.bounds = DatasetBounds.of(self.root)
        self.data_version = data_version
        self._fetch: Fetcher = fetch if fetch is not None else _no_fetch
        self._bind(card, version)
        self.prepare()

    def _bind(self, card: DatasetCard, version: str | None) -> None:
        self.card = card
        self.table: ObjectTable = card.objects(version)
        self.options: OptionsT = parse_options(self.options_type, card.layout.options, card.path)

    @classmethod
    def check_card(cls, card: DatasetCard) -> None:
        """Check a card's layout options against this family for every version of the card, touching no disk.

        Raises:
            CardError: An unknown option, a value of the wrong type, or options that do not fit the card.
        """
        for version in card.versions:
            reader = cls.__new__(cls)
            reader._bind(card, version)
            reader.prepare()

    def prepare(self) -> None:
        """Check the options against the card and derive per-reader state; called once by ``__init__`` and by
        ``check_card`` (so it must not read ``root`` or any file).

        Raises:
            CardError: The options do not fit the card (the message names the card file and the key).
        """

    @abstractmethod
    def discover(self) -> Discovery:
        """List the dataset's cases from file names; never reads voxels."""

    @abstractmethod
    def open_case(self, entry: CaseEntry) -> Case:
        """Return the Case of one discovered entry; voxels are read lazily."""

    def fetch(self, paths: Iterable[Path]) -> None:
        """Make ``paths`` present (annexed content is fetched on demand)."""
        self._fetch(list(paths))

    def error(self, case_id: str, path: Path | None, message: str) -> CaseError:
        """A CaseError of this dataset."""
        return CaseError(dataset_id=self.card.id, case_id=case_id, path=path, message=message)

    def finish(self, entries: Iterable[CaseEntry], errors: Iterable[CaseError]) -> Discovery:
        """Apply the shared rules of the module docstring to what a family's discovery found (order is kept).

        Args:
            entries: The cases the family could pair.
            errors: Its errors, one per file or case it could not pair.
        """
        found = list(entries)
        problems = list(errors)
        failed = {error.case_id for error in problems if error.case_id}
        counts = Counter(entry.case_id for entry in found)
        kept: list[CaseEntry] = []
        for entry in found:
            if entry.case_id in failed:
                continue
            if counts[entry.case_id] > 1:
                copies = [e for e in found if e.case_id == entry.case_id]
                files = [str(e.image_files[0]) if e.image_files else e.case_id for e in copies]
                problems.append(self.error(entry.case_id, entry.image_files[0] if entry.image_files else None,
                                           f"case ID {entry.case_id!r} is found {len(copies)} times ({files}); "
                                           "every copy is excluded, expected one case per ID"))
                failed.add(entry.case_id)
                continue
            outward = self._outward_link(entry.files)
            if outward is not None:
                problems.append(self.error(entry.case_id, outward[0], self.bounds.describe(*outward)))
                continue
            kept.append(entry)
        return Discovery(tuple(self._with_data_files(kept, problems)), tuple(problems))

    def _outward_link(self, paths: Iterable[Path]) -> tuple[Path, Path] | None:
        for path in paths:
            target = self.bounds.real_outside(path)
            if target is not None:
                return path, target
        return None

    def _with_data_files(self, entries: list[CaseEntry], problems: list[CaseError]) -> list[CaseEntry]:
        """Entries with the data files of their headers (text headers fetched in one call first)."""
        headers = [path for entry in entries for path in entry.image_files + entry.label_files
                   if needs_parsing(path) or path.name.lower().endswith((".hdr", ".hdr.gz"))]
        if not headers:
            return entries
        try:
            self.fetch([path for path in headers if needs_parsing(path)])
        except BenchmarkError as err:  # each header is then read as it is; one that is absent fails its case
            problems.append(self.error("", None, f"fetching the headers that name data files failed ({err})"))
        parsed = parse_headers(headers)
        kept: list[CaseEntry] = []
        for entry in entries:
            data: list[Path] = []
            problem: str | None = None
            for header in entry.image_files + entry.label_files:
                files = parsed.get(header, ())
                if isinstance(files, LayoutError):
                    problem = str(files)
                    break
                missing = [str(f) for f in files if not present_or_annexed(f)]
                if missing:
                    problem = (f"{header}: header names data file(s) {missing} that do not exist; expected them "
                               "beside the header")
                    break
                outward = self._outward_link(files)
                if outward is not None:
                    problem = self.bounds.describe(*outward)
                    break
                data.extend(files)
            if problem is not None:
                problems.append(self.error(entry.case_id, entry.image_files[0] if entry.image_files else None,
                                           problem))
                continue
            kept.append(dataclasses.replace(entry, data_files=tuple(dict.fromkeys(data))) if data else entry)
        return kept


def _no_fetch(paths: Sequence[Path]) -> None:
    return None


def parse_options(options_type: type, options: Mapping[str, Any], card_path: Path) -> Any:
    """Build a family's options dataclass from a card's ``layout.options`` table.

    Unknown keys, missing required keys and values of the wrong type raise CardError naming the card and the key.
    Lists are converted to tuples and nested tables to dicts.
    """
    fields = {f.name: f for f in dataclasses.fields(options_type)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise CardError(f"{card_path}: unknown key(s) {['layout.options.' + k for k in unknown]} for this layout "
                        f"family; expected keys: {sorted(fields)}")
    hints = _type_hints(options_type)
    values: dict[str, Any] = {}
    for name, value in options.items():
        expected = hints[name]
        if not _matches(value, expected):
            raise CardError(f"{card_path}: key 'layout.options.{name}' must be {expected}, "
                            f"got {type(value).__name__} {value!r}")
        values[name] = tuple(value) if isinstance(value, list) else value
    try:
        return options_type(**values)
    except TypeError as err:
        raise CardError(f"{card_path}: layout options incomplete for this family ({err})") from err


@functools.cache
def _type_hints(options_type: type) -> dict[str, Any]:
    """The options dataclass's field types (evaluated once: every reader of a run parses the same card)."""
    return typing.get_type_hints(options_type)


def _matches(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if origin is tuple:
        args = typing.get_args(expected)
        return isinstance(value, (list, tuple)) and all(_matches(v, args[0]) for v in value)
    if origin in (dict, Mapping):
        key_type, value_type = typing.get_args(expected)
        return isinstance(value, dict) and all(_matches(k, key_type) and _matches(v, value_type)
                                               for k, v in value.items())
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is Any:
        return True
    return isinstance(value, expected)


def inside_root(root: Path, relative: str | Path, *, where: str) -> Path:
    """Join ``relative`` to ``root`` and refuse paths that escape it (``..``, absolute paths, links outward).

    Args:
        root: The dataset root.
        relative: A path read from a dataset.json, manifest or card.
        where: The file or key it was read from, for the message.

    Returns:
        The joined path as written (links inside the dataset are kept, so names stay the dataset's own).

    Raises:
        LayoutError: The path, or the real path of a link on it, lies outside ``root`` (see
            ``benchmark.data.readers.links``).
    """
    candidate = Path(os.path.normpath(root / relative))
    root_norm = Path(os.path.normpath(root))
    if Path(relative).is_absolute() or not candidate.is_relative_to(root_norm):
        raise LayoutError(f"{where}: path {str(relative)!r} escapes the dataset root {root}; "
                          f"expected a path inside it")
    bounds = DatasetBounds.of(root)
    target = bounds.real_outside(candidate)
    if target is not None:
        raise LayoutError(f"{where}: {bounds.describe(candidate, target)}")
    return candidate


def require_dir(path: Path, what: str) -> Path:
    """Return ``path`` if it is a folder, else raise LayoutError naming ``what``."""
    if not path.is_dir():
        state = "is a file" if path.exists() else "does not exist"
        raise LayoutError(f"{what}: folder {path} {state}; expected the folder to exist as the card's layout declares")
    return path


def is_hidden(name: str) -> bool:
    """True for macOS resource forks (``._x``), ``__MACOSX`` and other dot or underscore files of archives."""
    return name.startswith(".") or name.startswith("__MACOSX") or name.startswith("._")


def present_or_annexed(path: Path) -> bool:
    """True if ``path`` exists, or is a link to annexed content not fetched yet."""
    return os.path.lexists(path)
