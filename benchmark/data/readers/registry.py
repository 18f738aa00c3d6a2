"""The explicit registry of layout readers: one per layout family, imported when first used."""

from __future__ import annotations

import importlib

from benchmark.data.enums import LayoutFamily
from benchmark.data.readers.base import LayoutReader

__all__ = ["READERS", "reader_class"]

#: Layout family to "module:Class" of its reader.
READERS: dict[LayoutFamily, str] = {
    LayoutFamily.PAIRED_FOLDERS: "benchmark.data.readers.paired_folders:PairedFoldersReader",
    LayoutFamily.CASE_FOLDERS: "benchmark.data.readers.case_folders:CaseFoldersReader",
    LayoutFamily.BIDS: "benchmark.data.readers.bids:BidsReader",
    LayoutFamily.PER_STRUCTURE: "benchmark.data.readers.per_structure:PerStructureReader",
    LayoutFamily.SUFFIX_PAIRS: "benchmark.data.readers.suffix_pairs:SuffixPairsReader",
    LayoutFamily.DICOM: "benchmark.data.readers.dicom:DicomReader",
}


def reader_class(family: LayoutFamily | str) -> type[LayoutReader]:
    """The reader class of a layout family.

    Raises:
        ValueError: ``family`` is not a known family.
    """
    try:
        key = LayoutFamily(family)
    except ValueError:
        raise ValueError(f"unknown layout family {family!r}; expected one of "
                         f"{[f.value for f in LayoutFamily]}") from None
    module_name, class_name = READERS[key].split(":")
    cls: type[LayoutReader] = getattr(importlib.import_module(module_name), class_name)
    return cls
