from __future__ import annotations

import math
from pathlib import Path

from benchmark.reports.figures.distributions import plot_dice_distributions, plot_inference_times
from tests.benchmark.reports.figures.images import is_pdf, png_size
from tests.benchmark.reports.stores import failed, report_data, row, run_record, write_store


def test_dice_distributions_leave_out_datasets_without_a_finite_dice(tmp_path: Path) -> None:
    rows = [row(m, "D1", f"c{c}", "liver", 0.5 + c / 10, seconds=0.5 + c) for m in ("A", "B") for c in range(4)]
    rows += [failed("A", "D2", "c0", "adrenocortical carcinoma"), row("A", "D3", "c0", "o", None)]
    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)]))
    figure = plot_dice_distributions(data, tmp_path)
    assert figure.png is not None and figure.pdf is not None and is_pdf(figure.pdf)
    assert png_size(figure.png)[0] < 800  # one panel (D1): D2 failed, D3 has no defined Dice
    assert "Rows used: 8 objects" in figure.notes[1]
    times = plot_inference_times(data, tmp_path)
    assert times.png is not None and min(png_size(times.png)) > 100
    assert "Rows used: 9 timed calls" in times.notes[1]  # D3 has no Dice but a time


def test_nothing_to_draw_is_a_skipped_figure(tmp_path: Path) -> None:
    rows = [failed("A", "D1", "c0", "liver"), row("A", "D1", "c1", "liver", math.nan, seconds=0.0)]
    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(), rows)]))
    assert plot_dice_distributions(data, tmp_path).skipped == "no finite Dice in the default setting's rows"
    assert plot_inference_times(data, tmp_path).skipped == "no positive times in the default setting's rows"
