"""Which datasets a command works on: those named, else the demo datasets installed in the data home."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.data.cards import DatasetCard
from benchmark.data.catalog import Catalog
from benchmark.errors import BenchmarkError
from benchmark.home.data_home import DataHome

__all__ = ["installed_demo_cards", "selected_cards"]


def installed_demo_cards(home: DataHome, catalog: Catalog) -> list[DatasetCard]:
    """The catalog's demo datasets installed in ``home``, in catalog order (empty when none is)."""
    return [card for card in catalog.demo if home.is_installed(card.id)]


def selected_cards(home: DataHome, catalog: Catalog, ids: Sequence[str], *, option: str) -> list[DatasetCard]:
    """The cards of ``ids`` (each once, in order), or with no ID the installed demo datasets.

    Args:
        home: The data home.
        catalog: The dataset catalog.
        ids: Dataset IDs as the user gave them.
        option: Where the user names IDs (an option or a config key), for the error message.

    Raises:
        UnknownDatasetError: An ID the catalog does not hold.
        BenchmarkError: No ID given and no demo dataset installed.
    """
    if ids:
        return [catalog.get(dataset_id) for dataset_id in dict.fromkeys(ids)]
    cards = installed_demo_cards(home, catalog)
    if not cards:
        raise BenchmarkError(f"no dataset given and no demo dataset installed in {home.path}; run "
                             f"'propbench datasets demo' or name installed dataset IDs ({option})")
    return cards
