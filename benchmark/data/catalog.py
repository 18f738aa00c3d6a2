"""The catalog: every dataset card of ``datasets/`` (the paper's 44 in ``datasets/paper/``, the demo collection in
``datasets/demo/``), loaded and validated together."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.cards import DatasetCard, load_card
from benchmark.errors import CardError, UnknownDatasetError

__all__ = ["CARDS_ENV", "Catalog", "default_cards_dir", "load_catalog"]

#: Environment variable naming the folder of dataset cards (default: the repository's ``datasets/``).
CARDS_ENV = "PROPBENCH_CARDS"


def default_cards_dir() -> Path:
    """The cards folder: ``$PROPBENCH_CARDS`` when set, else ``datasets/`` of this checkout."""
    from_env = os.environ.get(CARDS_ENV)
    if from_env:
        return Path(from_env)
    return Path(__file__).resolve().parents[2] / "datasets"


@dataclass(frozen=True)
class Catalog:
    """Validated cards by dataset ID, in catalog order (paper IDs D1..D44 numerically, then demo IDs)."""

    cards: tuple[DatasetCard, ...]

    def __iter__(self) -> Iterator[DatasetCard]:
        return iter(self.cards)

    def __len__(self) -> int:
        return len(self.cards)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(card.id for card in self.cards)

    def get(self, dataset_id: str) -> DatasetCard:
        """The card of ``dataset_id``.

        Raises:
            UnknownDatasetError: No card declares that ID; the message lists the known IDs.
        """
        for card in self.cards:
            if card.id == dataset_id:
                return card
        raise UnknownDatasetError(f"unknown dataset ID {dataset_id!r}; expected one of {', '.join(self.ids)} "
                                  f"(see 'propbench datasets list')")

    @property
    def demo(self) -> tuple[DatasetCard, ...]:
        return tuple(card for card in self.cards if card.demo)

    @property
    def paper(self) -> tuple[DatasetCard, ...]:
        return tuple(card for card in self.cards if not card.demo)


def load_catalog(cards_dir: Path | None = None) -> Catalog:
    """Load and validate every ``*.toml`` card below ``cards_dir``.

    Raises:
        CardError: A card breaks the schema, or two cards share an ID (both files named).
        FileNotFoundError: ``cards_dir`` does not exist.
    """
    root = Path(cards_dir) if cards_dir is not None else default_cards_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"dataset cards folder {root} does not exist; set ${CARDS_ENV} or pass --cards")
    cards: dict[str, DatasetCard] = {}
    for path in sorted(root.rglob("*.toml")):
        card = load_card(path)
        if card.id in cards:
            raise CardError(f"{path}: dataset ID {card.id!r} is already declared by {cards[card.id].path}")
        cards[card.id] = card
    return Catalog(tuple(sorted(cards.values(), key=_order)))


def _order(card: DatasetCard) -> tuple[int, int, str]:
    digits = card.id[1:]
    if not card.demo and card.id.startswith("D") and digits.isdigit():
        return (0, int(digits), card.id)
    return (1, 0, card.id)
