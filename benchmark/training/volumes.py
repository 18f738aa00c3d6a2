"""Cases of installed datasets as training volumes for a model's trainer, selected by the datasets' splits.

A trainer (such as PropSAM's) reads any sequence of objects with ``case_id``, ``image`` (X, Y, Z), ``masks``
(object name to (X, Y, Z) bool) and ``spacing`` (mm). ``SplitVolumes`` is such a sequence: it loads each case when
indexed, so memory stays flat however many cases a split holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from benchmark.data.cards import DatasetCard
from benchmark.data.case import CaseEntry
from benchmark.data.readers.base import LayoutReader
from benchmark.home.data_home import DataHome
from benchmark.splits import Subset, make_split

__all__ = ["TrainingVolume", "SplitVolumes", "split_volumes"]


@dataclass(frozen=True, eq=False)
class TrainingVolume:
    """One case for a trainer: one image channel and every object's mask on the canonical grid.

    Attributes:
        case_id: ``<dataset ID>/<case ID>``.
        image: (X, Y, Z) float32 intensities of the selected channel.
        masks: Object name to (X, Y, Z) bool mask (objects absent from the case are left out).
        spacing: Voxel size (sx, sy, sz) in mm.
    """

    case_id: str
    image: np.ndarray
    masks: Mapping[str, np.ndarray]
    spacing: tuple[float, float, float]


class SplitVolumes(Sequence[TrainingVolume]):
    """The cases of one subset of several datasets' splits, loaded on indexing.

    Args:
        readers: Opened readers of the datasets (e.g. from ``DataHome.open_reader``).
        subset: Which subset of each dataset's split (see benchmark.splits).
        channel: Image channel handed to the trainer.
        seed: Split seed.
        validation_fraction: Share of validation cases in internal datasets.
    """

    def __init__(self, readers: Sequence[LayoutReader], subset: Subset | str, *, channel: int = 0, seed: int = 0,
                 validation_fraction: float = 0.2) -> None:
        self.channel = channel
        self._items: list[tuple[LayoutReader, CaseEntry]] = []
        for reader in readers:
            entries = reader.discover().entries
            split = make_split(reader.card, [e.case_id for e in entries], seed=seed,
                               validation_fraction=validation_fraction, data_version=reader.data_version)
            wanted = set(split.cases(Subset(subset)))
            self._items += [(reader, entry) for entry in entries if entry.case_id in wanted]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> TrainingVolume: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TrainingVolume]: ...

    def __getitem__(self, index: int | slice) -> TrainingVolume | Sequence[TrainingVolume]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        reader, entry = self._items[index]
        case = reader.open_case(entry)
        image = np.asarray(case.image[self.channel], dtype=np.float32)
        masks = {name: mask for name, mask in case.masks().items() if mask.any()}
        return TrainingVolume(f"{reader.card.id}/{entry.case_id}", image, masks, case.spacing)

    def __iter__(self) -> Iterator[TrainingVolume]:
        return (self[i] for i in range(len(self)))


def split_volumes(home: DataHome, cards: Sequence[DatasetCard], subset: Subset | str, *, channel: int = 0,
                  seed: int = 0) -> SplitVolumes:
    """``SplitVolumes`` of installed datasets (raises DatasetNotInstalledError naming the install command)."""
    return SplitVolumes([home.open_reader(card) for card in cards], subset, channel=channel, seed=seed)
