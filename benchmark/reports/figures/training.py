"""PropSAM training loss curves (like the paper's Figures S5 and S8) from a training run's ``curves.csv``.

The file is the training loop's (``propsam train``; one row per epoch, columns :data:`CURVE_COLUMNS`, ``val_loss``
empty on epochs without validation). It is read here as a file, since the harness never imports the model's
package. A run folder holds ``curves.csv`` itself or one folder down (``box2mask/``, ``propmask/`` of the demo
weights); each file found is one panel.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.reports.figures.plotting import Figure, pyplot, save_figure, skipped_figure

__all__ = ["CURVE_COLUMNS", "CURVES_FILE", "LossCurve", "find_curves", "read_curve", "plot_training_curves"]

#: Columns of a loss-curve file, in order.
CURVE_COLUMNS = ("epoch", "train_loss", "val_loss", "val_dice", "lr", "seconds")
CURVES_FILE = "curves.csv"


@dataclass(frozen=True)
class LossCurve:
    """One training run's losses: epochs, training loss, and the validated epochs with their loss."""

    path: Path
    epochs: tuple[int, ...]
    train_loss: tuple[float, ...]
    val_epochs: tuple[int, ...]
    val_loss: tuple[float, ...]


def find_curves(folders: Iterable[Path]) -> list[Path]:
    """``curves.csv`` files in each folder and one level below, in name order, without repeats."""
    found: dict[Path, None] = {}
    for folder in folders:
        folder = Path(folder)
        for path in [folder / CURVES_FILE, *sorted(folder.glob(f"*/{CURVES_FILE}"))]:
            if path.is_file():
                found[path.resolve()] = None
    return list(found)


def read_curve(path: Path) -> LossCurve:
    """Read one loss-curve file.

    Raises:
        ValueError: The header is not :data:`CURVE_COLUMNS`, or a value is not a number (the line is named).
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader, ()))
        if header != CURVE_COLUMNS:
            raise ValueError(f"{path}: header {header} is not a loss-curve file; expected {CURVE_COLUMNS}")
        epochs, train, val_epochs, val = [], [], [], []
        for line, row in enumerate(reader, start=2):
            try:
                epochs.append(int(row[0]))
                train.append(float(row[1]))
                if row[2]:
                    val_epochs.append(int(row[0]))
                    val.append(float(row[2]))
            except (ValueError, IndexError) as err:
                raise ValueError(f"{path}, line {line}: {row!r} is not an epoch of numbers ({err})") from err
    return LossCurve(path, tuple(epochs), tuple(train), tuple(val_epochs), tuple(val))


def plot_training_curves(folders: Sequence[Path], out_dir: Path) -> Figure:
    """One panel per ``curves.csv`` found in ``folders``: training loss (blue) and validation loss (red)."""
    title = "PropSAM training loss curves"
    paths = find_curves(folders)
    if not paths:
        where = ", ".join(str(f) for f in folders) or "no folder given"
        return skipped_figure("figure_training_loss", title, f"no {CURVES_FILE} found ({where}); pass a training "
                              f"run folder with --training")
    curves, notes = [], []
    for path in paths:
        try:
            curves.append(read_curve(path))
        except (OSError, ValueError) as err:
            notes.append(f"Not drawn: {err}.")
    if not curves:
        return skipped_figure("figure_training_loss", title, "no readable loss-curve file", tuple(notes))
    plt = pyplot()
    figure, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.4), squeeze=False)
    for axis, curve in zip(axes[0], curves, strict=True):
        axis.plot(curve.epochs, curve.train_loss, color="tab:blue", linewidth=1, label="training")
        if curve.val_epochs:
            axis.plot(curve.val_epochs, curve.val_loss, color="tab:red", marker="o", markersize=3, linewidth=1,
                      label="validation")
        axis.set_title(f"{curve.path.parent.name}/{curve.path.name}", fontsize="small")
        axis.set_xlabel("epoch")
        axis.set_ylabel("loss")
        axis.legend(fontsize="small")
    figure.tight_layout()
    notes.insert(0, "Files: " + "; ".join(str(c.path) for c in curves) + ".")
    return save_figure(figure, out_dir, "figure_training_loss", title, tuple(notes))
