"""The card schema (benchmark/data/cards.py): valid cards load; every schema error names the file and the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from benchmark.data.cards import DatasetCard, load_card, parse_card
from benchmark.data.enums import Access, LayoutFamily, Modality, ObjectEncoding, Role
from benchmark.errors import CardError

VALID_TOML = """\
schema_version = 1
id = "D19"
name = "MSD-Task03 Liver"
modality = "CT"
channels = ["CT"]
role = "internal"
encoding = "label-map"
default_version = "msd-2018"
paper_scan_count = 131
notes = "Root: Task03_Liver/."

[source]
url = "http://medicaldecathlon.com/"
access = "direct"
licence = "CC-BY-SA-4.0"
citation = "Antonelli, M. et al. The Medical Segmentation Decathlon. Nat Commun 13, 4128 (2022)."

[layout]
family = "F1"
confirmed = true

[layout.options]
image_dirs = ["imagesTr"]

[versions.msd-2018]
ignore = ["3"]

[versions.msd-2018.objects]
"1" = "liver"
"2" = "liver cancer"
"""


def _valid() -> dict[str, Any]:
    """A valid card as parsed TOML (a fresh deep copy each call)."""
    return copy.deepcopy({
        "schema_version": 1, "id": "D19", "name": "MSD-Task03 Liver", "modality": "CT", "channels": ["CT"],
        "role": "internal", "encoding": "label-map", "default_version": "msd-2018", "paper_scan_count": 131,
        "source": {"url": "http://medicaldecathlon.com/", "access": "direct", "licence": "CC-BY-SA-4.0",
                   "citation": "Antonelli et al. 2022"},
        "layout": {"family": "F1", "confirmed": True, "options": {}},
        "versions": {"msd-2018": {"objects": {"1": "liver", "2": "liver cancer"}}},
    })


#: Key prefix in messages for a table of the card.
_PREFIX = {(): "", ("source",): "source.", ("layout",): "layout.", ("versions", "msd-2018"): "versions.msd-2018."}


def _write(tmp_path: Path, text: str, name: str = "card.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _expect_error(data: dict[str, Any], path: Path, *fragments: str) -> str:
    with pytest.raises(CardError) as info:
        parse_card(data, path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_valid_card_loads_every_field(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_TOML)
    card = load_card(path)
    assert isinstance(card, DatasetCard)
    assert (card.id, card.name, card.path) == ("D19", "MSD-Task03 Liver", path)
    assert card.modality is Modality.CT and card.role is Role.INTERNAL and not card.external
    assert card.encoding is ObjectEncoding.LABEL_MAP
    assert card.channels == ("CT",)
    assert card.source.access is Access.DIRECT and card.source.doi == ""
    assert card.layout.family is LayoutFamily.PAIRED_FOLDERS and card.layout.confirmed
    assert card.layout.options == {"image_dirs": ["imagesTr"]}
    table = card.objects()
    assert table.version == "msd-2018"
    assert dict(table.objects) == {"1": "liver", "2": "liver cancer"}
    assert table.names == ("liver", "liver cancer")
    assert table.ignore == ("3",)
    assert card.paper_scan_count == 131 and card.notes == "Root: Task03_Liver/."


def test_unknown_version_names_the_card(tmp_path: Path) -> None:
    card = parse_card(_valid(), tmp_path / "c.toml")
    with pytest.raises(CardError, match="no version '2099'"):
        card.objects("2099")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_TOML.replace('name = "MSD-Task03 Liver"', 'name = "MSD-Task03 Liver'))
    with pytest.raises(CardError) as info:
        load_card(path)
    assert str(path) in str(info.value) and "not valid TOML" in str(info.value)


@pytest.mark.parametrize(("where", "key"), [
    ((), "colour"),
    (("source",), "homepage"),
    (("layout",), "format"),
    (("versions", "msd-2018"), "labels"),
])
def test_unknown_key_is_named(tmp_path: Path, where: tuple[str, ...], key: str) -> None:
    data = _valid()
    table = data
    for part in where:
        table = table[part]
    table[key] = "x"
    _expect_error(data, tmp_path / "c.toml", "unknown key", _PREFIX[where] + key)


@pytest.mark.parametrize(("where", "key"), [
    ((), "modality"),
    ((), "channels"),
    ((), "versions"),
    (("source",), "licence"),
    (("layout",), "confirmed"),
    (("versions", "msd-2018"), "objects"),
])
def test_missing_field_is_named(tmp_path: Path, where: tuple[str, ...], key: str) -> None:
    data = _valid()
    table = data
    for part in where:
        table = table[part]
    del table[key]
    _expect_error(data, tmp_path / "c.toml", "missing required key", _PREFIX[where] + key)


@pytest.mark.parametrize(("where", "key", "value", "named"), [
    ((), "schema_version", "1", "schema_version"),
    ((), "schema_version", True, "schema_version"),
    ((), "name", 19, "name"),
    ((), "channels", "CT", "channels"),
    ((), "paper_scan_count", "131", "paper_scan_count"),
    ((), "paper_scan_count", -1, "paper_scan_count"),
    ((), "versions", ["msd-2018"], "versions"),
    (("source",), "url", 7, "source.url"),
    (("layout",), "confirmed", "yes", "layout.confirmed"),
    (("layout",), "options", ["image_dirs"], "layout.options"),
    (("versions", "msd-2018"), "objects", ["liver"], "versions.msd-2018.objects"),
])
def test_wrong_type_is_named(tmp_path: Path, where: tuple[str, ...], key: str, value: Any, named: str) -> None:
    data = _valid()
    table = data
    for part in where:
        table = table[part]
    table[key] = value
    _expect_error(data, tmp_path / "c.toml", f"'{named}'", "must")


@pytest.mark.parametrize(("where", "key", "value", "named"), [
    ((), "modality", "MRI", "modality"),
    ((), "role", "test", "role"),
    ((), "encoding", "rle", "encoding"),
    (("source",), "access", "login", "source.access"),
    (("layout",), "family", "F9", "layout.family"),
])
def test_unknown_enum_value_lists_the_allowed_ones(tmp_path: Path, where: tuple[str, ...], key: str, value: str,
                                                   named: str) -> None:
    data = _valid()
    table = data
    for part in where:
        table = table[part]
    table[key] = value
    _expect_error(data, tmp_path / "c.toml", f"'{named}'", repr(value), "expected one of")


def test_schema_version_other_than_1(tmp_path: Path) -> None:
    data = _valid()
    data["schema_version"] = 2
    _expect_error(data, tmp_path / "c.toml", "'schema_version'", "expected 1")


def test_duplicate_object_name(tmp_path: Path) -> None:
    data = _valid()
    data["versions"]["msd-2018"]["objects"] = {"1": "liver", "2": "liver"}
    _expect_error(data, tmp_path / "c.toml", "versions.msd-2018.objects", "'liver'", "more than once")


def test_duplicate_label_value_in_toml(tmp_path: Path) -> None:
    # A repeated label value is a repeated TOML key, refused by the TOML parser with its line.
    text = VALID_TOML.replace('"2" = "liver cancer"', '"2" = "liver cancer"\n"1" = "liver again"')
    path = _write(tmp_path, text)
    with pytest.raises(CardError) as info:
        load_card(path)
    assert str(path) in str(info.value) and "not valid TOML" in str(info.value)


def test_label_value_both_object_and_ignored(tmp_path: Path) -> None:
    data = _valid()
    data["versions"]["msd-2018"]["ignore"] = ["2"]
    _expect_error(data, tmp_path / "c.toml", "versions.msd-2018.ignore", "'2'")


def test_duplicate_channel_name(tmp_path: Path) -> None:
    data = _valid()
    data["channels"] = ["T2", "T2"]
    _expect_error(data, tmp_path / "c.toml", "'channels'", "duplicate")


def test_empty_objects_and_empty_versions(tmp_path: Path) -> None:
    data = _valid()
    data["versions"]["msd-2018"]["objects"] = {}
    _expect_error(data, tmp_path / "c.toml", "versions.msd-2018.objects", "at least one object")
    data = _valid()
    data["versions"] = {}
    _expect_error(data, tmp_path / "c.toml", "'versions'", "at least one version")


def test_default_version_not_declared(tmp_path: Path) -> None:
    data = _valid()
    data["default_version"] = "msd-2019"
    _expect_error(data, tmp_path / "c.toml", "'default_version'", "'msd-2019'", "msd-2018")


def test_unconfirmed_layout_needs_user_must_provide(tmp_path: Path) -> None:
    data = _valid()
    data["layout"]["confirmed"] = False
    _expect_error(data, tmp_path / "c.toml", "layout.user_must_provide", "layout.confirmed")
    data["layout"]["user_must_provide"] = "the download and its file format"
    card = parse_card(data, tmp_path / "c.toml")
    assert not card.layout.confirmed
    assert card.layout.user_must_provide == "the download and its file format"


def test_load_card_error_names_the_file_on_disk(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_TOML.replace('modality = "CT"', 'modality = "ultrasound"'), "D99_bad.toml")
    with pytest.raises(CardError) as info:
        load_card(path)
    assert "D99_bad.toml" in str(info.value) and "'modality'" in str(info.value)
