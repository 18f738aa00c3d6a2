"""Distributions: Dice of every object per model and dataset (box plots, one panel per dataset) and inference time
per volume per model on a log axis. The values are the stored ones (default setting; accuracy rows for Dice, timing
rows for times); failed, skipped and undefined objects are not drawn (their counts are in the tables' captions)."""

from __future__ import annotations

import math
from pathlib import Path

from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.accuracy import S5_FILE
from benchmark.reports.cells import finite_values
from benchmark.reports.figures.plotting import Figure, pyplot, save_figure, skipped_figure
from benchmark.reports.paper import model_order
from benchmark.reports.source import ReportData

__all__ = ["plot_dice_distributions", "plot_inference_times", "PANEL_COLUMNS"]

#: Dataset panels per row of the Dice figure.
PANEL_COLUMNS = 4


def plot_dice_distributions(data: ReportData, out_dir: Path) -> Figure:
    """Box plots of per-object Dice, one panel per dataset, one box per model."""
    frame = data.accuracy.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    title = "Dice of every object per model and dataset (default setting)"
    values = finite_values(frame, "dice", ("dataset_id", "model"))
    models = model_order(list(frame["model"].unique()))
    datasets = [i for i in data.ordered(frame["dataset_id"].unique(), S5_FILE)
                if any((i.dataset_id, m) in values for m in models)]
    notes = ("Boxes: quartiles and median; whiskers: 1.5 IQR; points: objects beyond them. Objects without a finite "
             "Dice (failed, skipped, both masks empty) are not drawn.",
             f"Rows used: {sum(len(v) for v in values.values())} objects with a finite Dice.")
    if not datasets:
        return skipped_figure("figure_dice_distributions", title, "no finite Dice in the default setting's rows",
                              notes)
    plt = pyplot()
    columns = min(PANEL_COLUMNS, len(datasets))
    rows = math.ceil(len(datasets) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns + 1.0, 2.8 * rows), squeeze=False,
                                sharey=True)
    for index, info in enumerate(datasets):
        axis = axes[index // columns][index % columns]
        present = [m for m in models if (info.dataset_id, m) in values]
        axis.boxplot([values[(info.dataset_id, m)] for m in present], flierprops={"markersize": 2})
        axis.set_xticks(range(1, len(present) + 1), present, rotation=30, ha="right", fontsize="x-small")
        axis.set_title(info.label, fontsize="small")
        axis.set_ylim(-0.02, 1.02)
    for index in range(len(datasets), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    for row in axes:
        row[0].set_ylabel("Dice")
    figure.tight_layout()
    return save_figure(figure, out_dir, "figure_dice_distributions", title, notes)


def plot_inference_times(data: ReportData, out_dir: Path) -> Figure:
    """Box plot of the seconds of every timed segmentation per model, on a log axis."""
    frame = data.timing.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    title = "Inference time per volume per model (seconds, log axis; default setting)"
    values = finite_values(frame, "seconds", ("model",))
    models = [m for m in model_order(list(frame["model"].unique())) if (m,) in values]
    positive = {m: values[(m,)][values[(m,)] > 0] for m in models}
    notes = ("One value per timed segment call (one object of one case). Boxes: quartiles and median; whiskers: 1.5 "
             "IQR. Hardware: see Table S6.", f"Rows used: {sum(len(v) for v in positive.values())} timed calls. "
             f"{data.timing.note}")
    if not any(len(v) for v in positive.values()):
        return skipped_figure("figure_inference_time", title, "no positive times in the default setting's rows",
                              notes)
    plt = pyplot()
    shown = [m for m in models if len(positive[m])]
    figure, axis = plt.subplots(figsize=(1.4 * len(shown) + 2.0, 4.0))
    axis.boxplot([positive[m] for m in shown], flierprops={"markersize": 2})
    axis.set_xticks(range(1, len(shown) + 1), shown, rotation=20, ha="right")
    axis.set_yscale("log")
    axis.set_ylabel("seconds per volume (log)")
    figure.tight_layout()
    return save_figure(figure, out_dir, "figure_inference_time", title, notes)
