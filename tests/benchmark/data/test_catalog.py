"""The catalog (benchmark/data/catalog.py) and the paper's 44 cards in datasets/paper/."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.catalog import CARDS_ENV, builtin_cards_dir, load_catalog, user_cards_dirs
from benchmark.data.enums import Role
from benchmark.data.readers.base import parse_options
from benchmark.data.readers.registry import reader_class
from benchmark.errors import CardError, UnknownDatasetError
from benchmark.reports.paper import matches

REPO = Path(__file__).resolve().parents[3]
CARDS = REPO / "datasets"
PAPER_CARDS = CARDS / "paper"
TABLE_S1 = REPO / "reports" / "paper" / "table_s1_datasets.csv"
TABLE_S4 = REPO / "reports" / "paper" / "table_s4_fingerprints.csv"
PAPER_IDS = tuple(f"D{i}" for i in range(1, 45))
UNCONFIRMED = {"D38", "D44"}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _paper_cards() -> list[DatasetCard]:
    return list(load_catalog(PAPER_CARDS, builtin=False))


def _card_text(dataset_id: str) -> str:
    return f"""\
schema_version = 1
id = "{dataset_id}"
name = "Tiny {dataset_id}"
modality = "CT"
channels = ["CT"]
role = "internal"
encoding = "label-map"
default_version = "v1"
[source]
url = "https://example.org"
access = "direct"
licence = "CC0-1.0"
citation = "none"
[layout]
family = "F1"
confirmed = true
[versions.v1.objects]
"1" = "organ"
"""


def test_paper_catalog_has_exactly_the_44_ids_in_order() -> None:
    catalog = load_catalog(PAPER_CARDS, builtin=False)
    assert catalog.ids == PAPER_IDS
    assert len(catalog) == 44
    assert not catalog.demo and len(catalog.paper) == 44


def test_paper_card_files_are_named_after_their_ids() -> None:
    for card in _paper_cards():
        number = int(card.id[1:])
        assert card.path.name.startswith(f"D{number:02d}_"), card.path


def test_whole_cards_folder_loads_with_unique_ids() -> None:
    catalog = load_catalog(CARDS)
    assert set(PAPER_IDS) <= set(catalog.ids)
    assert len(set(catalog.ids)) == len(catalog)
    assert catalog.ids[:44] == PAPER_IDS  # paper cards first, in numeric order


def test_builtin_cards_are_the_checkout_and_user_folders_come_from_the_env(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.delenv(CARDS_ENV, raising=False)
    assert builtin_cards_dir() == CARDS and user_cards_dirs() == ()
    monkeypatch.setenv(CARDS_ENV, f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert user_cards_dirs() == (tmp_path / "a", tmp_path / "b")
    assert user_cards_dirs(tmp_path / "c") == (tmp_path / "c",)  # --cards wins over the environment


def test_a_user_card_folder_adds_to_the_built_in_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CARDS_ENV, raising=False)
    (tmp_path / "mine.toml").write_text(_card_text("U1"), encoding="utf-8")
    builtin = load_catalog()

    catalog = load_catalog(tmp_path)

    assert catalog.ids == builtin.ids + ("U1",) and not catalog.problems
    assert set(PAPER_IDS) <= set(catalog.ids) and len(catalog.demo) == 4
    assert catalog.get("U1").path == tmp_path / "mine.toml"
    monkeypatch.setenv(CARDS_ENV, str(tmp_path))  # the environment variable adds the same way
    assert load_catalog().ids == catalog.ids
    assert load_catalog(CARDS).ids == builtin.ids  # the built-in folder given again is read once, not a clash


def test_a_user_card_reusing_a_built_in_id_is_an_error_naming_both_files(tmp_path: Path) -> None:
    mine = tmp_path / "liver.toml"
    mine.write_text(_card_text("D19"), encoding="utf-8")

    catalog = load_catalog(tmp_path)

    assert "D19" not in catalog.ids and "D20" in catalog.ids  # the clashing ID is unusable, the others are fine
    with pytest.raises(CardError) as info:
        catalog.get("D19")
    assert str(mine) in str(info.value) and "D19_msd_task03_liver.toml" in str(info.value)


def test_an_unknown_layout_option_fails_when_the_card_loads(tmp_path: Path) -> None:
    # "image_dir" is an option of F6, not of F1 (whose option is "image_dirs"): caught by the catalog, not later.
    bad = tmp_path / "U2.toml"
    bad.write_text(_card_text("U2") + '[layout.options]\nimage_dir = "images"\n', encoding="utf-8")

    catalog = load_catalog(tmp_path, builtin=False)

    (problem,) = catalog.problems
    assert problem.path == bad and problem.dataset_id == "U2"
    assert "layout.options.image_dir" in problem.message and "image_dirs" in problem.message
    with pytest.raises(CardError, match="image_dir"):
        catalog.get("U2")


def test_options_that_contradict_the_card_fail_when_the_card_loads(tmp_path: Path) -> None:
    # channel_suffixes must name exactly the card's channels: a check of the F1 reader's prepare(), run at load.
    bad = tmp_path / "U3.toml"
    bad.write_text(_card_text("U3") + '[layout.options]\nchannel_suffixes = { MR = "_0000" }\n', encoding="utf-8")

    (problem,) = load_catalog(tmp_path, builtin=False).problems

    assert str(bad) in problem.message and "channel_suffixes" in problem.message


def test_names_and_modalities_agree_with_table_s1() -> None:
    rows = {row["id"]: row for row in _rows(TABLE_S1)}
    assert set(rows) == set(PAPER_IDS)
    for card in _paper_cards():
        row = rows[card.id]
        assert (card.paper_name or card.name) == row["name"], card.id
        # S1 prints sequences ("MR-T1, MR-FLAIR"); the card's modality is the imaging modality.
        printed = row["modality"]
        expected = "MR" if printed.startswith("MR") else printed
        assert str(card.modality) == expected, card.id


def test_roles_agree_with_the_external_column_of_table_s1() -> None:
    rows = {row["id"]: row for row in _rows(TABLE_S1)}
    for card in _paper_cards():
        assert card.external == (rows[card.id]["external"] == "true"), card.id
    external = sorted((c.id for c in _paper_cards() if c.role is Role.EXTERNAL), key=lambda i: int(i[1:]))
    assert external == ["D2", "D6", "D9", "D10", "D15", "D18", "D26", "D27", "D31", "D44"]


def test_scan_counts_agree_with_table_s4() -> None:
    rows = _rows(TABLE_S4)
    for card in _paper_cards():
        found = list(matches(card, rows))
        assert len(found) == 1, (card.id, card.name, found)
        assert card.paper_scan_count == int(found[0]["n_scans"]), card.id


def test_unconfirmed_layouts_say_what_to_provide() -> None:
    for card in _paper_cards():
        if card.id in UNCONFIRMED:
            assert not card.layout.confirmed and card.layout.user_must_provide, card.id
        else:
            assert card.layout.confirmed, card.id


def test_every_paper_card_states_source_and_citation() -> None:
    for card in _paper_cards():
        assert card.source.licence and card.source.citation and card.source.url, card.id
        assert card.notes, card.id


def test_unknown_id_lists_the_known_ones() -> None:
    catalog = load_catalog(PAPER_CARDS, builtin=False)
    assert catalog.get("D19").name == "MSD-Task03 Liver"
    with pytest.raises(UnknownDatasetError) as info:
        catalog.get("D45")
    message = str(info.value)
    assert "'D45'" in message and "D1, D2" in message and "D44" in message


def test_duplicate_ids_across_two_files_name_both(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = tmp_path / "a" / "one.toml"
    second = tmp_path / "b" / "two.toml"
    first.write_text(_card_text("X1"), encoding="utf-8")
    second.write_text(_card_text("X1"), encoding="utf-8")
    (tmp_path / "b" / "three.toml").write_text(_card_text("X2"), encoding="utf-8")

    catalog = load_catalog(tmp_path, builtin=False)

    assert catalog.ids == ("X2",)
    with pytest.raises(CardError) as info:
        catalog.get("X1")
    assert str(first) in str(info.value) and str(second) in str(info.value) and "'X1'" in str(info.value)


def test_a_bad_card_is_reported_and_the_others_load(tmp_path: Path) -> None:
    shutil.copy(PAPER_CARDS / "D19_msd_task03_liver.toml", tmp_path / "D19.toml")
    bad = tmp_path / "D20.toml"
    bad.write_text(_card_text("D20").replace('access = "direct"', 'access = "ftp"'), encoding="utf-8")
    broken = tmp_path / "D21.toml"
    broken.write_text("this is = not [toml", encoding="utf-8")

    catalog = load_catalog(tmp_path, builtin=False)

    assert catalog.ids == ("D19",)
    assert {p.path for p in catalog.problems} == {bad, broken}
    with pytest.raises(CardError) as info:
        catalog.get("D20")
    assert str(bad) in str(info.value) and "source.access" in str(info.value)
    with pytest.raises(UnknownDatasetError, match=r"1 card file\(s\) could not be read.*D21\.toml"):
        catalog.get("D21")


def test_missing_cards_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_catalog(tmp_path / "nowhere")


@pytest.mark.parametrize("card", _paper_cards(), ids=lambda card: card.id)
def test_layout_options_fit_the_family_reader(card: DatasetCard, tmp_path: Path) -> None:
    cls = reader_class(card.layout.family)
    parse_options(cls.options_type, card.layout.options, card.path)
    # The reader's own checks (channels against the options, encoding, placeholders) run on construction; the
    # empty root is enough because construction reads no data.
    for version in card.versions:
        cls(card, tmp_path, version=version)


@pytest.mark.parametrize("family", ["F1", "F2", "F3", "F4", "F5", "F6"])
def test_readme_lists_every_option_of_each_family(family: str) -> None:
    readme = (CARDS / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"- **{family}** ", 1)[1].split("\n- **", 1)[0].split("\n\n", 1)[0]
    for field in dataclasses.fields(reader_class(family).options_type):
        assert f"`{field.name}`" in section, (family, field.name)
