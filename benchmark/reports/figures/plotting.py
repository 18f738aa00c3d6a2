"""The figure record of the report and the one way figures are saved (PNG at 120 dpi and PDF, without timestamps,
so the same store gives the same files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError

__all__ = ["Figure", "pyplot", "save_figure", "skipped_figure", "PNG_DPI", "FIGURES_DIR"]

#: Resolution of the PNG files, dots per inch.
PNG_DPI = 120
#: Folder of the figures inside the report's output folder.
FIGURES_DIR = "figures"


@dataclass(frozen=True)
class Figure:
    """A figure of the report: its files, caption, or why it has no image.

    Attributes:
        stem: File stem (``figures/<stem>.png`` and ``.pdf`` under the report folder).
        title: The caption's first sentence.
        notes: The rest of the caption.
        png: The PNG file, None when skipped.
        pdf: The PDF file, None when skipped.
        skipped: Why there is no image (no rows, no saved masks, no data home); empty when drawn.
    """

    stem: str
    title: str
    notes: tuple[str, ...] = ()
    png: Path | None = None
    pdf: Path | None = None
    skipped: str = ""


def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend (no display needed).

    Raises:
        BenchmarkError: matplotlib is not installed (with the install command).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise BenchmarkError(f"the report's figures need matplotlib ({err}); pip install 'matplotlib>=3.7'") from err
    return plt


def save_figure(figure: Any, out_dir: Path, stem: str, title: str, notes: tuple[str, ...] = ()) -> Figure:
    """Save a matplotlib figure as ``out_dir/figures/<stem>.png`` and ``.pdf``, close it, and return its record."""
    plt = pyplot()
    folder = out_dir / FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{stem}.png", folder / f"{stem}.pdf"
    try:
        figure.savefig(png, dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None})
        figure.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None, "Creator": None, "Producer": None})
    finally:
        plt.close(figure)
    return Figure(stem, title, notes, png, pdf)


def skipped_figure(stem: str, title: str, reason: str, notes: tuple[str, ...] = ()) -> Figure:
    """A figure that could not be drawn, with the reason (the report states it in place of the image)."""
    return Figure(stem, title, notes, skipped=reason)
