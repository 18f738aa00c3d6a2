from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.splits import Split, Subset, make_split
from tests.cards import card


def test_internal_split_is_about_80_20_and_seeded() -> None:
    ids = [f"case_{i:04d}" for i in range(1000)]
    split = make_split(card({"1": "liver"}), ids, seed=0)
    assert 150 <= len(split.cases(Subset.VAL)) <= 250
    assert len(split.cases(Subset.TRAIN)) + len(split.cases(Subset.VAL)) == 1000
    assert make_split(card({"1": "liver"}), ids, seed=0) == split
    assert make_split(card({"1": "liver"}), ids, seed=1) != split


def test_adding_a_case_does_not_move_the_others() -> None:
    ids = [f"case_{i:03d}" for i in range(50)]
    before = make_split(card({"1": "liver"}), ids)
    after = make_split(card({"1": "liver"}), [*ids, "case_new"])
    assert all(after.subset_of(c) is before.subset_of(c) for c in ids)


def test_external_datasets_are_all_test() -> None:
    split = make_split(card({"1": "liver"}, role="external"), ["a", "b", "c"])
    assert split.cases(Subset.TEST) == ("a", "b", "c")


def test_tiny_internal_dataset_gets_one_validation_case() -> None:
    split = make_split(card({"1": "liver"}), ["a", "b"], validation_fraction=0.01)
    assert len(split.cases(Subset.VAL)) == 1


def test_write_read_round_trip(tmp_path: Path) -> None:
    split = make_split(card({"1": "liver"}), ["a", "b", "c", "d", "e"], data_version="abc123")
    assert Split.read(split.write(tmp_path / "T1.json")) == split


def test_unknown_split_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "T1.json"
    path.write_text('{"schema_version": 99, "method": "x"}')
    with pytest.raises(BenchmarkError, match=r"T1\.json.*schema_version 99"):
        Split.read(path)


def test_bad_fraction() -> None:
    with pytest.raises(ValueError, match="validation_fraction"):
        make_split(card({"1": "liver"}), ["a"], validation_fraction=1.5)
