"""Tests of propsam.training.curves: CSV round trip and the plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from propsam.training.curves import CSV_COLUMNS, EpochRecord, plot_curves, read_curves_csv, write_curves_csv

_RECORDS = [EpochRecord(1, 0.9, None, None, 1e-3, 1.5), EpochRecord(2, 0.5, 0.6, 0.55, 9.9e-4, 1.25)]


def test_csv_round_trip(tmp_path: Path) -> None:
    path = write_curves_csv(_RECORDS, tmp_path / "curves.csv")
    assert path.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    assert read_curves_csv(path) == _RECORDS


def test_csv_with_another_header(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="other.csv: header"):
        read_curves_csv(path)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = plot_curves(_RECORDS, tmp_path / "plot" / "curves.png", title="Box2Mask")
    assert path.read_bytes()[:4] == b"\x89PNG"
