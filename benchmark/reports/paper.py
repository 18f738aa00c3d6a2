"""The paper's reported values (``reports/paper/*.csv``, copied from the PropSAM supplementary tables), matched to
our dataset cards by name.

The tables spell dataset names differently (S2/S3 add a modality suffix, S4 writes "Total Segmentator"); rows are
matched on names reduced to lower-case letters and digits, trying the card's name and its ``paper_name``, each with
and without the modality suffix.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.data.enums import Modality

__all__ = ["paper_dir", "read_rows", "name_keys", "matches"]

_SUFFIX = {Modality.CT: "ct", Modality.MR: "mr", Modality.PET_CT: "petct", Modality.MICRO_CT: ""}


def paper_dir() -> Path:
    """``reports/paper`` of this checkout."""
    return Path(__file__).resolve().parents[2] / "reports" / "paper"


def read_rows(filename: str, directory: Path | None = None) -> list[dict[str, str]]:
    """Rows of one reference CSV (empty list when the file is absent)."""
    path = (directory or paper_dir()) / filename
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def name_keys(card: DatasetCard) -> tuple[str, ...]:
    """Normalised names a paper row of this dataset may carry."""
    keys: list[str] = []
    for name in (card.paper_name, card.name):
        if name:
            keys += [_norm(name), _norm(name) + _SUFFIX[card.modality]]
    return tuple(dict.fromkeys(keys))


def matches(card: DatasetCard, rows: Sequence[dict[str, str]], column: str = "dataset") -> Iterator[dict[str, str]]:
    """The rows whose ``column`` names this dataset."""
    keys = set(name_keys(card))
    return (row for row in rows if _norm(row.get(column, "")) in keys)
