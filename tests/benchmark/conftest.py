"""Fixtures shared by the harness's tests: a small real data home (one F1 dataset of six cases, DataLad)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.data.catalog import load_catalog
from benchmark.home.data_home import DataHome
from tests.benchmark.runner.data import OBJECTS, write_dataset
from tests.cards import write_card


@pytest.fixture(scope="module")
def small_home(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """``home`` (DataHome with U1 installed from a folder), ``catalog``, ``cards`` (folder) and ``root``."""
    root = tmp_path_factory.mktemp("runner")
    cards = root / "cards"
    write_card(cards, "U1", OBJECTS, name="Toy liver")
    home = DataHome(root / "home")
    catalog = load_catalog(cards)
    home.install(catalog.get("U1"), write_dataset(root / "source"))
    return SimpleNamespace(home=home, catalog=catalog, cards=cards, root=root)
