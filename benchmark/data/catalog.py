"""The catalog: the built-in dataset cards of ``datasets/`` (the paper's 44 in ``datasets/paper/``, the demo collection
in ``datasets/demo/``) and the cards of the user's own folders, loaded and validated together.

User card folders (``--cards DIR``, or ``$PROPBENCH_CARDS``, several folders separated by ``os.pathsep``) add to the
built-in catalog; a card file already loaded (the built-in folder given again) is read once. Every card is checked
when it loads: the schema (``benchmark.data.cards``) and its layout options against its family's reader
(``LayoutReader.check_card``), so ``propbench datasets list`` is the check of a new card.

One bad card does not block the others: it is recorded as a ``CardProblem`` (its file and error) and the catalog holds
every good card. An ID claimed by two card files (a user card reusing a built-in ID included) or by a bad card is
unusable until fixed: ``Catalog.get`` raises the error naming the files, so commands naming that dataset fail while
the others work.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.cards import DatasetCard, load_card
from benchmark.data.readers.registry import reader_class
from benchmark.errors import CardError, UnknownDatasetError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CARDS_ENV", "CardProblem", "Catalog", "builtin_cards_dir", "user_cards_dirs", "load_catalog"]

#: Environment variable naming user folders of dataset cards, added to the built-in ones (``os.pathsep``-separated).
CARDS_ENV = "PROPBENCH_CARDS"


def builtin_cards_dir() -> Path:
    """``datasets/`` of this checkout: the paper's cards and the demo collection's."""
    return Path(__file__).resolve().parents[2] / "datasets"


def user_cards_dirs(cards: Path | Sequence[Path] | None = None) -> tuple[Path, ...]:
    """The user's card folders: ``cards`` when given, else those of ``$PROPBENCH_CARDS``, else none."""
    if cards is not None:
        return (Path(cards),) if isinstance(cards, (str, Path)) else tuple(Path(c) for c in cards)
    from_env = os.environ.get(CARDS_ENV, "")
    return tuple(Path(part) for part in from_env.split(os.pathsep) if part)


@dataclass(frozen=True)
class CardProblem:
    """A card file that could not be loaded, or an ID two files claim.

    Attributes:
        path: The card file.
        dataset_id: The ID the file declares, ``""`` when it cannot be read.
        message: The error, naming the file (and the other file of a clash).
    """

    path: Path
    dataset_id: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Catalog:
    """Validated cards by dataset ID, in catalog order (paper IDs D1..D44 numerically, then the others), and the
    card files that could not be used."""

    cards: tuple[DatasetCard, ...]
    problems: tuple[CardProblem, ...] = ()

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
            CardError: The ID's card is bad, or two card files claim it (the message names the files).
            UnknownDatasetError: No card declares that ID; the message lists the known IDs (and says how many card
                files could not be read).
        """
        for card in self.cards:
            if card.id == dataset_id:
                return card
        bad = [problem.message for problem in self.problems if problem.dataset_id == dataset_id]
        if bad:
            raise CardError("; ".join(bad))
        unreadable = [p for p in self.problems if not p.dataset_id]
        hint = (f"; {len(unreadable)} card file(s) could not be read ({', '.join(str(p.path) for p in unreadable)})"
                if unreadable else "")
        raise UnknownDatasetError(f"unknown dataset ID {dataset_id!r}; expected one of {', '.join(self.ids)} "
                                  f"(see 'propbench datasets list'){hint}")

    @property
    def demo(self) -> tuple[DatasetCard, ...]:
        return tuple(card for card in self.cards if card.demo)

    @property
    def paper(self) -> tuple[DatasetCard, ...]:
        return tuple(card for card in self.cards if not card.demo)


def load_catalog(cards: Path | Sequence[Path] | None = None, *, builtin: bool = True) -> Catalog:
    """Load and check every ``*.toml`` card of the built-in folder and of the user's folders.

    Args:
        cards: User card folders (default: ``$PROPBENCH_CARDS``); their cards are added to the built-in ones.
        builtin: Include the built-in cards of ``datasets/`` (False: only the given folders).

    Returns:
        Every good card, and a ``CardProblem`` per bad card file and per ID claimed twice (see the module docstring).

    Raises:
        FileNotFoundError: A given cards folder does not exist.
    """
    folders = ([builtin_cards_dir()] if builtin else []) + list(user_cards_dirs(cards))
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"dataset cards folder {folder} does not exist; expected a folder of *.toml "
                                    f"cards (--cards DIR or ${CARDS_ENV})")
    seen: set[Path] = set()
    loaded: list[DatasetCard] = []
    problems: list[CardProblem] = []
    for folder in folders:
        for path in sorted(folder.rglob("*.toml")):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                card = load_card(path)
                reader_class(card.layout.family).check_card(card)
            except CardError as err:
                problems.append(CardProblem(path, _declared_id(path), str(err)))
                continue
            loaded.append(card)
    cards_by_id: dict[str, DatasetCard] = {}
    for card in loaded:
        first = cards_by_id.get(card.id)
        if first is not None:
            problems.append(CardProblem(card.path, card.id, f"{card.path}: dataset ID {card.id!r} is already declared "
                                        f"by {first.path}; expected one card per ID (a user card adds a dataset "
                                        "under a new ID)"))
        else:
            cards_by_id[card.id] = card
    blocked = {problem.dataset_id for problem in problems}
    good = [card for card in cards_by_id.values() if card.id not in blocked]
    return Catalog(tuple(sorted(good, key=_order)), tuple(problems))


def _declared_id(path: Path) -> str:
    """The ``id`` a card file declares, when its TOML parses far enough to tell (``""`` otherwise)."""
    try:
        value = tomllib.loads(path.read_text(encoding="utf-8")).get("id", "")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    return value if isinstance(value, str) else ""


def _order(card: DatasetCard) -> tuple[int, int, str]:
    digits = card.id[1:]
    if not card.demo and card.id.startswith("D") and digits.isdigit():
        return (0, int(digits), card.id)
    return (1, 0, card.id)
