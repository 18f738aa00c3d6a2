from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.reports.ablations import SLICE_DEVIATION, THICKNESS, ablation_values
from benchmark.reports.figures.fluctuation import plot_fluctuation, relative_changes
from tests.benchmark.reports.figures.images import is_pdf, png_size
from tests.benchmark.reports.stores import report_data, row, run_record, write_store

BOX = "PropSAM-2DBox"


def test_relative_changes_against_the_base_in_percent_and_the_figure(tmp_path: Path) -> None:
    dice = {"default": 0.8, "slice-deviation=0.05": 0.76, "slice-deviation=0.1": 0.84, "slice-deviation=0.2": 0.4}
    rows = [row(BOX, "D2", "c0", "adrenocortical carcinoma", d, setting=s, subset="test") for s, d in dice.items()]
    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)]))
    values = ablation_values(data, SLICE_DEVIATION)
    changes = relative_changes(values, "D2", BOX)
    assert changes[0] == 0.0 and changes[1] == pytest.approx(-5.0) and changes[2] == pytest.approx(5.0)
    assert changes[3] is None and changes[4] == pytest.approx(-50.0)  # no rows at 15 %
    figure = plot_fluctuation(values, tmp_path / "out")
    assert figure.png == tmp_path / "out" / "figures" / "figure_s9_slice_deviation.png" and not figure.skipped
    assert min(png_size(figure.png)) > 100 and figure.pdf is not None and is_pdf(figure.pdf)
    assert figure.title.startswith("Figure S9") and any("Rows used: 4" in n for n in figure.notes)


def test_no_ablation_rows_skip_the_figure_with_the_command(tmp_path: Path) -> None:
    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(), [row(BOX, "D1", "c0", "liver")])]))
    figure = plot_fluctuation(ablation_values(data, THICKNESS), tmp_path / "out")
    assert figure.png is None and "propbench run --setting thickness" in figure.skipped
    assert not (tmp_path / "out" / "figures").exists()
