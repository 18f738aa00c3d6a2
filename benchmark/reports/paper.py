"""The paper's reported values (``reports/paper/*.csv``, copied from the PropSAM supplementary tables), matched to
our dataset cards by name.

The tables spell dataset names differently (S2/S3 add a modality suffix, S4 writes "Total Segmentator"); rows are
matched on names reduced to lower-case letters and digits, trying the card's name and its ``paper_name``, each with
and without the modality suffix.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.data.enums import Modality

__all__ = ["paper_dir", "read_rows", "name_keys", "matches", "paper_order", "paper_number", "difference",
           "PAPER_MODELS", "PAPER_MODEL_NAMES", "paper_model", "model_order", "object_key", "match_object"]

#: Our model names to the paper's column of the same model (Tables S5 and S6). Both MedSAM protocols of the suite
#: are compared with the paper's MedSAM, whose protocol the paper describes only as box prompts on every slice.
PAPER_MODELS = {"MedSAM": "medsam", "MedSAM-3DBox": "medsam", "MedSAM-Propagate": "medsam", "SegVol": "segvol",
                "PropSAM-2DBox": "propsam_2dbox", "PropSAM-2DMask": "propsam_2dmask"}
#: The paper's columns as it names the models (Tables S7, S8 and S9 spell them this way, up to case).
PAPER_MODEL_NAMES = {"medsam": "MedSAM", "segvol": "SegVol", "propsam_2dbox": "PropSAM-2DBox",
                     "propsam_2dmask": "PropSAM-2DMask"}
#: Object names misprinted in the paper (reports/paper/README.md), as normalised names: printed -> meant.
_PRINTED_TYPOS = {"arota": "aorta", "slpeen": "spleen", "pertiumoral": "peritumoral", "noenhancing": "nonenhancing",
                  "cavitics": "cavities"}

_SUFFIX = {Modality.CT: "ct", Modality.MR: "mr", Modality.PET_CT: "petct", Modality.MICRO_CT: ""}


def paper_dir() -> Path:
    """``reports/paper`` of this checkout."""
    return Path(__file__).resolve().parents[2] / "reports" / "paper"


def read_rows(filename: str, directory: Path | None = None) -> list[dict[str, str]]:
    """Rows of one reference CSV (empty list when the file is absent)."""
    return [dict(row) for row in _cached_rows((directory or paper_dir()) / filename)]


@functools.lru_cache(maxsize=64)
def _cached_rows(path: Path) -> tuple[dict[str, str], ...]:
    """The reference files are data of the checkout, read once per process (reports read them per dataset)."""
    if not path.is_file():
        return ()
    with open(path, newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


@functools.lru_cache(maxsize=8192)
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

    names = [_norm(row.get("dataset", "")) for row in rows]

    def position(card: DatasetCard) -> int:
        keys = set(name_keys(card))
        return next((index for index, name in enumerate(names) if name in keys), len(rows))

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


def paper_model(model: str) -> str | None:
    """The paper's column of our model ``model`` (``"propsam_2dbox"``), or None for a model the paper lacks."""
    return PAPER_MODELS.get(model)


def model_order(models: Sequence[str]) -> list[str]:
    """Models in the paper's column order (MedSAM, SegVol, PropSAM-2DBox, PropSAM-2DMask), then the others by name."""
    columns = list(PAPER_MODEL_NAMES)

    def position(model: str) -> tuple[int, str]:
        column = paper_model(model)
        return (columns.index(column) if column is not None else len(columns), model)

    return sorted(dict.fromkeys(models), key=position)


def object_key(name: str) -> str:
    """An object name reduced for matching: lower-case letters and digits, the paper's misprints corrected, a
    plural ``s`` dropped ("Kidneys" and "kidney" match)."""
    key = _norm(name)
    for printed, meant in _PRINTED_TYPOS.items():
        key = key.replace(printed, meant)
    return key[:-1] if key.endswith("s") and len(key) > 3 else key


def match_object(object_name: str, rows: Sequence[dict[str, str]], column: str = "object") -> dict[str, str] | None:
    """The first row whose ``column`` names the same object as ``object_name`` (see :func:`object_key`)."""
    key = object_key(object_name)
    return next((row for row in rows if row.get(column) and object_key(row[column]) == key), None)
