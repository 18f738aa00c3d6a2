"""The reader contract: discover cases on disk, then open each one as a lazily loaded Case.

A reader is constructed from a card and a dataset root. ``discover()`` lists the cases from file names alone (no
voxels read, annexed content need not be present) and records every case it cannot pair; ``open_case()`` returns a
Case whose image and masks are read (and fetched through ``fetch``) on first access. Every volume is canonical (see
benchmark.data.geometry).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from benchmark.data.cards import DatasetCard, ObjectTable
from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily
from benchmark.errors import CardError, CaseError, LayoutError

__all__ = [
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
    dataclass of the family's card options, every field with a default or required), implements ``discover`` and
    ``open_case``, and checks what the options type alone cannot (options against the card's channels and encoding)
    in ``prepare``. Every family has this one constructor signature; readers never override ``__init__``.

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

    def __init__(self, card: DatasetCard, root: Path, *, version: str | None = None, data_version: str = "",
                 fetch: Fetcher | None = None) -> None:
        self.card = card
        self.root = require_dir(Path(root), f"dataset {card.id} root")
        self.table: ObjectTable = card.objects(version)
        self.data_version = data_version
        self.options: OptionsT = parse_options(self.options_type, card.layout.options, card.path)
        self._fetch: Fetcher = fetch if fetch is not None else _no_fetch
        self.prepare()

    def prepare(self) -> None:
        """Check the options against the card and derive per-reader state; called once by ``__init__``.

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
    hints = typing.get_type_hints(options_type)
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

    Raises:
        LayoutError: The path resolves outside ``root``.
    """
    candidate = Path(os.path.normpath(root / relative))
    root_norm = Path(os.path.normpath(root))
    if Path(relative).is_absolute() or not candidate.is_relative_to(root_norm):
        raise LayoutError(f"{where}: path {str(relative)!r} escapes the dataset root {root}; "
                          f"expected a path inside it")
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
