"""The explicit registry of layout readers: one class per layout family."""

from __future__ import annotations

from typing import Any

from benchmark.data.enums import LayoutFamily
from benchmark.data.readers.base import LayoutReader
from benchmark.data.readers.bids import BidsReader
from benchmark.data.readers.case_folders import CaseFoldersReader
from benchmark.data.readers.dicom import DicomReader
from benchmark.data.readers.paired_folders import PairedFoldersReader
from benchmark.data.readers.per_structure import PerStructureReader
from benchmark.data.readers.suffix_pairs import SuffixPairsReader

__all__ = ["READERS", "reader_class"]

#: Layout family to its reader class.
READERS: dict[LayoutFamily, type[LayoutReader[Any]]] = {
    LayoutFamily.PAIRED_FOLDERS: PairedFoldersReader,
    LayoutFamily.CASE_FOLDERS: CaseFoldersReader,
    LayoutFamily.BIDS: BidsReader,
    LayoutFamily.PER_STRUCTURE: PerStructureReader,
    LayoutFamily.SUFFIX_PAIRS: SuffixPairsReader,
    LayoutFamily.DICOM: DicomReader,
}


def reader_class(family: LayoutFamily | str) -> type[LayoutReader[Any]]:
    """The reader class of a layout family.

    Raises:
        ValueError: ``family`` is not a known family.
    """
    try:
        key = LayoutFamily(family)
    except ValueError:
        raise ValueError(f"unknown layout family {family!r}; expected one of "
                         f"{[f.value for f in LayoutFamily]}") from None
    return READERS[key]
