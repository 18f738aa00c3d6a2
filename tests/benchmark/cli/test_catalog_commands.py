"""``propbench datasets list`` (benchmark/cli/catalog_commands.py), run through ``benchmark.cli.main.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli.catalog_commands import UNCONFIRMED_MARK, CatalogRow, catalog_rows, format_table
from benchmark.cli.main import main
from benchmark.data.catalog import load_catalog
from tests.cards import write_card

REPO = Path(__file__).resolve().parents[3]
PAPER_CARDS = REPO / "datasets" / "paper"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_list_prints_one_row_per_card(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "datasets", "--cards", str(PAPER_CARDS), "list")
    assert status == 0 and err == ""
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["ID", "name", "modality"] and "access" in header
    rows = {line.split()[0]: line for line in lines[2:46]}
    assert list(rows) == [f"D{i}" for i in range(1, 45)]
    liver = rows["D19"]
    for value in ("MSD-Task03 Liver", "CT", " 2 ", "internal", "F1", "direct", "131"):
        assert value in liver, (value, liver)
    assert "external" in rows["D2"] and "tcia-manifest" in rows["D2"] and "F6" in rows["D2"]
    assert "PET-CT" in rows["D4"] and "micro-CT" in rows["D44"]


def test_list_marks_unconfirmed_layouts_with_what_to_provide(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "datasets", "--cards", str(PAPER_CARDS), "list")
    assert status == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:46]}
    marked = {dataset_id for dataset_id, line in rows.items() if f"F5{UNCONFIRMED_MARK}" in line.split()}
    assert marked == {"D38", "D44"}
    footnotes = " ".join(out.split("must provide:", 1)[1].split())
    assert "D38 Spine:" in footnotes and "SpineWeb Dataset 11" in footnotes
    assert "D44 GlomSeg-microCT:" in footnotes and "owner" in footnotes


def test_list_json_is_a_list_of_objects(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "datasets", "--cards", str(PAPER_CARDS), "list", "--json")
    assert status == 0
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 48  # the 44 paper cards and the 4 demo cards
    by_id = {item["id"]: item for item in data}
    liver = by_id["D19"]
    assert liver["name"] == "MSD-Task03 Liver" and liver["modality"] == "CT"
    assert liver["objects"] == ["liver", "liver cancer"] and liver["channels"] == ["CT"]
    assert liver["role"] == "internal" and liver["layout_family"] == "F1" and liver["layout_confirmed"] is True
    assert liver["access"] == "direct" and liver["paper_scan_count"] == 131 and liver["demo"] is False
    assert by_id["D42"]["paper_name"] == "MSD-Task05 Prostsate"
    assert by_id["D38"]["layout_confirmed"] is False and by_id["D38"]["user_must_provide"]
    assert set(liver) == set(CatalogRow.__dataclass_fields__)


def test_list_reports_a_bad_card_and_lists_the_others(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('schema_version = 1\nid = "X1"\n', encoding="utf-8")
    write_card(tmp_path, "U1", {"1": "liver"})

    status, out, err = _run(capsys, "datasets", "--cards", str(tmp_path), "list")

    assert status == 1  # list is the check of a card: a bad one makes it fail
    ids = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert ids[:44] == [f"D{i}" for i in range(1, 45)] and "U1" in ids and "X1" not in ids
    lines = err.splitlines()
    assert lines[0].startswith("propbench: error:") and str(bad) in lines[0] and "missing required key" in lines[0]
    assert lines[-1] == "propbench: 1 card file(s) could not be used; the other datasets are listed and usable"


def test_a_bad_card_blocks_only_commands_that_name_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The F1 option "image_dir" does not exist ("image_dirs" does): the card is bad from the moment it loads.
    text = write_card(tmp_path, "U2", {"1": "liver"}).read_text() + '[layout.options]\nimage_dir = "x"\n'
    (tmp_path / "U2.toml").write_text(text)

    status, _, err = _run(capsys, "datasets", "--cards", str(tmp_path), "--home", str(tmp_path / "home"),
                          "install", "U2", "--from", str(tmp_path))

    assert status == 2 and "layout.options.image_dir" in err and str(tmp_path / "U2.toml") in err


def test_list_reports_a_missing_cards_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    status, out, err = _run(capsys, "datasets", "--cards", str(missing), "list")
    assert status == 2 and out == ""
    assert str(missing) in err and "does not exist" in err


def test_format_table_without_unconfirmed_cards_has_no_footnote() -> None:
    rows = [row for row in catalog_rows(load_catalog(PAPER_CARDS, builtin=False)) if row.layout_confirmed]
    table = format_table(rows)
    assert "must provide" not in table
    assert len(table.splitlines()) == len(rows) + 2
