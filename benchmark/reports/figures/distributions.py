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

__all__ = ["plot_dice_distributions", "plot_inference_times", "DATASETS_PER_ROW"]

#: Datasets per panel row of the Dice figure.
DATASETS_PER_ROW = 11


def plot_dice_distributions(data: ReportData, out_dir: Path) -> Figure:
    """Box plots of per-object Dice: per dataset a group of boxes, one per model (colour), up to
    :data:`DATASETS_PER_ROW` datasets per panel row."""
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
    rows = math.ceil(len(datasets) / DATASETS_PER_ROW)
    per_row = min(DATASETS_PER_ROW, len(datasets))
    width = 0.8 / len(models)
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    figure, axes = plt.subplots(rows, 1, figsize=(1.0 + per_row * (0.35 + 0.25 * len(models)), 3.0 * rows),
                                squeeze=False)
    for index in range(rows):
        axis, chunk = axes[index][0], datasets[index * DATASETS_PER_ROW:(index + 1) * DATASETS_PER_ROW]
        for k, model in enumerate(models):
            present = [(j, values[(info.dataset_id, model)]) for j, info in enumerate(chunk)
                       if (info.dataset_id, model) in values]
            if present:
                axis.boxplot([v for _, v in present], positions=[j - 0.4 + width * (k + 0.5) for j, _ in present],
                             widths=width * 0.85, patch_artist=True, manage_ticks=False,
                             boxprops={"facecolor": colours[model], "alpha": 0.6},
                             medianprops={"color": "black"}, flierprops={"markersize": 2})
        axis.set_xticks(range(len(chunk)), [i.label for i in chunk], rotation=30, ha="right", fontsize="small")
        axis.set_xlim(-0.6, per_row - 0.4)
        axis.set_ylim(-0.02, 1.02)
        axis.set_ylabel("Dice")
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colours[m], alpha=0.6, label=m) for m in models]
    figure.legend(handles=handles, loc="upper center", ncol=min(4, len(models)), frameon=False,
                  bbox_to_anchor=(0.5, 1.0 + 0.15 / rows))
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
