"""Loss curves: one CSV row per epoch, and a plot like the paper's Figures S5 (Box2Mask) and S8 (PropMask).

CSV columns: ``epoch, train_loss, val_loss, val_dice, lr, seconds``; ``val_loss`` and ``val_dice`` are empty on
epochs without validation; ``seconds`` is the wall time of the epoch (training and validation).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EpochRecord", "CSV_COLUMNS", "write_curves_csv", "read_curves_csv", "plot_curves"]

CSV_COLUMNS = ("epoch", "train_loss", "val_loss", "val_dice", "lr", "seconds")


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of training.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: Mean training loss (Eq. 1) over the epoch's samples.
        val_loss: Mean validation loss, or None when the epoch did not validate.
        val_dice: Mean hard Dice (threshold 0.5, full resolution) on the validation samples, or None.
        lr: Learning rate used during the epoch.
        seconds: Wall time of the epoch, s.
    """

    epoch: int
    train_loss: float
    val_loss: float | None
    val_dice: float | None
    lr: float
    seconds: float

    def to_dict(self) -> dict[str, float | int | None]:
        return {"epoch": self.epoch, "train_loss": self.train_loss, "val_loss": self.val_loss,
                "val_dice": self.val_dice, "lr": self.lr, "seconds": self.seconds}


def write_curves_csv(records: Sequence[EpochRecord], path: str | Path) -> Path:
    """Write the records as CSV (columns in :data:`CSV_COLUMNS`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in records:
            writer.writerow([r.epoch, f"{r.train_loss:.6g}", "" if r.val_loss is None else f"{r.val_loss:.6g}",
                             "" if r.val_dice is None else f"{r.val_dice:.6g}", f"{r.lr:.6g}", f"{r.seconds:.3f}"])
    return path


def read_curves_csv(path: str | Path) -> list[EpochRecord]:
    """Read a CSV written by :func:`write_curves_csv`.

    Raises:
        ValueError: The header is not :data:`CSV_COLUMNS`.
    """
    with Path(path).open(newline="") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader, ()))
        if header != CSV_COLUMNS:
            raise ValueError(f"{path}: header {header} is not a loss-curve CSV; expected {CSV_COLUMNS}")

        def opt(text: str) -> float | None:
            return float(text) if text else None

        return [EpochRecord(int(row[0]), float(row[1]), opt(row[2]), opt(row[3]), float(row[4]), float(row[5]))
                for row in reader]


def plot_curves(records: Sequence[EpochRecord], path: str | Path, *, title: str = "Loss curves") -> Path:
    """Plot training loss (blue line) and validation loss (red line with markers) against epochs, like S5/S8.

    matplotlib is imported here, with the Agg backend, so the package works without it until a plot is asked for.

    Raises:
        ImportError: matplotlib is missing (install the ``propsam`` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plot_curves needs matplotlib: pip install 'propsam-bench[propsam]'") from err
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7.0, 4.0), dpi=120)
    ax.plot([r.epoch for r in records], [r.train_loss for r in records], color="tab:blue", lw=1.2,
            label="training loss")
    val = [(r.epoch, r.val_loss) for r in records if r.val_loss is not None and math.isfinite(r.val_loss)]
    if val:
        ax.plot([e for e, _ in val], [v for _, v in val], color="tab:red", lw=1.2, marker="o", ms=3,
                label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (Eq. 1)")
    ax.set_ylim(bottom=0.0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
