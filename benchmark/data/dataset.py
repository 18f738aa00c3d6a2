"""Opening a dataset folder through its family reader, and loading every case with per-case error collection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.data.case import Case
from benchmark.data.content_keys import combined_key
from benchmark.data.readers.base import Discovery, Fetcher, LayoutReader
from benchmark.data.readers.registry import reader_class
from benchmark.errors import BenchmarkError, CaseError

__all__ = ["open_reader", "ReaderSpec", "reader_spec", "reading_key", "LoadReport", "iter_cases", "load_cases"]


def open_reader(card: DatasetCard, root: Path, *, version: str | None = None, data_version: str = "",
                fetch: Fetcher | None = None) -> LayoutReader:
    """The family reader of ``card`` on the dataset folder ``root``."""
    cls = reader_class(card.layout.family)
    return cls(card, root, version=version, data_version=data_version, fetch=fetch)


@dataclass(frozen=True, kw_only=True)
class ReaderSpec:
    """What rebuilds a reader anywhere: picklable, so a worker process or a Dask worker can open cases itself.

    Readers keep no state from discovery, so a reader rebuilt from its spec opens any entry the original discovered.
    A rebuilt reader fetches nothing: the process that dispatches work makes content present first.

    Attributes:
        card: The dataset's card.
        root: The dataset's root folder.
        version: The object table used (``ObjectTable.version``).
        data_version: The subdataset commit stamped on every Case.
    """

    card: DatasetCard
    root: Path
    version: str
    data_version: str

    def open(self, fetch: Fetcher | None = None) -> LayoutReader:
        """The family reader this spec describes."""
        return open_reader(self.card, self.root, version=self.version, data_version=self.data_version, fetch=fetch)


def reading_key(card: DatasetCard, version: str | None = None) -> str:
    """A key of everything on a card that changes what its reader reads, and of the reader's own version.

    It covers the layout family and every layout option, the channels, the encoding and the object table read
    (objects and ignored values), and the family reader's ``reader_version``; it leaves out what only describes a
    dataset (name, source, licence, notes, role). Cached per-case results keyed with it (and the files' content keys)
    are never served for another reading of the same files.
    """
    table = card.objects(version)
    reader = reader_class(card.layout.family)
    content = {
        "family": str(card.layout.family),
        "options": card.layout.options,
        "channels": list(card.channels),
        "encoding": str(card.encoding),
        "version": table.version,
        "objects": dict(table.objects),
        "ignore": list(table.ignore),
        "reader": f"{reader.__module__}.{reader.__qualname__}",
        "reader_version": reader.reader_version,
    }
    return combined_key([json.dumps(content, sort_keys=True, default=str)])


def reader_spec(reader: LayoutReader) -> ReaderSpec:
    """The spec that rebuilds ``reader`` (without its fetcher)."""
    return ReaderSpec(card=reader.card, root=reader.root, version=reader.table.version,
                      data_version=reader.data_version)


@dataclass(frozen=True)
class LoadReport:
    """Cases that opened, and every error met on the way (discovery and loading), reported together."""

    cases: tuple[Case, ...]
    errors: tuple[CaseError, ...]


def iter_cases(reader: LayoutReader, discovery: Discovery | None = None, *, load_image: bool = False,
               errors: list[CaseError] | None = None) -> Iterator[Case]:
    """Yield each discovered case; a case that fails is appended to ``errors`` and skipped.

    Args:
        reader: An opened family reader.
        discovery: A discovery already made (made here when None); its errors are appended to ``errors``.
        load_image: Read the image (and every mask) before yielding, so that unreadable cases are caught here.
        errors: Collects the CaseError of every bad case.
    """
    sink = errors if errors is not None else []
    found = discovery if discovery is not None else reader.discover()
    sink.extend(found.errors)
    for entry in found.entries:
        try:
            case = reader.open_case(entry)
            if load_image:
                _ = case.image
                case.masks()
        except (BenchmarkError, OSError, ValueError, KeyError) as err:
            path = entry.image_files[0] if entry.image_files else None
            sink.append(CaseError(dataset_id=reader.card.id, case_id=entry.case_id, path=path, message=str(err)))
            continue
        yield case


def load_cases(reader: LayoutReader, *, load_image: bool = True) -> LoadReport:
    """Open (and by default fully read) every case of a dataset, collecting errors instead of stopping."""
    errors: list[CaseError] = []
    cases = tuple(iter_cases(reader, load_image=load_image, errors=errors))
    return LoadReport(cases, tuple(errors))
