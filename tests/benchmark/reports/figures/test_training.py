from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from benchmark.reports.figures.training import CURVE_COLUMNS, find_curves, plot_training_curves, read_curve
from tests.benchmark.reports.figures.images import png_size


def _curves_module() -> ModuleType:
    """The training loop's own writer (propsam/training/curves.py), whose file contract the report reads, loaded as
    a file: its package's __init__ imports torch, and importing torch here would change what later tests of this
    process record as the machine (benchmark.results.provenance describes torch only once it is imported)."""
    path = Path(__file__).resolve().parents[4] / "propsam" / "training" / "curves.py"
    spec = importlib.util.spec_from_file_location("propsam_training_curves", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _write_real_curves(folder: Path) -> Path:
    curves = _curves_module()
    assert curves.CSV_COLUMNS == CURVE_COLUMNS
    records = [curves.EpochRecord(e, 1.0 / e, 1.2 / e if e % 2 == 0 else None, 0.5, 1e-3, 2.0) for e in range(1, 7)]
    return Path(curves.write_curves_csv(records, folder / "curves.csv"))


def test_loss_curves_of_a_training_run_folder(tmp_path: Path) -> None:
    first = _write_real_curves(tmp_path / "demo" / "box2mask")
    _write_real_curves(tmp_path / "demo" / "propmask")
    assert find_curves([tmp_path / "demo", tmp_path / "demo"]) == [first.resolve(),
                                                                   (tmp_path / "demo/propmask/curves.csv").resolve()]
    curve = read_curve(first)
    assert curve.epochs == (1, 2, 3, 4, 5, 6) and curve.val_epochs == (2, 4, 6)
    assert curve.val_loss == pytest.approx((0.6, 0.3, 0.2))
    figure = plot_training_curves([tmp_path / "demo"], tmp_path / "out")
    assert figure.png is not None and png_size(figure.png)[0] > png_size(figure.png)[1]  # two panels side by side


def test_no_or_broken_curve_files_are_stated(tmp_path: Path) -> None:
    assert "no curves.csv found" in plot_training_curves([tmp_path], tmp_path / "out").skipped
    (tmp_path / "curves.csv").write_text("step,loss\n1,0.5\n", encoding="utf-8")
    figure = plot_training_curves([tmp_path], tmp_path / "out")
    assert figure.skipped == "no readable loss-curve file" and "is not a loss-curve file" in figure.notes[0]
    (tmp_path / "curves.csv").write_text(",".join(CURVE_COLUMNS) + "\n1,abc,,,0.1,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_curve(tmp_path / "curves.csv")
