"""The paper's reported values (``reports/paper/*.csv``, copied from the PropSAM supplementary tables), matched to
our dataset cards by name.

The tables spell dataset names differently (S2/S3 add a modality suffix, S4 writes "Total Segmentator"); rows are
matched on names reduced to lower-case letters and digits, trying the card's name and its ``paper_name``, each with
and without the modality suffix.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.data.enums import Modality

__all__ = ["paper_dir", "read_rows", "name_keys", "matches", "paper_order", "paper_number", "difference"]

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


def paper_order(cards: Sequence[DatasetCard], filename: str) -> list[DatasetCard]:
    """Cards sorted by the row of their dataset in a paper table (cards the table lacks go last, in given order)."""
    rows = read_rows(filename)

    def position(card: DatasetCard) -> int:
        for index, row in enumerate(rows):
            if row in list(matches(card, rows)):
                return index
        return len(rows)

    return sorted(cards, key=position)


def paper_number(text: str | None) -> float | None:
    """A number printed in a paper table (thousands separators allowed), or None for an empty cell."""
    if text is None or text.strip() == "":
        return None
    return float(text.replace(",", ""))


def difference(ours: float | None, paper: float | None) -> float | None:
    """Ours minus the paper's value, or None when either is missing (or ours is NaN)."""
    if ours is None or paper is None or (isinstance(ours, float) and math.isnan(ours)):
        return None
    return ours - paper
